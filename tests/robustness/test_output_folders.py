"""Output folders never cost a user their files (issue 14), and killed runs leave no litter.

One rule for every command that writes a folder (``mpralens.io.atomic.Folder``): a folder holding
files mpralens did not write is refused (exit 2, one error line naming the folder and the first
such file, the user's files byte for byte as before, nothing written); the command's own earlier
folder is rewritten, keeping a user's file added to it and removing a file its old manifest lists
that the new run no longer writes. Temporaries a killed run left (``.<name>.<8 random
characters><suffixes>``) are removed by the next run of that output; a user's hidden files are
not. The workflow's reruns (Snakemake deletes declared outputs first) keep working.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO, error_lines, run_cli, run_snakemake, workflow_copy

MANIFEST = ".mpralens-outputs.json"
KINETIC = REPO / "config" / "biophysics" / "lac_kinetic.yaml"
NOTES = b"my notes on this experiment\n" * 50
USER_TABLE = b"id\tvalue\nx\t1\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A small simulated data set carried to every input a folder-writing command reads."""
    from mpralens.data.counts import import_counts, write_imported
    from mpralens.models.kmer import LoadedKmerModel
    from mpralens.simulate.sortseq import SortSeqSimulation, simulate_sortseq
    from mpralens.simulate.tiled import TiledSimulation, simulate_tiled, simulated_paths

    d = tmp_path_factory.mktemp("inputs")
    simulate_tiled(TiledSimulation(n_regions=12, seed=2), d / "sim")
    p = simulated_paths(str(d / "sim"))
    r = import_counts(
        layout="ernst", libraries=p["libraries"], coords=p["coords"], sequences=p["sequences"]
    )
    write_imported(r, counts_path=d / "counts.parquet", tiles_path=d / "tiles.tsv.gz")
    steps = [
        ["normalize", "--counts", d / "counts.parquet", "--tiles", d / "tiles.tsv.gz"]
        + ["--libraries", p["libraries"], "--out", d / "lr.parquet", "--qc-dir", d / "qc"],
        ["weights", "--log-ratios", d / "lr.parquet", "--out", d / "activity.tsv.gz"],
        ["split", "--tiles", d / "tiles.tsv.gz", "--valid-fraction", "0.2"]
        + ["--test-fraction", "0.2", "--out", d / "splits.tsv"],
    ]
    rng = np.random.default_rng(0)
    LoadedKmerModel(3, ["a", "b"], "ridge", rng.normal(size=(2, 64)), rng.normal(size=2)).save(
        d / "k3.npz"
    )
    steps.append(
        ["ism", "--model", d / "k3.npz", "--tiles", d / "tiles.tsv.gz", "--genome", p["genome"]]
        + ["--max-regions", "4", "--out-tsv", d / "scores.tsv.gz"]
    )
    for argv in steps:
        proc = run_cli(*argv)
        assert proc.returncode == 0, proc.stderr
    simulate_sortseq(SortSeqSimulation(n_variants=1500, seed=1), d / "sortseq")
    return d


# name -> builder(inputs, tmp, folder) -> (argv, other outputs, a file of the folder that the
# command writes identically every run, the command its manifest records)
Builder = Callable[[Path, Path, Path], tuple[list, list[Path], str, str]]
WRITERS: dict[str, Builder] = {}


def writer(name: str):
    def register(fn: Builder) -> Builder:
        WRITERS[name] = fn
        return fn

    return register


@writer("normalize")
def _normalize(d, tmp, folder):
    out = tmp / "log_ratios.parquet"
    argv = ["normalize", "--counts", d / "counts.parquet", "--tiles", d / "tiles.tsv.gz"]
    argv += ["--libraries", d / "sim" / "libraries.tsv", "--out", out, "--qc-dir", folder]
    return argv, [out], "qc.json", "normalize"


@writer("fit-biophysical")
def _fit(d, tmp, folder):
    settings = '{"restarts": 1, "max_epochs": 2, "polish_steps": 1, "lbfgs_iterations": 20}'
    argv = ["fit-biophysical", "--data", d / "sortseq" / "sortseq_data.csv.gz"]
    argv += ["--model-spec", KINETIC, "--settings-json", settings, "--outdir", folder]
    return argv, [], "RNAP_matrix.tsv", "fit-biophysical"


