"""Per-task prediction metrics over valid tiles: weighted MSE, Pearson and Spearman."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def task_metrics(pred: pd.DataFrame, *, truth_column: str = "activity") -> pd.DataFrame:
    """Metrics per task.

    Parameters
    ----------
    pred
        Long table with ``task, prediction, weight`` and ``truth_column``; rows with a missing
        truth are ignored (invalid tiles).
    truth_column
        Column to compare predictions with (measured ``activity`` or a simulator's truth).

    Returns
    -------
    pandas.DataFrame
        ``task, n, weighted_mse, pearson, spearman``. Weighted MSE is
        ``sum(w * (pred - y)^2) / sum(w)`` (log2 units squared).
    """
    rows = []
    for task, g in pred.groupby("task", sort=True):
        g = g[g[truth_column].notna()]
        y, p, w = (g[c].to_numpy(dtype=np.float64) for c in (truth_column, "prediction", "weight"))
        wsum = w.sum()
        rows.append(
            {
                "task": task,
                "n": int(len(g)),
                "weighted_mse": float((w * (p - y) ** 2).sum() / wsum) if wsum > 0 else np.nan,
                "pearson": float(stats.pearsonr(p, y).statistic) if len(g) > 2 else np.nan,
                "spearman": float(stats.spearmanr(p, y).statistic) if len(g) > 2 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return np.nan
    return float(stats.pearsonr(a[ok], b[ok]).statistic)


def truth_ceiling(measured: np.ndarray, truth: np.ndarray) -> float:
    """Noise ceiling with a known truth: Pearson r of the measured activity with the true one.

    A model that predicted the true activity exactly would reach this Pearson r with the measured
    activity; no model can expect more on held-out tiles (their noise is independent of it).
    """
    return _pearson(np.asarray(measured, float), np.asarray(truth, float))


def replicate_ceiling(replicates: np.ndarray) -> float:
    """Noise ceiling from replicates: the expected Pearson r of their mean with the truth.

    Under the classical model (each replicate = truth + independent noise of equal variance), with
    ``r`` the mean Pearson r over pairs of replicates and ``m`` replicates per tile, the mean's
    reliability is ``m r / (1 + (m - 1) r)`` (Spearman-Brown) and its correlation with the truth
    is the square root of it.

    Parameters
    ----------
    replicates
        ``shape=(n_tiles, n_replicates)``; all-NaN columns (replicates a task lacks) are dropped.

    Returns
    -------
    float
        NaN with fewer than two replicates or a non-positive replicate correlation.
    """
    reps = np.asarray(replicates, float)
    reps = reps[:, np.isfinite(reps).any(axis=0)]
    m = reps.shape[1]
    if m < 2:
        return np.nan
    pairs = [_pearson(reps[:, i], reps[:, j]) for i in range(m) for j in range(i + 1, m)]
    r = float(np.nanmean(pairs)) if np.isfinite(pairs).any() else np.nan
    if not np.isfinite(r) or r <= 0:
        return np.nan
    return float(np.sqrt(m * r / (1 + (m - 1) * r)))
