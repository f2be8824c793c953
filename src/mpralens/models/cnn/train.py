"""Training the multitask CNN: seeded, deterministic, early-stopped, resumable.

Checkpoints go to ``<outdir>/checkpoints/`` (``best.ckpt`` by validation loss and ``last.ckpt``);
a rerun with the same settings and data resumes from ``last.ckpt``, while changed settings or data
start afresh (a fingerprint of both is stored in the checkpoint). The training curve is the
``CSVLogger`` file ``<outdir>/metrics.csv``; a resumed run keeps the interrupted run's epochs
before its own (Lightning's logger would delete them). ``accelerator="auto"`` uses a GPU when
there is one.

An ensemble (``ensemble = k > 1``, :func:`train_ensemble`) trains member ``i`` in
``<outdir>/members/<i>/`` (each resumable as above) with seed ``seed + i`` and, with
``ensemble_by="folds"``, without the ``i``-th of ``k`` folds of the training regions; the members'
best weights go into one checkpoint (:func:`save_ensemble`) that
:func:`mpralens.models.cnn.network.load_network` reads back as an ``Ensemble``. An ensemble of 1 is
the single model, trained in ``<outdir>`` as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from pydantic import Field

from mpralens import __version__
from mpralens.config.settings import CNNRun
from mpralens.data.training import TrainingData, require_tiles
from mpralens.io.atomic import atomic_outputs
from mpralens.models.cnn.architectures import build_architecture
from mpralens.models.cnn.module import ActivityDataModule, ActivityModel
from mpralens.models.cnn.network import encode, load_network, predict_members

log = logging.getLogger(__name__)


class TrainSettings(CNNRun):
    """The CNN settings of the config (``models.cnn``) and the accelerator they train on."""

    accelerator: str = Field(
        "auto", description="Lightning accelerator: auto (a GPU when there is one), cpu or gpu."
    )


class EpochTimer(L.Callback):
    """Wall-clock seconds of every training epoch run here (validation excluded)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer, pl_module) -> None:  # noqa: D102
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module) -> None:  # noqa: D102
        self.seconds.append(time.perf_counter() - self._start)


def _fingerprint(settings: TrainSettings, data: TrainingData) -> str:
    """Hash of the settings and data a checkpoint depends on.

    The epoch limit, patience, devices and accelerator are left out, so that a rerun with a higher
    ``max_epochs`` continues from ``last.ckpt``.
    """
    left_out = ("max_epochs", "patience", "devices", "accelerator")
    what = {k: v for k, v in settings.model_dump().items() if k not in left_out}
    h = hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode())
    h.update(data.tiles["tile_id"].str.cat().encode())
    h.update(data.tiles["split"].str.cat().encode())
    h.update(data.y.tobytes())
    h.update(data.w.tobytes())
    return h.hexdigest()