@writer("ism")
def _ism(d, tmp, folder):
    tsv, fig = tmp / "scores.tsv.gz", tmp / "top.png"
    argv = ["ism", "--model", d / "k3.npz", "--tiles", d / "tiles.tsv.gz"]
    argv += ["--genome", d / "sim" / "genome.fa", "--max-regions", "4", "--out-tsv", tsv]
    return argv + ["--out-tracks", folder, "--out-figure", fig], [tsv, fig], "a.bw", "ism"


@writer("ism-merge")
def _ism_merge(d, tmp, folder):
    tsv, fig = tmp / "merged.tsv.gz", tmp / "top.png"
    argv = ["ism-merge", "--scores", d / "scores.tsv.gz", "--genome", d / "sim" / "genome.fa"]
    argv += ["--out-tsv", tsv, "--out-tracks", folder, "--out-figure", fig]
    return argv, [tsv, fig], "b.bw", "ism"  # ism-merge writes ism's tracks


@writer("evaluate-ism")
def _evaluate(d, tmp, folder):
    argv = ["evaluate-ism", "--scores", d / "scores.tsv.gz", "--bins", "50"]
    argv += ["--conservation", d / "sim" / "conservation.bw", "--outdir", folder]
    return argv, [], "summary.json", "evaluate-ism"


@writer("simulate-tiled")
def _simulate_tiled(d, tmp, folder):
    argv = ["simulate-tiled", "--outdir", folder, "--settings-json", '{"n_regions": 4}']
    return argv, [], "SimDesign.sequences.txt", "simulate-tiled"


@writer("simulate-sortseq")
def _simulate_sortseq(d, tmp, folder):
    argv = ["simulate-sortseq", "--outdir", folder, "--settings-json", '{"n_variants": 300}']
    return argv, [], "truth.json", "simulate-sortseq"


def _training(d):
    return ["--tiles", d / "tiles.tsv.gz", "--activity", d / "activity.tsv.gz", "--splits"] + [
        d / "splits.tsv"
    ]


@writer("train-kmer")
def _train_kmer(d, tmp, folder):
    argv = ["train-kmer", *_training(d), "--k", "3", "--method", "ridge", "--outdir", folder]
    return argv, [], "metrics.tsv", "train-kmer"


@writer("train-cnn")
def _train_cnn(d, tmp, folder):
    argv = ["train-cnn", *_training(d), "--arch-kwargs", '{"filters": 8}', "--max-epochs", "1"]
    return argv + ["--batch-size", "64", "--outdir", folder], [], "metrics.tsv", "train-cnn"


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root``: a file's bytes, None for a folder."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in root.rglob("*")
    }


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_folder_holding_user_files_is_refused(name, inputs, tmp_path):
    folder = tmp_path / "out"
    (folder / "raw").mkdir(parents=True)
    (folder / "notes.txt").write_bytes(NOTES)
    (folder / "raw" / "table.tsv").write_bytes(USER_TABLE)
    argv, _, _, _ = WRITERS[name](inputs, tmp_path, folder)
    before = _snapshot(tmp_path)
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stderr
    assert error_lines(proc) == [
        f"mpralens: error: {folder}: holds files mpralens did not write (notes.txt); refusing to "
        "write into it: choose a new or empty folder"
    ], proc.stderr
    # The user's files byte for byte; no output, no temporary, no manifest written anywhere.
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_own_folder_is_rewritten_and_stale_temporaries_removed(name, inputs, tmp_path):
    folder = tmp_path / "out"
    argv, others, probe, command = WRITERS[name](inputs, tmp_path, folder)
    first = run_cli(*argv)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((folder / MANIFEST).read_text())
    written = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert manifest["command"] == command
    assert set(manifest["files"]) == written - {MANIFEST} and probe in written
    good = (folder / probe).read_bytes()
    # Between the runs: one of our outputs goes stale, the user adds files, the manifest lists a
    # file an earlier version wrote and this one does not, and a killed run left temporaries.
    (folder / probe).write_bytes(b"stale")
    (folder / "notes.txt").write_bytes(NOTES)
    (folder / ".user_settings").write_bytes(USER_TABLE)
    (folder / "old_output.tsv").write_bytes(USER_TABLE)
    manifest["files"].append("old_output.tsv")
    (folder / MANIFEST).write_text(json.dumps(manifest))
    killed = [Path(tempfile.mkdtemp(prefix=".out.", suffix=".tmp", dir=tmp_path))]
    (killed[0] / "partial.bin").write_bytes(os.urandom(1 << 20))
    for out in others:
        fd, path = tempfile.mkstemp(
            prefix=f".{out.name}.", suffix="".join(out.suffixes), dir=tmp_path
        )
        os.write(fd, b"partial")
        os.close(fd)
        killed.append(Path(path))
    # A user's hidden files, some named almost like a temporary (upper case, 7 characters).
    hidden = {
        tmp_path / ".hidden": NOTES,
        tmp_path / ".out.notes": NOTES,
        tmp_path / ".out.ABCDEFGH.tmp": NOTES,
        tmp_path / ".out.abcdefg.tmp": NOTES,
    }
    for path, data in hidden.items():
        path.write_bytes(data)
    second = run_cli(*argv)
    assert second.returncode == 0, second.stderr
    assert (folder / probe).read_bytes() == good
    assert (folder / "notes.txt").read_bytes() == NOTES
    assert (folder / ".user_settings").read_bytes() == USER_TABLE
    assert not (folder / "old_output.tsv").exists()
    assert [p for p in killed if p.exists()] == []
    assert {p: p.read_bytes() for p in hidden} == hidden
    # The new manifest lists what is there of ours (a resumed CNN run has no new metrics.csv).
    after = json.loads((folder / MANIFEST).read_text())
    there = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert after["command"] == command
    assert set(after["files"]) == there - {MANIFEST, "notes.txt", ".user_settings"}
    assert set(after["files"]) <= written


