"""The tile design: tile IDs, sequences and genome coordinates, as one tiles table.

Two declared tile-ID schemes (``datasets.<name>.tile_ids``):

``sharpr`` (default)
    Sharpr-MPRA IDs (Ernst et al. 2016): scale-up ``CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER``
    (TILEPOS is the 4th field) and pilot ``GROUP_REGIONID_TILEPOS`` (TILEPOS last). The region ID
    is the tile ID without TILEPOS. Coordinates are 0-based half-open, one row per tile (pilot) or
    per region (scale-up, tiles placed at ``start + TILEPOS * tile_step``). The IDs are checked
    against the coordinates: with per-tile coordinates a tile must start ``TILEPOS * tile_step``
    bp after its region's first tile; a scale-up ID's CHR must be its region's chromosome.
``coords``
    Any tile IDs; the coords file has one row per tile. Tiles on one chromosome that overlap, or
    are chained by overlaps, form one region, named ``chrom:start-end`` (its span, 0-based
    half-open); ``tile_pos`` is the tile's rank by start in its region.

Whatever the scheme, tiles of one region that overlap must agree on their shared bases; a
disagreement means the coordinates or ``tile_step`` are wrong, and is an error naming the tile.

The tiles table has columns ``tile_id, region_id, tile_pos, chrom, start, end, sequence``, sorted
by region and tile position.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.sequences import check_bases
from mpralens.io.tables import check_unique, member, read_tsv, to_int

TILE_COLUMNS = ["tile_id", "region_id", "tile_pos", "chrom", "start", "end", "sequence"]
TILE_ID_SCHEMES = ("sharpr", "coords")
FROM_IDS = "from_ids"
# Config keys named when they are the likely cause (the command line does not know the data set).
STEP_KEY = "datasets.<name>.tile_step"
COORDS_KEY = "datasets.<name>.coords"
IDS_KEY = "datasets.<name>.tile_ids"
# Fewest shared bases for a suggested tile offset (shorter overlaps agree by chance too often).
MIN_SUGGESTED_OVERLAP = 20


def _lines(frame: pd.DataFrame) -> np.ndarray:
    """File line of each row: the ``line`` column, else counted from ``attrs['first_line']``."""
    if "line" in frame.columns:
        return frame["line"].to_numpy(dtype=np.int64)
    return frame.attrs.get("first_line", 1) + np.arange(len(frame), dtype=np.int64)


# The two Sharpr forms; fields hold no "_" (regular expressions run vectorised on Arrow strings).
_SIX = r"[^_]+_[^_]+_[^_]+_\d+_[^_]+_\d+"
_THREE = r"[^_]+_[^_]+_\d+"


def _split_sharpr_ids(ids: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """Which IDs fit a Sharpr form, and their ``region, pos, chrom, center`` (text).

    ``chrom`` and ``center`` are the scale-up CHR and CENTER fields, empty for pilot IDs; rows
    whose ID fits neither form hold the ID itself.
    """
    ids = ids.astype("str")
    six = ids.str.fullmatch(_SIX).to_numpy(dtype=bool)
    three = ids.str.fullmatch(_THREE).to_numpy(dtype=bool)
    region = ids.str.replace(r"^([^_]+_[^_]+_[^_]+)_\d+_([^_]+_\d+)$", r"\1_\2", regex=True)
    region = region.where(~three, ids.str.replace(r"_\d+$", "", regex=True))
    pos = ids.str.replace(r"^[^_]+_[^_]+_[^_]+_(\d+)_[^_]+_\d+$", r"\1", regex=True)
    pos = pos.where(~three, ids.str.replace(r"^.*_", "", regex=True))
    chrom = ids.str.replace(r"^(?:[^_]+_){4}([^_]+)_\d+$", r"\1", regex=True).where(six, "")
    center = ids.str.replace(r"^.*_", "", regex=True).where(six, "")
    fields = pd.DataFrame({"region": region, "pos": pos, "chrom": chrom, "center": center})
    return six | three, fields


def parse_tile_ids(
    ids: pd.Series,
    *,
    path: str | PathLike[str] | None = None,
    first_line: int = 1,
    lines: np.ndarray | None = None,
    fields: bool = False,
):
    """Split Sharpr tile IDs into region ID and tile position.

    Parameters
    ----------
    ids
        Tile IDs in either Sharpr form (6 underscore-separated fields, or 3); every field
        non-empty, TILEPOS (and a scale-up ID's CENTER) a whole number.
    path, first_line, lines
        Where the IDs came from, for the message: the file line of each ID, or of the first.
    fields
        Also return the scale-up CHR and CENTER fields (empty for pilot IDs).

    Returns
    -------
    tuple of (pandas.Series, numpy.ndarray[, pandas.DataFrame])
        Region IDs (``str``), tile positions (``int64``) and, with ``fields``, ``chrom, center``.
    """
    ok, parsed = _split_sharpr_ids(ids)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        line = first_line + i if lines is None else int(lines[i])
        raise InputError(
            f"tile ID {ids.iloc[i]!r} does not fit the tile_ids scheme sharpr "
            "(CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER or GROUP_REGIONID_TILEPOS, TILEPOS and "
            "CENTER whole numbers); to declare regions from per-tile coordinates instead, set "
            "tile_ids: coords",
            path=path,
            line=None if path is None else line,
            key=IDS_KEY if path is not None else None,
        )
    region = pd.Series(parsed["region"].array, index=ids.index, dtype=str)
    pos = parsed["pos"].astype(np.int64).to_numpy()
    if fields:
        return region, pos, parsed[["chrom", "center"]].set_index(ids.index)
    return region, pos


def read_sequences(path: str | PathLike[str], *, tile_length: int) -> pd.DataFrame:
    """Read an Ernst-site ``*.sequences.txt`` (no header; ``ID<TAB>sequence``).

    Returns
    -------
    pandas.DataFrame
        Columns ``tile_id, sequence, line`` (``line``: the row's 1-based file line).
    """
    df = read_tsv(path, columns=["tile_id", "sequence"], header=False)
    if df.shape[1] != 2:
        raise InputError(f"expected 2 tab-separated fields, found {df.shape[1]}", path=path, line=1)
    df["sequence"] = df["sequence"].str.upper()
    check_bases(df["sequence"], path=path, first_line=df.attrs["first_line"], length=tile_length)
    check_unique(df, "tile_id", what="tile ID")
    df["line"] = _lines(df)
    return df


def coords_from_ids(
    ids: pd.Series,
    *,
    tile_length: int,
    tile_step: int,
    path: str | PathLike[str] | None = None,
    lines: np.ndarray | None = None,
) -> pd.DataFrame:
    """Region coordinates from scale-up tile IDs ``CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER``.

    The region spans ``(n_pos - 1) * tile_step + tile_length`` bp (295 for Sharpr, ``n_pos`` the
    number of tile positions in the design) and is centred on CENTER as the Sharpr coords files
    are: ``start = CENTER - length // 2`` (the files' ``H1hesc_1_0_chr20_30310735`` spans
    ``chr20:30310588-30310883``).

    ``path`` and ``lines`` (the file line of each ID) are for messages.

    Returns
    -------
    pandas.DataFrame
        One row per region, as :func:`read_coords` (``id`` the region ID).
    """
    six = ids.astype("str").str.fullmatch(_SIX).to_numpy(dtype=bool)
    if not six.all():
        i = int(np.flatnonzero(~six)[0])
        raise InputError(
            f"coords: from_ids needs scale-up tile IDs CELLTYPE_STATE_REGIONID_TILEPOS_CHR_CENTER, "
            f"found {ids.iloc[i]!r}",
            path=path,
            line=None if lines is None else int(lines[i]),
            key=COORDS_KEY,
        )
    region, pos, f = parse_tile_ids(ids, path=path, lines=lines, fields=True)
    length = (int(pos.max()) if len(pos) else 0) * tile_step + tile_length
    center = f["center"].astype(np.int64).to_numpy()
    df = pd.DataFrame(
        {
            "id": region.array,
            "chrom": f["chrom"].array,
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
        Columns ``id, chrom, start, end`` (``start``/``end`` ``int64``); ``attrs["first_line"]``
        is the file line of row 0.
    """
    df = read_tsv(path, columns=["id", "chrom", "start", "end"], header=False)
    if df.shape[1] != 4:
        raise InputError(f"expected 4 tab-separated fields, found {df.shape[1]}", path=path, line=1)
    first = df.attrs["first_line"]
    start = to_int(df, "start", what="start")
    end = to_int(df, "end", what="end")
    bad = np.flatnonzero(end <= start)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"end ({end[i]}) must be greater than start ({start[i]})", path=path, line=first + i
        )
    check_unique(df, "id", what="ID")
    out = pd.DataFrame({"id": df["id"], "chrom": df["chrom"], "start": start, "end": end})
    out.attrs.update(path=str(path), first_line=first)
    return out