def train_cnn(
    data: TrainingData,
    settings: TrainSettings,
    outdir: str | Path,
    *,
    dataset: str = "",
    fast_dev_run: bool = False,
) -> tuple[Path, torch.nn.Module, dict[str, Any]] | None:
    """Train, keep the best checkpoint, and return it reloaded.

    With several devices (data-parallel), every worker process runs this; only rank 0 returns
    the model, the others return None.

    Returns
    -------
    tuple
        Path of the best checkpoint, the reloaded network, and its spec with ``parameters`` and
        ``seconds_per_epoch`` (mean wall-clock seconds of the training epochs run in this call,
        validation excluded; NaN if none ran) added.

    Raises
    ------
    InputError
        A task has no usable tile in the train or valid split, or the valid split is empty: early
        stopping on an empty validation set would stop on nothing (see
        :func:`mpralens.data.training.require_tiles`).
    """
    require_tiles(data, ("train", "valid"))
    outdir = Path(outdir)
    L.seed_everything(settings.seed, workers=True, verbose=False)
    dm = ActivityDataModule(data, layout=settings.layout, batch_size=settings.batch_size)
    spec: dict[str, Any] = {
        "arch": settings.arch,
        "arch_kwargs": dict(settings.arch_kwargs),
        "rc": settings.rc,
        "first_activation": settings.first_activation,
        "tasks": list(data.tasks),
        "layout": settings.layout,
        "input_length": dm.input_length(),
        "frame_length": dm.frame_length,
        "tile_length": int(data.tiles["sequence"].str.len().max()),
        "dataset": dataset,
        "version": __version__,
        "fingerprint": _fingerprint(settings, data),
    }
    net = build_architecture(
        settings.arch,
        n_tasks=len(data.tasks),
        input_length=spec["input_length"],
        rc=settings.rc,
        first_activation=settings.first_activation,
        **settings.arch_kwargs,
    )
    model = ActivityModel(
        net,
        spec,
        lr=settings.lr,
        rc_augment=settings.rc_augment,
        optimizer=settings.optimizer,
        weight_decay=settings.weight_decay,
        schedule=settings.schedule,
    )
    timer = EpochTimer()
    ckdir = outdir / "checkpoints"
    best_cb = ModelCheckpoint(
        dirpath=ckdir,
        filename="best",
        monitor="val_loss",
        mode="min",
        save_last=True,
        enable_version_counter=False,
    )
    trainer = L.Trainer(
        max_epochs=settings.max_epochs,
        callbacks=[
            EarlyStopping(monitor="val_loss", mode="min", patience=settings.patience),
            best_cb,
            timer,
        ],
        logger=CSVLogger(save_dir=str(outdir), name="", version=""),
        deterministic=True,
        accelerator=settings.accelerator,
        devices=settings.devices,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=10,
        fast_dev_run=fast_dev_run,
    )
    resume = _resumable(ckdir / "last.ckpt", spec["fingerprint"])
    earlier = None
    if resume:
        log.info("resuming from %s", resume)
        earlier = _read_curve(outdir / "metrics.csv")  # Lightning's logger deletes the file
    trainer.fit(model, datamodule=dm, ckpt_path=resume)
    if not trainer.is_global_zero:
        return None
    if earlier is not None:
        _join_curves(outdir / "metrics.csv", earlier)
    if fast_dev_run:
        return Path(), model.network.cpu().eval(), spec
    best = Path(best_cb.best_model_path or ckdir / "best.ckpt")
    net, spec = load_network(best)
    return best, net, dict(spec, **_cost(net, timer))


def _cost(net: torch.nn.Module, timer: EpochTimer) -> dict[str, Any]:
    """Parameters and mean seconds per training epoch (NaN when no epoch ran here: resumed)."""
    from mpralens.models.cnn.architectures import n_parameters

    secs = float(np.mean(timer.seconds)) if timer.seconds else float("nan")
    return {"parameters": n_parameters(net), "seconds_per_epoch": secs}


def _read_curve(path: Path) -> pd.DataFrame | None:
    """Read an interrupted run's training curve; None when missing or unreadable (cut mid-write)."""
    try:
        curve = pd.read_csv(path)
    except (OSError, ValueError):  # missing, empty, or a line cut by the kill
        return None
    return curve if "epoch" in curve.columns else None


def _join_curves(path: Path, earlier: pd.DataFrame) -> None:
    """Put the interrupted run's epochs before the resumed run's in ``metrics.csv``.

    The resumed run logs from the checkpoint's epoch on; the earlier rows of those epochs and
    later ones (logged after the checkpoint was saved) are the ones it replaces.
    """
    later = _read_curve(path)
    if later is None or later["epoch"].isna().all():
        return
    kept = earlier[earlier["epoch"] < later["epoch"].min()]
    if kept.empty:
        return
    with atomic_outputs(path) as (tmp,):
        pd.concat([kept, later], ignore_index=True).to_csv(tmp, index=False)


def _resumable(last: Path, fingerprint: str) -> str | None:
    if not last.exists():
        return None
    try:
        meta = torch.load(last, map_location="cpu", weights_only=True).get("mpralens", {})
    except Exception:  # noqa: BLE001 - a corrupt last checkpoint (killed mid-write) is not resumed
        return None
    return str(last) if meta.get("fingerprint") == fingerprint else None


