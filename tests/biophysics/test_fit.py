"""Fitting biophysical models: recovery on simulated data, the real lac data, the command line."""

import hashlib
import json

import numpy as np
import pytest
import torch
import yaml

from mpralens.biophysics.data import read_sortseq
from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.biophysics.fit import FitSettings, fit_sortseq, information
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
    assert abs(fitted - truth["dG_I_kcal_per_mol"]) <= 0.3, fitted
    # The estimate comes from a profile whose minimum is inside the grid, at the truth's neighbour.
    assert best.at_grid_edge == (False,)
    grid = {p["I"]: p["val_nll"] for p in best.profile}
    assert min(grid, key=grid.get) in (-3.0, -4.0, -5.0), grid
    assert best.val_nll <= min(grid.values()) + 2e-4  # the final fit is as good as the best point


@pytest.mark.slow
def test_real_lac_predictive_information():
    data = read_sortseq(LAC_DATA, n_bins=10, length=75)
    # A coarse profile (3 points + 1 fit instead of 7 + 1) keeps this test short.
    best = fit_sortseq(_spec(), data, FitSettings(restarts=1, interaction_grid=[-2, -4, -6]))[0]
    info = information(best, data.subset("test"))
    # MAVE-NN: 0.674 +- 0.014 bits (paper); 0.713 on a 2-core machine (DATA.md section 2).
    assert info["predictive_information_bits"] >= 0.674, info
    assert info["variational_information_bits"] >= 0.674, info
    assert float(best.model.dG_int.detach()[0]) < 0  # CRP and RNAP cooperate


def test_lbfgs_profile_walks_the_whole_grid(tmp_path):
    simulate_sortseq(SortSeqSimulation(n_variants=3000, seed=1), tmp_path / "sim")
    data = read_sortseq(tmp_path / "sim" / "sortseq_data.csv.gz", n_bins=10, length=75)
    settings = FitSettings(restarts=2, optimizer="lbfgs", max_epochs=2, lbfgs_iterations=5)
    restarts = fit_sortseq(_spec(), data, settings)
    assert [r.seed for r in restarts] in ([0, 1], [1, 0])
    assert restarts[0].val_nll <= restarts[1].val_nll
    for r in restarts:
        assert [p["I"] for p in r.profile] == [-7.0, -6.0, -5.0, -4.0, -3.0, -2.0, -1.0]
        assert all(np.isfinite(p["val_nll"]) for p in r.profile)
        assert 1 <= r.epochs <= 2 and len(r.curve) == r.epochs
        dg = float(r.model.dG_int.detach()[0])
        assert -7.0 <= dg <= -1.0  # the final fit sits at the profile's minimum, inside the grid
        assert r.model.dG_int.requires_grad and r.model.dG_int.dtype == torch.float32
    info = information(restarts[0], data.subset("test"))
    assert 0 < info["predictive_information_bits"] < info["bin_entropy_bits"]


def test_fit_command_writes_every_output(tmp_path):
    simulate_sortseq(SortSeqSimulation(n_variants=3000, seed=1), tmp_path / "sim")
    settings = json.dumps({"restarts": 2, "max_epochs": 3, "polish_steps": 1})
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
    assert prof["grid_kcal_per_mol"] == pytest.approx([g * KCAL_PER_KT for g in range(-7, 0)])
    table = np.loadtxt(out / "profile.tsv", skiprows=1)
    assert table.shape == (2 * 7, 3)  # seed, dG_I, val_nll for every restart and grid point
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

    from mpralens.biophysics.fit import _fit_once, build_energy_model
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
