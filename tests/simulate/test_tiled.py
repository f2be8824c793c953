import filecmp
import json

import numpy as np
import pandas as pd
import pyBigWig
import pyfaidx
import pytest

from mpralens.data.counts import import_counts
from mpralens.data.libraries import pair_libraries
from mpralens.data.normalize import log_ratios
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled, simulated_paths


def _activity(d):
    p = simulated_paths(str(d))
    r = import_counts(
        layout="ernst", libraries=p["libraries"], coords=p["coords"], sequences=p["sequences"]
    )
    return r, log_ratios(r.tiles, r.counts, pair_libraries(r.sheet))


def test_replicate_correlation_like_real_data(small_sim):
    _, act = _activity(small_sim)
    for task, g in act[act["valid"]].groupby("task"):
        r = np.corrcoef(g["log2_ratio_rep1"], g["log2_ratio_rep2"])[0, 1]
        assert 0.3 <= r <= 0.55, (task, r)


def test_measured_activity_tracks_truth(small_sim):
    _, act = _activity(small_sim)
    truth = pd.read_parquet(small_sim / "truth" / "tile_activity.parquet")
    truth = truth.melt(
        id_vars=["tile_id", "region_id", "tile_pos"], var_name="task", value_name="true_activity"
    )
    m = act[act["valid"]].merge(truth[["tile_id", "task", "true_activity"]], on=["tile_id", "task"])
    for task, g in m.groupby("task"):
        assert np.corrcoef(g["activity"], g["true_activity"])[0, 1] > 0.5, task


def test_tiles_match_genome_and_coords(small_sim):
    r, _ = _activity(small_sim)
    genome = pyfaidx.Fasta(str(small_sim / "genome.fa"))
    sample = r.tiles.sample(200, random_state=0)
    for row in sample.itertuples():
        assert str(genome[row.chrom][row.start : row.end]).upper() == row.sequence
    assert (r.tiles.groupby("region_id").size() == 31).all()
    assert r.tiles["tile_id"].str.split("_").str.len().eq(6).all()


def test_ground_truth_is_consistent(small_sim):
    sites = pd.read_csv(small_sim / "truth" / "sites.tsv", sep="\t")
    base = pd.read_parquet(small_sim / "truth" / "base_effect.parquet")
    # Per-base effects sum, per task, to the planted site effects.
    for task in ("HepG2_minP", "K562_SV40P"):
        assert base[task].sum() == pytest.approx(sites[f"effect_{task}"].sum(), rel=1e-4)
    # Cell specificity: HNF4A acts in HepG2 only, GATA1 in K562 only.
    hnf = sites[sites["tf"] == "HNF4A"]
    assert (hnf["effect_HepG2_minP"] > 0).all() and (hnf["effect_K562_minP"] == 0).all()
    # Tiles holding an active HepG2-only site are more active in HepG2 than in K562.
    wide = pd.read_parquet(small_sim / "truth" / "tile_activity.parquet")
    assert (wide["HepG2_minP"] - wide["K562_minP"]).abs().max() > 1.0


def test_conservation_and_tf_beds(small_sim):
    sites = pd.read_csv(small_sim / "truth" / "sites.tsv", sep="\t")
    bw = pyBigWig.open(str(small_sim / "conservation.bw"))
    mean = lambda r: float(np.mean(bw.values(r.chrom, int(r.start), int(r.end))))  # noqa: E731
    cons = [mean(r) for r in sites[sites["conserved"]].head(100).itertuples()]
    uncons = [mean(r) for r in sites[~sites["conserved"]].head(100).itertuples()]
    assert np.mean(cons) > 3.0 > 1.0 > np.mean(uncons)
    bed = pd.read_csv(small_sim / "tf_sites" / "HepG2.bed", sep="\t", header=None)
    assert "GATA1" in set(bed[3]) or "CEBPB" in set(bed[3])  # decoys present
    assert (bed[2] > bed[1]).all()


def test_deterministic_from_seed(tmp_path):
    s = TiledSimulation(n_regions=20, seed=7, gc=0.5, cells=["K562", "HepG2"])
    simulate_tiled(s, tmp_path / "a")
    simulate_tiled(s, tmp_path / "b")
    simulate_tiled(TiledSimulation(n_regions=20, seed=8), tmp_path / "c")
    for name in (
        "SimDesign.sequences.txt",
        "DNACOUNTS/SimDesign_minP_Plasmid.counts",
        "tf_sites/K562.bed",
    ):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False)
        assert not filecmp.cmp(tmp_path / "a" / name, tmp_path / "c" / name, shallow=False)
    # settings.json records every setting with its value, so it alone regenerates the data set.
    recorded = json.loads((tmp_path / "a" / "settings.json").read_text())
    assert set(recorded) == set(TiledSimulation.model_fields)
    assert TiledSimulation(**recorded) == s
    assert TiledSimulation(**json.loads((tmp_path / "c" / "settings.json").read_text())) != s


def test_pilot_geometry_and_barcodes(tmp_path):
    # The pilot's 9 tiles at 30-bp steps, 24 barcodes per tile.
    s = TiledSimulation(
        n_regions=10, region_length=385, tile_step=30, n_barcodes=24, promoters=["SV40P"], seed=2
    )
    simulate_tiled(s, tmp_path / "p")
    p = simulated_paths(str(tmp_path / "p"))
    r = import_counts(
        layout="ernst",
        libraries=p["libraries"],
        coords=p["coords"],
        sequences=p["sequences"],
        tile_step=30,
        keep_barcodes=True,
    )
    assert (r.tiles.groupby("region_id").size() == 9).all()
    assert (r.tiles["n_barcodes"] == 24).all()
    assert r.barcode_counts is not None and len(r.barcode_counts) == 90 * 24
    first = (
        (tmp_path / "p" / "DNACOUNTS" / "SimDesign_SV40P_Plasmid.counts")
        .read_text()
        .splitlines()[0]
    )
    assert first == "\t" + "\t".join(str(i) for i in range(1, 25))
