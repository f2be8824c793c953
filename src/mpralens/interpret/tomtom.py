"""Tomtom motif comparison (memelite's re-implementation) against JASPAR 2024 CORE vertebrates.

memelite's :func:`memelite.tomtom` returns, for every query and target, the p-value of the best
alignment (either strand of the target, overhangs allowed, "complete score"), its score, offset,
overlap and strand; **it returns no q-value**. As MEME's Tomtom does, :func:`match` adds the
Benjamini-Hochberg q-value of each p-value among the targets of the same query.

The p-values use the target columns as the null background, so they depend on the target set;
memelite warns below 25 targets. :func:`match` therefore always compares against the whole
database (879 matrices) and, when ``restrict_to`` names a subset (the simulator's 10 catalogue
matrices), keeps that subset's p-values and computes the q-values over the subset only.

Compilation: memelite's kernels are numba ``@njit(cache=True)``: the first call in an environment
compiles them (about 60 s of one core here) into ``__pycache__`` next to memelite's sources, inside
the environment (the venv or the workflow's conda env; ``NUMBA_CACHE_DIR`` or the user's cache
folder when that is not writable); every later process loads them from there (about 2 s). Jobs that
reach their first call while that cache is cold (the ``filters`` and ``patterns`` jobs of one DAG,
two DAG runs side by side) would each compile the same kernels. :func:`compile_kernels` therefore
makes each process's first call on a small problem of the workflow's own types, under a lock file
shared by the processes of one machine and one cache: one of them compiles, the others wait and
then load the compiled kernels. ``python -m mpralens.interpret.tomtom`` does it ahead of a run (the
test suite starts it in the background as it begins).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.data.element_tests import bh
from mpralens.io.motifs import Motif, jaspar_core_vertebrates

log = logging.getLogger(__name__)

# A process waits this long for another one's compilation before compiling the kernels itself.
LOCK_TIMEOUT_S = 1800.0
_compiled = False

MATCH_COLUMNS = [
    "query",
    "target_id",
    "target_name",
    "p_value",
    "q_value",
    "score",
    "offset",
    "overlap",
    "strand",
]


def match(
    queries: Sequence[np.ndarray],
    names: Sequence[str],
    *,
    targets: Sequence[Motif] | None = None,
    restrict_to: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Compare each query matrix with every target; all pairs, sorted by query then p-value.

    Parameters
    ----------
    queries
        Probability matrices ``(length, 4)`` (columns A, C, G, T).
    names
        One label per query (the ``query`` column).
    targets
        Target motifs; default JASPAR 2024 CORE vertebrates.
    restrict_to
        Target IDs to keep; their q-values are computed among them only (p-values still against
        the whole target set's background).

    Returns
    -------
    pandas.DataFrame
        :data:`MATCH_COLUMNS`; ``strand`` ``+`` or ``-`` (the target's strand in the best
        alignment).
    """
    if len(queries) != len(names):
        raise ValueError("one name per query")
    targets = list(jaspar_core_vertebrates() if targets is None else targets)
    if not queries:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    compile_kernels()
    p, scores, offsets, overlaps, strands = _tomtom(queries, targets)
    keep = np.arange(len(targets))
    if restrict_to is not None:
        wanted = set(restrict_to)
        keep = np.array([j for j, t in enumerate(targets) if t.motif_id in wanted], dtype=int)
    parts = []
    for i, name in enumerate(names):
        pi = np.clip(p[i, keep], 0.0, 1.0)
        parts.append(
            pd.DataFrame(
                {
                    "query": name,
                    "target_id": [targets[j].motif_id for j in keep],
                    "target_name": [targets[j].name for j in keep],
                    "p_value": pi,
                    "q_value": bh(pi),
                    "score": scores[i, keep],
                    "offset": offsets[i, keep].astype(int),
                    "overlap": overlaps[i, keep].astype(int),
                    "strand": np.where(strands[i, keep] > 0, "-", "+"),
                }
            ).sort_values("p_value", kind="stable")
        )
    return pd.concat(parts, ignore_index=True)[MATCH_COLUMNS]


