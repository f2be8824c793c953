"""Train / validation / test splits by region or by chromosome; never by tile.

Tiles of one region overlap by up to 140 bp, so splitting tiles would leak sequence between
training and test. ``region``: regions are shuffled with the seed and cut by the configured
fractions. ``chromosome``: MPRA-DragoNN's scheme (default chr8 validation, chr18 test).

Regions whose spans overlap (or are chained by overlaps) on one chromosome share sequence too, so
each such group goes to one split: the split its first region (by ID) draws. A region that
overlaps no other keeps the split it draws alone, so designs without overlapping regions split
exactly as if there were no grouping.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.tables import member


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


log = logging.getLogger(__name__)


def overlap_groups(tiles: pd.DataFrame) -> pd.Series:
    """Return the first region (by ID) of each region's group of overlapping regions.

    Parameters
    ----------
    tiles
        ``region_id, chrom, start, end`` per tile (0-based half-open bp).

    Returns
    -------
    pandas.Series
        Indexed by region ID (sorted): the group's first region ID, the region itself when it
        overlaps no other region.
    """
    span = (
        tiles.groupby("region_id", sort=True)
        .agg(chrom=("chrom", "first"), start=("start", "min"), end=("end", "max"))
        .reset_index()
        .sort_values(["chrom", "start", "region_id"], kind="stable")
    )
    chrom, start = span["chrom"].to_numpy(), span["start"].to_numpy()
    # A region opens a new group when it starts at or past every earlier region's end on its
    # chromosome (half-open spans: touching regions share no base).
    reach = span.groupby("chrom", sort=False)["end"].cummax().to_numpy()
    opens = np.r_[True, (chrom[1:] != chrom[:-1]) | (start[1:] >= reach[:-1])]
    group = pd.Series(np.cumsum(opens), index=span["region_id"].to_numpy())
    first = pd.Series(span["region_id"].to_numpy()).groupby(group.to_numpy()).transform("min")
    return pd.Series(first.to_numpy(), index=group.index, name="group").sort_index()


def make_splits(tiles: pd.DataFrame, *, by: str = "region", **kwargs) -> pd.DataFrame:
    """Split table ``tile_id, region_id, split`` for the tiles table.

    Parameters
    ----------
    tiles
        The tiles table: ``tile_id, region_id, chrom, start, end``.
    by
        ``"region"`` or ``"chromosome"``; ``kwargs`` go to the matching function.
    """
    missing = [c for c in ("tile_id", "region_id", "chrom", "start", "end") if c not in tiles]
    if missing:
        raise InputError(f"the tiles table lacks column(s) {', '.join(missing)}")
    if by == "region":
        per_region = split_by_region(tiles["region_id"], **kwargs)
    elif by == "chromosome":
        chrom = tiles.groupby("region_id", sort=True)["chrom"].first()
        per_region = split_by_chromosome(chrom, **kwargs)
    else:
        raise InputError(
            f"unknown split method {by!r}; expected region or chromosome", key="split.by"
        )
    group = overlap_groups(tiles)
    grouped = group.index != group.to_numpy()
    if grouped.any():
        n_groups = group[group.duplicated(keep=False)].nunique()
        log.warning(
            "%d regions overlap other regions; each of the %d groups of overlapping regions "
            "goes to one split (that of its first region)",
            int(grouped.sum()) + n_groups,
            n_groups,
        )
    per_region = pd.Series(per_region.loc[group.to_numpy()].to_numpy(), index=group.index)
    out = pd.DataFrame(
        {
            "tile_id": tiles["tile_id"].to_numpy(),
            "region_id": tiles["region_id"].to_numpy(),
            "split": per_region.loc[tiles["region_id"]].to_numpy(),
        }
    )
    check_no_straddle(out)
    check_no_overlap_across_splits(tiles, out)
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


def check_no_overlap_across_splits(tiles: pd.DataFrame, splits: pd.DataFrame) -> None:
    """Raise if two overlapping tiles of the tiles table lie in different splits."""
    t = pd.DataFrame(
        {
            "chrom": tiles["chrom"].to_numpy(),
            "start": tiles["start"].to_numpy(),
            "end": tiles["end"].to_numpy(),
            "split": splits["split"].to_numpy(),
            "tile_id": tiles["tile_id"].to_numpy(),
        }
    ).sort_values(["chrom", "start"], kind="stable")
    # Between overlapping tiles of two splits there is a pair adjacent in start order that
    # overlaps and differs (every tile overlapping a chain of overlaps links to its neighbours).
    reach = t.groupby("chrom", sort=False)["end"].cummax().to_numpy()
    chrom, start, split = t["chrom"].to_numpy(), t["start"].to_numpy(), t["split"].to_numpy()
    linked = (chrom[1:] == chrom[:-1]) & (start[1:] < reach[:-1])
    # Within a chain of overlaps every tile must share the chain's split.
    chain = np.cumsum(np.r_[True, ~linked])
    n = pd.Series(split).groupby(chain).nunique().to_numpy()
    if (n > 1).any():
        c = int(np.flatnonzero(n > 1)[0]) + 1
        ids = t["tile_id"].to_numpy()[chain == c]
        raise ValueError(f"overlapping tiles {ids[0]!r}... lie in different splits")
