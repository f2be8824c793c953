"""Global importance analysis against hand-made models whose answers are known in closed form
(the trained-CNN test is in tests/models/test_models_vs_truth.py, beside its fixture)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mpralens.evaluate.interpretation import METRICS, truth_recovery
from mpralens.interpret.gia import (
    GIA,
    GIA_COLUMNS,
    Motif,
    Predictor,
    decode,
    embed,
    flip,
    null_sequences,
    null_shift,
    one_hot,
    resolve_motif,
    revcomp,
    run_gia,
)
from mpralens.io.errors import InputError

L = 60
# Neither motif overlaps itself, the other or their reverse complements, so embedding them
# never makes a site at a junction with the null bases.
A = Motif("A", "GATAAGGAC")
B = Motif("B", "GGGCGGGAC")
DECOY = Motif("D", "TTGCGCAAT")
EFFECT = {"t1": 1.5, "t2": -0.8}  # effect of one A site per task
BONUS = 0.7  # A then B, same strand, spacer 4..8


def random_tiles(n: int, seed: int = 0, length: int = L) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), size=length)) for _ in range(n)]


def sites(seq: str, motif: str) -> list[int]:
    """Starts of ``motif`` on the + strand and of its reverse complement (overlaps counted)."""
    found = []
    for m in {motif, revcomp(motif)}:
        found += [x.start() for x in re.finditer(f"(?={m})", seq)]
    return found


def grammar_model(position_weight: bool = False) -> Predictor:
    """f_t = EFFECT_t * sum over A sites of w(site) + BONUS per A..B same-strand pair (task t1).

    w = 1, or 0.5 + centre / L (the simulator's weighting) when ``position_weight``.
    """

    def predict(x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), 2))
        for i, s in enumerate(decode(x)):
            w = sum(
                (0.5 + (p + len(A.sequence) / 2) / L) if position_weight else 1.0
                for p in sites(s, A.sequence)
            )
            pairs = sum(
                len(re.findall(f"(?={a}[ACGT]{{4,8}}{b})", t))
                for t, (a, b) in (
                    (s, (A.sequence, B.sequence)),
                    (revcomp(s), (A.sequence, B.sequence)),
                )
            )
            out[i] = [EFFECT["t1"] * w + BONUS * pairs, EFFECT["t2"] * w]
        return out

    return Predictor(["t1", "t2"], L, predict)


def linear_model(seed: int = 3) -> tuple[Predictor, np.ndarray]:
    """f_t(x) = sum W[t] * x: GIA effects are known exactly from the null sequences."""
    w = np.random.default_rng(seed).normal(size=(2, 4, L))
    return Predictor(["t1", "t2"], L, lambda x: np.einsum("tbl,nbl->nt", w, x)), w


def test_embed_and_flip_write_the_motif_and_its_reverse_complement_in_place():
    x = one_hot(random_tiles(3))
    y = embed(x, [(A.sequence, 10)])
    assert all(s[10:19] == A.sequence for s in decode(y))
    assert [s[:10] + s[19:] for s in decode(y)] == [s[:10] + s[19:] for s in decode(x)]
    pair = [(A.sequence, 5), (B.sequence, 5 + 9 + 6)]
    back = flip(pair, L)
    # The flipped construct spans the same bases and reads as the reverse complement (its
    # spacer is the null sequence's own bases).
    assert sorted(back, key=lambda p: p[1]) == [(revcomp(B.sequence), 5), (revcomp(A.sequence), 20)]
    t = decode(embed(x, back))[0]
    assert t[5:14] == revcomp(B.sequence) and t[20:29] == revcomp(A.sequence)


def test_marginal_effect_of_a_counting_model_is_exact_and_zero_for_a_decoy():
    null = null_sequences(random_tiles(80), 60, seed=1)
    gia = GIA(grammar_model(), null, n_boot=200, seed=0)
    table = run_gia(gia, [A, DECOY], ["marginal"])
    assert list(table.columns) == GIA_COLUMNS
    a = table[table["motifs"] == "A"].set_index("task")
    for task, e in EFFECT.items():
        # One site on either strand adds exactly EFFECT (no null holds a 9-bp A site).
        assert a.loc[task, "effect"] == pytest.approx(e)
        assert a.loc[task, "ci_low"] - 1e-12 <= e <= a.loc[task, "ci_high"] + 1e-12
    d = table[table["motifs"] == "D"]
    assert (d["effect"] == 0).all() and (d["ci_low"] <= 0).all() and (d["ci_high"] >= 0).all()
    assert (table["orientation"] == "both").all() and (table["spacing"] == "").all()
    assert (table["position"] == (L - 9) // 2).sum() == 4  # A's and D's centred start


def test_linear_model_effect_matches_the_closed_form_and_the_interval_holds_the_mean():
    pred, w = linear_model()
    null = null_sequences(random_tiles(100, seed=2), 100, seed=4)
    gia = GIA(pred, null, n_boot=500, seed=1)
    table = run_gia(gia, [A], ["position"], positions=[0, 17, L - 9])
    for start in (0, 17, L - 9):
        fwd = one_hot([A.sequence])[0]
        rev = one_hot([revcomp(A.sequence)])[0]
        cols = slice(start, start + 9)
        # Mean over nulls of W . (motif - null bases) in the window, both strands averaged.
        expected = np.einsum("tbl,bl->t", w[:, :, cols], (fwd + rev) / 2) - np.einsum(
            "tbl,nbl->t", w[:, :, cols], null[:, :, cols]
        ) / len(null)
        rows = table[table["position"] == start].set_index("task")
        assert np.allclose(rows.loc[["t1", "t2"], "effect"], expected)
        assert (rows["ci_low"] < rows["effect"]).all() and (rows["effect"] < rows["ci_high"]).all()
        assert (rows["ci_high"] - rows["ci_low"] > 0).all()


def test_bootstrap_interval_contains_the_mean_and_narrows_with_more_nulls():
    rng = np.random.default_rng(0)
    d = rng.normal(1.0, 2.0, size=(400, 1))
    pred = Predictor(["t"], L, lambda x: np.zeros((len(x), 1)))
    small = GIA(pred, one_hot(random_tiles(40)), n_boot=2000, seed=0)
    big = GIA(pred, one_hot(random_tiles(400)), n_boot=2000, seed=0)
    m1, lo1, hi1 = small.summarise(d[:40])
    m2, lo2, hi2 = big.summarise(d)
    assert lo1 < m1 < hi1 and lo2 < m2 < hi2
    # Percentile bootstrap of a mean: about mean +- 1.96 SD / sqrt(n).
    assert hi2 - lo2 == pytest.approx(2 * 1.96 * d.std() / np.sqrt(400), rel=0.15)
    assert hi2 - lo2 < hi1 - lo1
    # Seeded: the same resamples give the same interval.
    again = GIA(pred, one_hot(random_tiles(400)), n_boot=2000, seed=0)
    assert np.array_equal(again.summarise(d)[1], lo2)


def test_profile_null_matches_the_per_position_base_frequencies():
    # Tiles with a strongly position-dependent composition: A-rich 5' half, GC-rich 3' half.
    rng = np.random.default_rng(5)
    tiles = [
        "".join(rng.choice(list("ACGT"), p=[0.7, 0.1, 0.1, 0.1], size=L // 2))
        + "".join(rng.choice(list("ACGT"), p=[0.05, 0.45, 0.45, 0.05], size=L // 2))
        for _ in range(300)
    ]
    null = null_sequences(tiles, 4000, method="profile", seed=2)
    expected = one_hot(tiles).mean(axis=0)
    got = null.mean(axis=0)
    assert np.abs(got - expected).max() < 0.035  # 4000 draws: binomial SD <= 0.008
    assert (null.sum(axis=1) == 1).all()
    # The dinucleotide shuffle keeps each tile's composition exactly.
    shuffled = null_sequences(tiles, 50, seed=3)
    counts = np.sort(shuffled.sum(axis=2), axis=0)
    assert counts.shape == (50, 4)
    assert set(map(tuple, shuffled.sum(axis=2))) <= set(map(tuple, one_hot(tiles).sum(axis=2)))


def test_cooperativity_is_pair_minus_singles_and_peaks_in_the_planted_range(tmp_path):
    null = null_sequences(random_tiles(60), 40, seed=1)
    gia = GIA(grammar_model(), null, n_boot=100, seed=0)
    table = run_gia(gia, [A, B], ["spacing"], pair=(A, B), spacings=range(13))
    pair = table[table["analysis"] == "spacing"].reset_index(drop=True)
    coop = table[table["analysis"] == "cooperativity"].reset_index(drop=True)
    assert len(pair) == len(coop) == 4 * 13 * 2
    # By construction: cooperativity = pair - A alone - B alone, each single at its place in the
    # pair (A alone adds EFFECT, B alone nothing, in this model).
    assert np.allclose(coop["effect"], pair["effect"] - coop["task"].map(EFFECT))
    _, places = gia.pair_placements(A, B, 6, "convergent")
    by_hand = gia.effect(places) - gia.effect(places[:1]) - gia.effect(places[1:])
    row = coop[(coop["orientation"] == "convergent") & (coop["spacing"] == 6)]
    assert np.allclose(row["effect"], by_hand.mean(axis=0))
    same = coop[(coop["motifs"] == "A+B") & (coop["orientation"] == "same")]
    t1 = same[same["task"] == "t1"].set_index("spacing")["effect"]
    # The construct is averaged over its two strands: each strand holds the pair once.
    assert np.allclose(t1.loc[[4, 5, 6, 7, 8]], BONUS)
    assert np.allclose(t1.drop([4, 5, 6, 7, 8]), 0)
    for orient in ("convergent", "divergent"):
        assert np.allclose(coop.loc[coop["orientation"] == orient, "effect"], 0)
    assert np.allclose(coop.loc[coop["motifs"] == "B+A", "effect"], 0)
    # Graded against a truth folder saying the same.
    truth = tmp_path / "truth"
    truth.mkdir()
    write_truth(truth)
    gia_tsv = tmp_path / "gia.tsv"
    table.to_csv(gia_tsv, sep="\t", index=False)
    rec = truth_recovery(truth, gia=gia_tsv).set_index("metric")["value"]
    assert 4 <= rec["gia_coop_peak_spacing"] <= 8
    assert rec["planted_coop_spacing_min"] == 4 and rec["planted_coop_spacing_max"] == 8


def write_truth(folder, slope: float = 1.0) -> None:
    pd.DataFrame(
        {
            "factor": ["A", "B", "D"],
            "matrix_id": ["MA0035.5", "MA0079.5", "MA0466.4"],
            "kind": ["planted", "planted", "decoy"],
            "length": [9, 9, 9],
            "consensus": [A.sequence, B.sequence, DECOY.sequence],
            "effect_t1": [EFFECT["t1"], 0.0, 0.0],
            "effect_t2": [EFFECT["t2"], 0.0, 0.0],
        }
    ).to_csv(folder / "factors.tsv", sep="\t", index=False)
    syntax = {"first": "A", "second": "B", "spacing_bp": [4, 8], "tasks": ["t1"]}
    (folder / "syntax.json").write_text(json.dumps(syntax))
    (folder / "position.json").write_text(json.dumps({"offset": 0.5, "slope": slope}))


def test_truth_recovery_on_a_model_that_is_the_truth(tmp_path):
    """Marginal Pearson 1 (decoys included), position sign read from position.json."""
    null = null_sequences(random_tiles(60), 40, seed=1)
    gia = GIA(grammar_model(position_weight=True), null, n_boot=100, seed=0)
    table = run_gia(gia, [A, B, DECOY], ["marginal", "position"], position_step=13)
    pos = table[(table["analysis"] == "position") & (table["motifs"] == "A")]
    t1 = pos[pos["task"] == "t1"]
    # Exactly the simulator's weighting: EFFECT * (0.5 + centre / L).
    assert np.allclose(t1["effect"], EFFECT["t1"] * (0.5 + (t1["position"] + 4.5) / L))
    path = tmp_path / "gia.tsv"
    table.to_csv(path, sep="\t", index=False)
    for slope, agrees in ((1.0, 1.0), (-1.0, 0.0)):
        truth = tmp_path / f"truth{slope}"
        truth.mkdir()
        write_truth(truth, slope=slope)
        # Optional inputs: filters with A and the decoy matched; no patterns file.
        filters = tmp_path / "filters.tsv"
        filters.write_text("filter\tsignificant_matches\n0\tMA0035.5;MA9999.1\n1\t\n2\tMA0466.4\n")
        rec = truth_recovery(truth, gia=path, filters=filters, patterns=tmp_path / "none.tsv")
        assert list(rec["metric"]) == list(METRICS)
        v = rec.set_index("metric")["value"]
        assert v["gia_marginal_pearson"] == pytest.approx(1.0)
        assert v["position_effect_sign_agrees"] == agrees
        assert v["filters_planted_matched"] == 1 and v["filters_decoys_matched"] == 1
        assert v["n_planted"] == 2 and v["n_decoys"] == 1
        assert np.isnan(v["modisco_planted_matched"]) and np.isnan(v["gia_coop_peak_spacing"])


def test_number_of_copies_adds_up_for_a_counting_model():
    null = null_sequences(random_tiles(60), 30, seed=1)
    gia = GIA(grammar_model(), null, n_boot=50, seed=0)
    table = run_gia(gia, [A], ["number"], copies=[1, 2, 3, 5])
    t1 = table[table["task"] == "t1"]
    copies = t1["motifs"].str.count(r"\+") + 1
    assert list(copies) == [1, 2, 3, 5]
    assert np.allclose(t1["effect"], EFFECT["t1"] * copies)
    starts = [list(map(int, p.split(";"))) for p in t1["position"]]
    assert all(len(s) == k for s, k in zip(starts, copies, strict=True))
    with pytest.raises(InputError, match="8 copies of motif .A. needs 62 bp"):
        run_gia(gia, [A], ["number"], copies=[8])


def test_motifs_resolve_from_consensus_jaspar_and_catalogue():
    assert resolve_motif("X=agataa") == Motif("X", "AGATAA")
    gata = resolve_motif("GATA1")
    assert gata.name == "GATA1" and gata == Motif("GATA1", resolve_motif("G=MA0035.5").sequence)
    with pytest.raises(InputError, match="holds N, X"):
        resolve_motif("bad=ACGXN")


@pytest.mark.parametrize("arch", ["paggi", "dragonn", "residual"])
def test_cnn_constructs_recomputed_on_their_bases_equal_whole_sequences(arch):
    """A CNN predicts each construct by recomputing only the bases it changes and what they
    reach (mpralens.ism.local.Edited): every analysis, at both tile edges, pairs and 4 copies
    spread over every pooled bin, equals predicting the whole sequences (1e-5)."""
    import torch

    from mpralens.interpret.gia import network_predictor
    from mpralens.models.cnn.architectures import build_architecture

    torch.manual_seed(0)
    length = 145
    kwargs = {"filters": 16} if arch != "residual" else {}
    net = build_architecture(arch, n_tasks=3, input_length=length, **kwargs).eval()
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(100)  # effects of a log2 unit or so, as a trained model's
    spec = {"tasks": ["a", "b", "c"], "tile_length": length, "layout": "tile"}
    null = null_sequences(random_tiles(40, seed=2, length=length), 30, seed=1)
    fast = network_predictor(net, spec, batch_size=16)
    slow = network_predictor(net, spec, batch_size=16)
    slow.edits = None
    assert fast.edits is not None and fast.edits(null) is not None
    tables = [
        run_gia(
            GIA(p, null, n_boot=50, seed=0),
            [A, B],
            ["marginal", "position", "spacing", "number"],
            pair=(A, B),
            position_step=17,
            spacings=[0, 3, 20],
            copies=[1, 2, 4],
        )
        for p in (fast, slow)
    ]
    ours, want = (t["effect"].to_numpy() for t in tables)
    assert len(ours) == len(want) > 100
    assert np.abs(want).max() > 0.3
    np.testing.assert_allclose(ours, want, atol=1e-5, rtol=0)
    assert set(tables[0]["position"].astype(str)) >= {"0", str(length - len(A.sequence))}


def test_networks_without_an_incremental_pass_predict_whole_sequences():
    """An ensemble has no incremental pass: GIA predicts its whole sequences."""
    import torch

    from mpralens.interpret.gia import network_predictor
    from mpralens.models.cnn.architectures import build_architecture
    from mpralens.models.cnn.network import Ensemble

    torch.manual_seed(0)
    members = [build_architecture("paggi", n_tasks=1, input_length=L, filters=8) for _ in "ab"]
    net = Ensemble(members).eval()
    spec = {"tasks": ["a"], "tile_length": L, "layout": "tile"}
    pred = network_predictor(net, spec)
    null = null_sequences(random_tiles(20, seed=2), 10, seed=1)
    assert pred.edits is not None and pred.edits(null) is None
    gia = GIA(pred, null, n_boot=20)
    with torch.inference_mode():
        x = torch.from_numpy(embed(null, [(A.sequence, 5)])).float()
        y = torch.from_numpy(embed(null, flip([(A.sequence, 5)], L))).float()
        want = ((net(x) + net(y)) / 2).double().numpy() - gia.base
    np.testing.assert_allclose(gia.effect([(A.sequence, 5)]), want, atol=1e-6, rtol=0)


def test_null_shift_by_hand_and_without_predicting_the_nulls_twice():
    """Per task the predictions' mean and SD (ddof 1) and the mean GC of the real tiles and of the
    nulls; given the nulls' predictions (GIA.base), the nulls are not predicted again."""
    real = one_hot(["AAAA", "CCGG", "ACGT"])
    null = one_hot(["GGGG", "ATAT"])
    calls = []

    def predict(x):
        calls.append(len(x))
        return np.stack([x[:, 1:3].sum(axis=(1, 2)), x[:, 0].sum(axis=1)], axis=1)  # GC, A

    pred = Predictor(["gc", "a"], 4, predict)
    table = null_shift(pred, real, null, method="shuffle")
    assert calls == [3, 2]
    rows = {(r.sequences, r.task): r for r in table.itertuples()}
    # Real: GC counts 0, 4, 2 (mean 2, SD 2); A counts 4, 0, 1 (mean 5/3, SD sqrt(13/3)).
    assert rows["real", "gc"].mean == 2 and rows["real", "gc"].sd == pytest.approx(2.0)
    assert rows["real", "a"].mean == pytest.approx(5 / 3)
    assert rows["real", "a"].sd == pytest.approx(np.sqrt(13 / 3))
    assert rows["real", "gc"].gc == pytest.approx(0.5) and rows["real", "gc"].n == 3
    # Nulls: GC 4, 0 (mean 2, SD 2.83); A 0, 2; GC fraction (1 + 0) / 2.
    assert rows["shuffle", "gc"].sd == pytest.approx(np.sqrt(8))
    assert rows["shuffle", "a"].mean == 1 and rows["shuffle", "gc"].gc == pytest.approx(0.5)
    calls.clear()
    again = null_shift(pred, real, null, method="shuffle", null_predictions=pred(null))
    assert calls == [2, 3]  # the nulls once (given), the real tiles once
    pd.testing.assert_frame_equal(again, table)
