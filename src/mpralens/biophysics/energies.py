"""Layer 1 of every biophysical network: site energies from sequence, in kT.

``dG_site = sum_{l,c} theta_lc x_lc + mu`` over the site's window of the one-hot sequence
``x`` (``shape=(batch, 4, L)``). Parameters are named with their shape as in MAVE-NN
(``theta_cl``: channel x position).
"""

from __future__ import annotations

import torch
from torch import nn

from mpralens.biophysics.spec import Site

KCAL_PER_KT = 0.616  # 1 kT at 37 C, kcal/mol


class SiteEnergies(nn.Module):
    """Energies of all sites, ``shape=(batch, n_sites)`` in kT."""

    def __init__(self, sites: list[Site], init_sd: float = 0.05, init_mu: float = 1.0) -> None:
        super().__init__()
        self.sites = sites
        self.theta = nn.ParameterList(
            [nn.Parameter(init_sd * torch.randn(4, s.length)) for s in sites]
        )
        # Sites start weakly bound (+1 kT), so no site begins saturated.
        self.mu = nn.Parameter(torch.full((len(sites),), init_mu))

    def l2(self) -> torch.Tensor:
        """Sum of squares of all energy parameters (theta and mu), kT^2."""
        return sum((th**2).sum() for th in self.theta) + (self.mu**2).sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Site energies of one-hot ``x`` (``(batch, 4, L)``)."""
        out = [
            (x[:, :, s.start : s.start + s.length] * th).sum(dim=(1, 2))
            for s, th in zip(self.sites, self.theta, strict=True)
        ]
        return torch.stack(out, dim=1) + self.mu

    @torch.no_grad()
    def gauge_fixed(self) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Matrices with zero mean at every position, the means moved into ``mu`` (same energies).

        Returns
        -------
        tuple
            ``theta_cl`` per site (``(4, length)``, kT) and ``mu`` (``(n_sites,)``, kT).
        """
        thetas, mus = [], []
        for th, mu in zip(self.theta, self.mu, strict=True):
            mean = th.mean(dim=0, keepdim=True)
            thetas.append(th - mean)
            mus.append(mu + mean.sum())
        return thetas, torch.stack(mus)
