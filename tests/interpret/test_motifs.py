"""Motifs of a trained model: first-layer filters (Koo & Ploenzke alignment), motif files, Tomtom
against JASPAR 2024, TF-MoDISco patterns of attribution maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mpralens.data.element_tests import bh
from mpralens.interpret.filters import align, filter_motifs, first_layer, load_cnn
from mpralens.interpret.patterns import best_method, region_maps, resolve_sources
from mpralens.interpret.tomtom import match, summarise
from mpralens.io.errors import InputError
from mpralens.io.motifs import Motif, information_content, read_motifs, write_meme

BASES = "ACGT"


def toy_net(word: str, bias: float) -> nn.Module:
    """One first-layer filter whose weights are the one-hot of ``word`` (then ReLU)."""
    conv = nn.Conv1d(4, 1, len(word))
    with torch.no_grad():
        conv.weight.zero_()
        for i, b in enumerate(word):
            conv.weight[0, BASES.index(b), i] = 1.0
        conv.bias.fill_(bias)
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.LazyLinear(1))


def random_tiles(n: int, length: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(BASES), length)) for _ in range(n)]


def test_filter_of_a_word_aligns_exactly_its_occurrences():
    # Weights one-hot of ACGTA, bias -4: the ReLU output is 1 at an exact ACGTA, 0 elsewhere
    # (4 matches give 0), so the sites are the word's occurrences and the PFM is the word.
    tiles = random_tiles(30, 40, 0)
    tiles = [t[:7] + "ACGTA" + t[12:] for t in tiles[:20]] + tiles[20:]
    n_expected = sum(
        t[i : i + 5] == "ACGTA" for t in tiles for i in range(len(t) - 4)
    )  # planted plus any by chance
    motifs, n_sites = filter_motifs(toy_net("ACGTA", -4.0), tiles, threshold=0.5, pseudocount=0.5)
    assert n_sites.tolist() == [n_expected]
    expected = (np.eye(4)[[BASES.index(b) for b in "ACGTA"]] * n_expected + 0.5) / (
        n_expected + 2.0
    )
    np.testing.assert_allclose(motifs[0].probs, expected)
    # Without the pseudocount it is the word itself.
    motifs, _ = filter_motifs(toy_net("ACGTA", -4.0), tiles, pseudocount=0.0)
    assert "".join(BASES[i] for i in motifs[0].probs.argmax(axis=1)) == "ACGTA"
    np.testing.assert_allclose(motifs[0].probs.max(axis=1), 1.0)


def test_ensemble_is_read_through_its_first_member():
    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = nn.ModuleList([toy_net("ACGTA", -4.0), toy_net("TTTTT", -4.0)])

    tiles = ["GG" + "ACGTA" + "GGTTTTTGG"]
    motifs, n_sites = filter_motifs(Pair(), tiles, pseudocount=0.0)
    assert n_sites.tolist() == [1]
    assert "".join(BASES[i] for i in motifs[0].probs.argmax(axis=1)) == "ACGTA"


def test_threshold_keeps_windows_above_half_the_largest_activation_by_brute_force():
    # Bias 0: the activation is the number of matching bases; the largest over the tiles is 5
    # (a planted ACGTA), so the sites are the windows with at least 3 matches.
    tiles = random_tiles(12, 30, 1)
    tiles[0] = tiles[0][:3] + "ACGTA" + tiles[0][8:]
    counts = np.zeros((5, 4))
    n = 0
    for t in tiles:
        for i in range(len(t) - 4):
            w = t[i : i + 5]
            if sum(a == b for a, b in zip(w, "ACGTA", strict=True)) > 2.5:
                n += 1
                for j, b in enumerate(w):
                    counts[j, BASES.index(b)] += 1
    motifs, n_sites = filter_motifs(toy_net("ACGTA", 0.0), tiles, pseudocount=1.0)
    assert n_sites[0] == n > 1
    np.testing.assert_allclose(motifs[0].probs, (counts + 1.0) / (n + 4.0))


def test_dead_filter_has_no_site_and_a_uniform_matrix():
    x = np.eye(4)[np.random.default_rng(0).integers(0, 4, (3, 20))].transpose(0, 2, 1)
    n_sites, pfms = align(x, -np.ones((3, 1, 16)), 5, pseudocount=0.5)
    assert n_sites.tolist() == [0]
    np.testing.assert_allclose(pfms[0], 0.25)


def test_first_layer_skips_later_convolutions_and_takes_the_activation_after_norm():
    net = nn.Sequential(
        nn.Conv1d(4, 8, 5), nn.BatchNorm1d(8), nn.SiLU(), nn.Conv1d(8, 4, 3), nn.ReLU()
    )
    conv, after = first_layer(net)
    assert conv is net[0]
    assert [type(m) for m in after] == [nn.BatchNorm1d, nn.SiLU]


def test_model_without_a_first_layer_convolution_is_one_error(tmp_path):
    with pytest.raises(InputError, match="no first-layer convolution over the 4 bases"):
        first_layer(nn.Sequential(nn.Flatten(), nn.Linear(80, 1)), "mlp.ckpt")
    kmer = tmp_path / "model.npz"
    kmer.write_bytes(b"")
    with pytest.raises(InputError, match="k-mer model has no first-layer convolution") as e:
        load_cnn(kmer)
    assert str(kmer) in str(e.value)


MEME = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.25 C 0.25 G 0.25 T 0.25

MOTIF MA0001.1 ONE
letter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0
0.5 0.5 0 0
0.1 0.2 0.3 0.4

MOTIF two
letter-probability matrix: alength= 4 w= 1 nsites= 10 E= 0
  0  0  0  1
URL http://example
"""

