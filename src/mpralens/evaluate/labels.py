"""Per-base labels of a scored genome: conservation, TF sites, TSS distance, Sharpr scores.

The statistics computed with these labels are in :mod:`mpralens.evaluate.stats`.

Labels: *conserved* when the base lies in a conserved element (BED: ``chrom start end [...]``) or
its bigWig score is at least ``threshold``; *TF site* when the base lies in a site of the task's own
cell type (a task ``<cell>_<promoter>`` belongs to the longest annotated cell name it starts with,
so cell names may contain ``_``; the TF BED of another cell type is never used).

Annotations must name chromosomes as the scores do; names that differ only by a ``chr`` prefix
(``1`` vs ``chr1``) are mapped, with one warning per file. An annotation that still overlaps no
scored base (a TSS BED: lies on no scored chromosome) is an error naming the file, its option and
config key, and both sets of chromosome names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.intervals import read_intervals

log = logging.getLogger(__name__)


def interval_labels(chrom: np.ndarray, pos: np.ndarray, intervals: pd.DataFrame) -> np.ndarray:
    """1 where the base ``(chrom, pos)`` lies in any interval, else 0."""
    out = np.zeros(len(pos), dtype=np.int8)
    chrom = np.asarray(chrom)
    for c, iv in intervals.groupby("chrom", sort=False):
        sel = np.flatnonzero(chrom == c)
        if not sel.size:
            continue
        # Coverage by a difference array over the span of this chromosome's bases.
        lo, hi = int(pos[sel].min()), int(pos[sel].max()) + 1
        diff = np.zeros(hi - lo + 1, dtype=np.int64)
        s = np.clip(iv["start"].to_numpy(dtype=np.int64), lo, hi) - lo
        e = np.clip(iv["end"].to_numpy(dtype=np.int64), lo, hi) - lo
        np.add.at(diff, s, 1)
        np.add.at(diff, e, -1)
        covered = np.cumsum(diff)[:-1] > 0
        out[sel] = covered[pos[sel] - lo]
    return out


def site_names(chrom: np.ndarray, pos: np.ndarray, intervals: pd.DataFrame) -> pd.DataFrame:
    """``(row, name)`` pairs: every base (row index into ``pos``) with each site holding it."""
    rows, names = [], []
    chrom = np.asarray(chrom)
    for c, iv in intervals.groupby("chrom", sort=False):
        sel = np.flatnonzero(chrom == c)
        order = sel[np.argsort(pos[sel], kind="stable")]
        p = pos[order]
        first = np.searchsorted(p, iv["start"].to_numpy())
        n = np.searchsorted(p, iv["end"].to_numpy()) - first
        # Bases first[i] .. first[i] + n[i] - 1 (in sorted order) lie in site i.
        offset = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        rows.append(order[np.repeat(first, n) + offset])
        names.append(np.repeat(iv["name"].astype(str).to_numpy(dtype=object), n))
    if not rows:
        return pd.DataFrame({"row": [], "name": []})
    return pd.DataFrame({"row": np.concatenate(rows), "name": np.concatenate(names)})


def bigwig_values(path: str | PathLike[str], chrom: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Per-base values of a bigWig (NaN where it has none)."""
    import pyBigWig

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    try:
        bw = pyBigWig.open(str(path))
    except RuntimeError as exc:
        raise InputError(f"not a readable bigWig ({exc})", path=path) from exc
    if bw is None or not bw.isBigWig():
        raise InputError("not a bigWig file", path=path)
    out = np.full(len(pos), np.nan)
    sizes = bw.chroms()
    chrom = np.asarray(chrom)
    # The bigWig's name of each scored chromosome (``1`` for ``chr1`` when only that differs).
    named = {v: k for k, v in chromosome_map(sizes, pd.unique(chrom), path=path).items()}
    for c in pd.unique(chrom):
        sel = np.flatnonzero(chrom == c)
        b = named.get(c, c)
        if b not in sizes:
            continue
        lo, hi = int(pos[sel].min()), int(pos[sel].max()) + 1
        if hi > sizes[b]:
            raise InputError(
                f"bases up to {c}:{hi} lie past the bigWig's {b} ({sizes[b]} bp)", path=path
            )
        vals = np.array(bw.values(b, lo, hi), dtype=np.float64)
        out[sel] = vals[pos[sel] - lo]
    bw.close()
    if np.isnan(out).all():
        raise no_overlap_error(
            path,
            sizes,
            chrom,
            what="conservation bigWig",
            option="--conservation",
            key="datasets.<name>.conservation",
        )
    return out


