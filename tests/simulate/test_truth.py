"""The simulator's truth can be graded on (issue 17): JASPAR 2024 factors, sites drawn from their
matrices, a per-base site map, and one cooperative arrangement whose bonus is in the activity."""

import json

import numpy as np
import pandas as pd
import pyfaidx
import pytest

from mpralens.simulate.catalog import (
    CATALOG,
    DECOYS,
    SYNTAX,
    information_content,
    log_odds,
    sample_sites,
)
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled

# The JASPAR 2024 CORE matrices named in issue 17.
JASPAR_IDS = {
    "HNF4A": "MA0114.5",
    "GATA1": "MA0035.5",
    "FOS::JUN": "MA0099.4",
    "REST": "MA0138.3",
    "SP1": "MA0079.5",
    "NFE2": "MA0841.2",
    "CEBPB": "MA0466.4",
    "FOXA2": "MA0047.4",
    "NRF1": "MA0506.3",
    "YY1": "MA0095.4",
}
BACKGROUND = np.array([0.29, 0.21, 0.21, 0.29])  # the simulator's default GC 0.42
COMPLEMENT = str.maketrans("ACGT", "TGCA")


def _revcomp(seq: str) -> str:
    return seq.translate(COMPLEMENT)[::-1]


def _score(factor, seq: str) -> float:
    lo = log_odds(factor, BACKGROUND)
    return float(lo[["ACGT".index(b) for b in seq], np.arange(len(seq))].sum())


def test_catalogue_is_jaspar_2024():
    from pyjaspar import jaspardb

    assert {f.name: f.matrix_id for f in CATALOG + DECOYS} == JASPAR_IDS
    assert [f.name for f in DECOYS] == ["CEBPB", "FOXA2", "NRF1", "YY1"]
    assert all(not f.effect for f in DECOYS)
    db = jaspardb(release="JASPAR2024")
    for f in CATALOG + DECOYS:
        motif = db.fetch_motif_by_id(f.matrix_id)
        assert motif.name.upper() == f.name
        assert f.probs.shape == (4, motif.length)
        np.testing.assert_allclose(f.probs.sum(axis=0), 1.0)
    by = {f.name: f for f in CATALOG}
    # Known consensus sites: the RE1/NRSE of REST, AP-1's TRE core, SP1's GC box.
    assert by["REST"].consensus == "TCAGCACCATGGACAGCGCC"
    assert "TGAGTCA" in by["FOS::JUN"].consensus
    assert by["SP1"].consensus == "GGGGCGGGG"


def test_temperature_sharpens_to_the_documented_information_content():
    gata1 = next(f for f in CATALOG if f.name == "GATA1")
    np.testing.assert_allclose(gata1.sharpened(1.0), gata1.probs, atol=1e-12)
    assert information_content(gata1, 1.0) == pytest.approx(9.78, abs=0.01)
    # 0.6 lifts every factor over log2(2 strands * 295 bp * 10 factors) = 12.5 bits.
    assert min(information_content(f, 0.6) for f in CATALOG + DECOYS) > np.log2(2 * 295 * 10)
    # The sampler draws each column's bases with the sharpened probabilities.
    draws = sample_sites(gata1, 0.6, np.random.default_rng(0), 20000)
    freq = np.stack([(draws == b).mean(axis=0) for b in range(4)])
    np.testing.assert_allclose(freq, gata1.sharpened(0.6), atol=0.015)


def _site_table(sim):
    bases = pd.read_parquet(sim / "truth" / "base_sites.parquet")
    return bases.groupby("site_id").agg(
        chrom=("chrom", "first"),
        start=("pos", "min"),
        end=("pos", "max"),
        factor=("factor", "first"),
        strand=("strand", "first"),
        kind=("kind", "first"),
    )


