"""Kinetic models: steady state by the King-Altman (Kirchhoff matrix-tree) theorem.

For a strongly connected state graph, the steady-state occupancy of state s is proportional to
the sum, over spanning trees directed into s, of the product of the trees' rates. The trees depend
only on the graph, so they are enumerated once: each is a 0/1 row over the transitions, and
``log w_s = logsumexp_trees(T_s @ log k)`` is log-linear in the log rates (layer 2). Occupancies are
``w_s / sum w`` and activity is the output transition's rate times its source state's occupancy.

Rates are learned constants ``exp(c)`` or sequence-dependent ``exp(-(theta . x + mu))``.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from mpralens.biophysics.energies import SiteEnergies, SparseOneHot
from mpralens.biophysics.spec import ModelSpec


def spanning_in_trees(n_states: int, edges: list[tuple[int, int]]) -> list[np.ndarray]:
    """Spanning trees directed into each state.

    Parameters
    ----------
    n_states
        Number of states.
    edges
        Transitions as ``(source, target)`` state indices.

    Returns
    -------
    list of numpy.ndarray
        For each root state, ``shape=(n_trees, n_edges)`` 0/1: which edges each tree uses.
        In a tree into root r every other state has exactly one outgoing edge and every path
        leads to r.
    """
    out_edges = [[e for e, (s, _) in enumerate(edges) if s == i] for i in range(n_states)]
    trees = []
    for root in range(n_states):
        others = [i for i in range(n_states) if i != root]
        rows = []
        for choice in itertools.product(*[out_edges[i] for i in others]):
            nxt = {i: edges[e][1] for i, e in zip(others, choice, strict=True)}
            if all(_reaches(i, root, nxt, n_states) for i in others):
                row = np.zeros(len(edges))
                row[list(choice)] = 1.0
                rows.append(row)
        trees.append(np.array(rows).reshape(len(rows), len(edges)))
    return trees


def _reaches(i: int, root: int, nxt: dict[int, int], n: int) -> bool:
    for _ in range(n):
        if i == root:
            return True
        i = nxt[i]
    return i == root


class KineticModel(nn.Module):
    """Activity of one-hot sequences, ``(batch, 4, L) -> (batch,)``, from a kinetic spec."""

    # Buffer (``register_buffer``), declared for the type checker; ``trees_<r>`` are read by name.
    rate_site: torch.Tensor

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.kind != "kinetic":
            raise ValueError("KineticModel needs a kinetic spec")
        self.spec = spec
        idx = {s: i for i, s in enumerate(spec.state_names)}
        edges = [(idx[t.source], idx[t.target]) for t in spec.transitions]
        self.energies = SiteEnergies(spec.sites)
        site_idx = {s.name: i for i, s in enumerate(spec.sites)}
        self.register_buffer(
            "rate_site", torch.tensor([site_idx.get(t.rate, -1) for t in spec.transitions])
        )
        self.log_k_const = nn.Parameter(torch.zeros(len(spec.transitions)))
        for r, tree in enumerate(spanning_in_trees(len(idx), edges)):
            self.register_buffer(f"trees_{r}", torch.tensor(tree, dtype=torch.float32))
        self.n_states = len(idx)
        self.output_edge = next(
            i for i, t in enumerate(spec.transitions) if (t.source, t.target) == spec.output
        )
        assert spec.output is not None  # parse_spec requires ``output`` of kinetic specs
        self.output_state = idx[spec.output[0]]

    def log_rates(self, x: torch.Tensor | SparseOneHot) -> torch.Tensor:
        """Natural-log rates of every transition, ``(batch, n_transitions)``."""
        site_e = self.energies(x)  # (batch, n_sites), kT
        seq = -site_e[:, self.rate_site.clamp_min(0)]
        const = self.log_k_const.expand(x.shape[0], -1)
        return torch.where(self.rate_site >= 0, seq, const)

    def occupancy(self, x: torch.Tensor | SparseOneHot) -> torch.Tensor:
        """Steady-state occupancies, ``(batch, n_states)``, summing to 1."""
        log_k = self.log_rates(x)
        log_w = torch.stack(
            [
                torch.logsumexp(log_k @ getattr(self, f"trees_{r}").T, dim=1)
                for r in range(self.n_states)
            ],
            dim=1,
        )
        return torch.softmax(log_w, dim=1)

    def forward(self, x: torch.Tensor | SparseOneHot) -> torch.Tensor:
        """Activity = output rate x occupancy of the output transition's source state."""
        log_k = self.log_rates(x)
        return torch.exp(log_k[:, self.output_edge]) * self.occupancy(x)[:, self.output_state]

    def scalar_energies(self) -> dict[str, float]:
        """Gauge-fixed site ``mu`` (kT) and log constant rates (natural log)."""
        _, mu = self.energies.gauge_fixed()
        out = {f"mu_{s.name}": float(m) for s, m in zip(self.spec.sites, mu, strict=True)}
        for i, t in enumerate(self.spec.transitions):
            if t.rate == "constant":
                out[f"log_k_{t.source}_to_{t.target}"] = float(self.log_k_const[i].detach())
        return out
