"""Count import for both Sharpr-MPRA distributions into one tile x library table.

Ernst-site layout: ``*.counts`` files whose first line is a header of barcode numbers, then
``ID<TAB>count[<TAB>count...]`` (one count per barcode); sequences and coordinates in separate
files.
GEO layout: gzipped TSV with header ``ID Sequence Tags Counts``, where ``Tags`` and ``Counts`` are
comma-separated lists with one entry per barcode; the sequences come from these files.

Barcodes are matched across libraries by their position in the list (the Sharpr files list the
same barcodes in the same order in every library). By default they are summed per tile; kept, they
feed the per-barcode activity option.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from mpralens.data.design import (
    COORDS_KEY,
    FROM_IDS,
    IDS_KEY,
    TILE_ID_SCHEMES,
    build_tiles,
    coords_from_ids,
    read_coords,
    read_sequences,
)
from mpralens.data.libraries import read_library_sheet
from mpralens.io.errors import InputError
from mpralens.io.sequences import check_bases
from mpralens.io.tables import (
    INT64_MAX,
    check_int64,
    check_unique,
    member,
    read_tsv,
    to_int,
    write_tsv,
)


@dataclass
class ImportedCounts:
    """Result of :func:`import_counts`.

    Attributes
    ----------
    tiles
        The tiles table (:mod:`mpralens.data.design`).
    counts
        ``tile_id`` then one ``int64`` column per library (barcodes summed), rows as ``tiles``.
    barcode_counts
        ``tile_id, barcode`` then one column per library, or ``None`` when barcodes are summed.
    sheet
        The checked library sheet.
    """

    tiles: pd.DataFrame
    counts: pd.DataFrame
    barcode_counts: pd.DataFrame | None
    sheet: pd.DataFrame


def read_ernst_counts(path: str | PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one Ernst-site ``.counts`` file.

    Returns
    -------
    tuple of pandas.DataFrame
        Long counts ``tile_id, barcode, count`` and per-tile ``tile_id, line``.
    """
    df = read_tsv(path, columns=["tile_id", "1"], header=False, skip_lines=1)
    check_unique(df, "tile_id", what="tile ID")
    barcode_cols = list(df.columns[1:])
    counts = np.column_stack([to_int(df, c, what="count") for c in barcode_cols])
    n, b = counts.shape
    return pd.DataFrame(
        {
            "tile_id": np.repeat(df["tile_id"].to_numpy(), b),
            "barcode": np.tile(np.arange(1, b + 1, dtype=np.int64), n),
            "count": counts.reshape(-1),
        }
    ), df[["tile_id"]].assign(line=np.arange(n) + df.attrs["first_line"])


