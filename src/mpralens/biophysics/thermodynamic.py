"""Thermodynamic models as three-layer networks (Tareen & Kinney 2019).

Layer 1: site energies (:class:`SiteEnergies`) and interaction energies (scalars), all in kT.
Layer 2: state free energies ``dG_s = sum_j w_sj dG_j`` with integer ``w`` from the spec (1 when
state s binds site j or forms interaction j), then Boltzmann probabilities
``P_s = exp(-dG_s) / sum_s' exp(-dG_s')`` (a softmin; the empty state has ``dG = 0``).
Layer 3: activity ``t = sum_s a_s P_s`` with fixed or learned state activities ``a_s``.
"""

from __future__ import annotations

import torch
from torch import nn

from mpralens.biophysics.energies import SiteEnergies, SparseOneHot
from mpralens.biophysics.spec import ModelSpec


class ThermodynamicModel(nn.Module):
    """Activity of one-hot sequences, ``(batch, 4, L) -> (batch,)``."""

    # Buffers (``register_buffer``), declared for the type checker.
    w_sj: torch.Tensor
    a_fixed: torch.Tensor
    learned: torch.Tensor

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.kind != "thermodynamic":
            raise ValueError("ThermodynamicModel needs a thermodynamic spec")
        self.spec = spec
        self.energies = SiteEnergies(spec.sites)
        self.interaction_names = list(spec.interactions)
        # Random start in [-4, 0] kT: the likelihood is flat along interaction energies, so
        # restarts must sample them for the best-validation restart to find the right basin.
        self.dG_int = nn.Parameter(-4.0 * torch.rand(len(self.interaction_names)))
        site_idx = {s.name: i for i, s in enumerate(spec.sites)}
        n_sites = len(spec.sites)
        w = torch.zeros(len(spec.states), n_sites + len(self.interaction_names))
        for i, st in enumerate(spec.states):
            for b in st.bound:
                w[i, site_idx[b]] = 1.0
            for it in st.interactions:
                w[i, n_sites + self.interaction_names.index(it)] = 1.0
        self.register_buffer("w_sj", w)
        fixed = torch.tensor([0.0 if s.activity is None else s.activity for s in spec.states])
        self.register_buffer("a_fixed", fixed)
        self.register_buffer("learned", torch.tensor([s.activity is None for s in spec.states]))
        self.a_learned = nn.Parameter(torch.zeros(len(spec.states)))

    def state_probabilities(self, x: torch.Tensor | SparseOneHot) -> torch.Tensor:
        """Boltzmann probabilities of the states, ``(batch, n_states)``."""
        e = torch.cat([self.energies(x), self.dG_int.expand(x.shape[0], -1)], dim=1)
        return torch.softmax(-(e @ self.w_sj.T), dim=1)

    def activities(self) -> torch.Tensor:
        """State activities ``a_s`` (fixed, or learned through a sigmoid to [0, 1])."""
        return torch.where(self.learned, torch.sigmoid(self.a_learned), self.a_fixed)

    def forward(self, x: torch.Tensor | SparseOneHot) -> torch.Tensor:
        """Activity ``t = sum_s a_s P_s``."""
        return self.state_probabilities(x) @ self.activities()

    def scalar_energies(self) -> dict[str, float]:
        """Gauge-fixed ``mu`` of every site and every interaction energy, kT."""
        _, mu = self.energies.gauge_fixed()
        out = {f"mu_{s.name}": float(m) for s, m in zip(self.spec.sites, mu, strict=True)}
        out.update(
            {f"dG_{n}": float(v) for n, v in zip(self.interaction_names, self.dG_int, strict=True)}
        )
        return out
