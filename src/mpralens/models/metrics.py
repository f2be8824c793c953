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
