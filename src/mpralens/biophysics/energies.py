"""Layer 1 of every biophysical network: site energies from sequence, in kT.

``dG_site = sum_{l,c} theta_lc x_lc + mu`` over the site's window of the one-hot sequence
``x`` (``shape=(batch, 4, L)``). Parameters are named with their shape as in MAVE-NN
(``theta_cl``: channel x position).

The fits pass sequences as :class:`SparseOneHot` (a reference sequence plus each variant's sparse
differences from it): mutagenised libraries differ from their wild type at a few positions, so
the energies of a data set cost a sparse product with about 2 x 9 entries per lac variant instead
of a dense one with 300 (about 15 times faster, forward and backward, on the lac data).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mpralens.biophysics.spec import Site

KCAL_PER_KT = 0.616  # 1 kT at 37 C, kcal/mol


class _SparseMatmul(torch.autograd.Function):
    """``diff @ table`` with the transpose kept for the backward pass (CSR both ways)."""

    @staticmethod
    def forward(ctx, table, diff, diff_t):  # noqa: D102
        ctx.diff_t = diff_t
        return diff @ table

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return ctx.diff_t @ grad, None, None


class SparseOneHot:
    """One-hot sequences ``(n, 4, L)`` as a reference sequence plus sparse differences from it.

    The reference is the most common base at each position (the wild type of a mutagenised
    library); ``x = ref + diff`` exactly, N (all-zero columns) included.
    """

    def __init__(self, x: np.ndarray, dtype: torch.dtype = torch.float32) -> None:
        n, c, length = x.shape
        ref = np.zeros((c, length))
        ref[x.sum(axis=0).argmax(axis=0), np.arange(length)] = 1.0
        diff = torch.from_numpy(x.reshape(n, c * length) - ref.reshape(-1)).to(dtype)
        with warnings.catch_warnings():  # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            self.diff = diff.to_sparse_csr()
            self.diff_t = diff.T.contiguous().to_sparse_csr()
        self.ref = torch.from_numpy(ref.reshape(-1)).to(dtype)
        self.shape = (n, c, length)

    def __len__(self) -> int:
        return self.shape[0]

    def matmul(self, table: torch.Tensor) -> torch.Tensor:
        """``x.reshape(n, 4 L) @ table`` for a ``(4 L, k)`` table, differentiable in ``table``."""
        return self.ref @ table + _SparseMatmul.apply(table, self.diff, self.diff_t)


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

    def forward(self, x: torch.Tensor | SparseOneHot) -> torch.Tensor:
        """Site energies of one-hot ``x`` (``(batch, 4, L)``, dense or :class:`SparseOneHot`)."""
        if isinstance(x, SparseOneHot):
            length = x.shape[2]
            table = torch.stack(
                [
                    F.pad(th, (s.start, length - s.start - s.length)).reshape(-1)
                    for s, th in zip(self.sites, self.theta, strict=True)
                ],
                dim=1,
            )
            return x.matmul(table) + self.mu
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
