"""The ``adam`` optimiser of :func:`mpralens.biophysics.fit.fit_sortseq`: Lightning, profiled.

Mini-batch Adam under Lightning with early stopping on the validation likelihood, then a few
L-BFGS polish steps; the restart with the best validation likelihood is reported. Interaction
energies are profiled over ``interaction_grid`` (:mod:`mpralens.biophysics.profile`), not
descended. Only this module of the fit imports Lightning, so ``lbfgs`` fits (and their spawned
workers) never pay its import.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
)

from mpralens.biophysics.data import SortSeqData
from mpralens.biophysics.fit import EnergyModel, Restart, build_energy_model
from mpralens.biophysics.measurement import SortSeqMeasurement
from mpralens.biophysics.profile import grid_points, profile_minimum, profiled_interactions
from mpralens.biophysics.spec import ModelSpec
from mpralens.biophysics.thermodynamic import ThermodynamicModel
from mpralens.config.settings import FitSettings

log = logging.getLogger(__name__)


class SortSeqFit(L.LightningModule):
    """Energy model + sort-seq measurement, trained on the per-read NLL (nats).

    The training NLL is averaged over the epoch here (weighted by batch size) and logged once per
    epoch: Lightning's per-step ``self.log`` cost about a fifth of a lac fit's time.
    """

    def __init__(
        self, model: EnergyModel, measurement: SortSeqMeasurement, lr: float, l2: float = 0.0
    ) -> None:
        super().__init__()
        self.model, self.measurement, self.lr, self.l2 = model, measurement, lr, l2
        self._train_sum, self._train_n = 0.0, 0

    def train_nll(self) -> float:
        """Mean training NLL of the current epoch so far (NaN before its first batch)."""
        return self._train_sum / self._train_n if self._train_n else float("nan")

    def training_step(self, batch, batch_idx):  # noqa: D102
        """Mean NLL per read of the batch, plus the L2 penalty.

        The penalty on theta and mu (not on interaction energies or rates) keeps sites out of
        saturation, where a site's matrix and the interaction energy are not identifiable.
        """
        x, counts = batch
        nll = self.measurement.nll(self.model(x), counts)
        self._train_sum += float(nll.detach()) * len(x)
        self._train_n += len(x)
        if self.l2 > 0:
            return nll + self.l2 * self.model.energies.l2()
        return nll

    def on_train_epoch_start(self) -> None:  # noqa: D102
        self._train_sum, self._train_n = 0.0, 0

    def on_train_epoch_end(self) -> None:  # noqa: D102
        self.log("train_nll", self.train_nll())

    def validation_step(self, batch, batch_idx):  # noqa: D102
        x, counts = batch
        nll = self.measurement.nll(self.model(x), counts)
        self.log("val_nll", nll, on_epoch=True, on_step=False, batch_size=len(x))
        return nll

    def configure_optimizers(self):  # noqa: D102
        return torch.optim.Adam(self.parameters(), lr=self.lr)


class _KeepBest(Callback):
    """Keep the weights of the best validation epoch in memory (no checkpoint files)."""

    def __init__(self) -> None:
        self.best = float("inf")
        self.state: dict | None = None
        self.curve: list[dict[str, float]] = []

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        val = float(trainer.callback_metrics["val_nll"])
        self.curve.append(
            {"epoch": trainer.current_epoch, "val_nll": val, "train_nll": pl_module.train_nll()}
        )
        if val < self.best:
            self.best = val
            self.state = copy.deepcopy(pl_module.state_dict())


class _Rows(Dataset):
    """Rows of ``x`` and ``counts``, indexed a batch at a time by a list of row numbers.

    The list becomes one index tensor (``index_select``): a ``TensorDataset`` indexed by the
    Python list cost about a tenth of a lac fit's time.
    """

    def __init__(self, x: np.ndarray, counts: np.ndarray) -> None:
        self.x, self.counts = torch.from_numpy(x), torch.from_numpy(counts)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        i = torch.as_tensor(rows, dtype=torch.int64)
        return self.x.index_select(0, i), self.counts.index_select(0, i)


def _loader(d: SortSeqData, batch: int, shuffle: bool, seed: int) -> DataLoader:
    """Batch by tensor indexing (a BatchSampler: one gather per batch, no per-row collation)."""
    ds = _Rows(d.x, d.counts)
    base = (
        RandomSampler(ds, generator=torch.Generator().manual_seed(seed))
        if shuffle
        else SequentialSampler(ds)
    )
    return DataLoader(ds, sampler=BatchSampler(base, batch, drop_last=False), batch_size=None)


def fit_sortseq_adam(
    spec: ModelSpec, data: SortSeqData, settings: FitSettings, *, logdir: str | Path | None = None
) -> list[Restart]:
    """Fit ``settings.restarts`` times with Adam; return the restarts sorted best first."""
    names = profiled_interactions(spec, settings.interaction_grid)

    def fit_point(seed, version, point):
        return _fit_once(spec, data, settings, seed, logdir, version, point)

    restarts = []
    for r in range(settings.restarts):
        seed = settings.seed + r
        if not names:
            restarts.append(fit_point(seed, f"restart_{r}", None))
            continue
        t0 = time.perf_counter()
        points = grid_points(settings.interaction_grid, len(names))
        values = [fit_point(seed, f"restart_{r}_grid_{k}", p).val_nll for k, p in enumerate(points)]
        best, edge = profile_minimum(points, values, settings.profile_half_width)
        for n, v, e in zip(names, best, edge, strict=True):
            log.info("restart %d: profile minimum of dG_%s at %.3f kT", r, n, v)
            if e:
                log.warning(
                    "restart %d: the profile of dG_%s is lowest at the edge of interaction_grid "
                    "(%.1f kT); widen the grid",
                    r,
                    n,
                    v,
                )
        fit = fit_point(seed, f"restart_{r}", best)
        fit.profile = [
            {**dict(zip(names, p, strict=True)), "val_nll": v}
            for p, v in zip(points, values, strict=True)
        ]
        fit.at_grid_edge = edge
        fit.seconds = time.perf_counter() - t0
        restarts.append(fit)
    return sorted(restarts, key=lambda r: r.val_nll)


def _fit_once(
    spec: ModelSpec,
    data: SortSeqData,
    settings: FitSettings,
    seed: int,
    logdir: str | Path | None,
    version: str,
    interactions: tuple[float, ...] | None = None,
) -> Restart:
    """Fit once from the initial parameters of ``seed``, holding ``interactions`` (kT) if given."""
    train, valid = data.subset("training"), data.subset("validation")
    L.seed_everything(seed, workers=True, verbose=False)
    model, meas = build_energy_model(spec), SortSeqMeasurement(data.n_bins, settings.hidden)
    if interactions is not None:
        assert isinstance(model, ThermodynamicModel)  # only thermodynamic interactions are profiled
        with torch.no_grad():
            model.dG_int.copy_(torch.tensor(interactions, dtype=model.dG_int.dtype))
        model.dG_int.requires_grad_(False)
    module = SortSeqFit(model, meas, settings.lr, settings.l2)
    keep = _KeepBest()
    trainer = L.Trainer(
        max_epochs=settings.max_epochs,
        callbacks=[EarlyStopping("val_nll", patience=settings.patience), keep],
        logger=CSVLogger(str(logdir), name="", version=version) if logdir else False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )
    t0 = time.perf_counter()
    trainer.fit(
        module,
        train_dataloaders=_loader(train, settings.batch_size, True, seed),
        val_dataloaders=_loader(valid, 65536, False, seed),
    )
    assert keep.state is not None  # validation ran at least once
    module.load_state_dict(keep.state)
    val = _polish(module, train, valid, settings.polish_steps, keep.best)
    if interactions is not None:
        assert isinstance(model, ThermodynamicModel)
        model.dG_int.requires_grad_(True)
    log.info(
        "%s: val NLL %.5f nats/read after %d epochs%s",
        version,
        val,
        trainer.current_epoch,
        "" if interactions is None else f" (interactions held at {list(interactions)} kT)",
    )
    return Restart(
        seed, val, trainer.current_epoch, time.perf_counter() - t0, model, meas, keep.curve
    )


def _polish(
    module: SortSeqFit, train: SortSeqData, valid: SortSeqData, steps: int, best: float
) -> float:
    """Full-batch L-BFGS after Adam; kept only if the validation NLL improves.

    Adam crawls along the flat valleys of these likelihoods (chemical potentials and interaction
    energies trade off); a few quasi-Newton steps move further along them in seconds. It improves
    the validation NLL; it does not find dG_I (the profile over ``interaction_grid`` does).
    """
    if steps <= 0:
        return best
    x, c = torch.from_numpy(train.x), torch.from_numpy(train.counts)
    xv, cv = torch.from_numpy(valid.x), torch.from_numpy(valid.counts)
    before = copy.deepcopy(module.state_dict())
    opt = torch.optim.LBFGS(
        [p for p in module.parameters() if p.requires_grad],
        lr=1.0,
        max_iter=50,
        history_size=50,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = module.measurement.nll(module.model(x), c)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    with torch.no_grad():
        val = float(module.measurement.nll(module.model(xv), cv))
    if not np.isfinite(val) or val >= best:
        module.load_state_dict(before)
        return best
    return val
