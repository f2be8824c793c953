"""Behaviour pinned across the redesign (issue 16): the tiny DAG gives the tables it gave before.

The checksums and figures below were first recorded from the tiny DAG on main *before* the package
was moved into stage folders (commit bf11e22), and were unchanged after it. Issue 17 then changed
the simulator on purpose (sites drawn from JASPAR 2024 matrices, decoys planted in the sequence,
a cooperative GATA1-SP1 arrangement with its bonus, NFE2 activating in HepG2), which changes every
simulated table: the pins were regenerated from the tiny DAG after that change (branch feat-sim).
The CNN's test metrics and ISM total were regenerated again when dropout masks on the CPU came to
be drawn from 16-bit integers instead of torch's Bernoulli sampler (issue 21: other draws, so
another trained CNN; the data tables are unchanged).
Only ``splits.tsv`` (tile IDs and a seeded split, no sequence) and the number of reference bases
are the same as before. The data tables are byte-exact (gzip and parquet carry no timestamps);
trained models are compared by their test metrics and the ISM map by its total |score|, with a
tolerance for floating-point differences between CPUs.
"""

import hashlib
import json

import pandas as pd
import pytest

EXACT = {
    "counts.parquet": "4b5f142713e8a1de45fb0ca8841e5848285716e45c28d80cc6fd4db4e4db6988",
    "tiles.tsv.gz": "d6bf4ac15434a6220007076464282f703326f582d9307ad8afa77013dd7e9268",
    "log_ratios.parquet": "6faebb4b70094f38e82a295228435a3428642c8a842f568c32e263cefb0571f9",
    "activity.tsv.gz": "32d308dc02bd9fc82a70a31c265c567805456b090424436bafb0bc274484586e",
    "splits.tsv": "414504d860ffe03443d7170cc8ca2abacd9f126305112adcf53408ed0ce8c509",
    "qc/qc.json": "d65e9382e07ff5866d5ae9e495ba95996d2566921732013bb1a53a1e4e66e87f",
}
WEIGHTED_MSE = {
    "kmer": {
        "HepG2_SV40P": 0.9076037,
        "HepG2_minP": 1.0580897,
        "K562_SV40P": 1.2338002,
        "K562_minP": 1.2383744,
    },
    "cnn": {
        "HepG2_SV40P": 1.1443185,
        "HepG2_minP": 1.2919691,
        "K562_SV40P": 1.8479741,
        "K562_minP": 1.7579448,
    },
}
ISM_ABS_SUM = 291.9038500688214
REFERENCE_BASES = 17700


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(EXACT))
def test_data_tables_are_byte_identical(tiny_run, table):
    path = tiny_run / "results" / "tiny" / table
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXACT[table]


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(WEIGHTED_MSE))
def test_model_test_metrics_are_unchanged(tiny_run, model):
    metrics = pd.read_csv(
        tiny_run / "results" / "tiny" / "models" / model / "metrics.tsv", sep="\t"
    )
    got = dict(zip(metrics["task"], metrics["weighted_mse"], strict=True))
    assert got == pytest.approx(WEIGHTED_MSE[model], rel=1e-3)


@pytest.mark.slow
def test_ism_map_and_its_evaluation_are_unchanged(tiny_run):
    res = tiny_run / "results" / "tiny"
    scores = pd.read_csv(res / "ism" / "cnn" / "scores.tsv.gz", sep="\t")
    assert scores["score"].abs().sum() == pytest.approx(ISM_ABS_SUM, rel=1e-3)
    summary = json.loads((res / "evaluation" / "ism_cnn" / "summary.json").read_text())
    assert {t: v["reference"]["bases"] for t, v in summary["tasks"].items()} == dict.fromkeys(
        WEIGHTED_MSE["cnn"], REFERENCE_BASES
    )
