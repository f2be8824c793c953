import numpy as np
import pandas as pd
import pytest

from mpralens.data.libraries import ReplicatePair
from mpralens.data.normalize import log_ratios


def _tiles(n):
    return pd.DataFrame(
        {
            "tile_id": [f"g_{i}_0" for i in range(n)],
            "region_id": [f"g_{i}" for i in range(n)],
            "tile_pos": 0,
        }
    )


def test_log_ratio_hand_computed():
    # Three tiles; tile 2 has DNA 10 < min_dna 20 and is dropped from the library sums.
    counts = pd.DataFrame(
        {
            "tile_id": ["g_0_0", "g_1_0", "g_2_0"],
            "D": [30, 50, 10],
            "R1": [3, 11, 100],
            "R2": [7, 1, 0],
        }
    )
    pairs = [ReplicatePair("C_P", 1, "R1", "D"), ReplicatePair("C_P", 2, "R2", "D")]
    out = log_ratios(_tiles(3), counts, pairs, pseudocount=1, min_dna=20)
    # rep1: RNA+1 = 4, 12 (sum 16); DNA+1 = 31, 51 (sum 82)
    # tile 0: log2(4/16) - log2(31/82) = -2 + 1.403356 = -0.596644
    # tile 1: log2(12/16) - log2(51/82) = -0.415037 + 0.685126 = 0.270089
    # rep2: RNA+1 = 8, 2 (sum 10)
    # tile 0: log2(0.8) - log2(31/82) = 1.081428; tile 1: log2(0.2) - log2(51/82)
    assert out["log2_ratio_rep1"].iloc[0] == pytest.approx(-0.596644, abs=1e-6)
    assert out["log2_ratio_rep1"].iloc[1] == pytest.approx(0.270089, abs=1e-6)
    assert out["log2_ratio_rep2"].iloc[0] == pytest.approx(1.081428, abs=1e-6)
    assert out["log2_ratio_rep2"].iloc[1] == pytest.approx(
        np.log2(0.2) - np.log2(51 / 82), abs=1e-9
    )
    assert out["activity"].iloc[0] == pytest.approx((-0.596644 + 1.081428) / 2, abs=1e-6)
    assert out["valid"].tolist() == [True, True, False]
    assert np.isnan(out["activity"].iloc[2]) and np.isnan(out["log2_ratio_rep1"].iloc[2])


def test_pseudocount_and_threshold_are_used():
    counts = pd.DataFrame({"tile_id": ["g_0_0", "g_1_0"], "D": [20, 19], "R": [0, 5]})
    pairs = [ReplicatePair("C_P", 1, "R", "D")]
    out = log_ratios(_tiles(2), counts, pairs, pseudocount=0.5, min_dna=20)
    assert out["valid"].tolist() == [True, False]
    # Only one valid tile: its normalised ratio is log2(1) - log2(1) = 0 whatever the pseudocount.
    assert out["activity"].iloc[0] == pytest.approx(0.0)


def test_dna_replicates_pair_by_replicate():
    counts = pd.DataFrame(
        {
            "tile_id": ["g_0_0", "g_1_0"],
            "D1": [100, 100],
            "D2": [100, 300],
            "R1": [10, 10],
            "R2": [10, 10],
        }
    )
    pairs = [ReplicatePair("C_P", 1, "R1", "D1"), ReplicatePair("C_P", 2, "R2", "D2")]
    out = log_ratios(_tiles(2), counts, pairs, min_dna=20)
    assert out["log2_ratio_rep1"].tolist() == pytest.approx([0.0, 0.0], abs=1e-12)
    # rep2: DNA shares 101/402 and 301/402, RNA shares equal
    assert out["log2_ratio_rep2"].iloc[0] == pytest.approx(np.log2(0.5) - np.log2(101 / 402))


def test_per_barcode_median():
    tiles = _tiles(1)
    counts = pd.DataFrame({"tile_id": ["g_0_0"], "D": [60], "R": [60]})
    bc = pd.DataFrame(
        {"tile_id": ["g_0_0"] * 3, "barcode": [1, 2, 3], "D": [0, 30, 30], "R": [9, 29, 9]}
    )
    pairs = [ReplicatePair("C_P", 1, "R", "D")]
    out = log_ratios(tiles, counts, pairs, pseudocount=1, min_dna=20, barcode_counts=bc)
    # sums over all barcodes: RNA+1 = 10+30+10 = 50; DNA+1 = 1+31+31 = 63; barcode 1 skipped (DNA 0)
    r2 = np.log2(30 / 50) - np.log2(31 / 63)
    r3 = np.log2(10 / 50) - np.log2(31 / 63)
    assert out["activity"].iloc[0] == pytest.approx(np.median([r2, r3]))