JASPAR = """>MA0035.5\tGATA1
A  [    10     0    20 ]
C  [    10     0     0 ]
G  [     0    20     0 ]
T  [     0     0     0 ]
>X1 other
A [ 1 ]
C [ 1 ]
G [ 1 ]
T [ 1 ]
"""


def test_reads_meme_and_jaspar_files_by_hand(tmp_path):
    meme = tmp_path / "m.meme"
    meme.write_text(MEME)
    a, b = read_motifs(meme)
    assert (a.motif_id, a.name, b.motif_id, b.name) == ("MA0001.1", "ONE", "two", "two")
    np.testing.assert_allclose(a.probs, [[0.5, 0.5, 0, 0], [0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(b.probs, [[0, 0, 0, 1]])
    jas = tmp_path / "m.jaspar"
    jas.write_text(JASPAR)
    g, x = read_motifs(jas)
    assert (g.motif_id, g.name, x.name) == ("MA0035.5", "GATA1", "other")
    np.testing.assert_allclose(g.probs, [[0.5, 0.5, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0]])
    np.testing.assert_allclose(x.probs, [[0.25] * 4])


def test_written_meme_reads_back_here_and_in_memelite(tmp_path):
    from memelite.io import read_meme

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=6)
    path = tmp_path / "out.meme"
    write_meme([Motif("filter0", "filter0", probs), Motif("p1", "GATA", probs[:3])], path)
    back = read_motifs(path)
    assert [m.motif_id for m in back] == ["filter0", "p1"]
    np.testing.assert_allclose(back[0].probs, probs, atol=1e-6)
    theirs = read_meme(str(path))
    np.testing.assert_allclose(theirs["filter0"].T, probs, atol=1e-6)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("hello\n", 1, "neither MEME minimal format"),
        ("\n\nACGT 1 2 3\n", 3, "neither MEME minimal format"),
        (">M1 X\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\n", 1, "has 3 of the 4 rows"),
        (">M1 X\nA [ 1 2 ]\nC [ 1 ]\nG [ 1 2 ]\nT [ 1 2 ]\n", 1, "differ in length"),
        (">M1 X\nA [ 1 x ]\n", 2, "expected numbers"),
        (">M1 X\nA [ 1 ]\nG [ 1 ]\n", 3, "expected row C"),
        (
            "MEME version 4\nMOTIF a\nletter-probability matrix: alength= 4 w= 3\n0 0 0 1\n",
            3,
            "declares w= 3 but has 1 rows",
        ),
        ("MEME version 4\nMOTIF a\n", 2, "no 'letter-probability matrix:' line"),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n1 0 0\n", 4, "needs 4"),
        ("MEME version 4\n", None, "no MOTIF"),
        ("MEME version 4\nMOTIF a\nletter-probability matrix: w= 1\n-1 0 2 0\n", 3, "negative"),
    ],
)
def test_bad_motif_file_is_one_error_naming_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "motifs.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as e:
        read_motifs(path)
    assert e.value.path == str(path)
    assert e.value.line == line


def test_bh_q_values_match_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(0).uniform(size=50) ** 3
    np.testing.assert_allclose(bh(p), multipletests(p, method="fdr_bh")[1])


