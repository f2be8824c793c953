"""Behaviour pinned across the redesign (issue 16): the tiny DAG gives the tables it gave before.

The checksums and figures below were recorded from the tiny DAG on main *before* the package was
moved into stage folders (commit bf11e22) and are unchanged after it. The data tables are
byte-exact (gzip and parquet carry no timestamps); trained models are compared by their test
metrics and the ISM map by its total |score|, with a tolerance for floating-point differences
between CPUs.
"""

import hashlib
import json

import pandas as pd
import pytest

EXACT = {
    "counts.parquet": "e37547cd373ff526a0adb61000069dba73843a46272c33f501c860989977a889",
    "tiles.tsv.gz": "cc85073434e223e0d5b0c68c8e0e2b7b64344f9ab2b7d8ec286038ef84b4ac90",
    "log_ratios.parquet": "e66a5e1070c6395c1c21556b9488fd03963ff92ddfdc20d784a01c06207fedcf",
    "activity.tsv.gz": "15f953a0ed136ae5b8eaa1b5b85068403bd2ef332a76295b27a70a6d0679c9fa",
    "splits.tsv": "414504d860ffe03443d7170cc8ca2abacd9f126305112adcf53408ed0ce8c509",
    "qc/qc.json": "d864699d476f78c4d504172151503c26c1626054934a35e4d7a0667181cfcc50",
}
WEIGHTED_MSE = {
    "kmer": {
        "HepG2_SV40P": 0.91596221,
        "HepG2_minP": 1.247853,
        "K562_SV40P": 1.3856434,
        "K562_minP": 1.4575939,
    },
    "cnn": {
        "HepG2_SV40P": 0.88299898,
        "HepG2_minP": 1.2080794,
        "K562_SV40P": 1.2852676,
        "K562_minP": 1.4617116,
    },
}
ISM_ABS_SUM = 256.8432274031438
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
