"""Counts to activity: per-replicate log2 RNA/DNA ratios and their mean per task.

For a task (cell, promoter) and RNA replicate r paired with DNA library d (Ernst et al. 2016;
Paggi et al. 2017):

    log2_ratio_r = log2((RNA + p) / sum(RNA + p)) - log2((DNA + p) / sum(DNA + p))

with pseudocount ``p``. A tile is *valid* in a task when every DNA library the task uses has at
least ``min_dna`` reads; the sums run over the task's valid tiles, so dropped tiles do not shift the
library sizes. Invalid tiles get NaN. The task activity is the mean over that task's own
replicates. A task without a single valid tile is an error (nothing downstream could learn from it).

Tasks may have different numbers of RNA replicates (3 in one cell, 2 in another). The long table
has columns ``log2_ratio_rep1..N`` with N the largest replicate count of any task, numbered by the
order of the task's replicate numbers in the library sheet; a task with fewer replicates has NaN in
its missing columns on every row, so its replicates are exactly the columns that hold a value for
it (:func:`mpralens.data.weights.task_replicate_columns`).

Per-barcode option: each barcode's log ratio is computed the same way (sums over all barcodes of
valid tiles); barcodes with zero DNA reads are skipped; the tile's ratio is their median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpralens.data.libraries import ReplicatePair, tasks_of
from mpralens.io.errors import InputError


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
        RNA/DNA library pairs (:func:`mpralens.data.libraries.pair_libraries`).
    pseudocount, min_dna
        See the module docstring.
    barcode_counts
        If given, use the per-barcode method.

    Returns
    -------
    pandas.DataFrame
        Long form, one row per tile and task: ``tile_id, region_id, tile_pos, task, dna_count,
        log2_ratio_rep1..N, activity, valid`` (``dna_count`` is the mean over the task's DNA
        libraries; ratios in log2 units; N the largest number of replicates of a task, NaN in
        the columns past a task's own replicates).

    Raises
    ------
    InputError
        A task has no valid tile (key ``normalize.min_dna``).
    """
    if not counts["tile_id"].equals(tiles["tile_id"]):
        raise ValueError("counts and tiles must list the same tiles in the same order")
    n_max = max(sum(p.task == task for p in pairs) for task in tasks_of(pairs))
    frames = []
    for task in tasks_of(pairs):
        reps = sorted((p for p in pairs if p.task == task), key=lambda p: p.replicate)
        dna_libs = sorted({p.dna for p in reps})
        dna = counts[dna_libs].to_numpy(dtype=np.int64)
        valid = (dna >= min_dna).all(axis=1)
        if not valid.any():
            most = dna.min(axis=1).max() if len(dna) else 0
            libs = "library" if len(dna_libs) == 1 else "libraries (each)"
            raise InputError(
                f"task {task} has no valid tile: none has min_dna = {min_dna} or more reads in "
                f"its DNA {libs} {', '.join(dna_libs)} (the most any tile has is {most}); "
                "lower normalize.min_dna or check the DNA counts",
                key="normalize.min_dna",
            )
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
        for i in range(len(reps) + 1, n_max + 1):
            frame[f"log2_ratio_rep{i}"] = np.full(len(tiles), np.nan)
        # The mean over this task's replicates only; NaN exactly where invalid.
        frame["activity"] = np.column_stack(ratios).mean(axis=1)
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
