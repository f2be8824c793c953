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
    n, k = len(order), min(n_bins, len(order))
    # np.array_split's bins: the first n % k hold one base more than the others.
    sizes = np.full(k, n // k if k else 0, dtype=np.int64)
    sizes[: n % k if k else 0] += 1
    return pd.DataFrame(
        {
            "bin": np.arange(k),
            "n": sizes,
            "mean_score": _bin_means(scores[order], sizes),
            "mean_label": _bin_means(labels[order], sizes),
        }
    )


def _bin_means(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Means of consecutive bins of ``values`` (``sizes``: a run of one size, then one less).

    Each run is a matrix of one bin per row, so numpy reduces every bin as it reduces an array
    of its own: the same sums, bit for bit, as a ``mean()`` per bin, without a Python loop over
    5000 bins.
    """
    if not len(sizes):
        return np.empty(0)
    big = int(sizes[0])
    n_big = int(np.count_nonzero(sizes == big))
    head = values[: n_big * big].reshape(n_big, big).mean(axis=1)
    rest = values[n_big * big :]
    if not len(rest):
        return head
    return np.concatenate([head, rest.reshape(-1, big - 1).mean(axis=1)])


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
