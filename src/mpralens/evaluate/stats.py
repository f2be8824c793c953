"""Statistics of a per-base score against a per-base label (Paggi et al., Figs 7-9).

* **quantile curve**: bases sorted by score (stable: ties keep genome order) and cut into
  ``n_bins`` bins of (near) equal size; per bin the mean score and the mean label. The paper uses
  5000 bins; a data set with fewer bases than bins gets one base per bin.
* **binned Spearman**: Spearman between the bins' mean score and mean label, over all bins and, as
  in the reference analysis, over the bins with mean score >= 0 (activating bases).
* **per-base** Spearman and AUROC of the score against the label.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

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