def test_planted_sites_score_high_under_their_own_matrix(small_sim):
    """Every factor's sites average > 10 bits of log-odds against the background (> 1000-fold
    likelier under the matrix), 95% of them > 6 bits, while background k-mers score < 0 on
    average; GATA1 and SP1 (not palindromic) read better on their own strand than the other."""
    genome = pyfaidx.Fasta(str(small_sim / "genome.fa"))
    by = {f.name: f for f in CATALOG + DECOYS}
    rows = []
    for r in _site_table(small_sim).itertuples():
        seq = str(genome[r.chrom][r.start : r.end + 1]).upper()
        own = seq if r.strand == "+" else _revcomp(seq)
        rows.append((r.factor, _score(by[r.factor], own), _score(by[r.factor], _revcomp(own))))
    scores = pd.DataFrame(rows, columns=["factor", "own", "other"])
    assert set(scores["factor"]) == set(by)
    for name, g in scores.groupby("factor"):
        assert g["own"].mean() > 10, name
        assert g["own"].quantile(0.05) > 6, name
        if name in (SYNTAX.first, SYNTAX.second):
            assert (g["own"] > g["other"]).all(), name
    # Background: k-mers at random positions of the first chromosome.
    chrom = str(genome["chr1"][:]).upper()
    rng = np.random.default_rng(0)
    for f in CATALOG:
        starts = rng.integers(0, len(chrom) - f.length, 500)
        assert np.mean([_score(f, chrom[s : s + f.length]) for s in starts]) < 0, f.name


def test_base_sites_cover_exactly_the_site_bases(small_sim):
    truth = small_sim / "truth"
    sites = pd.read_csv(truth / "sites.tsv", sep="\t")
    bases = pd.read_parquet(truth / "base_sites.parquet")
    tasks = [c.removeprefix("effect_") for c in sites.columns if c.startswith("effect_")]
    assert len(tasks) == 4
    assert list(bases.columns) == [
        "region_id", "chrom", "pos", "offset", "site_id", "factor", "strand", "kind",
        "motif_pos", *(f"effect_{t}" for t in tasks),
    ]  # fmt: skip
    # One row per (region, base); sites never overlap.
    assert not bases.duplicated(["region_id", "offset"]).any()
    assert not bases.duplicated(["chrom", "pos"]).any()
    # The planted bases are exactly the bases of the sites of sites.tsv, with their effects.
    planted = bases[bases["kind"] == "planted"]
    expected = sites.loc[sites.index.repeat(sites["end"] - sites["start"])].copy()
    within = expected.groupby(level=0).cumcount().to_numpy()
    expected["pos"] = expected["start"].to_numpy() + within
    expected["offset"] = expected["offset"].to_numpy() + within
    got = planted.sort_values(["site_id", "pos"]).reset_index(drop=True)
    expected = expected.sort_values(["site_id", "pos"]).reset_index(drop=True)
    for col in ("region_id", "chrom", "pos", "offset", "site_id", "strand"):
        assert got[col].tolist() == expected[col].tolist(), col
    assert got["factor"].tolist() == expected["tf"].tolist()
    for t in tasks:
        np.testing.assert_array_equal(got[f"effect_{t}"], expected[f"effect_{t}"])
    # Genome position = region start + offset.
    coords = pd.read_csv(
        small_sim / "coords_SimDesign_hg19.txt", sep="\t", header=None, names=["rid", "c", "s", "e"]
    ).set_index("rid")
    assert (bases["pos"] - bases["offset"]).tolist() == coords.loc[bases["region_id"], "s"].tolist()
    # motif_pos reads the matrix along the site's strand: the bases reproduce each site's score.
    genome = pyfaidx.Fasta(str(small_sim / "genome.fa"))
    by = {f.name: f for f in CATALOG + DECOYS}
    for _, g in bases.groupby("site_id"):
        if g["site_id"].iloc[0] > 40:
            break
        chrom, lo, hi = g["chrom"].iloc[0], g["pos"].min(), g["pos"].max() + 1
        seq = str(genome[chrom][int(lo) : int(hi)]).upper()
        f = by[g["factor"].iloc[0]]
        plus = np.array(["ACGT".index(b) for b in seq])
        idx = plus if g["strand"].iloc[0] == "+" else 3 - plus
        score = log_odds(f, BACKGROUND)[idx, g["motif_pos"].to_numpy()].sum()
        own = seq if g["strand"].iloc[0] == "+" else _revcomp(seq)
        assert score == pytest.approx(_score(f, own))
    # Decoys: zero effect, their own factors, listed in every cell's TF-site BED.
    decoys = bases[bases["kind"] == "decoy"]
    assert len(decoys) > 0
    assert set(decoys["factor"]) == {f.name for f in DECOYS}
    assert (decoys[[f"effect_{t}" for t in tasks]] == 0).all().all()
    decoy_sites = _site_table(small_sim).query("kind == 'decoy'")
    for cell in ("HepG2", "K562"):
        bed = pd.read_csv(small_sim / "tf_sites" / f"{cell}.bed", sep="\t", header=None)
        listed = set(zip(bed[0], bed[1], bed[2], bed[3], strict=True))
        assert all(
            (r.chrom, r.start, r.end + 1, r.factor) in listed for r in decoy_sites.itertuples()
        )