KILLED_WRITE = """
import os, signal, sys
from mpralens.io.atomic import Folder, atomic_outputs

with atomic_outputs(sys.argv[1], Folder(sys.argv[2], "ism"), sys.argv[3]) as (tsv, tracks, fig):
    tsv.write_bytes(os.urandom(1 << 20))
    (tracks / "a.bw").write_bytes(os.urandom(1 << 22))
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_temporaries_of_a_killed_merge_are_removed_by_the_next(inputs, tmp_path):
    argv, (tsv, fig), _, _ = WRITERS["ism-merge"](inputs, tmp_path, tmp_path / "tracks")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WRITE, tsv, tmp_path / "tracks", fig], capture_output=True
    )
    assert killed.returncode == -9
    left = sorted(p.name for p in tmp_path.iterdir())
    assert len(left) == 2 and all(n.startswith((".merged.tsv.gz.", ".tracks.")) for n in left)
    assert sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file()) == 5 << 20
    (tmp_path / ".tracks").write_bytes(NOTES)  # a user's hidden file, not a temporary
    proc = run_cli(*argv)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".tracks", "merged.tsv.gz", "top.png", "tracks"]
    assert (tmp_path / ".tracks").read_bytes() == NOTES
    scores = pd.read_csv(tsv, sep="\t")
    assert len(scores) == len(pd.read_csv(inputs / "scores.tsv.gz", sep="\t"))


def test_folder_of_another_command_is_refused(inputs, tmp_path):
    """A sort-seq simulation's folder (resources/<name>/) is not a tiled simulation's to replace."""
    folder = tmp_path / "lac"
    first = run_cli(*WRITERS["simulate-sortseq"](inputs, tmp_path, folder)[0])
    assert first.returncode == 0, first.stderr
    before = _snapshot(tmp_path)
    for name in ("simulate-tiled", "fit-biophysical"):
        proc = run_cli(*WRITERS[name](inputs, tmp_path, folder)[0])
        assert proc.returncode == 2
        assert error_lines(proc) == [
            f"mpralens: error: {folder}: holds the outputs of 'mpralens simulate-sortseq'; "
            f"refusing to write the outputs of 'mpralens {name}' into it: choose a new or empty "
            "folder"
        ], proc.stderr
        assert _snapshot(tmp_path) == before


def test_file_output_given_a_folder_is_refused(inputs, tmp_path):
    """`--out` naming a folder used to delete the folder and put the file in its place."""
    folder = tmp_path / "activity"
    folder.mkdir()
    (folder / "notes.txt").write_bytes(NOTES)
    before = _snapshot(tmp_path)
    proc = run_cli("weights", "--log-ratios", inputs / "lr.parquet", "--out", folder)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"mpralens: error: {folder}: is a folder; give the path of a file to write"
    ], proc.stderr
    assert _snapshot(tmp_path) == before


def test_users_file_named_like_an_output_is_not_replaced(inputs, tmp_path):
    """In a folder of its own, a user's file where the command writes one is refused, not lost."""
    folder = tmp_path / "lac"
    argv = WRITERS["simulate-sortseq"](inputs, tmp_path, folder)[0]
    assert run_cli(*argv).returncode == 0
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"].remove("truth.json")  # so truth.json is now the user's
    (folder / MANIFEST).write_text(json.dumps(manifest))
    (folder / "truth.json").write_bytes(NOTES)
    before = _snapshot(tmp_path)
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"mpralens: error: {folder}: holds truth.json, which mpralens did not write and would "
        "replace; refusing to write into it: move it or choose a new or empty folder"
    ], proc.stderr
    assert _snapshot(tmp_path) == before


