import pandas as pd
import pytest

from mpralens.data.splits import check_no_straddle, make_splits
from mpralens.io.errors import InputError


def _tiles(n_regions=50, n_tiles=5):
    # Regions 1 kb apart, tiles of 145 bp at 5-bp steps: no two regions overlap.
    rows = [
        (f"R_{r}_{t}", f"R_{r}", f"chr{1 + r % 20}", 1000 * r + 5 * t, 1000 * r + 5 * t + 145)
        for r in range(n_regions)
        for t in range(n_tiles)
    ]
    return pd.DataFrame(rows, columns=["tile_id", "region_id", "chrom", "start", "end"])


def test_region_split_fractions_and_no_straddle():
    s = make_splits(_tiles(), by="region", valid_fraction=0.2, test_fraction=0.1, seed=4)
    per_region = s.groupby("region_id")["split"].agg(["nunique", "first"])
    assert (per_region["nunique"] == 1).all()
    assert (per_region["first"] == "test").sum() == 5
    assert (per_region["first"] == "valid").sum() == 10
    again = make_splits(_tiles(), by="region", valid_fraction=0.2, test_fraction=0.1, seed=4)
    assert s.equals(again)
    other = make_splits(_tiles(), by="region", valid_fraction=0.2, test_fraction=0.1, seed=5)
    assert not s.equals(other)


def test_chromosome_split():
    s = make_splits(
        _tiles(), by="chromosome", valid_chromosomes=["chr8"], test_chromosomes=["chr18"]
    )
    chrom = _tiles().set_index("tile_id")["chrom"]
    assert set(s.loc[s["split"] == "test", "tile_id"].map(chrom)) == {"chr18"}
    assert set(s.loc[s["split"] == "valid", "tile_id"].map(chrom)) == {"chr8"}


def test_guard_rejects_straddling_region():
    bad = pd.DataFrame({"tile_id": ["a", "b"], "region_id": ["R", "R"], "split": ["train", "test"]})
    with pytest.raises(ValueError, match="straddles"):
        check_no_straddle(bad)


def test_empty_test_split_is_an_error():
    with pytest.raises(InputError, match="test split is empty"):
        make_splits(_tiles(2), by="region", valid_fraction=0.1, test_fraction=0.1, seed=0)
