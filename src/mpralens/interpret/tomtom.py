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
compiles them (138 s measured here) into ``__pycache__`` next to memelite's sources, inside the
environment (the venv or the workflow's conda env); every later process loads them from there
(2.6 s for the first call of a new process, 0.04 s for later calls). When that folder is not
writable numba falls back to ``NUMBA_CACHE_DIR`` or the user's cache folder.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from mpralens.data.element_tests import bh
from mpralens.io.motifs import Motif, jaspar_core_vertebrates

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
    from memelite import tomtom

    qs = [np.ascontiguousarray(np.asarray(q, dtype=np.float64).T) for q in queries]
    ts = [np.ascontiguousarray(t.probs.T.astype(np.float64)) for t in targets]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # few targets: see module docs
        p, scores, offsets, overlaps, strands = tomtom(qs, ts)[:5]
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
