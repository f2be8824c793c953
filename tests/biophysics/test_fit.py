"""Fitting biophysical models: recovery on simulated data, the real lac data, the command line."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from mpralens.biophysics.data import read_sortseq
from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.biophysics.fit import (
    FitSettings,
    FullBatch,
    SortSeqModule,
    fit_sortseq,
    information,
    penalised_nll,
)
from mpralens.biophysics.spec import parse_spec
from mpralens.io.errors import InputError
from mpralens.simulate.sortseq import SortSeqSimulation, simulate_sortseq
from tests.conftest import REPO, run_cli

LAC_DATA = REPO / "resources" / "lac_sortseq" / "sortseq_data.csv.gz"
THERMO = REPO / "config" / "biophysics" / "lac_thermo.yaml"


def _spec(path=THERMO, name="lac"):
    return parse_spec(name, yaml.safe_load(path.read_text()))


def test_shipped_lac_data_is_intact():
    digest = hashlib.sha256(LAC_DATA.read_bytes()).hexdigest()
    assert digest == "874d92522535f24517e1c389f21c9e067ab30f43ec34cf951d3efee498324d40"
    d = read_sortseq(LAC_DATA, n_bins=10, length=75)
    assert len(d.x) == 50518 and d.n_bins == 10


@pytest.fixture(scope="module")
def simulated_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("sortseq")
    simulate_sortseq(
        SortSeqSimulation(n_variants=30000, crp_sd=1.5, rnap_sd=0.8, noise_sd=0.2, seed=0), out
    )
    truth = json.loads((out / "truth.json").read_text())
    data = read_sortseq(out / "sortseq_data.csv.gz", n_bins=10, length=75)
    restarts = fit_sortseq(_spec(), data, FitSettings(restarts=1))
    return truth, restarts[0]


@pytest.mark.slow
def test_simulated_matrices_are_recovered(simulated_fit):
    truth, best = simulated_fit
    thetas, _ = best.model.energies.gauge_fixed()
    for site, th in zip(("CRP", "RNAP"), thetas, strict=True):
        r = np.corrcoef(th.detach().numpy().ravel(), np.ravel(truth["sites"][site]["theta_kT"]))[
            0, 1
        ]
        assert r >= 0.95, (site, r)


@pytest.mark.slow
def test_simulated_interaction_energy_is_recovered(simulated_fit):
    truth, best = simulated_fit
    fitted = float(best.model.dG_int.detach()[0]) * KCAL_PER_KT
    assert best.converged and best.grad_max <= FitSettings().lbfgs_tolerance
    assert abs(fitted - truth["dG_I_kcal_per_mol"]) <= 0.3, fitted
    # The truth lies inside the 95% profile-likelihood interval, which brackets the estimate.
    lo, hi = (b * KCAL_PER_KT for b in best.intervals["I"])
    assert lo < truth["dG_I_kcal_per_mol"] < hi, (lo, hi)
    assert lo < fitted < hi and hi - lo < 1.5
    _check_profile(best)


def _check_profile(best):
    """The profile's rows give the interval: 0 at the estimate, 3.84 crossed at each bound."""
    est = float(best.model.dG_int.detach()[0])
    stats = {p["I"]: p["lr_stat"] for p in best.profile}
    centre = min(stats, key=lambda x: abs(x - est))
    assert abs(centre - est) < 1e-5 and stats[centre] == 0.0
    # The estimate maximises the likelihood: every held point fits worse (float noise aside).
    assert all(v > -1e-3 for v in stats.values()), stats
    for p in best.profile:  # lr_stat is 2 x reads x objective difference
        assert p["lr_stat"] == pytest.approx(
            2 * best.reads * (p["objective"] - best.objective), abs=1e-6
        )
    xs = sorted(stats)
    for bound in best.intervals["I"]:
        if bound is None:
            continue
        i = next(k for k in range(1, len(xs)) if xs[k - 1] <= bound <= xs[k])
        x0, x1 = xs[i - 1], xs[i]
        line = stats[x0] + (stats[x1] - stats[x0]) * (bound - x0) / (x1 - x0)
        assert line == pytest.approx(3.841458820694124, abs=1e-6)


@pytest.mark.slow
def test_real_lac_restarts_agree_and_beat_mavenn():
    data = read_sortseq(LAC_DATA, n_bins=10, length=75)
    restarts = fit_sortseq(_spec(), data, FitSettings(restarts=2, interval_points=0))
    dg = [float(r.model.dG_int.detach()[0]) * KCAL_PER_KT for r in restarts]
    assert abs(dg[0] - dg[1]) <= 0.3, dg  # issue 21: restarts agree on dG_I
    assert all(r.converged for r in restarts)
    info = information(restarts[0], data.subset("test"))
    # MAVE-NN: 0.674 +- 0.014 bits (paper); 0.713 on a 2-core machine (DATA.md section 2).
    assert info["predictive_information_bits"] >= 0.713, info
    assert info["variational_information_bits"] >= 0.713, info
    assert dg[0] < 0  # CRP and RNAP cooperate


