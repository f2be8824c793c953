import numpy as np
import pandas as pd

from mpralens.data.counts import import_counts
from tests.conftest import REPO


def _pilot(layout, keep=False):
    cfg = REPO / "tests" / "configs"
    ernst = REPO.parent / "shared" / "data" / "sharpr_format" / "ernst_site"
    return import_counts(
        layout=layout,
        libraries=cfg / f"pilot_{layout}_libraries.tsv",
        coords=ernst / "coords_PilotDesign_hg19.txt",
        sequences=ernst / "PilotDesign.sequences.txt" if layout == "ernst" else None,
        tile_step=30,
        keep_barcodes=keep,
    )


def test_both_layouts_give_identical_counts(shared):
    a, b = _pilot("ernst", keep=True), _pilot("geo", keep=True)
    pd.testing.assert_frame_equal(a.counts, b.counts)
    pd.testing.assert_frame_equal(a.tiles, b.tiles)
    pd.testing.assert_frame_equal(a.barcode_counts, b.barcode_counts)


def test_pilot_counts_hand_checked(shared):
    r = _pilot("ernst", keep=True)
    c = r.counts.set_index("tile_id")
    # First row of PilotDesign_SV40P_Plasmid_Rep1.counts, 24 barcodes, summed by hand:
    plasmid = [
        193,
        10,
        255,
        979,
        1192,
        29,
        7,
        4,
        552,
        168,
        137,
        237,
        7,
        95,
        408,
        21,
        60,
        607,
        21,
        382,
        50,
        459,
        518,
        580,
    ]
    assert c.loc["high_0_0", "Plasmid_Rep1"] == sum(plasmid) == 6971
    bc = r.barcode_counts.set_index(["tile_id", "barcode"])
    assert bc.loc[("high_0_0", 5), "Plasmid_Rep1"] == 1192
    assert bc.loc[("high_0_0", 1), "HepG2_mRNA_Rep1"] == 227
    t = r.tiles.set_index("tile_id")
    assert t.loc["high_0_3", ["chrom", "start", "end"]].tolist() == ["chr6", 155649868, 155650013]
    assert t.loc["high_0_3", "region_id"] == "high_0" and t.loc["high_0_3", "tile_pos"] == 3
    assert (r.tiles["n_barcodes"] == 24).all()
    assert len(r.tiles) == 18 and r.tiles["sequence"].str.len().eq(145).all()


def test_scaleup_tile_ids_and_region_coords(shared, tmp_path):
    from mpralens.data.design import build_tiles, parse_tile_ids, read_coords

    ids = pd.Series(["H1hesc_1_0_3_chr20_30310735", "high_0_8"])
    region, pos = parse_tile_ids(ids)
    assert region.tolist() == ["H1hesc_1_0_chr20_30310735", "high_0"]
    assert pos.tolist() == [3, 8]
    coords = read_coords(shared / "data/sharpr_format/scaleup/coords_ScaleUpDesign1_hg19.txt")
    seqs = pd.DataFrame({"tile_id": ["H1hesc_1_0_3_chr20_30310735"], "sequence": ["A" * 145]})
    tiles = build_tiles(seqs, coords, tile_step=5, sequences_path="x", coords_path="y")
    # region chr20:30310588-30310883; tile 3 starts 15 bp in
    assert tiles[["start", "end"]].iloc[0].tolist() == [30310603, 30310748]


def test_scaleup_geo_file_reads(shared):
    from mpralens.data.counts import read_geo_counts

    long, seqs = read_geo_counts(
        shared
        / "data/sharpr_format/scaleup/GSM1831765_K562_ScaleUpDesign1_minP_mRNA_Rep1.counts.txt.gz"
    )
    assert (long["barcode"] == 1).all()
    assert long["count"].iloc[:4].tolist() == [0, 0, 1, 0]
    assert np.all(seqs["sequence"].str.len() == 145)


def test_region_coords_derived_from_scaleup_ids_match_the_coords_file(shared):
    """``coords: from_ids``: CENTER in a scale-up ID gives the region the coords file lists."""
    from mpralens.data.counts import read_geo_counts
    from mpralens.data.design import coords_from_ids, read_coords

    scaleup = shared / "data/sharpr_format/scaleup"
    _, seqs = read_geo_counts(
        scaleup / "GSM1831765_K562_ScaleUpDesign1_minP_mRNA_Rep1.counts.txt.gz"
    )
    # The excerpt holds few tile positions; the design has 31 (0..30), as in the full file.
    ids = pd.concat([seqs["tile_id"], pd.Series(["H1hesc_1_0_30_chr20_30310735"])])
    derived = coords_from_ids(ids, tile_length=145, tile_step=5).set_index("id")
    listed = read_coords(scaleup / "coords_ScaleUpDesign1_hg19.txt").set_index("id")
    shared_ids = listed.index.intersection(derived.index)
    assert len(shared_ids) >= 1
    pd.testing.assert_frame_equal(derived.loc[shared_ids], listed.loc[shared_ids])


def test_import_with_coords_from_ids_equals_the_coords_file(small_sim):
    from mpralens.simulate.tiled import simulated_paths

    p = simulated_paths(str(small_sim))
    kw = {"layout": "ernst", "libraries": p["libraries"], "sequences": p["sequences"]}
    a = import_counts(coords=p["coords"], **kw)
    b = import_counts(coords="from_ids", **kw)
    pd.testing.assert_frame_equal(a.tiles, b.tiles)