def _by_hand(s: TiledSimulation, sites: pd.DataFrame, tasks: list[str]):
    """True activity of every tile from sites.tsv and the formula of mpralens.simulate.tiled
    (region_sd = 0): returns (baseline per task, raw sum without the bonus per tile and task,
    whether a cooperative pair lies inside the tile, tile index)."""
    rows, raws, has_pair = [], [], []
    for rid, g in sites.groupby("region_id", sort=False):
        start = g["offset"].to_numpy()
        end = start + (g["end"] - g["start"]).to_numpy()
        eff = g[[f"effect_{t}" for t in tasks]].to_numpy()
        coop = (g["pair"] == "cooperative").to_numpy()
        for t in range(s.n_tiles):
            lo, hi = t * s.tile_step, t * s.tile_step + s.tile_length
            inside = (start >= lo) & (end <= hi)
            x = ((start + end) / 2 - lo) / s.tile_length  # site centre, relative to the tile
            raw = (eff[inside] * (0.5 + x[inside])[:, None]).sum(axis=0)
            n_activating = (eff[inside] > 0.3).sum(axis=0)
            raw += s.cooperativity * np.maximum(n_activating - 1, 0)
            rows.append((rid, t))
            raws.append(raw)
            has_pair.append(coop.sum() == 2 and bool(inside[coop].all()))
    base = np.array([0.0 if t.endswith("SV40P") else -0.5 for t in tasks])
    index = pd.MultiIndex.from_tuples(rows, names=["region_id", "tile_pos"])
    return base, np.array(raws), np.array(has_pair), index


@pytest.fixture(scope="module")
def syntax_sims(tmp_path_factory):
    """Two 80-region simulations, identical but for the syntax bonus (1.0 and 0)."""
    out = {}
    for bonus in (1.0, 0.0):
        s = TiledSimulation(
            n_regions=80,
            seed=4,
            region_sd=0.0,
            syntax_bonus=bonus,
            syntax_fraction=0.4,
            syntax_control_fraction=0.4,
        )
        d = tmp_path_factory.mktemp("syntax") / str(bonus)
        simulate_tiled(s, d)
        out[bonus] = (s, d)
    return out