def read_geo_counts(path: str | PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one GEO counts file.

    Returns
    -------
    tuple of pandas.DataFrame
        Long counts ``tile_id, barcode, count`` and per-tile ``tile_id, sequence, line``.
    """
    df = read_tsv(path, columns=["ID", "Sequence", "Tags", "Counts"], header=True)
    df = df.rename(columns={"ID": "tile_id"})
    check_unique(df, "tile_id", what="tile ID")
    first = df.attrs["first_line"]
    tags = df["Tags"].str.split(",")
    cnts = df["Counts"].str.split(",")
    mismatch = np.flatnonzero(tags.str.len().to_numpy() != cnts.str.len().to_numpy())
    if mismatch.size:
        i = int(mismatch[0])
        raise InputError(
            "Tags and Counts list different numbers of barcodes", path=path, line=first + i
        )
    n_bc = cnts.str.len().to_numpy()
    flat = pd.DataFrame({"value": np.concatenate(cnts.to_numpy())}, dtype=str)
    flat.attrs.update(path=str(path), first_line=0)
    row_of = np.repeat(np.arange(len(df)), n_bc)
    ok = flat["value"].str.fullmatch(r"\d+").to_numpy(dtype=bool)
    if not ok.all():
        j = int(np.flatnonzero(~ok)[0])
        v = flat["value"].iloc[j]
        what = "non-negative" if v.lstrip().startswith("-") else "an integer"
        raise InputError(
            f"count must be {what}, found {v!r}", path=path, line=first + int(row_of[j])
        )
    check_int64(flat["value"], what="count", path=path, lines=first + row_of)
    barcode = np.concatenate([np.arange(1, k + 1) for k in n_bc]).astype(np.int64)
    long = pd.DataFrame(
        {
            "tile_id": np.repeat(df["tile_id"].to_numpy(), n_bc),
            "barcode": barcode,
            "count": flat["value"].astype(np.int64).to_numpy(),
        }
    )
    seqs = pd.DataFrame(
        {
            "tile_id": df["tile_id"].to_numpy(),
            "sequence": df["Sequence"].str.upper().to_numpy(),
            "line": np.arange(len(df)) + first,
        }
    )
    return long, seqs


def import_counts(
    *,
    layout: str,
    libraries: str | PathLike[str],
    coords: str | PathLike[str],
    sequences: str | PathLike[str] | None = None,
    tile_step: int = 5,
    tile_length: int = 145,
    keep_barcodes: bool = False,
    downloads: str | PathLike[str] | None = None,
    tile_ids: str = "sharpr",
) -> ImportedCounts:
    """Import a data set's counts, in either layout, into one tile x library table.

    Parameters
    ----------
    layout
        ``"ernst"`` or ``"geo"``.
    libraries
        The library sheet (:mod:`mpralens.data.libraries`).
    coords
        Sharpr coords file (per tile or per region), or ``"from_ids"`` to derive region
        coordinates from scale-up tile IDs (:func:`mpralens.data.design.coords_from_ids`); with
        ``tile_ids="coords"`` a file with one row per tile.
    sequences
        Ernst layout only: ``*.sequences.txt``.
    tile_step, tile_length
        Design geometry in bp.
    keep_barcodes
        Also return per-barcode counts.
    downloads
        Folder of the count files the sheet gives as URLs.
    tile_ids
        Tile-ID scheme, ``"sharpr"`` or ``"coords"`` (:mod:`mpralens.data.design`).
    """
    if tile_ids not in TILE_ID_SCHEMES:
        raise InputError(
            f"unknown tile_ids scheme {tile_ids!r}; expected {' or '.join(TILE_ID_SCHEMES)}",
            key=IDS_KEY,
        )
    if tile_ids == "coords" and str(coords) == FROM_IDS:
        raise InputError(
            "coords: from_ids derives regions from Sharpr scale-up IDs; with tile_ids: coords "
            "give a coords file with one row per tile",
            key=COORDS_KEY,
        )
    sheet = read_library_sheet(libraries, downloads=downloads)
    if layout == "ernst":
        if sequences is None:
            raise InputError(
                "the ernst layout needs a sequences file", key="datasets.<name>.sequences"
            )
        design_seqs = read_sequences(sequences, tile_length=tile_length)
        design_path: str | PathLike[str] = sequences
        per_lib = {}
        for lib, path in zip(sheet["library"], sheet["path"], strict=True):
            long, ids = read_ernst_counts(path)
            per_lib[lib] = (long, ids, path)
    elif layout == "geo":
        per_lib = {}
        design_seqs = None
        design_path = ""
        for lib, path in zip(sheet["library"], sheet["path"], strict=True):
            long, seqs = read_geo_counts(path)
            if design_seqs is None:
                check_bases(seqs["sequence"], path=path, first_line=2, length=tile_length)
                design_seqs = seqs[["tile_id", "sequence", "line"]]
                design_path = path
            else:
                _check_same_sequences(design_seqs, seqs, path)
            per_lib[lib] = (long, seqs[["tile_id", "line"]], path)
    else:
        raise InputError(
            f"unknown layout {layout!r}; expected ernst or geo", key="datasets.<name>.layout"
        )
    assert design_seqs is not None
    if str(coords) == FROM_IDS:
        coord_table = coords_from_ids(
            design_seqs["tile_id"],
            tile_length=tile_length,
            tile_step=tile_step,
            path=design_path,
            lines=design_seqs["line"].to_numpy(),
        )
    else:
        coord_table = read_coords(coords)
    tiles = build_tiles(
        design_seqs,
        coord_table,
        tile_step=tile_step,
        sequences_path=design_path,
        coords_path=coords,
        tile_ids=tile_ids,
    )
    design_ids = pd.Index(tiles["tile_id"].to_numpy(dtype=object))
    wide = {}
    barcode_tables = []
    for lib, (long, ids, path) in per_lib.items():
        _check_same_tiles(design_ids, ids, path, design_path)
        _check_total_fits(long, ids, path)
        summed = long.groupby("tile_id", sort=False)["count"].sum()
        wide[lib] = summed.reindex(design_ids).to_numpy(dtype=np.int64)
        if keep_barcodes:
            barcode_tables.append(long.set_index(["tile_id", "barcode"])["count"].rename(lib))
    counts = pd.DataFrame({"tile_id": design_ids.to_numpy(), **wide})
    n_bc = pd.concat(
        [long.groupby("tile_id", sort=False)["barcode"].max() for long, _, _ in per_lib.values()],
        axis=1,
    )
    tiles["n_barcodes"] = n_bc.max(axis=1).reindex(design_ids).to_numpy(dtype=np.int64)
    barcode_counts = None
    if keep_barcodes:
        barcode_counts = (
            pd.concat(barcode_tables, axis=1, join="outer").fillna(0).astype(np.int64).reset_index()
        )
        order = pd.Series(np.arange(len(design_ids)), index=design_ids)
        barcode_counts = (
            barcode_counts.assign(_o=order.loc[barcode_counts["tile_id"]].to_numpy())
            .sort_values(["_o", "barcode"], kind="stable")
            .drop(columns="_o")
            .reset_index(drop=True)
        )
    return ImportedCounts(tiles=tiles, counts=counts, barcode_counts=barcode_counts, sheet=sheet)


def _check_same_sequences(design: pd.DataFrame, seqs: pd.DataFrame, path) -> None:
    ref = design.set_index("tile_id")["sequence"]
    common = seqs[member(seqs["tile_id"], ref.index)]
    diff = common["sequence"].to_numpy() != ref.loc[common["tile_id"]].to_numpy()
    if diff.any():
        i = int(np.flatnonzero(diff)[0])
        raise InputError(
            f"sequence of tile {common['tile_id'].iloc[i]!r} differs from the first library's",
            path=path,
            line=int(common["line"].iloc[i]),
        )


def _check_same_tiles(design_ids: pd.Index, ids: pd.DataFrame, path, design_path) -> None:
    # ``design_ids`` is built once per import as an object Index, so its hash table is reused for
    # every library. Tile IDs within a file are unique (checked on reading), so every design tile
    # is present exactly when all IDs are known and the counts agree.
    pos = design_ids.get_indexer(ids["tile_id"].to_numpy(dtype=object))
    unknown = pos < 0
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise InputError(
            f"tile {ids['tile_id'].iloc[i]!r} has counts but is not in the design ({design_path})",
            path=path,
            line=int(ids["line"].iloc[i]),
        )
    if len(ids) < len(design_ids):
        seen = np.zeros(len(design_ids), dtype=bool)
        seen[pos] = True
        raise InputError(
            f"tile {design_ids[int(np.flatnonzero(~seen)[0])]!r} of the design "
            f"({design_path}) has no counts in this file ({int((~seen).sum())} tiles missing)",
            path=path,
        )


def _check_total_fits(long: pd.DataFrame, ids: pd.DataFrame, path) -> None:
    """Refuse a library whose counts sum past int64: its per-tile and total sums would wrap."""
    counts = long["count"].to_numpy()
    if counts.size == 0 or int(counts.max()) * counts.size <= INT64_MAX:
        return  # cannot overflow; the exact check below costs a pass over the table
    # Python integers are exact at any size (float64 is not, near 2^63); this path is rare.
    per_tile = long["count"].astype(object).groupby(long["tile_id"], sort=False).sum()
    totals = np.cumsum(per_tile.reindex(ids["tile_id"]).to_numpy(dtype=object))
    over = np.flatnonzero(totals > INT64_MAX)
    if over.size:
        i = int(over[0])
        raise InputError(
            f"the counts of this file sum past the 64-bit integer range ({INT64_MAX:.2e}) at "
            f"tile {ids['tile_id'].iloc[i]!r}; no sequencing run gives that many reads",
            path=path,
            line=int(ids["line"].iloc[i]),
        )


def write_imported(result: ImportedCounts, *, counts_path, tiles_path, barcodes_path=None) -> None:
    """Write the import's tables all-or-nothing."""
    from mpralens.io.atomic import atomic_outputs

    outs = [counts_path, tiles_path] + ([barcodes_path] if barcodes_path else [])
    with atomic_outputs(*outs) as tmp:
        result.counts.to_parquet(tmp[0], index=False)
        write_tsv(result.tiles, tmp[1])
        if barcodes_path:
            table = result.barcode_counts
            if table is None:
                raise ValueError("barcode counts were not kept; import with keep_barcodes=True")
            table.to_parquet(tmp[2], index=False)
