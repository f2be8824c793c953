"""``mpralens gia`` and ``mpralens truth-recovery`` on the inputs users bring: the k-mer model
runs (exactly, from sequences); a motif longer than the tile, a motif with other letters than
A/C/G/T, an unknown key of a hypothesis file, a model mpralens does not write, a pair missing
for the spacing analysis: one ``mpralens: error:`` line each, exit status 2, nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mpralens.interpret.gia import GIA_COLUMNS
from mpralens.models.kmer import LoadedKmerModel
from tests.conftest import run_cli

L = 40


@pytest.fixture
def inputs(tmp_path):
    """A 1-mer model (activity = sum of per-base weights) and 30 random 40-bp tiles (FASTA)."""
    rng = np.random.default_rng(0)
    coef = np.array([[1.0, 0.0, 0.0, -1.0], [0.0, 0.5, 0.5, 0.0]])  # A - T; GC / 2
    model = tmp_path / "kmer.npz"
    LoadedKmerModel(1, ["at", "gc"], "ridge", coef, np.zeros(2)).save(model)
    fasta = tmp_path / "tiles.fa"
    fasta.write_text(
        "".join(f">t{i}\n{''.join(rng.choice(list('ACGT'), size=L))}\n" for i in range(30))
    )
    return model, fasta


def gia(model, fasta, out, *args):
    return run_cli(
        "gia", "--model", model, "--sequences", fasta, "--out-tsv", out / "gia.tsv",
        "--out-null", out / "null.tsv", "--n-null", "20", "--n-boot", "50", *args,
    )  # fmt: skip


def test_the_kmer_model_runs_from_sequences(inputs, tmp_path):
    model, fasta = inputs
    out = tmp_path / "out"
    proc = gia(
        model, fasta, out, "--motif", "GC=GCGCGC", "--analysis", "marginal", "number",
        "--out-figure", f"number={out / 'number.png'}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out / "gia.tsv", sep="\t", keep_default_na=False)
    assert list(table.columns) == GIA_COLUMNS
    assert (out / "number.png").stat().st_size > 0
    null = pd.read_csv(out / "null.tsv", sep="\t")
    assert sorted(set(null["sequences"])) == ["real", "shuffle"]
    # 1-mer model: GCGCGC scores 3 for "gc" and 0 for "at" (on both strands) against the 6
    # random bases it replaces (1.5 and 0 on average).
    m = table[table["analysis"] == "marginal"].set_index("task")
    assert m.loc["gc", "ci_low"] > 0.5 and m.loc["gc", "ci_high"] < 2.5
    assert m.loc["at", "ci_low"] < 0 < m.loc["at", "ci_high"]
    number = table[(table["analysis"] == "number") & (table["task"] == "gc")]
    assert (np.diff(number["effect"]) > 0).all()  # additive: each copy adds


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--motif", f"LONG={'A' * (L + 1)}"], f"motif 'LONG' is {L + 1} bp; the tiles are {L}"),
        (["--motif", "BAD=AGNTAA"], "holds N"),
        (["--motif", "X=MA9999.1"], "not a JASPAR 2024 matrix ID"),
        (["--motif", "A=AAAA", "--analysis", "spacing"], "needs a pair"),
        (["--motif", "A=AAAA", "--pair", "A", "B", "--analysis", "spacing"], "not among"),
        (
            ["--motif", "A=AAAA", "--analysis", "marginal", "--out-figure", "number=x.png"],
            "an analysis not run",
        ),  # fmt: skip
        (
            ["--motif", "A=AAAA", "--analysis", "number", "--max-copies", "12"],
            "copies of the 4-bp motif 'A' overlap",
        ),
    ],
)
def test_bad_gia_input_is_one_error_and_nothing_written(inputs, tmp_path, args, expected):
    model, fasta = inputs
    out = tmp_path / "out"
    proc = gia(model, fasta, out, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mpralens: error:"), proc.stderr
    assert expected in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_hypothesis_file_unknown_key_and_a_good_one(inputs, tmp_path):
    model, fasta = inputs
    bad = tmp_path / "bad.yaml"
    bad.write_text("motifs: {A: AAAA}\nanalyses: [marginal]\nspacing: [1, 2]\n")
    proc = gia(model, fasta, tmp_path / "o1", "--hypothesis", bad)
    assert proc.returncode == 2
    assert "unknown key 'spacing'" in proc.stderr and str(bad) in proc.stderr
    good = tmp_path / "good.yaml"
    good.write_text(
        "motifs: {A: AAAA, G: GGGG}\nanalyses: [position, spacing]\npair: [A, G]\n"
        "positions: [0, 10]\nspacings: [0, 3]\n"
    )
    out = tmp_path / "o2"
    proc = gia(model, fasta, out, "--hypothesis", good)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out / "gia.tsv", sep="\t", keep_default_na=False)
    pos = table[table["analysis"] == "position"]
    assert sorted(set(pos["position"].astype(int))) == [0, 10]
    coop = table[table["analysis"] == "cooperativity"]
    assert sorted(set(coop["spacing"].astype(int))) == [0, 3]
    # An additive (1-mer) model has no cooperativity: pair - singles is 0 by construction.
    assert np.allclose(coop["effect"], 0)


def test_a_model_mpralens_did_not_write_is_refused(inputs, tmp_path):
    _, fasta = inputs
    junk = tmp_path / "model.pt"
    junk.write_bytes(b"not a model")
    proc = gia(junk, fasta, tmp_path / "o", "--motif", "A=AAAA")
    assert proc.returncode == 2 and "CNN checkpoint (.ckpt) or k-mer model (.npz)" in proc.stderr
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not a checkpoint")
    proc = gia(ckpt, fasta, tmp_path / "o", "--motif", "A=AAAA")
    assert proc.returncode == 2 and "not a loadable mpralens checkpoint" in proc.stderr


def test_truth_recovery_without_the_other_outputs_writes_nan(tmp_path):
    from mpralens.simulate.tiled import TiledSimulation, simulate_tiled

    sim = tmp_path / "sim"
    simulate_tiled(TiledSimulation(n_regions=3, seed=3), sim)
    out = tmp_path / "truth_recovery.tsv"
    proc = run_cli("truth-recovery", "--truth", sim / "truth", "--out-tsv", out)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, sep="\t").set_index("metric")["value"]
    assert table["n_planted"] == 6 and table["n_decoys"] == 4
    assert table["planted_coop_spacing_min"] == 4 and table["planted_coop_spacing_max"] == 8
    assert (
        table.drop(
            ["n_planted", "n_decoys", "planted_coop_spacing_min", "planted_coop_spacing_max"]
        )
        .isna()
        .all()
    )
    proc = run_cli(
        "truth-recovery", "--truth", sim / "truth", "--gia", tmp_path / "no.tsv", "--out-tsv",
        tmp_path / "x.tsv",
    )  # fmt: skip
    assert proc.returncode == 2 and "no.tsv" in proc.stderr and not (tmp_path / "x.tsv").exists()


@pytest.mark.parametrize(
    ("gia", "expected"),
    [
        ({"motifs": {"A": "AAAA"}}, "needs gia.pair"),
        ({"motifs": {"A": "AAAA"}, "pair": ["A", "B"]}, "'B', which is not in gia.motifs"),
        ({"pair": ["GATA1", "SP1"]}, "gia.motifs, which is empty"),
        ({"nulls": 3}, "unknown key 'nulls'"),
    ],
)
def test_gia_config_errors_name_the_key(gia, expected):
    from mpralens import workflow as wf
    from mpralens.io.errors import InputError

    with pytest.raises(InputError, match=expected) as info:
        wf.load_config({"gia": gia})
    assert info.value.key.startswith("gia.")


def test_gia_runs_on_simulated_data_sets_and_on_others_only_with_motifs():
    from mpralens import workflow as wf

    sim = {"type": "tiled_mpra", "source": "simulate"}
    _, config = wf.load_config({"datasets": {"s": sim}})
    out = wf.all_outputs(config)
    assert "results/s/interpret/cnn/gia.tsv" in out
    assert "results/s/interpret/cnn/truth_recovery.tsv" in out
    _, config = wf.load_config({"datasets": {"s": sim}, "gia": {"models": []}})
    assert not [p for p in wf.all_outputs(config) if "gia" in p or "truth_recovery" in p]