def fold_data(data: TrainingData, fold: int, folds: int) -> TrainingData:
    """Drop from ``data`` the training tiles of fold ``fold`` of ``folds`` (by region).

    Training regions are dealt to folds in a fixed shuffled order (seed 0), so every member of a
    fold ensemble sees the same folds; valid and test tiles are untouched.
    """
    if folds < 2:
        return data
    is_train = data.tiles["split"] == "train"
    train_regions = np.array(sorted(set(data.tiles.loc[is_train, "region_id"])))
    order = np.random.default_rng(0).permutation(len(train_regions))
    left_out = set(train_regions[order[fold::folds]])
    keep = ~(is_train & data.tiles["region_id"].isin(left_out)).to_numpy()
    return TrainingData(
        data.tiles[keep].reset_index(drop=True), data.y[keep], data.w[keep], data.tasks
    )


def train_ensemble(
    data: TrainingData, settings: TrainSettings, outdir: str | Path, *, dataset: str = ""
) -> tuple[list[Path], torch.nn.Module, dict[str, Any]] | None:
    """Train ``settings.ensemble`` members (see the module docstring); return them reloaded.

    Returns
    -------
    tuple
        The members' best checkpoints, the network (an ``Ensemble`` when ``k > 1``, else the single
        network) and its spec (``ensemble`` and ``ensemble_by`` added when ``k > 1``; and, not
        saved in the checkpoint, ``parameters`` and ``seconds_per_epoch``, summed over members);
        None on data-parallel workers other than rank 0.
    """
    k = settings.ensemble
    if k == 1:
        trained = train_cnn(data, settings, outdir, dataset=dataset)
        return None if trained is None else ([trained[0]], trained[1], trained[2])
    bests: list[Path] = []
    member_spec: dict[str, Any] = {}
    cost = {"parameters": 0, "seconds_per_epoch": 0.0}
    for i in range(k):
        member = settings.model_copy(update={"seed": settings.seed + i, "ensemble": 1})
        part = fold_data(data, i, k) if settings.ensemble_by == "folds" else data
        log.info("ensemble member %d of %d (seed %d)", i + 1, k, member.seed)
        trained = train_cnn(part, member, Path(outdir) / "members" / str(i), dataset=dataset)
        if trained is None:
            return None
        bests.append(trained[0])
        member_spec = {key: v for key, v in trained[2].items() if key not in cost}
        for key in cost:
            cost[key] += trained[2][key]
    spec = dict(member_spec, ensemble=k, ensemble_by=settings.ensemble_by, seed=settings.seed)
    return bests, _ensemble_from(bests, spec), dict(spec, **cost)


def _ensemble_state(bests: list[Path]) -> dict[str, torch.Tensor]:
    state = {}
    for i, path in enumerate(bests):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        for key, value in ckpt["state_dict"].items():
            if key.startswith("network."):
                state[f"members.{i}." + key.removeprefix("network.")] = value
    return state


def save_ensemble(bests: list[Path], spec: dict[str, Any], path: str | Path) -> None:
    """Write the members' best weights and the ensemble spec as one checkpoint at ``path``."""
    torch.save({"mpralens": spec, "state_dict": _ensemble_state(bests)}, path)


def _ensemble_from(bests: list[Path], spec: dict[str, Any]) -> torch.nn.Module:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        save_ensemble(bests, spec, Path(tmp) / "ensemble.ckpt")
        return load_network(Path(tmp) / "ensemble.ckpt")[0]


def predict_tiles(net: torch.nn.Module, spec: dict[str, Any], data: TrainingData):
    """Predictions ``(n_tiles, n_tasks)`` for the tiles of ``data`` (an ensemble's mean)."""
    return predict_tiles_members(net, spec, data).mean(axis=0)


def predict_tiles_members(net: torch.nn.Module, spec: dict[str, Any], data: TrainingData):
    """Every member's predictions ``(k, n_tiles, n_tasks)`` for the tiles of ``data``."""
    x = encode(
        list(data.tiles["sequence"]),
        data.tiles["offset"].to_numpy(),
        spec["layout"],
        spec["frame_length"],
    )
    return predict_members(net, x)