def build_tiles(
    sequences: pd.DataFrame,
    coords: pd.DataFrame,
    *,
    tile_step: int,
    sequences_path: str | PathLike[str],
    coords_path: str | PathLike[str],
    tile_ids: str = "sharpr",
) -> pd.DataFrame:
    """Join tile sequences with coordinates and check the design's geometry.

    Parameters
    ----------
    sequences
        ``tile_id, sequence`` and optionally ``line`` (file line), from :func:`read_sequences`
        or the GEO counts files.
    coords
        From :func:`read_coords` or :func:`coords_from_ids`.
    tile_step
        Bases between consecutive tiles: places tiles in per-region coordinates and is checked
        against per-tile coordinates (``sharpr`` scheme; unused by ``coords``).
    tile_ids
        ``"sharpr"`` or ``"coords"`` (module docstring).

    Returns
    -------
    pandas.DataFrame
        The tiles table (see module docstring).
    """
    lines = _lines(sequences)
    if tile_ids == "coords":
        tiles, coord_lines = _tiles_from_coords(
            sequences, coords, lines, sequences_path, coords_path
        )
        cause = "coords"
    elif tile_ids == "sharpr":
        tiles, coord_lines, cause = _tiles_from_sharpr_ids(
            sequences, coords, lines, tile_step, sequences_path, coords_path
        )
    else:
        raise InputError(
            f"unknown tile_ids scheme {tile_ids!r}; expected {' or '.join(TILE_ID_SCHEMES)}",
            key=IDS_KEY,
        )
    tiles["_line"] = lines
    tiles["_coord_line"] = coord_lines
    tiles = tiles.sort_values(["region_id", "tile_pos"], kind="stable").reset_index(drop=True)
    check_overlaps(
        tiles,
        cause=cause,
        tile_step=tile_step,
        sequences_path=sequences_path,
        coords_path=coords_path,
    )
    return tiles[TILE_COLUMNS]