def test_folder_output_given_a_file_is_refused(inputs, tmp_path):
    tracks = tmp_path / "tracks"
    tracks.write_bytes(NOTES)
    argv = WRITERS["ism-merge"](inputs, tmp_path, tracks)[0]
    before = _snapshot(tmp_path)
    proc = run_cli(*argv)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"mpralens: error: {tracks}: exists and is not a folder; give the path of a folder to write"
    ], proc.stderr
    assert _snapshot(tmp_path) == before


def test_unreadable_manifest_is_refused(inputs, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / MANIFEST).write_text('{"command": "normalize", "files": ["../../etc/passwd"]}')
    (folder / "notes.txt").write_bytes(NOTES)
    before = _snapshot(tmp_path)
    proc = run_cli(*WRITERS["normalize"](inputs, tmp_path, folder)[0])
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"mpralens: error: {folder / MANIFEST}: is not a manifest of mpralens outputs (a "
        "'command' and relative 'files' inside the folder); refusing to write into its folder: "
        "choose a new or empty folder"
    ], proc.stderr
    assert _snapshot(tmp_path) == before


RERUN = """seed: 3
datasets:
  d:
    type: tiled_mpra
    source: simulate
    simulate: {n_regions: 20, seed: 5}
split: {valid_fraction: 0.2, test_fraction: 0.2}
ism: {models: [kmer]}
biophysics:
  datasets:
    s: {source: simulate, simulate: {n_variants: 1500, seed: 1}}
  models:
    kinetic: config/biophysics/lac_kinetic.yaml
  fits: [[s, kinetic]]
  fit: {restarts: 1, max_epochs: 2, polish_steps: 1, lbfgs_iterations: 20, interval_points: 1}
"""
RERUN_TARGETS = [
    "results/d/qc/qc.json",
    "results/d/ism/kmer/scores.tsv.gz",
    "results/d/evaluation/ism_kmer/summary.json",
    "results/biophysics/s/kinetic/params.json",
]


@pytest.mark.slow
def test_workflow_reruns_keep_a_users_files(tmp_path):
    """Snakemake deletes declared outputs and pre-creates folders; forced reruns still work and
    leave a user's files in the output folders alone."""
    wd = workflow_copy(tmp_path / "wf")
    (wd / "rerun.yaml").write_text(RERUN)
    run_snakemake(wd, *RERUN_TARGETS, "--configfile", "rerun.yaml")
    folders = [
        wd / "results/d/qc",
        wd / "results/d/evaluation/ism_kmer",
        wd / "results/biophysics/s/kinetic",
        wd / "results/d/models/kmer",
        wd / "resources/d",
    ]
    for folder in folders:
        assert (folder / MANIFEST).exists(), folder
        (folder / "notes.txt").write_bytes(NOTES)
    forced = ("normalize", "fit_biophysical", "ism_merge", "evaluate_ism", "simulate_tiled")
    proc = run_snakemake(wd, *RERUN_TARGETS, "--configfile", "rerun.yaml", "--forcerun", *forced)
    for rule in forced:
        assert f"rule {rule}:" in proc.stdout + proc.stderr, rule
    for folder in folders:
        assert (folder / "notes.txt").read_bytes() == NOTES, folder
    assert sorted(p.name for p in (wd / "results/d/ism/kmer/tracks").glob("*.bw")) == [
        f"{c}_{p}.bw" for c in ("HepG2", "K562") for p in ("SV40P", "minP")
    ]