def test_lbfgs_fit_converges_to_a_stationary_point(tmp_path):
    # The demo's simulation settings (a strong CRP site: dG_I identifiable), at a tenth the size.
    sim = SortSeqSimulation(n_variants=3000, crp_sd=1.5, rnap_sd=0.8, noise_sd=0.2, seed=1)
    simulate_sortseq(sim, tmp_path / "sim")
    data = read_sortseq(tmp_path / "sim" / "sortseq_data.csv.gz", n_bins=10, length=75)
    settings = FitSettings(restarts=2, interval_points=1)
    restarts = fit_sortseq(_spec(), data, settings)
    assert [r.seed for r in restarts] in ([0, 1], [1, 0])
    assert restarts[0].objective <= restarts[1].objective  # sorted by the objective
    best = restarts[0]
    # The gradient of the penalised NLL, recomputed here in float64, vanishes at the fit.
    module = SortSeqModule(best.model, best.measurement).to(torch.float64)
    loss = penalised_nll(module, FullBatch(data.subset("training"), torch.float64), settings)
    loss.backward()
    grad = max(float(p.grad.abs().max()) for p in module.parameters())
    module.to(torch.float32)
    assert grad <= 10 * settings.lbfgs_tolerance, grad  # float32 storage of the parameters
    assert float(loss.detach()) == pytest.approx(best.objective, abs=1e-6)
    assert best.model.dG_int.requires_grad and best.model.dG_int.dtype == torch.float32
    assert len(best.intervals["I"]) == 2 and len(best.profile) == 3
    _check_profile(best)
    info = information(best, data.subset("test"))
    assert 0 < info["predictive_information_bits"] < info["bin_entropy_bits"]


def test_workers_do_not_change_the_fit(tmp_path):
    sim = SortSeqSimulation(n_variants=1000, crp_sd=1.5, rnap_sd=0.8, noise_sd=0.2, seed=4)
    simulate_sortseq(sim, tmp_path / "sim")
    data = read_sortseq(tmp_path / "sim" / "sortseq_data.csv.gz", n_bins=10, length=75)
    fits = [
        fit_sortseq(_spec(), data, FitSettings(restarts=2, interval_points=1, workers=w))
        for w in (1, 2)
    ]
    for a, b in zip(*fits, strict=True):  # restarts in the same order, identical to the bit
        assert a.seed == b.seed and a.objective == b.objective and a.profile == b.profile
        for (k, x), (_, y) in zip(a.state().items(), b.state().items(), strict=True):
            assert torch.equal(x, y), k
    assert fits[0][0].intervals == fits[1][0].intervals


