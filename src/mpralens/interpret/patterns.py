"""Recurring patterns in attribution maps: TF-MoDISco (modisco-lite) per task, matched to JASPAR.

Input maps are the per-base tables of ``mpralens attribute`` or of the ISM stage (ISM's columns:
``chrom pos region_id task score``; one score per base, the mean over the windows holding it).
Those tables keep the score at the observed base only, not the four hypothetical scores per base
TF-MoDISco is built for (ISM's 3 substitution deltas and the gradients are reduced to one number
before the windows are averaged). So the maps are read as **contribution-only**: the hypothetical
contribution of the observed base is its score and the other three bases get 0
(``hypothetical = one_hot x score``). TF-MoDISco's seqlet calling uses the contributions only, so
it is unchanged; its clustering compares seqlets by their contributions (the hypothetical
tracks carry nothing more), a weaker similarity than full hypothetical maps give, which may split
or merge patterns differently.

Each region becomes one row of the ``(n, L, 4)`` inputs (regions shorter than the longest are
padded with all-zero positions scored 0; bases not scored count 0).

Each pattern's position frequency matrix is made from its seqlets' one-hot sequences (counts plus
``pseudocount`` per base), trimmed to the positions whose summed |contribution| is at least 30% of
the pattern's largest (modisco-lite's report trims the same way), and compared with Tomtom against
JASPAR 2024 CORE vertebrates. On simulated data, ``planted_factor`` names the catalogue factor
(:mod:`mpralens.simulate.catalog`, planted or decoy) the pattern matches with q < ``q_cutoff``
among the catalogue's 10 matrices (p-values against all of JASPAR's background, q-values over the
10; :func:`mpralens.interpret.tomtom.match`): the one of smallest p-value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.motifs import Motif

PATTERN_COLUMNS = [
    "task",
    "source",
    "pattern",
    "n_seqlets",
    "best_match",
    "best_match_id",
    "q_value",
    "planted_factor",
    "significant_matches",
]
TRIM_FRACTION = 0.3


@dataclass(frozen=True)
class Pattern:
    """One TF-MoDISco pattern of one task and source."""

    task: str
    source: str
    name: str  # pos_0, neg_1, ... (metacluster sign and rank)
    n_seqlets: int
    motif: Motif  # trimmed PFM


def region_maps(
    table: pd.DataFrame, regions: pd.DataFrame, task: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One-hot ``(n, L, 4)`` and per-base scores ``(n, L)`` of the regions scored in ``task``.

    Parameters
    ----------
    table
        A per-base score table (``chrom pos region_id task score``).
    regions
        :func:`mpralens.ism.windows.region_table` (``region_id chrom start end sequence``).
    """
    from mpralens.io.sequences import _LOOKUP

    t = table[table["task"] == task].assign(region_id=lambda d: d["region_id"].astype(str))
    regions = regions.assign(region_id=regions["region_id"].astype(str))
    regions = regions[regions["region_id"].isin(t["region_id"].unique())]
    if not len(regions):
        return np.zeros((0, 0, 4)), np.zeros((0, 0)), []
    length = int((regions["end"] - regions["start"]).max())
    n = len(regions)
    one_hot = np.zeros((n, length, 4))
    scores = np.zeros((n, length))
    by_region = dict(tuple(t.groupby("region_id", sort=False)))
    ids = []
    for i, (rid, start, seq) in enumerate(
        regions[["region_id", "start", "sequence"]].itertuples(index=False)
    ):
        codes = _LOOKUP[np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)].astype(int)
        ok = np.flatnonzero(codes >= 0)
        one_hot[i, ok, codes[ok]] = 1.0
        r = by_region[rid]
        rel = r["pos"].to_numpy(dtype=np.int64) - int(start)
        keep = (rel >= 0) & (rel < len(seq))
        scores[i, rel[keep]] = np.nan_to_num(r["score"].to_numpy(dtype=np.float64)[keep])
        ids.append(str(rid))
    scores *= one_hot.sum(axis=2)  # N bases contribute nothing
    return one_hot, scores, ids


def pattern_pfm(pattern: Any, pseudocount: float) -> tuple[np.ndarray, int]:
    """Return a modisco-lite pattern's trimmed PFM ``(w, 4)`` and its number of seqlets."""
    n = len(pattern.seqlets)
    ppc = np.asarray(pattern.per_position_counts, dtype=np.float64)[:, None]
    counts = np.asarray(pattern.sequence, dtype=np.float64) * ppc
    pfm = (counts + pseudocount) / (ppc + 4 * pseudocount)
    strength = np.abs(np.asarray(pattern.contrib_scores, dtype=np.float64)).sum(axis=1)
    if strength.max() > 0:
        keep = np.flatnonzero(strength >= TRIM_FRACTION * strength.max())
        pfm = pfm[keep.min() : keep.max() + 1]
    return pfm, n