def conservation_labels(
    path: str | PathLike[str], chrom: np.ndarray, pos: np.ndarray, *, threshold: float
) -> np.ndarray:
    """0/1 conservation of each base from a bigWig (score >= threshold) or an element BED.

    A track with no value at any scored base, or a BED none of whose elements holds one, is an
    error (module docstring).
    """
    if not Path(path).is_file():
        raise InputError("file not found", path=path, key="datasets.<name>.conservation")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic in (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26"):  # bigWig, either byte order
        values = bigwig_values(path, chrom, pos)
        return (np.nan_to_num(values, nan=-np.inf) >= threshold).astype(np.int8)
    return annotation_labels(
        path,
        chrom,
        pos,
        what="conservation element BED",
        option="--conservation",
        key="datasets.<name>.conservation",
    )


def annotation_labels(
    path: str | PathLike[str],
    chrom: np.ndarray,
    pos: np.ndarray,
    *,
    what: str,
    option: str,
    key: str,
    intervals: pd.DataFrame | None = None,
) -> np.ndarray:
    """0/1 per base: in an interval of the BED ``path`` (chromosome names reconciled).

    ``intervals``: the file's intervals when already read (:func:`read_annotation`). Raises when
    no interval holds a scored base, naming ``what``, ``option`` and ``key``.
    """
    if intervals is None:
        intervals = read_annotation(path, chrom)
    labels = interval_labels(chrom, pos, intervals)
    if not labels.any():
        raise no_overlap_error(
            path, intervals["chrom"], chrom, what=what, option=option, key=key, mapped=True
        )
    return labels


def read_annotation(path: str | PathLike[str], scored_chroms: Iterable[str]) -> pd.DataFrame:
    """:func:`mpralens.ism.tracks.read_intervals`, chromosomes renamed to the scores' names."""
    intervals = read_intervals(path)
    mapping = chromosome_map(
        intervals["chrom"].unique(), pd.unique(np.asarray(scored_chroms)), path=path
    )
    if mapping:
        intervals = intervals.assign(chrom=intervals["chrom"].replace(mapping))
    return intervals


def _alias(name: str) -> str:
    return name[3:] if name.startswith("chr") else f"chr{name}"


def chromosome_map(
    names: Iterable[str], scored: Iterable[str], *, path: str | PathLike[str]
) -> dict[str, str]:
    """Annotation chromosome name -> the scores' name, where they differ only by ``chr``.

    Names the scores use as they are stay unmapped; one warning lists the mapped names.
    """
    scored = {str(c) for c in scored}
    mapping = {
        str(n): _alias(str(n)) for n in names if str(n) not in scored and _alias(str(n)) in scored
    }
    if mapping:
        pairs = sorted(mapping.items(), key=lambda kv: _natural(kv[1]))
        shown = ", ".join(f"{a} -> {b}" for a, b in pairs[:5])
        more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
        log.warning(
            "%s: chromosome names differ from the ISM scores' only by a 'chr' prefix; mapped %s%s",
            path,
            shown,
            more,
        )
    return mapping


def _natural(name: str) -> tuple:
    core = name[3:] if name.startswith("chr") else name
    return (0, int(core), "") if core.isdigit() else (1, 0, core)


def _names(chroms: Iterable[str], limit: int = 8) -> str:
    uniq = sorted({str(c) for c in chroms}, key=_natural)
    if not uniq:
        return "none"
    shown = ", ".join(uniq[:limit])
    return shown if len(uniq) <= limit else f"{shown} ... ({len(uniq)} in all)"


def no_overlap_error(
    path: str | PathLike[str],
    annotation_chroms: Iterable[str],
    scored_chroms: Iterable[str],
    *,
    what: str,
    option: str,
    key: str,
    mapped: bool = False,
    covers: str = "overlaps",
) -> InputError:
    """Build the error for an annotation that overlaps no scored base (both chromosome sets).

    ``mapped``: ``annotation_chroms`` are already renamed to the scores' names.
    """
    ann = {str(c) for c in annotation_chroms}
    scored = {str(c) for c in scored_chroms}
    if not mapped:
        ann = {_alias(c) if c not in scored and _alias(c) in scored else c for c in ann}
    common = ann & scored
    if common:
        why = (
            f"it shares chromosome(s) {_names(common)} with the scores but none of its entries "
            "there covers a scored base (another genome build, or other regions?)"
        )
    else:
        why = f"its chromosomes are {_names(ann)}; the scores' are {_names(scored)}"
    return InputError(f"the {what} ({option}) {covers} no scored base: {why}", path=path, key=key)


def cell_of(task: str, cells: Iterable[str]) -> str | None:
    """Return the cell of a task ``<cell>_<promoter>`` among the known ``cells`` (None if none).

    A task belongs to cell ``c`` when it is ``c + "_" + promoter``; the longest such ``c`` wins,
    so ``Hep_G2_minP`` belongs to ``Hep_G2`` rather than ``Hep``.
    """
    fits = [c for c in cells if task.startswith(f"{c}_") and len(task) > len(c) + 1]
    return max(fits, key=len) if fits else None


def tss_distance(chrom: np.ndarray, pos: np.ndarray, tss: pd.DataFrame) -> np.ndarray:
    """Signed distance upstream of the nearest TSS (positive upstream, strand-aware; NaN if none).

    ``tss``: ``chrom, start, strand``; a base at ``p`` is ``tss - p`` upstream of a ``+`` TSS
    and ``p - tss`` of a ``-`` TSS. The nearest TSS by absolute distance is used.
    """
    out = np.full(len(pos), np.nan)
    chrom = np.asarray(chrom)
    for c, t in tss.groupby("chrom", sort=False):
        sel = np.flatnonzero(chrom == c)
        if not sel.size:
            continue
        t = t.sort_values("start")
        s = t["start"].to_numpy(dtype=np.int64)
        sign = np.where(t["strand"].to_numpy() == "-", -1, 1)
        p = pos[sel]
        i = np.clip(np.searchsorted(s, p), 1, len(s)) - 1
        j = np.clip(i + 1, 0, len(s) - 1)
        pick = np.where(np.abs(s[j] - p) < np.abs(s[i] - p), j, i)
        out[sel] = (s[pick] - p) * sign[pick]
    return out


def read_tss(path: str | PathLike[str]) -> pd.DataFrame:
    """TSS BED (``chrom start end name score strand``): ``chrom, start, strand``."""
    from mpralens.io.tables import read_tsv, to_int

    df = read_tsv(path, columns=["chrom", "start", "end", "name", "score", "strand"], header=False)
    bad = np.flatnonzero(~df["strand"].isin(["+", "-"]).to_numpy())
    if bad.size:
        raise InputError("strand must be + or -", path=path, line=df.attrs["first_line"] + bad[0])
    return pd.DataFrame(
        {
            "chrom": df["chrom"],
            "start": to_int(df, "start", what="TSS start"),
            "strand": df["strand"],
        }
    )


def read_sharpr_scores(path: str | PathLike[str]) -> pd.DataFrame:
    """Read Sharpr per-base scores (region ID, then a value per base): region_id, offset, value."""
    rows = []
    with open(path) as fh:
        for number, line in enumerate(fh, start=1):
            f = line.rstrip("\n").split("\t")
            if len(f) < 2:
                continue
            try:
                vals = np.array(f[1:], dtype=np.float64)
            except ValueError as exc:
                raise InputError(
                    f"per-base scores must be numbers ({exc})", path=path, line=number
                ) from exc
            rows.append(
                pd.DataFrame({"region_id": f[0], "offset": np.arange(len(vals)), "value": vals})
            )
    if not rows:
        raise InputError("no per-base scores", path=path)
    return pd.concat(rows, ignore_index=True)
