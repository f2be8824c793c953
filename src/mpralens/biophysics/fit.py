"""Maximum-likelihood fitting of a biophysical model and its measurement process.

Each restart draws new initial parameters (seed + restart); the restart with the best validation
likelihood is reported, and the spread of every scalar energy over restarts is kept. Energies are
in kT inside and reported in kcal/mol (1 kT = 0.616).

Two optimisers (``FitSettings.optimizer``). ``adam`` (default): mini-batch Adam under Lightning
with early stopping on the validation likelihood, then a few L-BFGS polish steps. ``lbfgs``:
full-batch L-BFGS in float64 on the whole training set (sequences as
:class:`~mpralens.biophysics.energies.SparseOneHot`, one thread), run until a round of steps
lowers the training NLL by less than ``lbfgs_tolerance``; the fit's score is the validation NLL.
``lbfgs`` is faster but not the default: on the simulated set its profile's minimum lands one
grid step from the truth (docs/limits.md).

Interaction energies of thermodynamic models are not fitted by gradient descent (they stall in a
flat valley) but profiled: each restart fits the model with the interactions held at every point
of ``interaction_grid``, takes the minimum of the validation profile
(:mod:`mpralens.biophysics.profile`) and fits once more with the interactions held there; that
last fit is the restart's model. With ``lbfgs`` the grid is walked outwards from its centre, each
point starting from the fitted parameters of its nearest fitted neighbour (a continuation; the
centre starts from the restart's random parameters), and the last fit starts from the grid point
nearest the minimum. An empty grid fits the interactions freely like every other parameter.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
)

from mpralens.biophysics.data import SortSeqData
from mpralens.biophysics.energies import SparseOneHot
from mpralens.biophysics.information import entropy_bits, predictive_information
from mpralens.biophysics.kinetic import KineticModel
from mpralens.biophysics.measurement import SortSeqMeasurement
from mpralens.biophysics.profile import (
    continuation_order,
    grid_points,
    profile_minimum,
    profiled_interactions,
)
from mpralens.biophysics.spec import ModelSpec
from mpralens.biophysics.thermodynamic import ThermodynamicModel
from mpralens.config.settings import FitSettings

log = logging.getLogger(__name__)

EnergyModel = ThermodynamicModel | KineticModel


@dataclass
class Restart:
    """One restart's outcome."""

    seed: int
    val_nll: float
    epochs: int
    seconds: float
    model: EnergyModel
    measurement: SortSeqMeasurement
    curve: list[dict[str, float]] = field(default_factory=list)
    profile: list[dict[str, float]] = field(default_factory=list)
    at_grid_edge: tuple[bool, ...] = ()

    def state(self) -> dict:
        """Parameters of the energy model and the measurement (a ``SortSeqFit`` state dict)."""
        return {
            **{f"model.{k}": v for k, v in self.model.state_dict().items()},
            **{f"measurement.{k}": v for k, v in self.measurement.state_dict().items()},
        }


def build_energy_model(spec: ModelSpec) -> EnergyModel:
    """Build the network a spec describes."""
    return ThermodynamicModel(spec) if spec.kind == "thermodynamic" else KineticModel(spec)


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


def fit_sortseq(
    spec: ModelSpec, data: SortSeqData, settings: FitSettings, *, logdir: str | Path | None = None
) -> list[Restart]:
    """Fit ``settings.restarts`` times; return the restarts sorted best first."""
    names = profiled_interactions(spec, settings.interaction_grid)
    train, valid = data.subset("training"), data.subset("validation")
    if settings.optimizer == "lbfgs":
        dtype = torch.float64
        tensors = (_FullBatch(train, dtype), _FullBatch(valid, dtype))

        def fit_point(seed, version, point, start):
            return _fit_lbfgs(spec, data.n_bins, tensors, settings, seed, point, start, dtype)

    else:

        def fit_point(seed, version, point, start):
            return _fit_once(spec, data, settings, seed, logdir, version, point)

    restarts = []
    for r in range(settings.restarts):
        seed = settings.seed + r
        if not names:
            restarts.append(fit_point(seed, f"restart_{r}", None, None))
            continue
        t0 = time.perf_counter()
        points = grid_points(settings.interaction_grid, len(names))
        values: list[float] = [float("nan")] * len(points)
        states: dict[int, dict] = {}
        for k in continuation_order(points):
            start = _nearest_state(points, states, points[k])
            fit = fit_point(seed, f"restart_{r}_grid_{k}", points[k], start)
            values[k] = fit.val_nll
            states[k] = copy.deepcopy(fit.state())
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
        fit = fit_point(seed, f"restart_{r}", best, _nearest_state(points, states, best))
        fit.profile = [
            {**dict(zip(names, p, strict=True)), "val_nll": v}
            for p, v in zip(points, values, strict=True)
        ]
        fit.at_grid_edge = edge
        fit.seconds = time.perf_counter() - t0
        restarts.append(fit)
    return sorted(restarts, key=lambda r: r.val_nll)


