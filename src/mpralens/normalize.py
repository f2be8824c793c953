"""Counts to activity: per-replicate log2 RNA/DNA ratios and their mean per task.

For a task (cell, promoter) and RNA replicate r paired with DNA library d (Ernst et al. 2016;
Paggi et al. 2017):

    log2_ratio_r = log2((RNA + p) / sum(RNA + p)) - log2((DNA + p) / sum(DNA + p))

with pseudocount ``p``. A tile is *valid* in a task when every DNA library the task uses has at
least ``min_dna`` reads; the sums run over the task's valid tiles, so dropped tiles do not shift the
library sizes. Invalid tiles get NaN. The task activity is the replicate mean.

Per-barcode option: each barcode's log ratio is computed the same way (sums over all barcodes of
valid tiles); barcodes with zero DNA reads are skipped; the tile's ratio is their median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpralens.libraries import ReplicatePair, tasks_of


def _log_ratio(rna: np.ndarray, dna: np.ndarray, valid: np.ndarray, p: float) -> np.ndarray:
    """Library-size-normalised log2((RNA+p)/(DNA+p)); NaN where not valid. Shapes match."""
    r = rna.astype(np.float64) + p
    d = dna.astype(np.float64) + p
    out = np.log2(r / r[valid].sum()) - np.log2(d / d[valid].sum())
    out[~valid] = np.nan
    return out


def log_ratios(
    tiles: pd.DataFrame,
    counts: pd.DataFrame,
    pairs: list[ReplicatePair],
    *,
    pseudocount: float = 1.0,
    min_dna: int = 20,
    barcode_counts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-replicate log2 ratios and activity for every tile and task.

    Parameters
    ----------
    tiles
        The tiles table, rows aligned with ``counts``.
    counts
        ``tile_id`` then one summed-count column per library.
    pairs
        RNA/DNA library pairs (:func:`mpralens.libraries.pair_libraries`).
    pseudocount, min_dna
        See the module docstring.
    barcode_counts
        If given, use the per-barcode method.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per tile and task: ``tile_id, region_id, tile_pos, task, dna_count,
        log2_ratio_rep1..N, activity, valid`` (``dna_count`` is the mean over the task's DNA
        libraries; ratios in log2 units).
    """
    if not counts["tile_id"].equals(tiles["tile_id"]):
        raise ValueError("counts and tiles must list the same tiles in the same order")
    frames = []
    for task in tasks_of(pairs):
        reps = sorted((p for p in pairs if p.task == task), key=lambda p: p.replicate)
        dna_libs = sorted({p.dna for p in reps})
        dna = counts[dna_libs].to_numpy(dtype=np.int64)
        valid = (dna >= min_dna).all(axis=1)
        frame = {
            "tile_id": tiles["tile_id"].to_numpy(),
            "region_id": tiles["region_id"].to_numpy(),
            "tile_pos": tiles["tile_pos"].to_numpy(),
            "task": task,
            "dna_count": dna.mean(axis=1),
        }
        ratios = []
        for i, pair in enumerate(reps, start=1):
            if barcode_counts is None:
                lr = _log_ratio(
                    counts[pair.rna].to_numpy(), counts[pair.dna].to_numpy(), valid, pseudocount
                )
            else:
                lr = _barcode_log_ratio(tiles, barcode_counts, pair, valid, pseudocount)
            frame[f"log2_ratio_rep{i}"] = lr
            ratios.append(lr)
        stacked = np.column_stack(ratios)
        frame["activity"] = stacked.mean(axis=1)  # NaN exactly where invalid
        frame["valid"] = valid
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def _barcode_log_ratio(
    tiles: pd.DataFrame, bc: pd.DataFrame, pair: ReplicatePair, valid: np.ndarray, p: float
) -> np.ndarray:
    pos = pd.Series(np.arange(len(tiles)), index=tiles["tile_id"].to_numpy())
    row = pos.loc[bc["tile_id"]].to_numpy()
    in_valid = valid[row]
    lr = _log_ratio(bc[pair.rna].to_numpy(), bc[pair.dna].to_numpy(), in_valid, p)
    lr[bc[pair.dna].to_numpy() == 0] = np.nan
    med = pd.Series(lr).groupby(row).median()
    out = np.full(len(tiles), np.nan)
    out[med.index.to_numpy()] = med.to_numpy()
    out[~valid] = np.nan
    return out
