"""Behaviour pinned across the redesign (issue 16): the tiny DAG gives the tables it gave before.

The checksums and figures below were first recorded from the tiny DAG on main *before* the package
was moved into stage folders (commit bf11e22), and were unchanged after it. Issue 17 then changed
the simulator on purpose (sites drawn from JASPAR 2024 matrices, decoys planted in the sequence,
a cooperative GATA1-SP1 arrangement with its bonus), which changes every simulated table: the pins
were regenerated from the tiny DAG after that change (commit 816bd0f, branch feat-sim). Only
``splits.tsv`` (tile IDs and a seeded split, no sequence) and the number of reference bases are
the same as before. The data tables are byte-exact (gzip and parquet carry no timestamps);
trained models are compared by their test metrics and the ISM map by its total |score|, with a
tolerance for floating-point differences between CPUs.
"""

import hashlib
import json

import pandas as pd
import pytest

EXACT = {
    "counts.parquet": "2ab0479ae790c1ffd83789903b192759ab5dd741f1511b8bea5dda1d2cae9877",
    "tiles.tsv.gz": "d6bf4ac15434a6220007076464282f703326f582d9307ad8afa77013dd7e9268",
    "log_ratios.parquet": "963c80ce34d69866dbe0d854e0f0d76031c66e05731b4fe7d009aeee7a878f01",
    "activity.tsv.gz": "4e88287c2a019f266c75f6bada0c4a80377dd8f2c05b96ad09a23835a4f221e2",
    "splits.tsv": "414504d860ffe03443d7170cc8ca2abacd9f126305112adcf53408ed0ce8c509",
    "qc/qc.json": "425a7c4d9f742116c15d0f3d1487603e71fbf3dfc06bbbe108d4e1448eeaf7ad",
}
WEIGHTED_MSE = {
    "kmer": {
        "HepG2_SV40P": 0.82362206,
        "HepG2_minP": 0.95401184,
        "K562_SV40P": 1.1709847,
        "K562_minP": 1.2001062,
    },
    "cnn": {
        "HepG2_SV40P": 1.0789471,
        "HepG2_minP": 1.2234268,
        "K562_SV40P": 1.6821485,
        "K562_minP": 1.7894933,
    },
}
ISM_ABS_SUM = 292.99682550692455
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