def _tomtom(queries: Sequence[np.ndarray], targets: Sequence[Motif]) -> tuple[np.ndarray, ...]:
    """Run memelite's Tomtom on ``(length, 4)`` queries.

    Queries and targets go in as C-ordered float64 ``(4, length)`` arrays from every caller, so
    one compiled version of the kernels serves them all.
    """
    from memelite import tomtom

    qs = [np.ascontiguousarray(np.asarray(q, dtype=np.float64).T) for q in queries]
    ts = [np.ascontiguousarray(t.probs.T.astype(np.float64)) for t in targets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # few targets: see module docs
        return tuple(tomtom(qs, ts)[:5])


def lock_path() -> Path:
    """Return the lock file of memelite's compiled kernels.

    One per installed memelite, numba, Python and ``NUMBA_CACHE_DIR``, in the machine's temporary
    folder.
    """
    import memelite
    import numba

    key = "|".join(
        [
            str(memelite.__file__),
            numba.__version__,
            sys.version,
            os.environ.get("NUMBA_CACHE_DIR", ""),
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"mpralens-memelite-kernels-{digest}.lock"


def _warm() -> None:
    """Run Tomtom on 7 queries of 6-20 columns against the whole database.

    That compiles (or loads) every kernel the workflow's calls use: 4- and 2-query blocks and the
    odd one.
    """
    rng = np.random.default_rng(0)
    queries = [rng.dirichlet(np.ones(4), size=w) for w in (6, 8, 10, 12, 15, 19, 20)]
    _tomtom(queries, jaspar_core_vertebrates())


def compile_kernels() -> float:
    """Have memelite's kernels ready in this process; return the seconds it took.

    They are compiled into numba's cache only if no other process has; 0 s after the first call.

    Processes of one machine take turns through :func:`lock_path`'s lock: the first compiles and
    writes the cache, the others find it written. After :data:`LOCK_TIMEOUT_S` a waiting process
    compiles on its own, as does one that cannot open the lock file.
    """
    global _compiled
    if _compiled:
        return 0.0
    from filelock import FileLock, Timeout

    start = time.perf_counter()
    path = lock_path()
    # Mode 0o666: on a machine shared by several users (one conda env, one /tmp), each can lock.
    lock = FileLock(path, timeout=LOCK_TIMEOUT_S, mode=0o666)
    try:
        lock.acquire()
    except Timeout:  # an OSError too: caught first
        log.warning(
            "waited %.0f s for another process compiling memelite's kernels (%s); compiling here",
            LOCK_TIMEOUT_S,
            path,
        )
    except OSError as err:  # the lock file cannot be opened: compile without it
        log.warning("cannot lock %s (%s); compiling memelite's kernels without it", path, err)
    try:  # only taking the lock falls back; an error of the compile itself propagates
        _warm()
    finally:
        if lock.is_locked:
            lock.release()
    _compiled = True
    return time.perf_counter() - start


def summarise(matches: pd.DataFrame, names: Sequence[str], cutoff: float) -> pd.DataFrame:
    """Summarise the matches in one row per query.

    ``best_match``, ``best_match_id``, ``q_value`` (the lowest-p target) and
    ``significant_matches`` (``;``-joined target IDs with q < ``cutoff``, by p; empty if none).
    """
    rows = []
    for name in names:
        m = matches[matches["query"] == name]
        if not len(m):
            rows.append((name, "", "", float("nan"), ""))
            continue
        best = m.iloc[0]
        sig = m.loc[m["q_value"] < cutoff, "target_id"]
        rows.append(
            (name, best["target_name"], best["target_id"], float(best["q_value"]), ";".join(sig))
        )
    return pd.DataFrame(
        rows, columns=["query", "best_match", "best_match_id", "q_value", "significant_matches"]
    )


def main() -> int:
    """Compile (or load) memelite's kernels and say how long it took.

    ``python -m mpralens.interpret.tomtom``.
    """
    seconds = compile_kernels()
    print(f"mpralens: memelite's Tomtom kernels ready in {seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
