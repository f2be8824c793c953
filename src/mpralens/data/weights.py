"""Replicate-consistency weights per tile and task, for weighted model fitting.

``diagonal`` (Paggi et al. 2017): the distance of a tile from the rep1 = rep2 diagonal,
``|rep1 - rep2| / sqrt(2)``, equal to the replicates' standard deviation (ddof=1); with N > 2
replicates the weight uses that standard deviation (the distance from the all-equal diagonal
divided by sqrt(N - 1)). It is negated and min-max scaled to [0, 1] over the task's valid tiles, so
reproducible tiles weigh most.

``inverse_variance``: the variance of a replicate measurement, ``var(rep, ddof=1)``
(``(rep1 - rep2)^2 / 2`` for two), is predicted from log2 DNA count and mean activity as the mean of
the ``k`` nearest other tiles (leave-one-out, standardised features); the weight is its inverse,
scaled so the largest is 1 (predictions are floored at their 5th percentile).

Each task is weighed over its own replicates: the columns of ``log2_ratio_rep1..N`` that hold a
value for it (a task with fewer replicates than the widest has NaN in the rest; see
:mod:`mpralens.data.normalize`). Invalid tiles weigh 0; a task with a single replicate gives every
valid
tile weight 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("diagonal", "inverse_variance")
ACTIVITY_COLUMNS = ["tile_id", "region_id", "tile_pos", "task"]


def replicate_columns(df: pd.DataFrame) -> list[str]:
    """Return the ``log2_ratio_rep<i>`` columns of ``df`` in replicate order."""
    cols = [c for c in df.columns if c.startswith("log2_ratio_rep")]
    return sorted(cols, key=lambda c: int(c.removeprefix("log2_ratio_rep")))


def task_replicate_columns(task_rows: pd.DataFrame) -> list[str]:
    """Return the replicate columns that hold a value for the rows of one task.

    Raises
    ------
    ValueError
        A valid tile lacks a value in one of the task's replicates, or the task has none.
    """
    cols = [c for c in replicate_columns(task_rows) if task_rows[c].notna().any()]
    valid = task_rows["valid"].to_numpy(dtype=bool)
    if valid.any() and (not cols or task_rows.loc[valid, cols].isna().to_numpy().any()):
        raise ValueError(
            "every valid tile needs a log2 ratio in each of its task's replicate columns"
        )
    return cols


def diagonal_weight(reps: np.ndarray) -> np.ndarray:
    """Paggi et al.'s weight. ``reps`` has ``shape=(n_tiles, n_replicates)``, all finite."""
    spread = reps.std(axis=1, ddof=1)
    lo, hi = spread.min(), spread.max()
    if hi - lo <= 0:
        return np.ones(len(reps))
    return (hi - spread) / (hi - lo)


def inverse_variance_weight(
    reps: np.ndarray, dna_count: np.ndarray, *, neighbors: int = 50
) -> np.ndarray:
    """Inverse of the kNN-predicted replicate variance, scaled to a maximum of 1.

    Parameters
    ----------
    reps
        ``shape=(n_tiles, n_replicates)`` log2 ratios, all finite.
    dna_count
        ``shape=(n_tiles,)`` DNA reads.
    neighbors
        ``k``; capped at ``n_tiles - 1``.
    """
    n = len(reps)
    var = reps.var(axis=1, ddof=1)
    if n < 3:
        return np.ones(n)
    x = np.column_stack([np.log2(dna_count + 1.0), reps.mean(axis=1)])
    sd = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    # Imported here: normalize and QC use this module's column helpers, not the kNN (1 s import).
    from sklearn.neighbors import NearestNeighbors

    k = min(neighbors, n - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)
    # Leave-one-out: the k+1 nearest include the tile itself (or a tie of equal distance);
    # removing the tile's own value gives the mean of k others whatever the order.
    pred = (var[idx].sum(axis=1) - var) / k
    # Floor at the 5th percentile of predictions so a few near-zero neighbourhoods cannot
    # squash every other weight towards 0 after max-scaling.
    floor = max(float(np.quantile(pred, 0.05)), 1e-12)
    inv = 1.0 / np.maximum(pred, floor)
    return inv / inv.max()


def add_weights(
    log_ratios: pd.DataFrame, *, method: str = "diagonal", neighbors: int = 50
) -> pd.DataFrame:
    """Add a ``weight`` column to the long log-ratio table, per task.

    Returns
    -------
    pandas.DataFrame
        ``tile_id, region_id, tile_pos, task, log2_ratio_rep1..N, activity, valid, weight``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown weight method {method!r}; expected one of {METHODS}")
    rep_cols = replicate_columns(log_ratios)
    weight = np.zeros(len(log_ratios))
    for _, idx in log_ratios.groupby("task", sort=False).indices.items():
        sub = log_ratios.iloc[idx]
        valid = sub["valid"].to_numpy(dtype=bool)
        if not valid.any():
            continue
        reps = sub[task_replicate_columns(sub)].to_numpy(dtype=np.float64)[valid]
        if reps.shape[1] < 2:
            w = np.ones(valid.sum())
        elif method == "diagonal":
            w = diagonal_weight(reps)
        else:
            w = inverse_variance_weight(
                reps, sub["dna_count"].to_numpy(dtype=np.float64)[valid], neighbors=neighbors
            )
        weight[idx[valid]] = w
    out = log_ratios[ACTIVITY_COLUMNS + rep_cols + ["activity", "valid"]].copy()
    out["weight"] = weight
    return out
