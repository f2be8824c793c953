"""Evaluation of ISM maps: quantile curves and binned Spearman by hand, conservation from a bigWig
and from an element BED, TF sites of the task's own cell type, TSS distance, Sharpr scores."""

import numpy as np
import pandas as pd
import pytest

from mpralens.evaluate import labels as ev
from mpralens.evaluate import stats as st
from mpralens.evaluate.ism_maps import evaluate
from tests.conftest import run_cli


def test_quantile_curve_and_binned_spearman_by_hand():
    scores = np.array([0.5, -1.0, 2.0, 0.0, 3.0, -2.0])
    labels = np.array([1, 0, 1, 0, 1, 1])
    curve = st.quantile_curve(scores, labels, n_bins=3)
    # Sorted: -2 (1), -1 (0) | 0 (0), 0.5 (1) | 2 (1), 3 (1)
    assert curve["n"].tolist() == [2, 2, 2]
    assert curve["mean_score"].tolist() == [-1.5, 0.25, 2.5]
    assert curve["mean_label"].tolist() == [0.5, 0.5, 1.0]
    # Ranks of scores 1,2,3; of labels 1.5,1.5,3: rho = cov / (sd sd) = 0.8660...
    assert st.binned_spearman(curve) == pytest.approx(np.sqrt(3) / 2)
    # Only bins with mean score >= 0: two bins are too few for a correlation.
    assert np.isnan(st.binned_spearman(curve, nonnegative=True))
    # More bins than bases: one base per bin.
    assert len(st.quantile_curve(scores, labels, n_bins=5000)) == 6


@pytest.mark.parametrize("n", [0, 1, 7, 4999, 5000, 5001, 12345, 160_003])
def test_quantile_curve_equals_a_mean_per_bin(n):
    """The vectorised curve against the slow reference: np.array_split's bins, one mean() each,
    bit for bit (unequal bins when n is not a multiple of the bin count; ties keep genome order)."""
    rng = np.random.default_rng(n)
    scores = rng.normal(size=n).round(1)  # ties
    labels = rng.integers(0, 2, size=n).astype(float) if n % 2 else rng.normal(size=n)
    curve = st.quantile_curve(scores, labels)
    order = np.argsort(scores, kind="stable")
    bins = np.array_split(order, min(st.N_BINS, n)) if n else []
    assert curve["bin"].tolist() == list(range(len(bins)))
    assert curve["n"].tolist() == [len(b) for b in bins]
    assert curve["mean_score"].tolist() == [scores[b].mean() for b in bins]
    assert curve["mean_label"].tolist() == [labels[b].mean() for b in bins]


def test_bigwig_and_element_bed_give_the_same_labels(tmp_path):
    import pyBigWig

    elements = [("chr1", 10, 20), ("chr1", 50, 53), ("chr2", 0, 5)]
    bed = tmp_path / "elements.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\t{s * 7.5}\n" for c, s, e in elements))
    sizes = {"chr1": 100, "chr2": 30}
    bw_path = tmp_path / "cons.bw"
    bw = pyBigWig.open(str(bw_path), "w")
    bw.addHeader(list(sizes.items()))
    for c, n in sizes.items():
        vals = np.full(n, 0.3)
        for cc, s, e in elements:
            if cc == c:
                vals[s:e] = 4.0
        bw.addEntries(c, 0, values=vals.tolist(), span=1, step=1)
    bw.close()
    chrom = np.array(["chr1"] * 100 + ["chr2"] * 30)
    pos = np.concatenate([np.arange(100), np.arange(30)])
    from_bw = ev.conservation_labels(bw_path, chrom, pos, threshold=2.0)
    from_bed = ev.conservation_labels(bed, chrom, pos, threshold=2.0)
    assert (from_bw == from_bed).all() and from_bed.sum() == 10 + 3 + 5
    assert from_bed[[9, 10, 19, 20, 52, 53, 100, 104, 105]].tolist() == [0, 1, 1, 0, 1, 0, 1, 1, 0]


def _table(tasks, scores_by_task, chrom="chr1", start=100):
    n = len(next(iter(scores_by_task.values())))
    rows = []
    for t in tasks:
        rows.append(
            pd.DataFrame(
                {
                    "chrom": chrom,
                    "pos": start + np.arange(n),
                    "region_id": "R",
                    "task": t,
                    "score": scores_by_task[t],
                    "n_windows": 5,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_tf_sites_of_the_tasks_own_cell_type(tmp_path):
    hep = tmp_path / "HepG2.bed"
    k562 = tmp_path / "K562.bed"
    hep.write_text("chr1\t100\t110\tHNF4A\t1000\t+\n")
    k562.write_text("chr1\t150\t160\tGATA1\t1000\t+\n")
    score = np.zeros(100)
    score[0:10] = 1.0  # high where the HepG2 site is
    score[50:60] = -1.0
    table = _table(["HepG2_minP", "K562_minP"], {"HepG2_minP": score, "K562_minP": -score})
    summary, tables = evaluate(table, tf_sites={"HepG2": hep, "K562": k562}, n_bins=10)
    # HepG2 task labelled by HepG2 sites only (positions 100-109), K562 by K562 sites (150-159).
    assert summary["tasks"]["HepG2_minP"]["tf_sites"]["positive_fraction"] == 0.1
    assert summary["tasks"]["HepG2_minP"]["tf_sites"]["auroc"] == 1.0
    assert summary["tasks"]["K562_minP"]["tf_sites"]["auroc"] == 1.0  # -(-1) at its own sites
    per_tf = tables["tf"].set_index(["cell", "name"])["mean"]
    assert per_tf[("HepG2", "HNF4A")] == 1.0 and per_tf[("K562", "GATA1")] == 1.0


def test_tss_distance_is_strand_aware():
    tss = pd.DataFrame({"chrom": ["chr1", "chr1"], "start": [1000, 5000], "strand": ["+", "-"]})
    pos = np.array([900, 1000, 1100, 4800, 5300])
    d = ev.tss_distance(np.array(["chr1"] * 5), pos, tss)
    assert d.tolist() == [100, 0, -100, -200, 300]


def test_reference_spearman_against_sharpr_scores(tmp_path):
    sharpr = tmp_path / "sharpr.txt"
    sharpr.write_text("R\t" + "\t".join(str(v) for v in range(20)) + "\n")
    score = np.arange(20.0) ** 2  # monotone in the reference: Spearman 1
    summary, _ = evaluate(
        _table(["HepG2_minP"], {"HepG2_minP": score}),
        reference=ev.read_sharpr_scores(sharpr),
        n_bins=5,
    )
    assert summary["tasks"]["HepG2_minP"]["reference"] == {"bases": 20, "spearman": 1.0}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate-ism", "--scores", "s.tsv", "--outdir", "o", "--tf-sites", "HepG2"], "CELL=BED"),
        (["evaluate-ism", "--scores", "s.tsv", "--outdir", "o", "--tf-sites", "K562="], "CELL=BED"),
        (
            ["compare-models", "--predictions", "cnn"]
            + ["--out-tsv", "t", "--out-figure", "f", "--out-scatter", "s"],
            "NAME=PATH",
        ),
    ],
)
def test_name_value_options_without_a_value_are_one_error(argv, message, tmp_path):
    proc = run_cli(*argv, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"takes {message}, got" in proc.stderr
    assert not any(tmp_path.iterdir())