def _coord_rows(coords: pd.DataFrame, ids: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """Return the coords rows of ``ids`` (all known) and their file lines (0: derived from IDs)."""
    first = coords.attrs.get("first_line")
    pos = pd.Index(coords["id"]).get_indexer(ids)
    rows = coords.iloc[pos]
    lines = np.zeros(len(pos), dtype=np.int64) if first is None else first + pos
    return rows, lines


def _tiles_from_coords(sequences, coords, lines, sequences_path, coords_path):
    """``tile_ids: coords``: regions are the chains of overlapping tiles."""
    known = member(sequences["tile_id"], coords["id"])
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise InputError(
            f"tile {sequences['tile_id'].iloc[i]!r} has no row in the coords file {coords_path} "
            "(tile_ids: coords needs one row per tile)",
            path=sequences_path,
            line=int(lines[i]),
            key=COORDS_KEY,
        )
    c, coord_lines = _coord_rows(coords, sequences["tile_id"])
    tiles = pd.DataFrame(
        {
            "tile_id": sequences["tile_id"].array,
            "chrom": c["chrom"].array,
            "start": c["start"].to_numpy(dtype=np.int64),
            "end": c["end"].to_numpy(dtype=np.int64),
            "sequence": sequences["sequence"].array,
        }
    )
    _check_tile_lengths(tiles, coord_lines, coords_path)
    order = (
        tiles[["chrom", "start", "tile_id"]]
        .reset_index(drop=True)
        .sort_values(["chrom", "start", "tile_id"], kind="stable")
        .index.to_numpy()
    )
    t = tiles.iloc[order]
    chrom, start, end = t["chrom"].to_numpy(), t["start"].to_numpy(), t["end"].to_numpy()
    # A tile opens a new region when it starts at or past every earlier tile's end on its
    # chromosome (half-open: touching tiles share no base).
    reach = pd.Series(end).groupby(chrom).cummax().to_numpy()
    new_chrom = np.r_[True, chrom[1:] != chrom[:-1]]
    opens = new_chrom | np.r_[True, start[1:] >= reach[:-1]]
    group = np.cumsum(opens)
    g = pd.DataFrame({"group": group, "start": start, "end": end})
    span = g.groupby("group").agg(start=("start", "min"), end=("end", "max"))
    names = chrom[opens] + ":" + span["start"].astype(str).to_numpy() + "-"
    names = names + span["end"].astype(str).to_numpy()
    region = np.empty(len(t), dtype=object)
    region[order] = names[group - 1]
    tile_pos = np.empty(len(t), dtype=np.int64)
    tile_pos[order] = g.groupby("group").cumcount().to_numpy()
    tiles.insert(1, "region_id", region)
    tiles.insert(2, "tile_pos", tile_pos)
    return tiles, coord_lines


def _check_tile_lengths(tiles: pd.DataFrame, coord_lines: np.ndarray, coords_path) -> None:
    """Per-tile coordinates must span exactly the tile's sequence."""
    span = tiles["end"].to_numpy() - tiles["start"].to_numpy()
    length = tiles["sequence"].str.len().to_numpy()
    bad = np.flatnonzero(span != length)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"tile {tiles['tile_id'].iloc[i]!r} spans {span[i]} bp "
            f"({tiles['chrom'].iloc[i]}:{tiles['start'].iloc[i]}-{tiles['end'].iloc[i]}) but its "
            f"sequence has {length[i]}",
            path=coords_path,
            line=int(coord_lines[i]),
            key=COORDS_KEY,
        )


