"""Maximum-likelihood fitting of a biophysical model and its measurement process.

Energies are in kT inside and reported in kcal/mol (1 kT = 0.616). Each restart draws new initial
parameters (seed + restart); the spread of every scalar energy over restarts is kept.

Two optimisers (``FitSettings.optimizer``; ``auto``, the default, takes ``lbfgs`` for
thermodynamic models and ``adam`` for kinetic ones).

``lbfgs``: maximum penalised likelihood. Every parameter, interaction energies included,
is fitted on the whole training set at once (sequences as
:class:`~mpralens.biophysics.energies.SparseOneHot`, float64, one thread per fit) with scipy's
L-BFGS-B until no gradient component exceeds ``lbfgs_tolerance``. The measurement network
carries a Gaussian prior (``measurement_l2``): unpenalised, its weights grow without bound and the
fit neither converges nor generalises. Restarts are ranked by the objective; every interaction
energy of the best one gets a 95% profile-likelihood interval (:func:`_walk`). Restarts and the
interval's sides run on ``workers`` processes.

``adam`` (:mod:`mpralens.biophysics.adam`): mini-batch Adam under Lightning with early stopping on
the validation likelihood, then a few L-BFGS polish steps; the restart with the best validation
likelihood is reported. Its interaction energies are not descended (they stall in a flat valley)
but profiled: each restart fits the model with the interactions held at every point of
``interaction_grid``, takes the minimum of the validation profile
(:mod:`mpralens.biophysics.profile`) and fits once more with the interactions held there. Its
restarts disagree on dG_I (docs/limits.md): the validation differences that decide it are the size
of each fit's own optimisation error.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.optimize
import torch
from torch import nn

from mpralens.biophysics.data import SortSeqData
from mpralens.biophysics.energies import SparseOneHot
from mpralens.biophysics.information import entropy_bits, predictive_information
from mpralens.biophysics.kinetic import KineticModel
from mpralens.biophysics.measurement import SortSeqMeasurement
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
    objective: float = float("nan")  # lbfgs: penalised training NLL per read at the optimum
    converged: bool = True  # lbfgs: the gradient tolerance was reached
    grad_max: float = float("nan")  # lbfgs: largest gradient component at the end
    intervals: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    reads: float = float("nan")  # lbfgs: training reads (the objective is per read)

    def state(self) -> dict:
        """Parameters of the energy model and the measurement (a ``SortSeqModule`` state dict)."""
        return {
            **{f"model.{k}": v for k, v in self.model.state_dict().items()},
            **{f"measurement.{k}": v for k, v in self.measurement.state_dict().items()},
        }


def build_energy_model(spec: ModelSpec) -> EnergyModel:
    """Build the network a spec describes."""
    return ThermodynamicModel(spec) if spec.kind == "thermodynamic" else KineticModel(spec)


class SortSeqModule(nn.Module):
    """An energy model and its sort-seq measurement, as one module (the fits' parameters)."""

    def __init__(self, model: EnergyModel, measurement: SortSeqMeasurement) -> None:
        super().__init__()
        self.model, self.measurement = model, measurement


def fit_sortseq(
    spec: ModelSpec, data: SortSeqData, settings: FitSettings, *, logdir: str | Path | None = None
) -> list[Restart]:
    """Fit ``settings.restarts`` times; return the restarts sorted best first.

    ``lbfgs`` runs here; ``adam`` in :mod:`mpralens.biophysics.adam`, imported only then (it needs
    Lightning, whose import costs seconds per process, spawned workers included).
    """
    if settings.optimizer_for(spec.kind) == "lbfgs":
        return _fit_sortseq_lbfgs(spec, data, settings)
    from mpralens.biophysics.adam import fit_sortseq_adam

    return fit_sortseq_adam(spec, data, settings, logdir=logdir)


@dataclass
class _Problem:
    """What every lbfgs fit of one fit job shares: the model spec, the data and the settings."""

    spec: ModelSpec
    n_bins: int
    tensors: tuple[FullBatch, FullBatch]
    settings: FitSettings

    @classmethod
    def of(cls, spec, n_bins, train: SortSeqData, valid: SortSeqData, settings) -> _Problem:
        """Build the problem of a training and a validation split, held as full batches."""
        dtype = FULL_BATCH_DTYPE
        return cls(spec, n_bins, (FullBatch(train, dtype), FullBatch(valid, dtype)), settings)

    def fit(self, seed: int, hold: dict[int, float] | None = None, start=None) -> Restart:
        """One fit (:func:`_fit_lbfgs`)."""
        return _fit_lbfgs(self.spec, self.n_bins, self.tensors, self.settings, seed, hold, start)


_WORKER_PROBLEM: _Problem | None = None  # set in each worker process by _init_worker


def _init_worker(spec, n_bins, train, valid, settings, log_level) -> None:
    """Build the problem once per worker process and log to stderr at the parent's level."""
    global _WORKER_PROBLEM
    logging.basicConfig(level=log_level, format="%(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    _WORKER_PROBLEM = _Problem.of(spec, n_bins, train, valid, settings)


def _in_worker(task, *args):
    """Run ``task(problem, *args)`` on the worker's problem."""
    assert _WORKER_PROBLEM is not None
    return task(_WORKER_PROBLEM, *args)


class _Runner:
    """Run tasks on one problem, here or on ``settings.workers`` processes.

    Workers are spawned (a fork after torch's thread pools started can hang). Each fit is seeded
    and single-threaded, so the results do not depend on the number of workers.
    """

    def __init__(self, spec: ModelSpec, data: SortSeqData, settings: FitSettings) -> None:
        train, valid = data.subset("training"), data.subset("validation")
        self.pool: ProcessPoolExecutor | None = None
        self.problem: _Problem | None = None
        if settings.workers > 1:
            self.pool = ProcessPoolExecutor(
                max_workers=settings.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(spec, data.n_bins, train, valid, settings, log.getEffectiveLevel()),
            )
        else:
            self.problem = _Problem.of(spec, data.n_bins, train, valid, settings)

    def map(self, task, calls: list[tuple]) -> list:
        """``[task(problem, *args) for args in calls]``, in parallel on the workers."""
        if self.pool is None:
            return [task(self.problem, *args) for args in calls]
        futures = [self.pool.submit(_in_worker, task, *args) for args in calls]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Stop the workers."""
        if self.pool is not None:
            self.pool.shutdown()


def _restart(problem: _Problem, seed: int) -> Restart:
    return problem.fit(seed)


def _fit_sortseq_lbfgs(spec: ModelSpec, data: SortSeqData, settings: FitSettings) -> list[Restart]:
    """Maximum penalised likelihood from every restart; interval of each interaction energy.

    The restarts are sorted by their training objective (the estimator's own criterion). The
    best one's interaction energies get a profile-likelihood interval (:func:`_walk`); the
    restarts, and then the two sides of every interval, run on ``settings.workers`` processes.
    """
    runner = _Runner(spec, data, settings)
    try:
        seeds = [(settings.seed + r,) for r in range(settings.restarts)]
        restarts = sorted(runner.map(_restart, seeds), key=lambda r: r.objective)
        best = restarts[0]
        if spec.kind != "thermodynamic" or settings.interval_points <= 0:
            return restarts
        assert isinstance(best.model, ThermodynamicModel)
        t0 = time.perf_counter()
        names = best.model.interaction_names
        best.profile.append(_profile_row(best, best))
        sides = [(best, j, d) for j in range(len(names)) for d in (-1.0, 1.0)]
        walks = runner.map(_walk, sides)
        for j, name in enumerate(names):
            (rows_lo, lo), (rows_hi, hi) = walks[2 * j], walks[2 * j + 1]
            best.profile += rows_lo + rows_hi
            best.intervals[name] = (lo, hi)
            log.info(
                "dG_%s: %.3f kT, 95%% profile interval [%s, %s] kT",
                name,
                float(best.model.dG_int.detach()[j]),
                lo,
                hi,
            )
        best.profile.sort(key=lambda p: tuple(p[n] for n in names))
        best.seconds += time.perf_counter() - t0
        return restarts
    finally:
        runner.close()


CHI2_95 = 3.841458820694124  # 95% quantile of chi-square with one degree of freedom


def _profile_row(fit: Restart, best: Restart) -> dict[str, float]:
    """Tabulate a profile point: interaction energies (kT), validation NLL, objective, LR stat."""
    assert isinstance(fit.model, ThermodynamicModel)
    values = fit.model.dG_int.detach().tolist()
    return {
        **dict(zip(fit.model.interaction_names, values, strict=True)),
        "val_nll": fit.val_nll,
        "objective": fit.objective,
        "lr_stat": 2 * best.reads * (fit.objective - best.objective),
    }


def _walk(
    problem: _Problem, best: Restart, j: int, direction: float
) -> tuple[list[dict[str, float]], float | None]:
    """One side of the 95% profile-likelihood interval of interaction ``j`` (kT; None: not reached).

    From the estimate, walk in ``interval_step`` steps in ``direction``, refitting everything
    else with interaction ``j`` held (each point warm-started from the previous one), until twice
    the log-likelihood ratio ``2 n_reads (objective - best objective)`` passes the chi-square(1)
    95% quantile or ``interval_points`` steps are taken. The bound is where the straight line
    between the last two points crosses that quantile. Returns the points' profile rows and the
    bound. A point with a lower objective than the estimate means the restarts missed the
    optimum; it is logged as a warning (and shows in profile.tsv).
    """
    assert isinstance(best.model, ThermodynamicModel)
    name = best.model.interaction_names[j]
    estimate = float(best.model.dG_int.detach()[j])
    settings = problem.settings
    rows: list[dict[str, float]] = []
    start, prev = best.state(), (estimate, 0.0)
    for k in range(1, settings.interval_points + 1):
        value = estimate + direction * k * settings.interval_step
        fit = problem.fit(best.seed, {j: value}, start)
        # The held value itself, not its float32 copy in the returned model: the bound below
        # is computed from it, and profile.tsv must give it back exactly.
        rows.append({**_profile_row(fit, best), name: value})
        stat = rows[-1]["lr_stat"]
        if stat < 0:
            log.warning(
                "dG_%s held at %.3f kT fits better than the estimate %.3f kT (likelihood "
                "ratio %.3g): the restarts missed the optimum; raise restarts",
                name,
                value,
                estimate,
                stat,
            )
        if stat >= CHI2_95:
            x0, s0 = prev
            return rows, x0 + (value - x0) * (CHI2_95 - s0) / (stat - s0)
        start, prev = fit.state(), (value, stat)
    return rows, None


FULL_BATCH_DTYPE = torch.float64  # the lbfgs fit's precision


class FullBatch:
    """A split as the L-BFGS fit uses it: sparse one-hot sequences and bin counts."""

    def __init__(self, d: SortSeqData, dtype: torch.dtype) -> None:
        self.x = SparseOneHot(d.x, dtype)
        self.counts = torch.from_numpy(d.counts).to(dtype)
        self.reads = float(d.counts.sum())


def penalised_nll(module: SortSeqModule, split: FullBatch, settings: FitSettings) -> torch.Tensor:
    """Training objective of ``lbfgs``: NLL per read plus the L2 penalties.

    ``measurement_l2`` is a Gaussian prior on every parameter of the measurement network, in nats
    for the whole data set (so divided by its reads here): the same prior whatever the data's
    size. Without it the network's weights grow without bound while the NLL creeps down and the
    validation NLL rises. ``l2`` (per read, as for ``adam``) penalises the energy parameters.
    """
    model, meas = module.model, module.measurement
    loss = meas.nll(model(split.x), split.counts)
    if settings.measurement_l2 > 0:
        loss = loss + settings.measurement_l2 / split.reads * meas.l2()
    if settings.l2 > 0:
        loss = loss + settings.l2 * model.energies.l2()
    return loss


def _fit_lbfgs(
    spec: ModelSpec,
    n_bins: int,
    tensors: tuple[FullBatch, FullBatch],
    settings: FitSettings,
    seed: int,
    hold: dict[int, float] | None = None,
    start: dict | None = None,
) -> Restart:
    """Maximise the penalised likelihood with full-batch L-BFGS-B (scipy) in float64.

    Every parameter is free, interaction energies included, except those in ``hold``
    (``{index into dG_int: kT}``), which L-BFGS-B keeps at their value with equal bounds. The fit
    starts from ``start`` (a state dict) or the initial parameters of ``seed`` and stops when no
    component of the objective's gradient exceeds ``settings.lbfgs_tolerance`` (converged) or after
    ``settings.lbfgs_iterations`` iterations (logged as a warning; ``Restart.converged`` is False).
    One thread: these small full-batch products gain nothing from a second.
    """
    train, valid = tensors
    torch.manual_seed(seed)
    model, meas = build_energy_model(spec), SortSeqMeasurement(n_bins, settings.hidden)
    module = SortSeqModule(model, meas).to(FULL_BATCH_DTYPE)
    if start is not None:
        module.load_state_dict(start)
    params = list(module.parameters())
    sizes = [p.numel() for p in params]
    bounds: list[tuple[float | None, float | None]] = [(None, None)] * sum(sizes)

    def offset(param: torch.Tensor) -> int:
        return sum(sizes[: next(i for i, p in enumerate(params) if p is param)])

    if hold:
        assert isinstance(model, ThermodynamicModel)  # only thermodynamic interactions are held
        with torch.no_grad():
            for j, v in hold.items():
                model.dG_int[j] = v
                bounds[offset(model.dG_int) + j] = (v, v)

    def assign(v: np.ndarray) -> None:
        with torch.no_grad():
            for p, chunk in zip(params, np.split(v, np.cumsum(sizes)[:-1]), strict=True):
                p.copy_(torch.from_numpy(chunk).view_as(p))

    last = [float("nan")]
    curve: list[dict[str, float]] = []

    def objective(v: np.ndarray) -> tuple[float, np.ndarray]:
        assign(v)
        for p in params:
            p.grad = None
        loss = penalised_nll(module, train, settings)
        loss.backward()
        last[0] = float(loss.detach())
        return last[0], np.concatenate([p.grad.reshape(-1).numpy() for p in params])  # type: ignore[union-attr]

    iteration = [0]

    def record(v: np.ndarray) -> None:
        """Every 25th iteration: the objective and the validation NLL (the training curve)."""
        if iteration[0] % 25 == 0:
            assign(v)
            with torch.no_grad():
                val = float(meas.nll(model(valid.x), valid.counts))
            curve.append({"epoch": iteration[0], "val_nll": val, "train_nll": last[0]})
        iteration[0] += 1

    v0 = np.concatenate([p.detach().reshape(-1).numpy() for p in params])
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = scipy.optimize.minimize(
            objective,
            v0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=record,
            options={
                "maxiter": settings.lbfgs_iterations,
                "maxfun": 2 * settings.lbfgs_iterations,
                "maxcor": 50,
                "ftol": 0.0,
                "gtol": settings.lbfgs_tolerance,
            },
        )
        assign(res.x)
        with torch.no_grad():
            val = float(meas.nll(model(valid.x), valid.counts))
    finally:
        torch.set_num_threads(threads)
    if not (np.isfinite(val) and np.isfinite(res.fun)):
        raise FloatingPointError(f"the fit diverged (validation NLL {val}); try another seed")
    grad_max = _free_grad_max(res.jac, bounds)
    converged = grad_max <= settings.lbfgs_tolerance
    seconds = time.perf_counter() - t0
    held = "" if not hold else f" (dG_int[{list(hold)}] held at {list(hold.values())} kT)"
    if not converged:
        log.warning(
            "seed %d: L-BFGS stopped after %d iterations with gradient %.2g > lbfgs_tolerance "
            "%.2g%s; raise lbfgs_iterations",
            seed,
            res.nit,
            grad_max,
            settings.lbfgs_tolerance,
            held,
        )
    log.info(
        "seed %d: objective %.7f, val NLL %.6f nats/read after %d iterations (%.1f s)%s",
        seed,
        res.fun,
        val,
        res.nit,
        seconds,
        held,
    )
    module.to(torch.float32)
    curve.append({"epoch": int(res.nit), "val_nll": val, "train_nll": float(res.fun)})
    out = Restart(seed, val, int(res.nit), seconds, model, meas, curve)
    out.objective, out.converged, out.grad_max = float(res.fun), converged, grad_max
    out.reads = train.reads
    return out


def _free_grad_max(grad: np.ndarray, bounds: list[tuple[float | None, float | None]]) -> float:
    """Largest gradient component over the parameters not held by equal bounds."""
    free = np.array([lo is None or lo != hi for lo, hi in bounds])
    return float(np.abs(grad[free]).max())


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