def test_unequal_replicates_three_and_two_hand_computed():
    # Task H_P has 3 RNA replicates, task C_P 2 (and sorts first, so the widest task is not the
    # first one written); both use DNA library D. Tile 2 (DNA 10 < 20) is
    # invalid and left out of the library sums: DNA+1 = 31, 51 (sum 82), so the DNA terms are
    # log2(31/82) = -1.403356 and log2(51/82) = -0.685127.
    counts = pd.DataFrame(
        {
            "tile_id": ["g_0_0", "g_1_0", "g_2_0"],
            "D": [30, 50, 10],
            "H1": [3, 11, 100],
            "H2": [7, 1, 0],
            "H3": [15, 15, 5],
            "C1": [1, 3, 9],
            "C2": [5, 5, 5],
        }
    )
    pairs = [ReplicatePair("H_P", r, f"H{r}", "D") for r in (1, 2, 3)]
    pairs += [ReplicatePair("C_P", r, f"C{r}", "D") for r in (1, 2)]
    out = log_ratios(_tiles(3), counts, pairs, pseudocount=1, min_dna=20)
    assert list(out.columns) == [
        "tile_id",
        "region_id",
        "tile_pos",
        "task",
        "dna_count",
        "log2_ratio_rep1",
        "log2_ratio_rep2",
        "log2_ratio_rep3",
        "activity",
        "valid",
    ]
    h = out[out["task"] == "H_P"].reset_index(drop=True)
    c = out[out["task"] == "C_P"].reset_index(drop=True)
    # H rep1: RNA+1 = 4, 12 (sum 16): -2 + 1.403356 = -0.596644; -0.415037 + 0.685127 = 0.270089
    # H rep2: RNA+1 = 8, 2 (sum 10): -0.321928 + 1.403356 = 1.081428; -2.321928 + 0.685127
    # H rep3: RNA+1 = 16, 16 (sum 32): -1 + 1.403356 = 0.403356; -1 + 0.685127 = -0.314873
    expected_h = [[-0.596644, 1.081428, 0.403356], [0.270089, -1.636801, -0.314873]]
    got_h = h.loc[:1, ["log2_ratio_rep1", "log2_ratio_rep2", "log2_ratio_rep3"]].to_numpy()
    assert got_h == pytest.approx(np.array(expected_h), abs=1e-6)
    # Activity: the mean of H's three replicates.
    assert h["activity"].iloc[0] == pytest.approx((-0.596644 + 1.081428 + 0.403356) / 3, abs=1e-6)
    assert h["activity"].iloc[1] == pytest.approx((0.270089 - 1.636801 - 0.314873) / 3, abs=1e-6)
    # C rep1: RNA+1 = 2, 4 (sum 6): -1.584963 + 1.403356 = -0.181607; -0.584963 + 0.685127
    # C rep2: RNA+1 = 6, 6 (sum 12): 0.403356 and -0.314873 as H rep3.
    expected_c = [[-0.181607, 0.403356], [0.100164, -0.314873]]
    got_c = c.loc[:1, ["log2_ratio_rep1", "log2_ratio_rep2"]].to_numpy()
    assert got_c == pytest.approx(np.array(expected_c), abs=1e-6)
    # C's activity is the mean of ITS two replicates; its third column is NaN on every row.
    assert c["activity"].iloc[0] == pytest.approx((-0.181607 + 0.403356) / 2, abs=1e-6)
    assert c["activity"].iloc[1] == pytest.approx((0.100164 - 0.314873) / 2, abs=1e-6)
    assert c["log2_ratio_rep3"].isna().all()
    assert out["valid"].tolist() == [True, True, False] * 2
    assert out.loc[~out["valid"], "activity"].isna().all()


def test_a_task_without_valid_tile_is_refused():
    from mpralens.io.errors import InputError

    counts = pd.DataFrame({"tile_id": ["g_0_0", "g_1_0"], "D": [19, 5], "R": [3, 4]})
    with pytest.raises(InputError) as err:
        log_ratios(_tiles(2), counts, [ReplicatePair("C_P", 1, "R", "D")], min_dna=20)
    assert err.value.key == "normalize.min_dna"
    assert "task C_P has no valid tile" in err.value.message
    assert "min_dna = 20" in err.value.message
    assert "the most any tile has is 19" in err.value.message
