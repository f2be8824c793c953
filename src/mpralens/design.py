"""The tile design: tile IDs, sequences and genome coordinates, as one tiles table.

Tile IDs follow Sharpr-MPRA (Ernst et al. 2016): scale-up
``CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER``
(TILEPOS is the 4th field) and pilot ``GROUP_REGIONID_TILEPOS`` (TILEPOS last). The region ID is the
tile ID without TILEPOS. Coordinates are 0-based half-open, one row per tile (pilot) or per region
(scale-up, tiles placed at ``start + TILEPOS * tile_step``).

The tiles table has columns ``tile_id, region_id, tile_pos, chrom, start, end, sequence``, sorted
by region and tile position.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.errors import InputError
from mpralens.sequences import check_bases
from mpralens.tables import check_unique, member, read_tsv, to_int

TILE_COLUMNS = ["tile_id", "region_id", "tile_pos", "chrom", "start", "end", "sequence"]


def parse_tile_ids(ids: pd.Series, *, path: str | PathLike[str] | None = None, first_line: int = 1):
    """Split Sharpr tile IDs into region ID and tile position.

    Parameters
    ----------
    ids
        Tile IDs in either Sharpr form (6 underscore-separated fields, or 3).

    Returns
    -------
    tuple of (pandas.Series, numpy.ndarray)
        Region IDs (``str``) and tile positions (``int64``).
    """
    parts = ids.str.split("_")
    n = parts.str.len().to_numpy()
    bad = np.flatnonzero((n != 6) & (n != 3))
    if bad.size == 0:
        pos_str = pd.Series(
            np.where(n == 6, parts.str[3], parts.str[-1]), index=ids.index, dtype=str
        )
        bad = np.flatnonzero(~pos_str.str.fullmatch(r"\d+").to_numpy(dtype=bool))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"tile ID {ids.iloc[i]!r} is not a Sharpr tile ID "
            "(CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER or GROUP_REGIONID_TILEPOS)",
            path=path,
            line=None if path is None else first_line + i,
        )
    six = n == 6
    region = pd.Series(index=ids.index, dtype=str)
    region[six] = parts[six].map(lambda p: "_".join(p[:3] + p[4:]))
    region[~six] = parts[~six].map(lambda p: "_".join(p[:-1]))
    return region.astype(str), pos_str.astype(np.int64).to_numpy()


def read_sequences(path: str | PathLike[str], *, tile_length: int) -> pd.DataFrame:
    """Read an Ernst-site ``*.sequences.txt`` (no header; ``ID<TAB>sequence``).

    Returns
    -------
    pandas.DataFrame
        Columns ``tile_id, sequence``.
    """
    df = read_tsv(path, columns=["tile_id", "sequence"], header=False)
    if df.shape[1] != 2:
        raise InputError(f"expected 2 tab-separated fields, found {df.shape[1]}", path=path, line=1)
    df["sequence"] = df["sequence"].str.upper()
    check_bases(df["sequence"], path=path, first_line=1, length=tile_length)
    check_unique(df, "tile_id", what="tile ID")
    return df


FROM_IDS = "from_ids"


def coords_from_ids(
    ids: pd.Series, *, tile_length: int, tile_step: int, path: str | PathLike[str] | None = None
) -> pd.DataFrame:
    """Region coordinates from scale-up tile IDs ``CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER``.

    The region spans ``(n_pos - 1) * tile_step + tile_length`` bp (295 for Sharpr, ``n_pos`` the
    number of tile positions in the design) and is centred on CENTER as the Sharpr coords files
    are: ``start = CENTER - length // 2`` (the files' ``H1hesc_1_0_chr20_30310735`` spans
    ``chr20:30310588-30310883``).

    Returns
    -------
    pandas.DataFrame
        One row per region, as :func:`read_coords` (``id`` the region ID).
    """
    parts = ids.str.split("_")
    bad = np.flatnonzero(parts.str.len().to_numpy() != 6)
    if not bad.size:
        center_str = parts.str[5]
        bad = np.flatnonzero(~center_str.str.fullmatch(r"\d+").to_numpy(dtype=bool))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"coords: from_ids needs scale-up tile IDs CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER, "
            f"found {ids.iloc[i]!r}",
            path=path,
        )
    region, pos = parse_tile_ids(ids, path=path)
    length = (int(pos.max()) if len(pos) else 0) * tile_step + tile_length
    center = center_str.astype(np.int64).to_numpy()
    df = pd.DataFrame(
        {
            "id": region.to_numpy(),
            "chrom": parts.str[4].to_numpy(),
            "start": center - length // 2,
        }
    ).drop_duplicates("id")
    df["end"] = df["start"] + length
    return df.reset_index(drop=True)


def read_coords(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a Sharpr coords file (no header; ``ID chrom start end``, 0-based half-open).

    Returns
    -------
    pandas.DataFrame
        Columns ``id, chrom, start, end`` (``start``/``end`` ``int64``).
    """
    df = read_tsv(path, columns=["id", "chrom", "start", "end"], header=False)
    if df.shape[1] != 4:
        raise InputError(f"expected 4 tab-separated fields, found {df.shape[1]}", path=path, line=1)
    start = to_int(df, "start", what="start")
    end = to_int(df, "end", what="end")
    bad = np.flatnonzero(end <= start)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"end ({end[i]}) must be greater than start ({start[i]})", path=path, line=i + 1
        )
    check_unique(df, "id", what="ID")
    return pd.DataFrame({"id": df["id"], "chrom": df["chrom"], "start": start, "end": end})


