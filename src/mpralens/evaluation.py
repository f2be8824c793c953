"""ISM maps against conservation, TF binding, Sharpr scores and TSS distance (Paggi et al.).

Per task and annotation, on the scored bases (``n_windows > 0``):

* **quantile curve**: bases sorted by ISM score (stable: ties keep genome order) and cut into
  ``n_bins`` bins of (near) equal size; per bin the mean score and the mean label. The paper uses
  5000 bins; a data set with fewer bases than bins gets one base per bin.
* **binned Spearman**: Spearman between the bins' mean score and mean label, over all bins and, as
  in the reference analysis, over the bins with mean score >= 0 (activating bases).
* **per-base** Spearman and AUROC of the score against the label.

Labels: *conserved* when the base lies in a conserved element (BED: ``chrom start end [...]``) or
its bigWig score is at least ``threshold``; *TF site* when the base lies in a site of the task's own
cell type (the task name's part before ``_``; the TF BED of the other cell type is never used).
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from mpralens.errors import InputError
from mpralens.ism.tracks import read_intervals

N_BINS = 5000


def quantile_curve(scores: np.ndarray, labels: np.ndarray, n_bins: int = N_BINS) -> pd.DataFrame:
    """Mean score and mean label per quantile bin of the scores (see module docstring)."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(scores, kind="stable")
    bins = np.array_split(order, min(n_bins, len(order))) if len(order) else []
    return pd.DataFrame(
        {
            "bin": np.arange(len(bins)),
            "n": [len(b) for b in bins],
            "mean_score": [scores[b].mean() for b in bins],
            "mean_label": [labels[b].mean() for b in bins],
        }
    )


def binned_spearman(curve: pd.DataFrame, *, nonnegative: bool = False) -> float:
    """Spearman of the bins' mean label against their mean score (NaN when undefined)."""
    c = curve[curve["mean_score"] >= 0] if nonnegative else curve
    if len(c) < 3 or c["mean_label"].nunique() < 2:
        return float("nan")
    return float(spearmanr(c["mean_score"], c["mean_label"]).statistic)


def base_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Per-base Spearman and AUROC of scores against 0/1 (or real-valued) labels."""
    labels = np.asarray(labels, dtype=np.float64)
    binary = np.isin(labels, [0.0, 1.0]).all() and 0 < labels.sum() < len(labels)
    return {
        "spearman": float(spearmanr(scores, labels).statistic) if labels.std() > 0 else np.nan,
        "auroc": float(roc_auc_score(labels, scores)) if binary else np.nan,
    }


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
    for c in pd.unique(chrom):
        sel = np.flatnonzero(chrom == c)
        if c not in sizes:
            continue
        lo, hi = int(pos[sel].min()), int(pos[sel].max()) + 1
        if hi > sizes[c]:
            raise InputError(
                f"bases up to {c}:{hi} lie past the bigWig's {c} ({sizes[c]} bp)", path=path
            )
        vals = np.array(bw.values(c, lo, hi), dtype=np.float64)
        out[sel] = vals[pos[sel] - lo]
    bw.close()
    return out


def conservation_labels(
    path: str | PathLike[str], chrom: np.ndarray, pos: np.ndarray, *, threshold: float
) -> np.ndarray:
    """0/1 conservation of each base from a bigWig (score >= threshold) or an element BED."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic in (b"\x26\xfc\x8f\x88", b"\x88\x8f\xfc\x26"):  # bigWig, either byte order
        values = bigwig_values(path, chrom, pos)
        return (np.nan_to_num(values, nan=-np.inf) >= threshold).astype(np.int8)
    return interval_labels(chrom, pos, read_intervals(path))


def cell_of(task: str) -> str:
    """Return the cell type of a task ``<cell>_<promoter>``."""
    return task.split("_", 1)[0]


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
    from mpralens.tables import read_tsv, to_int

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