def test_cooperative_pairs_are_the_documented_arrangement(syntax_sims):
    s, d = syntax_sims[1.0]
    sites = pd.read_csv(d / "truth" / "sites.tsv", sep="\t")
    syntax = json.loads((d / "truth" / "syntax.json").read_text())
    assert {k: syntax[k] for k in ("first", "second", "strand", "spacing_bp", "bonus_log2")} == {
        "first": "GATA1", "second": "SP1", "strand": "same", "spacing_bp": [4, 8], "bonus_log2": 1.0
    }  # fmt: skip
    assert syntax["tasks"] == ["K562_SV40P", "K562_minP"]  # GATA1 activates in K562 only
    for name, length in (("GATA1", 7), ("SP1", 9)):  # JASPAR matrix lengths, used below
        g = sites[sites["tf"] == name]
        assert (g["end"] - g["start"]).eq(length).all()

    pairs = sites[sites["pair_id"] >= 0].groupby("pair_id")
    kinds = pairs["pair"].first()
    assert syntax["n_pairs_planted"] == (kinds == "cooperative").sum() > 15
    assert syntax["n_control_pairs"] == kinds.str.startswith("control").sum() > 15
    assert sum(syntax["controls"].values()) == syntax["n_control_pairs"]
    for _, g in pairs:
        assert len(g) == 2 and set(g["tf"]) == {"GATA1", "SP1"}
        gata, sp1 = g[g["tf"] == "GATA1"].iloc[0], g[g["tf"] == "SP1"].iloc[0]
        same = gata.strand == sp1.strand
        # SP1 after GATA1 along GATA1's strand: its start minus GATA1's end (+), or mirrored (-).
        gap = (
            sp1.offset - (gata.offset + 7) if gata.strand == "+" else gata.offset - (sp1.offset + 9)
        )
        correct = same and 4 <= gap <= 8
        assert correct == (g["pair"].iloc[0] == "cooperative"), g
        if g["pair"].iloc[0] == "control_spacing":
            assert same and (gap < 4 or gap > 8)
        if g["pair"].iloc[0] == "control_orientation":
            assert not same
    # No other GATA1 and SP1 sites of a region form the arrangement.
    for _, g in sites.groupby("region_id"):
        for gata in g[g["tf"] == "GATA1"].itertuples():
            for sp1 in g[g["tf"] == "SP1"].itertuples():
                gap = (
                    sp1.offset - (gata.offset + 7)
                    if gata.strand == "+"
                    else gata.offset - (sp1.offset + 9)
                )
                if gata.strand == sp1.strand and 4 <= gap <= 8:
                    assert gata.pair == sp1.pair == "cooperative" and gata.pair_id == sp1.pair_id


def test_activity_includes_the_syntax_bonus_exactly(syntax_sims):
    """Recompute every tile's true activity by hand (module docstring of mpralens.simulate.tiled):
    baseline + S * tanh(raw / S), raw = position-weighted site effects + cooperativity, plus the
    bonus for a cooperative pair inside the tile in the K562 tasks. Decoys and control pairs add
    nothing."""
    s, d = syntax_sims[1.0]
    sites = pd.read_csv(d / "truth" / "sites.tsv", sep="\t")
    truth = pd.read_parquet(d / "truth" / "tile_activity.parquet")
    tasks = ["HepG2_SV40P", "HepG2_minP", "K562_SV40P", "K562_minP"]
    base, raw, has_pair, index = _by_hand(s, sites, tasks)
    truth = truth.set_index(["region_id", "tile_pos"]).loc[index, tasks].to_numpy()
    S, b = s.saturation, s.syntax_bonus
    additive = base + S * np.tanh(raw / S)
    in_k562 = np.array([t.startswith("K562") for t in tasks])
    assert has_pair.sum() > 100
    # Tiles holding a correct pair: above the additive sum by exactly the bonus, in K562 only.
    gain = truth - additive
    np.testing.assert_allclose(gain[has_pair][:, in_k562], b, atol=1e-9)
    np.testing.assert_allclose(gain[has_pair][:, ~in_k562], 0, atol=1e-9)
    # Every other tile (control pairs, decoys, lone sites) is the additive sum.
    np.testing.assert_allclose(gain[~has_pair], 0, atol=1e-9)
    assert sites["pair"].str.startswith("control").sum() > 30


def test_bonus_changes_only_tiles_holding_a_pair(syntax_sims):
    (_, d1), (_, d0) = syntax_sims[1.0], syntax_sims[0.0]
    # The bonus draws no random numbers: same sequences, sites and pairs.
    for name in ("SimDesign.sequences.txt", "truth/sites.tsv", "truth/base_sites.parquet"):
        assert (d1 / name).read_bytes() == (d0 / name).read_bytes()
    a1 = pd.read_parquet(d1 / "truth" / "tile_activity.parquet")
    a0 = pd.read_parquet(d0 / "truth" / "tile_activity.parquet")
    changed = ~np.isclose(a1["K562_minP"], a0["K562_minP"], atol=1e-12)
    syntax = json.loads((d1 / "truth" / "syntax.json").read_text())
    assert changed.sum() == syntax["n_tiles_with_pair"] > 0
    assert a1["HepG2_minP"].equals(a0["HepG2_minP"])
    gain = a1.loc[changed, "K562_minP"] - a0.loc[changed, "K562_minP"]
    np.testing.assert_allclose(gain, syntax["bonus_log2"], atol=1e-9)