def build_tiles(
    sequences: pd.DataFrame,
    coords: pd.DataFrame,
    *,
    tile_step: int,
    sequences_path: str | PathLike[str],
    coords_path: str | PathLike[str],
) -> pd.DataFrame:
    """Join tile sequences with coordinates given per tile or per region.

    Parameters
    ----------
    sequences
        From :func:`read_sequences` (or the GEO counts files).
    coords
        From :func:`read_coords`.
    tile_step
        Bases between consecutive tiles, for per-region coordinates.

    Returns
    -------
    pandas.DataFrame
        The tiles table (see module docstring).
    """
    region, pos = parse_tile_ids(sequences["tile_id"], path=sequences_path)
    tiles = pd.DataFrame(
        {
            "tile_id": sequences["tile_id"].to_numpy(),
            "region_id": region.to_numpy(),
            "tile_pos": pos,
            "sequence": sequences["sequence"].to_numpy(),
        }
    )
    by_id = coords.set_index("id")
    if member(tiles["tile_id"], by_id.index).all():
        c = by_id.loc[tiles["tile_id"]]
        tiles["chrom"] = c["chrom"].to_numpy()
        tiles["start"] = c["start"].to_numpy()
        tiles["end"] = c["end"].to_numpy()
    else:
        known = member(tiles["region_id"], by_id.index)
        if not known.all():
            i = int(np.flatnonzero(~known)[0])
            raise InputError(
                f"tile {tiles['tile_id'].iloc[i]!r} (region {tiles['region_id'].iloc[i]!r}) has "
                f"no row in the coords file {coords_path}",
                path=sequences_path,
                line=i + 1,
            )
        c = by_id.loc[tiles["region_id"]]
        length = tiles["sequence"].str.len().to_numpy()
        tiles["chrom"] = c["chrom"].to_numpy()
        tiles["start"] = c["start"].to_numpy() + tiles["tile_pos"].to_numpy() * tile_step
        tiles["end"] = tiles["start"].to_numpy() + length
        outside = np.flatnonzero(tiles["end"].to_numpy() > c["end"].to_numpy())
        if outside.size:
            i = int(outside[0])
            raise InputError(
                f"tile {tiles['tile_id'].iloc[i]!r} at position {tiles['tile_pos'].iloc[i]} with "
                f"tile_step {tile_step} ends past its region's end in {coords_path}",
                path=sequences_path,
                line=i + 1,
            )
    return (
        tiles[TILE_COLUMNS]
        .sort_values(["region_id", "tile_pos"], kind="stable")
        .reset_index(drop=True)
    )