def test_lbfgs_without_convergence_says_so(tmp_path, caplog):
    simulate_sortseq(SortSeqSimulation(n_variants=2000, seed=2), tmp_path / "sim")
    data = read_sortseq(tmp_path / "sim" / "sortseq_data.csv.gz", n_bins=10, length=75)
    settings = FitSettings(restarts=1, lbfgs_iterations=3, interval_points=0)
    best = fit_sortseq(_spec(), data, settings)[0]
    assert not best.converged and best.grad_max > settings.lbfgs_tolerance
    assert best.epochs == 3
    assert "raise lbfgs_iterations" in caplog.text


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_fit_command_writes_every_output(tmp_path, optimizer):
    sim = SortSeqSimulation(n_variants=3000, crp_sd=1.5, rnap_sd=0.8, noise_sd=0.2, seed=1)
    simulate_sortseq(sim, tmp_path / "sim")
    settings = json.dumps(
        {"restarts": 2, "optimizer": optimizer, "max_epochs": 3, "polish_steps": 1}
        | ({"interval_points": 1} if optimizer == "lbfgs" else {})
    )
    out = tmp_path / "fit"
    proc = run_cli(
        "fit-biophysical",
        "--data",
        tmp_path / "sim" / "sortseq_data.csv.gz",
        "--model-spec",
        THERMO,
        "--settings-json",
        settings,
        "--outdir",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    for name in (
        "params.json",
        "info.json",
        "CRP_matrix.tsv",
        "RNAP_matrix.tsv",
        "logos.png",
        "training_curve.png",
    ):
        assert (out / name).exists(), name
    params = json.loads((out / "params.json").read_text())
    assert set(params["parameters"]) == {"mu_CRP", "mu_RNAP", "dG_I"}
    prof = params["interaction_profile"]
    table = pd.read_csv(out / "profile.tsv", sep="\t")
    if optimizer == "adam":
        assert prof["grid_kcal_per_mol"] == pytest.approx([g * KCAL_PER_KT for g in range(-7, 0)])
        assert table.shape == (2 * 7, 3)  # seed, dG_I, val_nll for every restart and grid point
    else:
        # The best restart's profile: the estimate and one point on each side.
        assert list(table.columns) == ["seed", "dG_I", "val_nll", "objective", "lr_stat"]
        assert len(table) == 3 and table["seed"].nunique() == 1
        est = params["parameters"]["dG_I"]["value"]
        assert table.loc[table["lr_stat"] == 0, "dG_I"].item() == pytest.approx(est, abs=1e-4)
        lo, hi = prof["interval_95_kcal_per_mol"]["dG_I"]
        assert (lo is None or lo < est) and (hi is None or hi > est)
        assert len(params["restart_converged"]) == 2
    assert len(params["restart_val_nll_nats_per_read"]) == 2
    assert params["parameters"]["dG_I"]["sd"] >= 0
    mat = np.loadtxt(out / "CRP_matrix.tsv", skiprows=1)
    assert mat.shape == (26, 5) and np.allclose(mat[:, 1:].sum(axis=1), 0, atol=1e-3)  # gauge


def test_fit_command_rejects_bad_inputs(tmp_path):
    simulate_sortseq(SortSeqSimulation(n_variants=500, n_bins=8, seed=1), tmp_path / "sim")
    bad_spec = tmp_path / "bad.yaml"
    raw = yaml.safe_load(THERMO.read_text())
    raw["states"]["extra"] = {"bound": ["LacI"], "activity": 0}
    bad_spec.write_text(yaml.safe_dump(raw))
    proc = run_cli(
        "fit-biophysical",
        "--data",
        tmp_path / "sim" / "sortseq_data.csv.gz",
        "--model-spec",
        bad_spec,
        "--outdir",
        tmp_path / "o1",
    )
    assert proc.returncode == 2 and "biophysics.models.bad.states.extra.bound" in proc.stderr
    assert not (tmp_path / "o1").exists()
    with pytest.raises(InputError, match="the file has 8 bins; the model expects 10"):
        read_sortseq(tmp_path / "sim" / "sortseq_data.csv.gz", n_bins=10)


def test_training_curve_holds_each_epochs_own_training_nll(tmp_path):
    """The curve's training NLL is the epoch's mean over its batches, at that epoch (not lagged).

    With a learning rate too small to move any parameter and the same number of reads for every
    variant, the mean over batches (weighted by their variants) is the NLL of the whole training
    set at the starting parameters, computed here by hand in one pass.
    """
    import lightning as L

    from mpralens.biophysics.adam import _fit_once
    from mpralens.biophysics.fit import build_energy_model
    from mpralens.biophysics.measurement import SortSeqMeasurement

    simulate_sortseq(SortSeqSimulation(n_variants=1500, seed=2), tmp_path / "sim")
    data = read_sortseq(tmp_path / "sim" / "sortseq_data.csv.gz", n_bins=10, length=75)
    rng = np.random.default_rng(0)
    data.counts = rng.multinomial(4, np.full(10, 0.1), size=len(data.counts)).astype(np.float32)
    settings = FitSettings(max_epochs=2, batch_size=100, lr=1e-30, polish_steps=0)
    fit = _fit_once(_spec(), data, settings, seed=3, logdir=None, version="t")
    assert [c["epoch"] for c in fit.curve] == [0, 1]
    L.seed_everything(3, verbose=False)  # the fit's starting parameters
    model, meas = build_energy_model(_spec()), SortSeqMeasurement(10, settings.hidden)
    train = data.subset("training")
    with torch.no_grad():
        expected = float(meas.nll(model(torch.from_numpy(train.x)), torch.from_numpy(train.counts)))
    for c in fit.curve:
        assert c["train_nll"] == pytest.approx(expected, rel=1e-5)


def test_lbfgs_fit_does_not_import_lightning():
    """The fit module (lbfgs, its spawned workers, the command) leaves Lightning unimported: its
    import costs seconds per process. Only the adam module imports it (its source says so; the
    import itself, 3-5 s, is not repeated here)."""
    import subprocess
    import sys

    code = (
        "import sys, importlib.util, mpralens.biophysics.fit, mpralens.biophysics.outputs; "
        "import mpralens.cli.biophysics; "
        "assert importlib.util.find_spec('lightning') is not None, 'no module lightning'; "
        "assert 'lightning' not in sys.modules, 'lightning imported'; "
        "spec = importlib.util.find_spec('mpralens.biophysics.adam'); "
        "assert 'import lightning' in open(spec.origin).read(), 'adam no longer imports it'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