def _nearest_state(
    points: list[tuple[float, ...]], states: dict[int, dict], point: tuple[float, ...]
) -> dict | None:
    """Fitted parameters of the fitted grid point nearest ``point`` (None before the first)."""
    if not states:
        return None
    k = min(states, key=lambda i: float(np.sum((np.array(points[i]) - np.array(point)) ** 2)))
    return states[k]


class _FullBatch:
    """A split as the L-BFGS fit uses it: sparse one-hot sequences and bin counts."""

    def __init__(self, d: SortSeqData, dtype: torch.dtype) -> None:
        self.x = SparseOneHot(d.x, dtype)
        self.counts = torch.from_numpy(d.counts).to(dtype)


def _fit_lbfgs(
    spec: ModelSpec,
    n_bins: int,
    tensors: tuple[_FullBatch, _FullBatch],
    settings: FitSettings,
    seed: int,
    interactions: tuple[float, ...] | None,
    start: dict | None,
    dtype: torch.dtype,
) -> Restart:
    """Full-batch L-BFGS from ``start`` (or the initial parameters of ``seed``).

    Rounds of ``settings.lbfgs_iterations`` quasi-Newton steps on the whole training set until a
    round lowers the training NLL by less than ``settings.lbfgs_tolerance`` (or after
    ``settings.max_epochs`` rounds); the validation NLL of the converged parameters is the fit's
    score. No early stopping on the validation set: with about 550 parameters for 30,000
    variants the fit does not overfit measurably, and the validation NLL from round to round
    moves by more (a few 1e-4) than the profile differences it would select between.
    Interactions given are held at those values (kT).
    """
    train, valid = tensors
    torch.manual_seed(seed)
    model, meas = build_energy_model(spec), SortSeqMeasurement(n_bins, settings.hidden)
    module = SortSeqFit(model, meas, settings.lr, settings.l2).to(dtype)
    if start is not None:
        module.load_state_dict(start)
    if interactions is not None:
        assert isinstance(model, ThermodynamicModel)  # only thermodynamic interactions are profiled
        with torch.no_grad():
            model.dG_int.copy_(torch.tensor(interactions, dtype=dtype))
        model.dG_int.requires_grad_(False)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=settings.lbfgs_iterations,
        max_eval=10 * settings.lbfgs_iterations,
        history_size=settings.lbfgs_iterations,
        tolerance_grad=1e-9,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        loss = meas.nll(model(train.x), train.counts)
        if settings.l2 > 0:
            loss = loss + settings.l2 * model.energies.l2()
        loss.backward()
        return loss

    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small full-batch ops: a second thread costs more than it gives
    try:
        curve: list[dict[str, float]] = []
        prev = float("inf")
        for rnd in range(settings.max_epochs):
            loss = float(opt.step(closure))
            with torch.no_grad():
                val = float(meas.nll(model(valid.x), valid.counts))
            curve.append({"epoch": rnd, "val_nll": val, "train_nll": loss})
            log.debug("round %d: train %.7f val %.7f", rnd, loss, val)
            if not np.isfinite(loss) or prev - loss < settings.lbfgs_tolerance:
                break
            prev = loss
    finally:
        torch.set_num_threads(threads)
    if not np.isfinite(val):
        raise FloatingPointError(f"the fit diverged (validation NLL {val}); try another seed")
    module.to(torch.float32)
    if interactions is not None:
        model.dG_int.requires_grad_(True)
    log.info(
        "seed %d: val NLL %.6f nats/read after %d L-BFGS rounds (%.1f s)%s",
        seed,
        val,
        len(curve),
        time.perf_counter() - t0,
        "" if interactions is None else f" (interactions held at {list(interactions)} kT)",
    )
    return Restart(seed, val, len(curve), time.perf_counter() - t0, model, meas, curve)


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


@torch.no_grad()
def latent(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Model activity ``t`` for one-hot ``x`` (``(n, 4, L)``)."""
    model.eval()
    return np.concatenate(
        [model(torch.from_numpy(x[i : i + 65536])).numpy() for i in range(0, len(x), 65536)]
    )


@torch.no_grad()
def information(restart: Restart, test: SortSeqData) -> dict[str, float]:
    """Test-set NLL, variational and predictive information, all in bits per read."""
    phi = latent(restart.model, test.x)
    counts = torch.from_numpy(test.counts)
    nll_bits = float(restart.measurement.nll(torch.from_numpy(phi), counts)) / np.log(2)
    h = entropy_bits(test.counts)
    return {
        "n_test_variants": int(len(phi)),
        "n_test_reads": int(test.counts.sum()),
        "bin_entropy_bits": h,
        "test_nll_bits": nll_bits,
        "variational_information_bits": h - nll_bits,
        "predictive_information_bits": predictive_information(phi, test.counts),
    }
