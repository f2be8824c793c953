"""Train / validation / test splits by region or by chromosome; never by tile.

Tiles of one region overlap by up to 140 bp, so splitting tiles would leak sequence between
training and test. ``region``: regions are shuffled with the seed and cut by the configured
fractions. ``chromosome``: MPRA-DragoNN's scheme (default chr8 validation, chr18 test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpralens.errors import InputError
from mpralens.tables import member


def split_by_region(
    regions: pd.Series, *, valid_fraction: float, test_fraction: float, seed: int
) -> pd.Series:
    """Assign each unique region to a split.

    Returns
    -------
    pandas.Series
        Split name indexed by region ID (sorted).
    """
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1:
        raise InputError(
            "valid_fraction and test_fraction must be >= 0 and sum to less than 1",
            key="split.valid_fraction",
        )
    uniq = np.sort(regions.unique())
    order = np.random.default_rng(seed).permutation(len(uniq))
    n_test = int(round(test_fraction * len(uniq)))
    n_valid = int(round(valid_fraction * len(uniq)))
    label = np.full(len(uniq), "train", dtype=object)
    label[order[:n_test]] = "test"
    label[order[n_test : n_test + n_valid]] = "valid"
    return pd.Series(label, index=uniq, name="split")


def split_by_chromosome(
    region_chrom: pd.Series, *, valid_chromosomes: list[str], test_chromosomes: list[str]
) -> pd.Series:
    """Assign regions to splits by chromosome (``region_chrom`` maps region ID to chromosome)."""
    both = set(valid_chromosomes) & set(test_chromosomes)
    if both:
        raise InputError(
            f"chromosome(s) {sorted(both)} are both validation and test",
            key="split.test_chromosomes",
        )
    label = np.where(
        member(region_chrom, test_chromosomes),
        "test",
        np.where(member(region_chrom, valid_chromosomes), "valid", "train"),
    )
    return pd.Series(label, index=region_chrom.index, name="split")


def make_splits(tiles: pd.DataFrame, *, by: str = "region", **kwargs) -> pd.DataFrame:
    """Split table ``tile_id, region_id, split`` for the tiles table.

    Parameters
    ----------
    tiles
        Needs ``tile_id, region_id`` (and ``chrom`` for ``by="chromosome"``).
    by
        ``"region"`` or ``"chromosome"``; ``kwargs`` go to the matching function.
    """
    if by == "region":
        per_region = split_by_region(tiles["region_id"], **kwargs)
    elif by == "chromosome":
        chrom = tiles.groupby("region_id", sort=True)["chrom"].first()
        per_region = split_by_chromosome(chrom, **kwargs)
    else:
        raise InputError(
            f"unknown split method {by!r}; expected region or chromosome", key="split.by"
        )
    out = pd.DataFrame(
        {
            "tile_id": tiles["tile_id"].to_numpy(),
            "region_id": tiles["region_id"].to_numpy(),
            "split": per_region.loc[tiles["region_id"]].to_numpy(),
        }
    )
    check_no_straddle(out)
    for name in ("train", "test"):
        if not (out["split"] == name).any():
            raise InputError(
                f"the {name} split is empty ({len(per_region)} regions); adjust the split settings",
                key=f"split.{'by' if by == 'chromosome' else 'test_fraction'}",
            )
    return out


def check_no_straddle(splits: pd.DataFrame) -> None:
    """Raise if any region's tiles fall in more than one split."""
    n = splits.groupby("region_id")["split"].nunique()
    bad = n[n > 1]
    if len(bad):
        raise ValueError(f"region {bad.index[0]!r} straddles splits; splits must be by region")