def _tiles_from_sharpr_ids(sequences, coords, lines, tile_step, sequences_path, coords_path):
    """``tile_ids: sharpr``: regions from the IDs, checked against the coordinates."""
    ids = sequences["tile_id"]
    region, pos, fields = parse_tile_ids(ids, path=sequences_path, lines=lines, fields=True)
    tiles = pd.DataFrame(
        {
            "tile_id": ids.array,
            "region_id": region.array,
            "tile_pos": pos,
            "sequence": sequences["sequence"].array,
        }
    )
    id_chrom = fields["chrom"].to_numpy(dtype=object)
    dup = tiles.duplicated(["region_id", "tile_pos"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        other = tiles.index[
            (tiles["region_id"] == tiles["region_id"].iloc[i])
            & (tiles["tile_pos"] == tiles["tile_pos"].iloc[i])
        ][0]
        raise InputError(
            f"tile {ids.iloc[i]!r} has the same region and TILEPOS as tile {ids.iloc[other]!r} "
            f"(line {lines[other]})",
            path=sequences_path,
            line=int(lines[i]),
            key=IDS_KEY,
        )
    per_tile = member(tiles["tile_id"], coords["id"]).all()
    if per_tile:
        c, coord_lines = _coord_rows(coords, tiles["tile_id"])
        tiles["chrom"] = c["chrom"].array
        tiles["start"] = c["start"].to_numpy(dtype=np.int64)
        tiles["end"] = c["end"].to_numpy(dtype=np.int64)
        _check_tile_lengths(tiles, coord_lines, coords_path)
        _check_id_chromosomes(tiles, id_chrom, coords_path, coord_lines)
        _check_tile_positions(tiles, tile_step, coords_path, coord_lines)
        return tiles, coord_lines, "coords"
    known = member(tiles["region_id"], coords["id"])
    if not known.all():
        i = int(np.flatnonzero(~known)[0])
        raise InputError(
            f"tile {tiles['tile_id'].iloc[i]!r} (region {tiles['region_id'].iloc[i]!r}) has "
            f"no row in the coords file {coords_path}, neither as a tile nor as a region",
            path=sequences_path,
            line=int(lines[i]),
            key=COORDS_KEY,
        )
    c, coord_lines = _coord_rows(coords, tiles["region_id"])
    length = tiles["sequence"].str.len().to_numpy()
    tiles["chrom"] = c["chrom"].array
    tiles["start"] = c["start"].to_numpy() + tiles["tile_pos"].to_numpy() * tile_step
    tiles["end"] = tiles["start"].to_numpy() + length
    outside = np.flatnonzero(tiles["end"].to_numpy() > c["end"].to_numpy())
    if outside.size:
        i = int(outside[0])
        span = int(c["end"].iloc[i] - c["start"].iloc[i])
        raise InputError(
            f"tile {tiles['tile_id'].iloc[i]!r} at TILEPOS {tiles['tile_pos'].iloc[i]} with "
            f"tile_step {tile_step} ends {tiles['end'].iloc[i] - c['end'].iloc[i]} bp past the "
            f"end of its {span}-bp region in {coords_path}: check tile_step",
            path=sequences_path,
            line=int(lines[i]),
            key=STEP_KEY,
        )
    _check_id_chromosomes(tiles, id_chrom, sequences_path, lines, region_lines=coord_lines)
    return tiles, coord_lines, "tile_step"


def _check_id_chromosomes(tiles, id_chrom, path, lines, region_lines=None) -> None:
    """Check that a scale-up ID's CHR field (``id_chrom``; empty: pilot) is its chromosome."""
    chrom = tiles["chrom"].to_numpy(dtype=object)
    named = np.where(id_chrom == "", chrom, id_chrom)
    bad = np.flatnonzero(named != chrom)
    if bad.size:
        i = int(bad[0])
        where = "" if region_lines is None else f" (its region's row, line {region_lines[i]})"
        raise InputError(
            f"tile {tiles['tile_id'].iloc[i]!r} names chromosome {named[i]} but the coords "
            f"file{where} puts it on {tiles['chrom'].iloc[i]}",
            path=path,
            line=int(lines[i]),
            key=COORDS_KEY,
        )


def _check_tile_positions(tiles, tile_step, coords_path, coord_lines) -> None:
    """Per-tile coordinates: one chromosome per region, tile start - region start = TILEPOS * step.

    The region starts at its first tile (the lowest start), which must be TILEPOS 0.
    """
    by_region = tiles.groupby("region_id", sort=False)
    n_chrom = by_region["chrom"].transform("nunique").to_numpy()
    if (n_chrom > 1).any():
        i = int(np.flatnonzero(n_chrom > 1)[0])
        r = tiles["region_id"].iloc[i]
        chroms = sorted(tiles.loc[tiles["region_id"] == r, "chrom"].unique())
        raise InputError(
            f"the tiles of region {r!r} lie on {len(chroms)} chromosomes ({', '.join(chroms)}; "
            f"tile {tiles['tile_id'].iloc[i]!r} here)",
            path=coords_path,
            line=int(coord_lines[i]),
            key=COORDS_KEY,
        )
    start = tiles["start"].to_numpy()
    region_start = by_region["start"].transform("min").to_numpy()
    offset = start - region_start
    pos = tiles["tile_pos"].to_numpy()
    bad = np.flatnonzero(offset != pos * tile_step)
    if not bad.size:
        return
    i = int(bad[0])
    # The step the coordinates imply, when one step fits every tile of the design.
    moved = pos > 0
    implied = np.unique(offset[moved] // pos[moved]) if moved.any() else np.array([])
    fits = (
        len(implied) == 1
        and implied[0] > 0
        and (offset[moved] == pos[moved] * implied[0]).all()
        and (offset[~moved] == 0).all()
    )
    first = f"{tiles['chrom'].iloc[i]}:{region_start[i]}"
    what = (
        f"tile {tiles['tile_id'].iloc[i]!r} (TILEPOS {pos[i]}) starts {offset[i]} bp after its "
        f"region's first tile ({first}), not TILEPOS x tile_step = {pos[i]} x {tile_step} = "
        f"{pos[i] * tile_step} bp"
    )
    if fits:
        raise InputError(
            f"{what}; the coordinates of every tile fit tile_step {int(implied[0])}: check "
            "tile_step",
            path=coords_path,
            line=int(coord_lines[i]),
            key=STEP_KEY,
        )
    raise InputError(
        f"{what}; no tile_step fits the design's coordinates, so these IDs do not describe its "
        "geometry (GROUP_REGIONID_TILEPOS: a region's first tile is TILEPOS 0); to declare "
        "regions from the coordinates instead, set tile_ids: coords",
        path=coords_path,
        line=int(coord_lines[i]),
        key=IDS_KEY,
    )


def _encode(seqs: pd.Series) -> np.ndarray:
    """``(n, L)`` uint8 array of equal-length sequences."""
    lengths = seqs.str.len().to_numpy()
    if len(seqs) and (lengths != lengths[0]).any():
        raise ValueError("tiles of unequal length reached the geometry check")
    width = int(lengths[0]) if len(seqs) else 0
    text = "".join(seqs.to_numpy(dtype=object))
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).reshape(len(seqs), width)


def check_overlaps(
    tiles: pd.DataFrame,
    *,
    cause: str,
    tile_step: int,
    sequences_path: str | PathLike[str],
    coords_path: str | PathLike[str],
) -> None:
    """Raise if two overlapping tiles of one region disagree on a shared base.

    Tiles are compared with the next tile of their region by start: if every such pair agrees,
    every overlapping pair does (their shared bases lie in every tile between them).

    Parameters
    ----------
    tiles
        The tiles table plus ``_line`` (sequence file line) and ``_coord_line`` (coords line).
    cause
        ``"tile_step"`` when tiles were placed by TILEPOS x tile_step in per-region coordinates,
        ``"coords"`` when each tile has its own coordinates: names the likely cause and its key.
    """
    if len(tiles) < 2:
        return
    t = tiles.sort_values(["region_id", "chrom", "start", "tile_pos"], kind="stable")
    # Codes, not strings: comparing neighbours needs no conversion of Arrow strings.
    region, chrom = pd.factorize(t["region_id"])[0], pd.factorize(t["chrom"])[0]
    start, end = t["start"].to_numpy(), t["end"].to_numpy()
    a = np.flatnonzero((region[1:] == region[:-1]) & (chrom[1:] == chrom[:-1]))
    b = a + 1
    a, b = a[start[b] < end[a]], b[start[b] < end[a]]
    if not a.size:
        return
    seqs = _encode(t["sequence"])
    width = seqs.shape[1]
    shift = start[b] - start[a]
    first_bad = None
    for d in np.unique(shift):
        sel = np.flatnonzero(shift == d)
        # Pairs in blocks, so that two (pairs x shared bases) arrays stay small.
        for lo in range(0, sel.size, 65536):
            s = sel[lo : lo + 65536]
            differ = (seqs[a[s], d:] != seqs[b[s], : width - d]).any(axis=1)
            if differ.any():
                k = int(s[np.flatnonzero(differ)[0]])
                if first_bad is None or b[k] < b[first_bad]:
                    first_bad = k
                break
    if first_bad is None:
        return
    _overlap_error(
        t, seqs, int(a[first_bad]), int(b[first_bad]), cause, tile_step, sequences_path, coords_path
    )


def _overlap_error(t, seqs, ia, ib, cause, tile_step, sequences_path, coords_path):
    width = seqs.shape[1]
    row_a, row_b = t.iloc[ia], t.iloc[ib]
    d = int(row_b["start"] - row_a["start"])
    shared = width - d
    n_diff = int((seqs[ia, d:] != seqs[ib, :shared]).sum())
    what = (
        f"tiles {row_a['tile_id']!r} (line {row_a['_line']}) and {row_b['tile_id']!r} of region "
        f"{row_b['region_id']!r} overlap on {shared} bp ({row_b['chrom']}:{row_b['start']}-"
        f"{row_a['end']}) but {n_diff} of those bases differ"
    )
    fits = [
        s
        for s in range(0, width - MIN_SUGGESTED_OVERLAP + 1)
        if (seqs[ia, s:] == seqs[ib, : width - s]).all()
    ]
    if cause == "tile_step":
        dp = int(row_b["tile_pos"] - row_a["tile_pos"])
        steps = [s // dp for s in fits if dp > 0 and s % dp == 0 and s > 0]
        regions = (
            "regions centred on the IDs' CENTER (coords: from_ids)"
            if str(coords_path) == FROM_IDS
            else f"region rows of {coords_path}"
        )
        placed = (
            f"; the tiles are placed at their region's start + TILEPOS x tile_step {tile_step} "
            f"({regions})"
        )
        if steps:
            raise InputError(
                f"{what}{placed}, and their sequences agree with tile_step {steps[0]}: "
                "check tile_step",
                path=sequences_path,
                line=int(row_b["_line"]),
                key=STEP_KEY,
            )
        raise InputError(
            f"{what}{placed}, and no tile_step makes them agree: check the region rows of the "
            "coords file and the tile IDs",
            path=sequences_path,
            line=int(row_b["_line"]),
            key=COORDS_KEY,
        )
    seen = (
        f"their sequences agree {fits[0]} bp apart"
        if fits
        else f"their sequences agree at no offset with {MIN_SUGGESTED_OVERLAP} or more bases shared"
    )
    raise InputError(
        f"{what}: the coords file ({coords_path}, lines {row_a['_coord_line']} and "
        f"{row_b['_coord_line']}) puts them {d} bp apart, {seen}: check the coordinates",
        path=sequences_path,
        line=int(row_b["_line"]),
        key=COORDS_KEY,
    )
