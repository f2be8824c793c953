"""Information metrics of a sort-seq model on held-out data, in bits (MAVE-NN's definitions).

* negative log-likelihood per read: ``-mean log2 p(bin | phi)``;
* variational information: ``H[bin] - NLL`` (a lower bound on ``I[phi; bin]``);
* predictive information: ``I[phi; bin]`` estimated non-parametrically with the k-nearest-neighbour
  estimator for a continuous and a discrete variable (Ross 2014; scikit-learn's
  ``mutual_info_classif``, k = 5), one observation per read.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.feature_selection import mutual_info_classif


def entropy_bits(counts: np.ndarray) -> float:
    """Entropy of the bin marginal, bits."""
    p = counts.sum(axis=0) / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def predictive_information(
    phi: np.ndarray, counts: np.ndarray, *, k: int = 5, seed: int = 0
) -> float:
    """KNN estimate of ``I[phi; bin]`` in bits, one observation per read.

    Parameters
    ----------
    phi
        Latent activity per variant, ``(n,)``.
    counts
        Reads per variant and bin, ``(n, n_bins)`` integers.
    """
    counts = counts.astype(np.int64)
    rows, bins = np.nonzero(counts)
    reps = counts[rows, bins]
    x = np.repeat(phi[rows], reps)[:, None]
    y = np.repeat(bins, reps)
    mi = mutual_info_classif(x, y, discrete_features=False, n_neighbors=k, random_state=seed)[0]
    return float(mi / math.log(2))
