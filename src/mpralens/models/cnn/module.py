"""The Lightning side of the CNN: masked weighted MSE, the LightningModule and the DataModule.

The network is injected (a plain ``nn.Module`` from :mod:`mpralens.models.cnn.architectures`); the
``spec`` dict that rebuilds it (architecture, its settings, tasks, input layout, data set, package
version) is saved in every checkpoint under ``"mpralens"``, so
:func:`mpralens.models.cnn.network.load_network` can restore it with
``torch.load(weights_only=True)``. Only training imports this module (it imports Lightning).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from mpralens.data.training import TrainingData
from mpralens.io.errors import InputError
from mpralens.models.cnn.network import LAYOUTS, encode


def masked_weighted_mse(pred: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted MSE over valid (tile, task) pairs only.

    Parameters
    ----------
    pred, y, w
        ``shape=(batch, n_tasks)``; ``y`` is NaN where a tile is invalid in a task (its weight is
        then ignored as well).

    Returns
    -------
    torch.Tensor
        ``sum(w * (pred - y)^2) / sum(w)`` over valid pairs (0 if there are none).
    """
    valid = torch.isfinite(y)
    w = torch.where(valid, w, torch.zeros_like(w))
    diff = torch.where(valid, pred - y, torch.zeros_like(pred))
    return (w * diff**2).sum() / w.sum().clamp_min(1e-12)


class ActivityModel(L.LightningModule):
    """Regress per-task activity of one-hot sequences with an injected network.

    Parameters
    ----------
    network
        Maps ``(batch, 4, L)`` to ``(batch, n_tasks)``.
    spec
        Everything needed to rebuild ``network`` and use it (see module docstring).
    lr
        Learning rate (the peak of the one-cycle schedule).
    rc_augment
        Reverse-complement each training batch with probability 1/2.
    optimizer, weight_decay, schedule
        ``adam`` or ``adamw`` with this weight decay; ``constant`` or ``onecycle`` learning rate
        (``torch.optim.lr_scheduler.OneCycleLR`` over the trainer's planned steps, stepped per
        batch: LegNet's recipe).
    """

    def __init__(
        self,
        network: nn.Module,
        spec: dict[str, Any],
        lr: float = 1e-3,
        rc_augment: bool = False,
        optimizer: str = "adam",
        weight_decay: float = 0.0,
        schedule: str = "constant",
    ) -> None:
        super().__init__()
        self.network = network
        self.spec = spec
        self.save_hyperparameters(ignore=["network"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict ``(batch, n_tasks)`` from ``(batch, 4, L)``."""
        return self.network(x)

    def model_step(self, batch, stage: str) -> torch.Tensor:
        """Shared train/validation/test step: the masked weighted MSE, logged per stage."""
        x, y, w = batch
        x = x.float()
        if stage == "train" and self.hparams["rc_augment"] and torch.rand(()) < 0.5:
            x = x.flip(dims=(1, 2))  # ACGT order: flipping channels complements
        loss = masked_weighted_mse(self(x), y, w)
        self.log(f"{stage}_loss", loss, on_epoch=True, on_step=False, prog_bar=stage == "val")
        return loss

    def training_step(self, batch, batch_idx):  # noqa: D102
        return self.model_step(batch, "train")

    def validation_step(self, batch, batch_idx):  # noqa: D102
        return self.model_step(batch, "val")

    def test_step(self, batch, batch_idx):  # noqa: D102
        return self.model_step(batch, "test")

    def configure_optimizers(self):  # noqa: D102
        hp = self.hparams
        kind = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[hp["optimizer"]]
        opt = kind(self.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
        if hp["schedule"] == "constant":
            return opt
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=hp["lr"], total_steps=int(self.trainer.estimated_stepping_batches)
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:  # noqa: D102
        checkpoint["mpralens"] = dict(self.spec)


class ActivityDataModule(L.LightningDataModule):
    """Train/valid/test loaders over a :class:`TrainingData`, inputs encoded once as ``uint8``."""

    def __init__(self, data: TrainingData, *, layout: str, batch_size: int = 128) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise InputError(f"unknown input layout {layout!r}; expected one of {LAYOUTS}")
        self.data, self.layout, self.batch_size = data, layout, batch_size
        self.frame_length = data.frame_length
        self._sets: dict[str, TensorDataset] = {}

    def input_length(self) -> int:
        """Input length the network sees."""
        return (
            self.frame_length
            if self.layout == "positional"
            else int(self.data.tiles["sequence"].str.len().max())
        )

    def dataset(self, split: str) -> TensorDataset:
        """Tensors of one split (cached)."""
        if split not in self._sets:
            d = self.data.subset(split)
            x = encode(
                list(d.tiles["sequence"]),
                d.tiles["offset"].to_numpy(),
                self.layout,
                self.frame_length,
            )
            self._sets[split] = TensorDataset(
                torch.from_numpy(x),
                torch.from_numpy(d.y.astype(np.float32)),
                torch.from_numpy(d.w.astype(np.float32)),
            )
        return self._sets[split]

    def train_dataloader(self):  # noqa: D102
        gen = torch.Generator().manual_seed(int(torch.initial_seed()) % 2**63)
        return DataLoader(
            self.dataset("train"), batch_size=self.batch_size, shuffle=True, generator=gen
        )

    def val_dataloader(self):  # noqa: D102
        return DataLoader(self.dataset("valid"), batch_size=1024)

    def test_dataloader(self):  # noqa: D102
        return DataLoader(self.dataset("test"), batch_size=1024)
