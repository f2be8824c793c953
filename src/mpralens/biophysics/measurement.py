"""Measurement processes: how a latent activity ``t`` becomes the observed data.

``SortSeqMeasurement``: ``p(bin | t)`` from a dense network with one hidden layer (tanh) on
``log t`` and a softmax over bins; reads are multinomial observations, so the loss is the
mean negative log-likelihood per read. ``GaussianMeasurement``: ``y ~ N(a t + b, sigma^2)`` for
continuous activity (log-ratio MPRA data). Both are fitted jointly with the energy model.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SortSeqMeasurement(nn.Module):
    """Log ``p(bin | t)``, ``(batch,) -> (batch, n_bins)``."""

    def __init__(self, n_bins: int, hidden: int = 20) -> None:
        super().__init__()
        first, last = nn.Linear(1, hidden), nn.Linear(hidden, n_bins)
        self.net = nn.Sequential(first, nn.Tanh(), last)
        # FACS bins sort cells by log fluorescence, so the network reads log t: a function of t on
        # a linear scale cannot follow p(bin | t) over the decades of t that mutants span, and the
        # energy model then bends to compensate (biasing the interaction energy).
        self.scale = nn.Parameter(torch.tensor(0.5))
        self.shift = nn.Parameter(torch.tensor(1.0))
        # Bins are ordered by fluorescence. Start with p(bin | t) shifting to higher bins as t
        # grows (hidden units increasing in t, logits increasing with the bin index): a free
        # network otherwise lets a mirror-image energy model (all energies sign-flipped) fit
        # almost as well, and the optimiser may settle there.
        with torch.no_grad():
            first.weight.uniform_(0.5, 1.5)
            first.bias.uniform_(-1.0, 1.0)
            ramp = torch.linspace(-1.0, 1.0, n_bins)[:, None]
            last.weight.copy_(ramp * torch.full((1, hidden), 2.0 / hidden))
            last.bias.zero_()

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """Log bin probabilities."""
        z = self.scale * torch.log(t.clamp_min(1e-12)) + self.shift
        return torch.log_softmax(self.net(z[:, None]), dim=1)

    def l2(self) -> torch.Tensor:
        """Sum of squares of every parameter (the full-batch fit's penalty)."""
        return sum((p**2).sum() for p in self.parameters())  # type: ignore[return-value]

    def nll(self, t: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per read (nats); ``counts`` is ``(batch, n_bins)``."""
        return -(self(t) * counts).sum() / counts.sum().clamp_min(1.0)


class GaussianMeasurement(nn.Module):
    """``y ~ N(a t + b, sigma^2)``; ``nll`` is the mean negative log-likelihood (nats)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.0))
        self.b = nn.Parameter(torch.tensor(0.0))
        self.log_sigma = nn.Parameter(torch.tensor(0.0))

    def nll(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean Gaussian negative log-likelihood of ``y`` given ``t`` (nats)."""
        z = (y - (self.a * t + self.b)) / torch.exp(self.log_sigma)
        return (0.5 * z**2 + self.log_sigma + 0.5 * math.log(2 * math.pi)).mean()
