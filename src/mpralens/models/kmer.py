"""k-mer regression baseline (Paggi et al. 2017): sparse k-mer counts, one linear model per task.

Features are counts of all ``4**k`` k-mers of a tile (both strands are not merged: the MPRA
construct is stranded). The matrix is ``scipy.sparse`` CSR with one row per tile and at most
``length - k + 1`` non-zeros per row, so k = 8 at the full Sharpr scale (487,137 tiles) needs about
0.5 GB rather than the 64 GB a dense matrix would. k-mers holding an N are skipped.

Each task gets its own regressor fitted on the task's valid training tiles with the replicate
weights as sample weights: ``SGDRegressor`` as in the paper (squared loss, L2 penalty) or ``Ridge``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import Ridge, SGDRegressor

from mpralens.io.errors import InputError
from mpralens.io.sequences import _LOOKUP

METHODS = ("sgd", "ridge")


def kmer_matrix(
    seqs: list[str], k: int = 6, *, dtype=np.float32, chunk: int = 20000
) -> sp.csr_matrix:
    """Count the k-mers of every sequence.

    Parameters
    ----------
    seqs
        Sequences over ACGTN, any lengths.
    k
        k-mer length (1..12).
    chunk
        Sequences encoded at a time; bounds the temporary memory to a few hundred MB.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``shape=(len(seqs), 4**k)``; entry (i, j) counts k-mer j (base-4 code, A=0 C=1 G=2 T=3,
        first base most significant) in sequence i.
    """
    if not 1 <= k <= 12:
        raise ValueError(f"k must be between 1 and 12, got {k}")
    parts = [_kmer_chunk(seqs[i : i + chunk], k, dtype) for i in range(0, len(seqs), chunk)]
    if not parts:
        return sp.csr_matrix((0, 4**k), dtype=dtype)
    return sp.vstack(parts, format="csr")


def _kmer_chunk(seqs: list[str], k: int, dtype) -> sp.csr_matrix:
    n = len(seqs)
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=n)
    codes = _LOOKUP[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)]
    total = len(codes)
    if total < k:
        return sp.csr_matrix((n, 4**k), dtype=dtype)
    # Rolling base-4 code of the k-mer starting at every position of the concatenation (windows
    # that cross a sequence boundary are computed too and dropped below).
    width = total - k + 1
    code = np.zeros(width, dtype=np.int32 if k <= 15 else np.int64)
    has_n = np.zeros(width, dtype=bool)
    for j in range(k):
        c = codes[j : j + width]
        code = code * 4 + np.maximum(c, 0)
        has_n |= c < 0
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_win = np.maximum(lengths - k + 1, 0)
    offsets = np.concatenate([[0], np.cumsum(n_win)[:-1]])
    win_start = np.repeat(starts - offsets, n_win) + np.arange(n_win.sum())
    row = np.repeat(np.arange(n), n_win)
    keep = ~has_n[win_start]
    mat = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=dtype), (row[keep], code[win_start[keep]])), shape=(n, 4**k)
    )
    mat.sum_duplicates()
    return mat


@dataclass
class KmerModel:
    """One linear model per task on k-mer counts.

    Attributes
    ----------
    k
        k-mer length.
    tasks
        Task names, in output column order.
    method
        ``"sgd"`` or ``"ridge"``.
    models
        Fitted regressors, one per task.
    """

    k: int
    tasks: list[str]
    method: str = "sgd"
    models: list = field(default_factory=list)

    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """Linear weights ``shape=(n_tasks, 4**k)`` and intercepts ``shape=(n_tasks,)``."""
        coef = np.vstack([np.ravel(m.coef_) for m in self.models])
        intercept = np.array([float(np.ravel(m.intercept_)[0]) for m in self.models])
        return coef, intercept

    def predict(self, seqs: list[str]) -> np.ndarray:
        """Predicted activity, ``shape=(len(seqs), len(tasks))``, log2 units."""
        coef, intercept = self.coefficients()
        return np.asarray(kmer_matrix(seqs, self.k, dtype=np.float64) @ coef.T) + intercept

    def save(self, path: str | PathLike[str]) -> None:
        """Write the model as ``.npz`` (see :meth:`LoadedKmerModel.save`)."""
        coef, intercept = self.coefficients()
        LoadedKmerModel(self.k, list(self.tasks), self.method, coef, intercept).save(path)


@dataclass
class LoadedKmerModel:
    """A k-mer model restored from :meth:`KmerModel.save` (prediction only)."""

    k: int
    tasks: list[str]
    method: str
    coef: np.ndarray
    intercept: np.ndarray

    def predict(self, seqs: list[str]) -> np.ndarray:
        """Predicted activity, ``shape=(len(seqs), len(tasks))``, log2 units."""
        return (
            np.asarray(kmer_matrix(seqs, self.k, dtype=np.float64) @ self.coef.T.astype(np.float64))
            + self.intercept
        )

    def save(self, path: str | PathLike[str]) -> None:
        """Write the model as ``.npz`` (plain arrays, ``coef`` as float32: loads without pickle)."""
        with open(path, "wb") as fh:
            np.savez_compressed(
                fh,
                k=self.k,
                tasks=np.array(self.tasks),
                method=self.method,
                coef=np.asarray(self.coef, dtype=np.float32),
                intercept=np.asarray(self.intercept),
            )


def load_kmer_model(path: str | PathLike[str]) -> LoadedKmerModel:
    """Load a saved k-mer model (``allow_pickle=False``)."""
    try:
        z = np.load(path, allow_pickle=False)
        return LoadedKmerModel(
            int(z["k"]), [str(t) for t in z["tasks"]], str(z["method"]), z["coef"], z["intercept"]
        )
    except FileNotFoundError as exc:
        raise InputError("model file not found", path=path) from exc
    except Exception as exc:  # noqa: BLE001 - a bad zip, a missing array, a wrong type: bad input
        raise InputError(
            f"not a saved mpralens k-mer model ({type(exc).__name__}: {exc})", path=path
        ) from exc


def fit_kmer(
    seqs: list[str],
    y: np.ndarray,
    w: np.ndarray,
    tasks: list[str],
    *,
    k: int = 6,
    method: str = "sgd",
    alpha: float = 1e-4,
    seed: int = 0,
) -> KmerModel:
    """Fit one regressor per task.

    Parameters
    ----------
    seqs
        Training sequences.
    y, w
        Activities and weights, ``shape=(len(seqs), len(tasks))``; entries with NaN ``y`` or zero
        ``w`` are left out of that task's fit.
    alpha
        L2 penalty (``SGDRegressor.alpha`` or ``Ridge.alpha`` scaled by the number of tiles).

    Raises
    ------
    InputError
        A task has no tile to fit on (key ``normalize.min_dna``; the command line refuses this
        earlier, naming the files: :func:`mpralens.data.training.require_tiles`).
    """
    if method not in METHODS:
        raise ValueError(f"unknown k-mer method {method!r}; expected one of {METHODS}")
    x = kmer_matrix(seqs, k)
    model = KmerModel(k=k, tasks=list(tasks), method=method)
    for j in range(len(tasks)):
        ok = np.isfinite(y[:, j]) & (w[:, j] > 0)
        if not ok.any():
            raise InputError(
                f"task {tasks[j]} has no valid tile with a positive weight to fit on",
                key="normalize.min_dna",
            )
        if method == "sgd":
            reg = SGDRegressor(
                loss="squared_error",
                penalty="l2",
                alpha=alpha,
                max_iter=50,
                tol=1e-4,
                random_state=seed,
                learning_rate="invscaling",
                eta0=0.002,
            )
        else:
            reg = Ridge(alpha=alpha * ok.sum(), random_state=seed)
        reg.fit(x[ok], y[ok, j], sample_weight=w[ok, j])
        model.models.append(reg)
    return model
