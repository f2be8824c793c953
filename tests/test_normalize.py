import numpy as np
import pandas as pd
import pytest

from mpralens.libraries import ReplicatePair
from mpralens.normalize import log_ratios


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