def test_tomtom_finds_gata1_for_sampled_gata1_sites():
    from mpralens.simulate.catalog import CATALOG, sample_sites

    gata1 = next(f for f in CATALOG if f.name == "GATA1")
    sites = sample_sites(gata1, 0.6, np.random.default_rng(0), 300)
    pfm = (np.eye(4)[sites].sum(axis=0) + 0.5) / (300 + 2.0)
    ic = information_content(pfm)
    assert 10 < ic < 14  # the sharpened GATA1 (12.6 bits), up to sampling
    matches = match([pfm], ["sampled"])
    summary = summarise(matches, ["sampled"], 0.05)
    assert "MA0035.5" in summary.loc[0, "significant_matches"].split(";")
    # q-values: BH over the 879 JASPAR targets of the query.
    assert len(matches) == 879
    np.testing.assert_allclose(matches["q_value"], bh(matches["p_value"].to_numpy()))
    # Against the catalogue only: GATA1 is the first significant match.
    from mpralens.interpret.patterns import catalog_targets

    cat = match([pfm], ["sampled"], restrict_to=list(catalog_targets()))
    assert len(cat) == 10
    assert cat.iloc[0]["target_id"] == "MA0035.5" and cat.iloc[0]["q_value"] < 0.05


def test_region_maps_place_scores_by_genome_position():
    regions = pd.DataFrame(
        {"region_id": ["r1", "r2"], "chrom": ["c", "c"], "start": [100, 200], "end": [104, 203]},
    ).assign(sequence=["ACGT", "GNA"])
    table = pd.DataFrame(
        {
            "chrom": "c",
            "pos": [100, 103, 200, 201, 202, 101],
            "region_id": ["r1", "r1", "r2", "r2", "r2", "r1"],
            "task": ["t", "t", "t", "t", "t", "u"],
            "score": [1.0, -2.0, 3.0, 9.0, np.nan, 5.0],
        }
    )
    one_hot, scores, ids = region_maps(table, regions, "t")
    assert ids == ["r1", "r2"] and one_hot.shape == (2, 4, 4)
    np.testing.assert_allclose(scores, [[1, 0, 0, -2], [3, 0, 0, 0]])  # N and NaN score 0
    np.testing.assert_allclose(one_hot[1], [[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0] * 4])


def test_best_source_is_the_highest_mean_auroc():
    grading = pd.DataFrame(
        {
            "method": ["ism", "ism", "deepshap", "deepshap", "shuffled_control"],
            "task": ["a", "b", "a", "b", "a"],
            "auroc": [0.8, 0.9, 0.95, 0.9, 0.99],
        }
    )
    assert best_method(grading, ["ism", "deepshap"], None) == "deepshap"
    assert best_method(None, ["saliency", "ism"], None) == "saliency"
    assert resolve_sources(["best", "ism"], ["ism", "deepshap"], grading, None) == [
        "deepshap",
        "ism",
    ]
    assert resolve_sources(["best", "ism"], ["ism"], None, None) == ["ism"]
    with pytest.raises(InputError, match="source 'saliency' has no attribution maps"):
        resolve_sources(["saliency"], ["ism"], None, None)


class MaxPoolCNN(nn.Module):
    """One convolution, ReLU, global max pooling, a linear head: any input length."""

    def __init__(self, n_tasks: int, filters: int = 24, width: int = 13) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, filters, width)
        self.act = nn.ReLU()
        self.head = nn.Linear(filters, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.conv(x)).amax(dim=2))


@pytest.fixture(scope="module")
def trained_on_truth(small_sim):
    """A small CNN trained on the true tile activity of 240 of the 300 simulated regions."""
    from mpralens.interpret.filters import one_hot_tiles
    from mpralens.simulate.tiled import simulated_paths

    paths = simulated_paths(str(small_sim))
    seqs = pd.read_csv(paths["sequences"], sep="\t", header=None, names=["tile_id", "sequence"])
    truth = pd.read_parquet(paths["truth_tile_activity"]).merge(seqs, on="tile_id")
    tasks = [c for c in truth.columns if c not in ("tile_id", "region_id", "tile_pos", "sequence")]
    regions = sorted(truth["region_id"].unique())
    held_out = set(regions[-60:])
    train = truth[~truth["region_id"].isin(held_out) & (truth["tile_pos"] % 3 == 0)]
    torch.manual_seed(0)
    net = MaxPoolCNN(len(tasks))
    x = one_hot_tiles(list(train["sequence"]))
    y = torch.tensor(train[tasks].to_numpy(), dtype=torch.float32)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(5):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i : i + 128]
            opt.zero_grad()
            ((net(x[idx]) - y[idx]) ** 2).mean().backward()
            opt.step()
    net.eval()
    test = truth[truth["region_id"].isin(held_out)]
    return net, tasks, test


