"""Unequal replicates across tasks, and steps with nothing to learn from.

A simulated data set with 3 RNA replicates in HepG2 and 2 in K562 runs import, normalize, weights,
split and train-kmer: every task gets finite weights over its own replicates and a model tested on
n > 0 tiles, and ``qc.json`` (strict JSON, no NaN) reports each task's own replicate pairs. Each
refusal (a task emptied by ``normalize.min_dna``, a split without a usable tile, an empty validation
split, an empty ISM selection, a config without a validation split) exits 2 with one
``mpralens: error:`` line naming the task and the config key, and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpralens.cli import main
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled
from tests.conftest import error_lines, run_cli, run_snakemake, workflow_copy


def _ok(*argv) -> None:
    """Run one step in-process (the setup, not what is tested)."""
    assert main([str(a) for a in argv]) == 0, argv


def _strict_json(path: Path) -> dict:
    """Parse JSON as a strict parser would: NaN and Infinity are errors."""

    def refuse(name: str):
        raise AssertionError(f"{path} holds {name}, which is not JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def _import_argv(sheet: Path, sim: Path, counts: Path, tiles: Path) -> list:
    return [
        "import-counts",
        "--layout",
        "ernst",
        "--libraries",
        sheet,
        "--coords",
        sim / "coords_SimDesign_hg19.txt",
        "--sequences",
        sim / "SimDesign.sequences.txt",
        "--out-counts",
        counts,
        "--out-tiles",
        tiles,
    ]


def _normalize_argv(d: Path, sheet: Path, out: Path, qc: Path, *extra) -> list:
    """``normalize`` of the counts imported into ``d``."""
    return [
        "normalize",
        "--counts",
        d / "counts.parquet",
        "--tiles",
        d / "tiles.tsv.gz",
        "--libraries",
        sheet,
        "--out",
        out,
        "--qc-dir",
        qc,
        *extra,
    ]


@pytest.fixture(scope="module")
def unequal(tmp_path_factory) -> Path:
    """3 + 2 replicates through import, normalize, weights, split (valid 0.25 and 0) and k-mers."""
    d = tmp_path_factory.mktemp("unequal")
    sim = d / "sim"
    simulate_tiled(TiledSimulation(n_regions=24, seed=5, replicates={"HepG2": 3, "K562": 2}), sim)
    _ok(*_import_argv(sim / "libraries.tsv", sim, d / "counts.parquet", d / "tiles.tsv.gz"))
    _ok(*_normalize_argv(d, sim / "libraries.tsv", d / "log_ratios.parquet", d / "qc"))
    _ok("weights", "--log-ratios", d / "log_ratios.parquet", "--out", d / "activity.tsv.gz")
    for name, valid in (("splits.tsv", "0.25"), ("splits_no_valid.tsv", "0")):
        _ok(
            "split",
            "--tiles",
            d / "tiles.tsv.gz",
            "--valid-fraction",
            valid,
            "--test-fraction",
            "0.25",
            "--out",
            d / name,
        )
    _ok(*_data_argv(d, "train-kmer", d / "activity.tsv.gz", d / "splits.tsv", d / "kmer"))
    return d


def _data_argv(d: Path, step: str, activity: Path, splits: Path, outdir: Path) -> list:
    argv = [step, "--tiles", d / "tiles.tsv.gz", "--activity", activity, "--splits", splits]
    argv += ["--outdir", outdir]
    if step == "train-cnn":
        argv += ["--max-epochs", "1", "--arch-kwargs", '{"filters": 8}']
    return argv


# --- unequal replicates: accepted, each task over its own replicates -------------------------


def test_unequal_replicates_give_every_task_weights_and_a_model(unequal):
    act = pd.read_csv(unequal / "activity.tsv.gz", sep="\t")
    reps = ["log2_ratio_rep1", "log2_ratio_rep2", "log2_ratio_rep3"]
    assert [c for c in act.columns if c.startswith("log2_ratio_rep")] == reps
    valid = act[act["valid"]]
    hep = valid[valid["task"].str.startswith("HepG2")]
    k562 = valid[valid["task"].str.startswith("K562")]
    assert hep[reps].notna().all().all() and k562[reps[:2]].notna().all().all()
    assert act.loc[act["task"].str.startswith("K562"), reps[2]].isna().all()
    # Weights finite in [0, 1] for every task, each task's best tile at 1 (min-max scaling).
    assert np.isfinite(act["weight"]).all() and act["weight"].between(0, 1).all()
    assert (valid.groupby("task")["weight"].max() == 1).all()
    # Activity is the mean over the task's own replicates.
    assert np.allclose(hep["activity"], hep[reps].mean(axis=1), atol=1e-6)  # 8 digits in TSV
    assert np.allclose(k562["activity"], k562[reps[:2]].mean(axis=1), atol=1e-6)
    metrics = pd.read_csv(unequal / "kmer" / "metrics.tsv", sep="\t")
    assert sorted(metrics["task"]) == sorted(act["task"].unique())
    assert (metrics["n"] > 0).all() and np.isfinite(metrics["weighted_mse"]).all()


def test_qc_reports_each_tasks_own_replicate_pairs(unequal):
    qc = _strict_json(unequal / "qc" / "qc.json")
    act = pd.read_csv(unequal / "activity.tsv.gz", sep="\t")
    for task, entry in qc["tasks"].items():
        n = 3 if task.startswith("HepG2") else 2
        assert entry["n_replicates"] == n
        expected_pairs = {"rep1_rep2", "rep1_rep3", "rep2_rep3"} if n == 3 else {"rep1_rep2"}
        assert set(entry["replicate_pairs"]) == expected_pairs
        v = act[(act["task"] == task) & act["valid"]]
        r12 = np.corrcoef(v["log2_ratio_rep1"], v["log2_ratio_rep2"])[0, 1]
        assert entry["replicate_pairs"]["rep1_rep2"]["pearson"] == pytest.approx(r12, abs=1e-5)
        pearsons = [p["pearson"] for p in entry["replicate_pairs"].values()]
        assert entry["replicate_pearson"] == pytest.approx(np.mean(pearsons))


def test_single_replicate_task_has_no_correlation_and_weight_one(unequal, tmp_path):
    sheet = pd.read_csv(unequal / "sim" / "libraries.tsv", sep="\t", keep_default_na=False)
    sheet["path"] = [str(unequal / "sim" / p) for p in sheet["path"]]
    one = sheet[~((sheet["cell"] == "K562") & (sheet["replicate"] == 2))]
    one.to_csv(tmp_path / "libraries.tsv", sep="\t", index=False)
    out, qc = tmp_path / "lr.parquet", tmp_path / "qc"
    _ok(*_normalize_argv(unequal, tmp_path / "libraries.tsv", out, qc))
    tasks = _strict_json(qc / "qc.json")["tasks"]
    for task in ("K562_minP", "K562_SV40P"):
        assert tasks[task]["n_replicates"] == 1
        assert not {"replicate_pearson", "replicate_spearman", "replicate_pairs"} & set(tasks[task])
    assert tasks["HepG2_minP"]["n_replicates"] == 3
    _ok("weights", "--log-ratios", out, "--out", tmp_path / "activity.tsv.gz")
    act = pd.read_csv(tmp_path / "activity.tsv.gz", sep="\t")
    k562 = act[(act["task"].str[:4] == "K562") & act["valid"]]
    assert (k562["weight"] == 1).all() and k562["log2_ratio_rep2"].isna().all()


def test_qc_of_a_constant_replicate_is_null_not_nan():
    from mpralens.data.qc import qc_summary

    tiles = pd.DataFrame({"tile_id": ["a", "b", "c", "d"]})
    act = pd.DataFrame(
        {
            "tile_id": ["a", "b", "c", "d"],
            "task": "T",
            "log2_ratio_rep1": [0.5, 0.5, 0.5, 0.5],
            "log2_ratio_rep2": [1.0, 2.0, 3.0, 5.0],
            "log2_ratio_rep3": [1.0, 3.0, 2.0, 4.0],
            "valid": True,
        }
    )
    counts = pd.DataFrame({"tile_id": tiles["tile_id"], "R": [1, 2, 3, 4]})
    sheet = pd.DataFrame({"library": ["R"], "molecule": ["RNA"]})
    entry = qc_summary(counts, act, sheet, tiles)["tasks"]["T"]
    json.dumps(entry, allow_nan=False)  # raises on NaN
    assert entry["replicate_pairs"]["rep1_rep2"] == {"pearson": None, "spearman": None}
    # rep2 vs rep3: Pearson of (1, 2, 3, 5) and (1, 3, 2, 4) = 5.5 / sqrt(8.75 * 5) = 0.831522;
    # Spearman of ranks (1, 2, 3, 4) and (1, 3, 2, 4) = 1 - 6 * 2 / (4 * 15) = 0.8.
    assert entry["replicate_pairs"]["rep2_rep3"]["pearson"] == pytest.approx(0.831522, abs=1e-6)
    assert entry["replicate_pairs"]["rep2_rep3"]["spearman"] == pytest.approx(0.8)
    assert entry["replicate_pearson"] is None  # a mean with an undefined pair is undefined


# --- nothing to learn: refused, one line, no output ---------------------------------------------


def _invalidate(d: Path, tmp: Path, task: str, split: str) -> Path:
    """Activity table in which ``task`` has no valid tile in ``split`` (as a high min_dna does)."""
    act = pd.read_csv(d / "activity.tsv.gz", sep="\t")
    sp = pd.read_csv(d / "splits.tsv", sep="\t")
    in_split = act["tile_id"].isin(sp.loc[sp["split"] == split, "tile_id"])
    rows = (act["task"] == task) & in_split
    act.loc[rows, "valid"] = False
    act.loc[rows, ["activity", "log2_ratio_rep1", "log2_ratio_rep2", "log2_ratio_rep3"]] = np.nan
    act.loc[rows, "weight"] = 0.0
    path = tmp / "activity.tsv.gz"
    act.to_csv(path, sep="\t", index=False)
    return path


def _zero_dna_sheet(d: Path, tmp: Path) -> Path:
    """Sheet in which K562 minP has its own DNA library, with zero reads for every tile."""
    sheet = pd.read_csv(d / "sim" / "libraries.tsv", sep="\t", keep_default_na=False)
    sheet["path"] = [str(d / "sim" / p) for p in sheet["path"]]
    src = d / "sim" / "DNACOUNTS" / "SimDesign_minP_Plasmid.counts"
    lines = src.read_text().splitlines()
    zero = [lines[0]] + [ln.split("\t")[0] + "\t0" for ln in lines[1:]]
    (tmp / "K562_minP_Plasmid.counts").write_text("\n".join(zero) + "\n")
    row = ["K562_minP_Plasmid", "DNA", "K562", "minP", 1, str(tmp / "K562_minP_Plasmid.counts")]
    sheet.loc[len(sheet)] = row
    path = tmp / "libraries.tsv"
    sheet.to_csv(path, sep="\t", index=False)
    return path


# name -> builder(data dir, tmp) returning (argv, where, words, outputs)
Case = Callable[[Path, Path], tuple[list, str, list[str], list[Path]]]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


@case
def case_normalize_min_dna_above_every_tile(d, tmp):
    out, qc = tmp / "lr.parquet", tmp / "qc"
    argv = _normalize_argv(d, d / "sim" / "libraries.tsv", out, qc, "--min-dna", "100000")
    words = ["task HepG2_SV40P has no valid tile", "min_dna = 100000"]
    return argv, "config key 'normalize.min_dna'", words, [out, qc]


@case
def case_normalize_one_task_without_dna_reads(d, tmp):
    sheet = _zero_dna_sheet(d, tmp)
    _ok(*_import_argv(sheet, d / "sim", tmp / "counts.parquet", tmp / "tiles.tsv.gz"))
    out, qc = tmp / "lr.parquet", tmp / "qc"
    argv = _normalize_argv(tmp, sheet, out, qc)
    words = ["task K562_minP has no valid tile", "min_dna = 20", "K562_minP_Plasmid"]
    return argv, "config key 'normalize.min_dna'", words + ["the most any tile has is 0"], [out, qc]


@case
def case_train_kmer_task_without_valid_training_tile(d, tmp):
    act = _invalidate(d, tmp, "K562_minP", "train")
    out = tmp / "kmer"
    argv = _data_argv(d, "train-kmer", act, d / "splits.tsv", out)
    words = ["task K562_minP has no valid tile", "in the train split", "nothing to fit on"]
    return argv, "activity.tsv.gz config key 'normalize.min_dna'", words, [out]


@case
def case_train_kmer_task_without_valid_test_tile(d, tmp):
    act = _invalidate(d, tmp, "HepG2_SV40P", "test")
    out = tmp / "kmer"
    argv = _data_argv(d, "train-kmer", act, d / "splits.tsv", out)
    words = ["task HepG2_SV40P has no valid tile", "in the test split", "nothing to evaluate on"]
    return argv, "activity.tsv.gz config key 'normalize.min_dna'", words, [out]


@case
def case_train_cnn_empty_validation_split(d, tmp):
    out = tmp / "cnn"
    argv = _data_argv(d, "train-cnn", d / "activity.tsv.gz", d / "splits_no_valid.tsv", out)
    words = ["the valid split has no tile", "early stopping needs it"]
    return argv, "splits_no_valid.tsv config key 'split.valid_fraction'", words, [out]


@case
def case_train_cnn_task_without_valid_validation_tile(d, tmp):
    act = _invalidate(d, tmp, "K562_SV40P", "valid")
    out = tmp / "cnn"
    argv = _data_argv(d, "train-cnn", act, d / "splits.tsv", out)
    words = ["task K562_SV40P has no valid tile", "in the valid split", "nothing to stop early on"]
    return argv, "activity.tsv.gz config key 'normalize.min_dna'", words, [out]


def _ism_argv(d: Path, tmp: Path, *extra) -> tuple[list, list[Path]]:
    out = [tmp / "ism.tsv.gz", tmp / "tracks", tmp / "ism.png"]
    argv = ["ism", "--model", d / "kmer" / "model.npz", "--tiles", d / "tiles.tsv.gz", *extra]
    argv += ["--out-tsv", out[0], "--out-tracks", out[1], "--out-figure", out[2]]
    return argv, out


@case
def case_ism_regions_of_an_empty_split(d, tmp):
    argv, out = _ism_argv(d, tmp, "--splits", d / "splits_no_valid.tsv", "--regions", "valid")
    words = ["the valid split has no region", "nothing to score"]
    return argv, "splits_no_valid.tsv config key 'ism.regions'", words, out


@case
def case_ism_max_regions_zero(d, tmp):
    argv, out = _ism_argv(d, tmp, "--max-regions", "0")
    return argv, "config key 'ism.max_regions'", ["greater than or equal to 1; got 0"], out


@pytest.mark.parametrize("name", sorted(CASES))
def test_nothing_to_learn_is_refused(name, unequal, tmp_path):
    argv, where, words, outputs = CASES[name](unequal, tmp_path)
    proc = run_cli(*argv)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    errors = error_lines(proc)
    assert len(errors) == 1, proc.stderr
    assert where in errors[0], errors[0]
    for word in words:
        assert word in errors[0], (word, errors[0])
    for out in outputs:
        assert not out.exists(), out
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers


def test_duplicate_replicate_in_sheet_names_its_line(unequal, tmp_path):
    sheet = (unequal / "sim" / "libraries.tsv").read_text().splitlines()
    # Line 5 is HepG2 SV40P replicate 2: make it a second replicate 1 of that task.
    assert sheet[4].split("\t")[:5] == ["HepG2_SV40P_mRNA_Rep2", "RNA", "HepG2", "SV40P", "2"]
    fields = sheet[4].split("\t")
    fields[4] = "1"
    sheet[4] = "\t".join(fields)
    path = unequal / "sim" / "dup_libraries.tsv"  # beside the data: paths are relative
    path.write_text("\n".join(sheet) + "\n")
    out, qc = tmp_path / "lr.parquet", tmp_path / "qc"
    proc = run_cli(*_normalize_argv(unequal, path, out, qc))
    path.unlink()
    assert proc.returncode == 2
    (error,) = error_lines(proc)
    assert "dup_libraries.tsv:5:" in error and "two RNA libraries for task HepG2_SV40P" in error
    assert "the other is on line 4" in error
    assert not out.exists() and not qc.exists()


# --- config time: no validation split for the CNN's early stopping ------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("split:\n  valid_fraction: 0\n", "split.valid_fraction"),
        ("split:\n  by: chromosome\n  valid_chromosomes: []\n", "split.valid_chromosomes"),
    ],
)
def test_config_without_validation_split_is_refused(text, key, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    ds = "datasets:\n  d:\n    type: tiled_mpra\n    source: simulate\n"
    (wd / "bad.yaml").write_text(ds + text)
    proc = run_snakemake(wd, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"config key '{key}'" in out and "early stopping needs it" in out, out[-3000:]
    assert not (wd / "results").exists() and not (wd / "resources" / "d").exists()


def test_a_library_added_to_the_sheet_after_import_is_one_error(unequal, tmp_path):
    """normalize with a sheet naming a library the imported counts lack: one error, no output."""
    sheet = pd.read_csv(unequal / "sim" / "libraries.tsv", sep="\t")
    extra = sheet[sheet["library"] == "K562_minP_mRNA_Rep2"].assign(
        library="K562_minP_mRNA_Rep3", replicate=3, path="K562/Rep3.counts"
    )
    edited = tmp_path / "libraries.tsv"
    pd.concat([sheet, extra], ignore_index=True).to_csv(edited, sep="\t", index=False)
    out, qc = tmp_path / "log_ratios.parquet", tmp_path / "qc"
    proc = run_cli(*_normalize_argv(unequal, edited, out, qc))
    assert proc.returncode == 2, proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "K562_minP_mRNA_Rep3" in err[0], proc.stderr
    assert str(unequal / "counts.parquet") in err[0] and "import-counts" in err[0]
    assert not out.exists() and not qc.exists()
