"""Network architectures as plain ``nn.Module``s; input ``shape=(batch, 4, length)``.

* ``paggi``: the Stanford study's best model (Paggi et al. 2017): two convolutions of 100 filters
  with ReLU and dropout 0.1, max-pool of width 44, dense layer to one output per task. The paper
  gives no filter widths; we use 11 and 9 (``widths``; odd, so "same" padding is symmetric).
* ``dragonn``: MPRA-DragoNN's ConvModel (Movva et al. 2019): 3 x [conv 120 filters width 5, ReLU,
  batch norm, dropout 0.1], flattened, dense to the tasks.
* ``residual``: a deeper option: a stem convolution, residual blocks of dilated convolutions
  (dilation 1, 2, 4, 8...) with batch norm, global max and mean pooling, dense head.

All use "same" padding so a base's position maps to the same output position in every layer.
"""

from __future__ import annotations

import torch
from torch import nn


class PaggiCNN(nn.Module):
    """Paggi et al.'s best CNN. Output ``shape=(batch, n_tasks)``."""

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        filters: int = 100,
        widths: tuple[int, int] = (11, 9),
        dropout: float = 0.1,
        pool: int = 44,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(4, filters, widths[0], padding="same"),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(filters, filters, widths[1], padding="same"),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.MaxPool1d(pool, stride=pool),
        )
        self.head = nn.Linear(filters * (input_length // pool), n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        return self.head(self.body(x).flatten(1))


class DragonnConvModel(nn.Module):
    """MPRA-DragoNN's ConvModel. Output ``shape=(batch, n_tasks)``."""

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        filters: int = 120,
        width: int = 5,
        layers: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = 4
        for _ in range(layers):
            blocks += [
                nn.Conv1d(c_in, filters, width, padding="same"),
                nn.ReLU(),
                nn.BatchNorm1d(filters),
                nn.Dropout(dropout),
            ]
            c_in = filters
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(filters * input_length, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        return self.head(self.body(x).flatten(1))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, width: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, width, padding="same", dilation=dilation)
        self.norm = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.norm(self.conv(x))))


class ResidualDilatedCNN(nn.Module):
    """Stem conv, dilated residual blocks, global max+mean pool. Output ``(batch, n_tasks)``."""

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        channels: int = 64,
        stem_width: int = 11,
        width: int = 3,
        blocks: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(4, channels, stem_width, padding="same"), nn.ReLU())
        self.blocks = nn.Sequential(
            *[_ResidualBlock(channels, width, 2**i, dropout) for i in range(blocks)]
        )
        self.head = nn.Sequential(
            nn.Linear(2 * channels, channels), nn.ReLU(), nn.Linear(channels, n_tasks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        h = self.blocks(self.stem(x))
        return self.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1))


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "paggi": PaggiCNN,
    "dragonn": DragonnConvModel,
    "residual": ResidualDilatedCNN,
}


def build_architecture(name: str, *, n_tasks: int, input_length: int, **kwargs) -> nn.Module:
    """Instantiate architecture ``name`` (a key of :data:`ARCHITECTURES`)."""
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; expected one of {sorted(ARCHITECTURES)}")
    if "widths" in kwargs:
        kwargs["widths"] = tuple(kwargs["widths"])
    return ARCHITECTURES[name](n_tasks=n_tasks, input_length=input_length, **kwargs)
