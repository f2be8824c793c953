"""The k-mer model's own exact attribution (no gradient: the model is linear in k-mer counts).

A k-mer model predicts ``f(s) = b + sum_j w[kmer_j(s)]`` over the k-mers ``kmer_j`` of ``s``.
The attribution of base ``i`` is the sum of the weights of the k-mers covering it,
``a_i = sum_{j <= i < j + k} w[kmer_j]``; each k-mer's weight is counted at each of its ``k``
bases, so ``sum_i a_i = k * (f(s) - b)``. k-mers holding an N are not counted (as in the model),
and N bases score NaN.
"""

from __future__ import annotations

import numpy as np

from mpralens.io.sequences import _LOOKUP


def kmer_attribution(seq: str, k: int, coef: np.ndarray) -> np.ndarray:
    """Per-base attribution of ``seq``, ``shape=(len(seq), n_tasks)``.

    Parameters
    ----------
    coef
        Weights ``shape=(n_tasks, 4**k)`` (base-4 k-mer codes, first base most significant).
    """
    codes = _LOOKUP[np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)].astype(np.int64)
    length, n_tasks = len(codes), coef.shape[0]
    out = np.zeros((length, n_tasks))
    n_kmers = length - k + 1
    if n_kmers > 0:
        digits = np.stack([codes[i : i + n_kmers] for i in range(k)], axis=1)  # (n_kmers, k)
        place = 4 ** np.arange(k - 1, -1, -1)
        code = (np.maximum(digits, 0) * place).sum(axis=1)
        has_n = (digits < 0).sum(axis=1) > 0
        w = np.where(has_n[:, None], 0.0, coef[:, code].T)  # (n_kmers, T)
        # Prefix sums: base i collects k-mers j in [i - k + 1, i].
        csum = np.vstack([np.zeros((1, n_tasks)), np.cumsum(w, axis=0)])
        i = np.arange(length)
        hi = np.minimum(i, n_kmers - 1) + 1
        lo = np.clip(i - k + 1, 0, n_kmers)
        out = csum[hi] - csum[lo]
    out[np.flatnonzero(codes < 0)] = np.nan
    return out