def find_patterns(
    one_hot: np.ndarray, scores: np.ndarray, settings: Any, *, task: str, source: str
) -> list[Pattern]:
    """TF-MoDISco on contribution-only maps (see the module notes); positive patterns first."""
    from modiscolite.tfmodisco import TFMoDISco

    if len(one_hot) == 0 or not np.any(scores):
        return []
    need = settings.window_size + 2 * settings.flank_size
    if one_hot.shape[1] < need:
        raise InputError(
            f"the regions ({one_hot.shape[1]} bp) are shorter than TF-MoDISco's seqlet "
            f"({settings.window_size} bp window + 2 x {settings.flank_size} bp flanks = {need} bp)",
            key="motifs.window_size",
        )
    hyp = one_hot * scores[:, :, None]
    pos, neg = TFMoDISco(
        one_hot=one_hot.astype(np.float32),
        hypothetical_contribs=hyp.astype(np.float32),
        sliding_window_size=settings.window_size,
        flank_size=settings.flank_size,
        min_metacluster_size=settings.min_metacluster_size,
        max_seqlets_per_metacluster=settings.max_seqlets,
        target_seqlet_fdr=settings.target_seqlet_fdr,
        n_leiden_runs=settings.n_leiden_runs,
        final_min_cluster_size=settings.final_min_cluster_size,
        trim_to_window_size=max(need, 10),
        initial_flank_to_add=settings.flank_size,
    )
    out = []
    for sign, patterns in (("pos", pos), ("neg", neg)):
        for k, p in enumerate(patterns or []):
            pfm, n = pattern_pfm(p, settings.pseudocount)
            name = f"{sign}_{k}"
            out.append(Pattern(task, source, name, n, Motif(f"{source}.{task}.{name}", name, pfm)))
    return out


def catalog_targets() -> dict[str, str]:
    """Return the simulator's catalogue ``{JASPAR matrix ID: factor}``, planted then decoys."""
    from mpralens.simulate.catalog import CATALOG, DECOYS

    return {f.matrix_id: f.name for f in (*CATALOG, *DECOYS)}


def pattern_table(
    patterns: list[Pattern],
    *,
    q_cutoff: float = 0.05,
    min_information_content: float = 0.0,
    planted: bool = False,
    targets: list[Motif] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``patterns.tsv`` (:data:`PATTERN_COLUMNS`) and every Tomtom match.

    Matches are against ``targets`` (default JASPAR 2024 CORE vertebrates); ``planted_factor``
    always against the simulator's catalogue (JASPAR 2024 matrices). Patterns whose matrix holds
    fewer than ``min_information_content`` bits are not compared.
    """
    from mpralens.interpret.tomtom import match, summarise
    from mpralens.io.motifs import information_content

    names = [p.motif.motif_id for p in patterns]
    compared = [
        p for p in patterns if information_content(p.motif.probs) >= min_information_content
    ]
    queries = [p.motif.probs for p in compared]
    compared_names = [p.motif.motif_id for p in compared]
    matches = match(queries, compared_names, targets=targets)
    summary = summarise(matches, names, q_cutoff)
    planted_factor = [""] * len(patterns)
    if planted and compared:
        catalog = catalog_targets()
        cat = match(queries, compared_names, restrict_to=list(catalog))
        for i, name in enumerate(names):
            m = cat[(cat["query"] == name) & (cat["q_value"] < q_cutoff)]
            if len(m):
                planted_factor[i] = catalog[str(m.iloc[0]["target_id"])]
    table = pd.DataFrame(
        {
            "task": [p.task for p in patterns],
            "source": [p.source for p in patterns],
            "pattern": [p.name for p in patterns],
            "n_seqlets": np.array([p.n_seqlets for p in patterns], dtype=np.int64),
            "best_match": summary["best_match"].to_numpy() if patterns else [],
            "best_match_id": summary["best_match_id"].to_numpy() if patterns else [],
            "q_value": summary["q_value"].to_numpy() if patterns else [],
            "planted_factor": planted_factor,
            "significant_matches": summary["significant_matches"].to_numpy() if patterns else [],
        }
    )
    return table[PATTERN_COLUMNS], matches


def best_method(grading: pd.DataFrame | None, methods: list[str], fallback: str | None) -> str:
    """Return the method of highest mean AUROC over tasks in the grading, among ``methods``.

    Without a grading, ``fallback``, else the first of ``methods``.

    Raises
    ------
    InputError
        No method to choose from.
    """
    if grading is not None and len(grading):
        g = grading[grading["method"].isin(methods)]
        mean = g.groupby("method", sort=False)["auroc"].mean().dropna()
        if len(mean):
            return str(mean.sort_values(ascending=False, kind="stable").index[0])
    if fallback is not None:
        if fallback not in methods:
            raise InputError(
                f"best_method {fallback!r} has no attribution maps here (given: "
                f"{', '.join(methods) or 'none'})",
                key="motifs.best_method",
            )
        return fallback
    if not methods:
        raise InputError("no attribution maps given to find patterns in", key="motifs.sources")
    return methods[0]


def resolve_sources(
    sources: list[str], available: list[str], grading: pd.DataFrame | None, fallback: str | None
) -> list[str]:
    """Return the methods ``sources`` names (``best`` resolved), each once, in order.

    Raises
    ------
    InputError
        A named source has no maps among ``available``.
    """
    out: list[str] = []
    for s in sources:
        m = best_method(grading, available, fallback) if s == "best" else s
        if m not in available:
            raise InputError(
                f"source {m!r} has no attribution maps here (given: {', '.join(available)})",
                key="motifs.sources",
            )
        if m not in out:
            out.append(m)
    return out
