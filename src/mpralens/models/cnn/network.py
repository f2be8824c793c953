"""A trained CNN without Lightning: input encoding, rebuilding a checkpoint's network, prediction.

Everything that uses a trained network (ISM, attribution, GIA, filters, predictions) imports this
module, not :mod:`mpralens.models.cnn.module`, so it does not pay Lightning's import (4.6 s on
the 2-core CI machine) in every job; an import-linter contract keeps it so. A checkpoint carries
the ``spec`` dict that rebuilds its network (architecture, its settings, tasks, input layout, data
set, package version) under ``"mpralens"``; :func:`load_network` restores it with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import torch
from torch import nn

from mpralens.io.errors import InputError
from mpralens.io.sequences import one_hot
from mpralens.models.cnn.architectures import build_architecture

LAYOUTS = ("tile", "positional")


def encode(
    seqs: list[str], offsets: np.ndarray | None, layout: str, frame_length: int
) -> np.ndarray:
    """One-hot inputs, ``shape=(n, 4, L)``, ``uint8``.

    ``tile``: the tile itself. ``positional``: the tile placed at ``offset`` in a zero-padded
    frame of ``frame_length`` bases (Paggi et al.'s 295-bp positional input).
    """
    x = one_hot(seqs).astype(np.uint8)
    if layout == "tile":
        return x
    if offsets is None:
        raise ValueError("the positional layout needs tile offsets")
    length = x.shape[2]
    if (offsets < 0).any() or (offsets + length > frame_length).any():
        raise InputError(f"tile offsets must place the tile inside the {frame_length}-bp frame")
    out = np.zeros((len(seqs), 4, frame_length), dtype=np.uint8)
    cols = offsets[:, None] + np.arange(length)[None, :]
    out[np.arange(len(seqs))[:, None, None], np.arange(4)[None, :, None], cols[:, None, :]] = x
    return out


def load_network(path: str | PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a trained network from a checkpoint, loaded with ``weights_only=True``.

    Returns
    -------
    tuple
        The network in eval mode on the CPU, and its spec (tasks, layout, data set, version...).
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise InputError("checkpoint not found", path=path) from exc
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is bad input here
        # torch's own message runs to a page; its gist is the first sentence of the last line
        # that names what was refused.
        detail = str(exc).strip().splitlines()
        gist = next((ln for ln in detail if "Unsupported" in ln or "GLOBAL" in ln), detail[0])
        raise InputError(
            "not a loadable mpralens checkpoint: torch.load(weights_only=True) refused it "
            f"({type(exc).__name__}: {gist.strip()[:160]})",
            path=path,
        ) from exc
    if "mpralens" not in ckpt or "state_dict" not in ckpt:
        raise InputError(
            "checkpoint carries no mpralens spec; was it written by mpralens train-cnn?", path=path
        )
    spec = ckpt["mpralens"]
    members = int(spec.get("ensemble", 1))
    nets = []
    for i in range(members):
        prefix = "network." if members == 1 else f"members.{i}."
        net = build_network(spec)
        net.load_state_dict(
            {
                k.removeprefix(prefix): v
                for k, v in ckpt["state_dict"].items()
                if k.startswith(prefix)
            }
        )
        nets.append(net)
    return (nets[0] if members == 1 else Ensemble(nets)).eval(), spec


def build_network(spec: dict[str, Any]) -> nn.Module:
    """Build an untrained network of a checkpoint's spec (architecture and options)."""
    return build_architecture(
        spec["arch"],
        n_tasks=len(spec["tasks"]),
        input_length=spec["input_length"],
        rc=spec.get("rc", "none"),
        first_activation=spec.get("first_activation", "relu"),
        **spec["arch_kwargs"],
    )


class Ensemble(nn.Module):
    """Networks of the same spec; ``forward`` is their mean, :meth:`members_forward` each one's."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def members_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's output, ``(k, batch, n_tasks)``."""
        return torch.stack([m(x) for m in self.members])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of the members' outputs, ``(batch, n_tasks)``."""
        return self.members_forward(x).mean(dim=0)


def members_of(net: nn.Module) -> list[nn.Module]:
    """Return the members of an :class:`Ensemble`, or ``[net]`` for a single network."""
    return list(net.members) if isinstance(net, Ensemble) else [net]


def ensemble_summary(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, spread and 95% interval over ensemble members (axis 0 of ``values``).

    ``sd`` is the members' standard deviation (``ddof=1``); the interval is the 95% prediction
    interval of one more member, ``mean -/+ t(0.975, k - 1) * sd * sqrt(1 + 1 / k)`` (Student's
    t; the members are treated as normal draws around the ensemble mean). With one member, the
    mean is that member and ``sd``, ``lo`` and ``hi`` are NaN (a single model has no spread).
    """
    from scipy import stats

    k = values.shape[0]
    mean = values.mean(axis=0)
    if k < 2:
        nan = np.full_like(mean, np.nan, dtype=np.float64)
        return {"mean": mean, "sd": nan, "lo": nan, "hi": nan}
    sd = values.std(axis=0, ddof=1)
    half = stats.t.ppf(0.975, k - 1) * sd * np.sqrt(1 + 1 / k)
    return {"mean": mean, "sd": sd, "lo": mean - half, "hi": mean + half}


@torch.no_grad()
def predict_members(net: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Every member's predictions, ``(k, n, n_tasks)`` (``k = 1`` for a single network)."""
    return np.stack([predict_array(m, x, batch_size) for m in members_of(net)])


@torch.no_grad()
def predict_array(net: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Run ``net`` over one-hot ``x`` (``(n, 4, L)``) in batches; returns ``(n, n_tasks)``."""
    net.eval()
    device = next(net.parameters()).device
    out = [
        net(torch.from_numpy(x[i : i + batch_size]).to(device=device, dtype=torch.float32))
        .cpu()
        .numpy()
        for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)