def strongest_factor() -> str:
    """The planted factor with the largest summed |effect| over the tasks (REST, a repressor)."""
    from mpralens.simulate.catalog import CATALOG

    return max(CATALOG, key=lambda f: sum(abs(v) for v in f.effect.values())).name


@pytest.mark.slow
def test_strongest_planted_factor_is_a_filter_and_a_modisco_pattern(trained_on_truth):
    from mpralens.config.settings import MotifSettings
    from mpralens.interpret.filters import filter_table, one_hot_tiles
    from mpralens.interpret.methods import attribute, observed
    from mpralens.interpret.patterns import catalog_targets, find_patterns, pattern_table

    net, tasks, test = trained_on_truth
    factor = strongest_factor()
    matrix_id = {v: k for k, v in catalog_targets().items()}[factor]
    motifs, n_sites = filter_motifs(net, list(test["sequence"]))
    filters, _ = filter_table(motifs, n_sites, min_information_content=6.0)
    matched = {i for s in filters["significant_matches"] for i in s.split(";") if i}
    assert matrix_id in matched, filters
    # Patterns: gradient x input on the held-out regions (the network takes any length); a
    # region is its first tile plus the last 5 bp (the tile step) of each later tile.
    regions = (
        test.sort_values(["region_id", "tile_pos"])
        .groupby("region_id", sort=True)["sequence"]
        .agg(lambda s: s.iloc[0] + "".join(t[-5:] for t in s.iloc[1:]))
        .reset_index()
    )
    assert (regions["sequence"].str.len() == 295).all()
    x = one_hot_tiles(list(regions["sequence"]))
    maps = attribute(net, x, "gradxinput", n_tasks=len(tasks), correction=True)
    scores = np.nan_to_num(observed(maps, x.double().numpy()))
    one_hot = x.numpy().transpose(0, 2, 1).astype(np.float64)
    settings = MotifSettings(
        max_seqlets=300, n_leiden_runs=2, min_metacluster_size=10, final_min_cluster_size=5
    )
    task = tasks[0]
    patterns = find_patterns(one_hot, scores[:, 0, :], settings, task=task, source="gradxinput")
    table, _ = pattern_table(patterns, planted=True, min_information_content=6.0)
    assert factor in set(table["planted_factor"]), table


@pytest.mark.slow
def test_modisco_finds_planted_gata1_in_contribution_maps_by_construction():
    """Maps that score exactly the bases of sampled GATA1 sites: one positive pattern, GATA1,
    whose seqlets are those sites (n_seqlets at most the number planted)."""
    from mpralens.config.settings import MotifSettings
    from mpralens.interpret.patterns import find_patterns, pattern_table
    from mpralens.simulate.catalog import CATALOG, sample_sites

    gata1 = next(f for f in CATALOG if f.name == "GATA1")
    rng = np.random.default_rng(0)
    n, length = 80, 120
    seq = rng.integers(0, 4, (n, length))
    scores = rng.normal(0, 0.02, (n, length))
    sites = sample_sites(gata1, 0.6, rng, 2 * n)
    planted = 0
    for i in range(n):
        for k, start in enumerate((20, 80)):
            seq[i, start : start + gata1.length] = sites[2 * i + k]
            scores[i, start : start + gata1.length] += 1.0
            planted += 1
    one_hot = np.eye(4)[seq]
    settings = MotifSettings(
        max_seqlets=400, n_leiden_runs=2, min_metacluster_size=10, final_min_cluster_size=10
    )
    patterns = find_patterns(one_hot, scores, settings, task="t", source="by_hand")
    table, _ = pattern_table(patterns, planted=True, min_information_content=6.0)
    assert len(table) >= 1 and (table["pattern"].str.startswith("pos_")).all(), table
    top = table.iloc[0]
    assert top["planted_factor"] == "GATA1" and top["n_seqlets"] <= planted, table
    assert "MA0035.5" in top["significant_matches"].split(";")
