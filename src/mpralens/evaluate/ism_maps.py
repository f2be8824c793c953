"""Evaluate an ISM map: every number of Paggi et al.'s Figs 7-9 and the figures themselves.

Inputs are the ``ism`` rule's per-base table and whichever annotations the data set has; each
analysis runs when its annotation is given. :func:`evaluate` returns ``summary`` (every number
shown, written as ``summary.json``) and the tables behind the figures.
"""

from __future__ import annotations

import json
import math
from os import PathLike

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from mpralens.evaluate import labels as ev
from mpralens.evaluate import stats as st
from mpralens.io.errors import InputError

TSS_MAX = 2000  # bp upstream of a TSS drawn in Fig 9 bottom
TSS_BIN = 100


def _metrics(scores, labels, n_bins, rng) -> tuple[dict[str, float], pd.DataFrame]:
    """Binned and per-base statistics of one task and annotation, and against shuffled scores.

    ``score_ge_0``: bins with mean score >= 0 (the reference analysis); ``abs``: bins of
    ``|score|`` (importance whatever the sign: conserved repressor sites score negative).
    """
    shuffled = rng.permutation(scores)
    curve = st.quantile_curve(scores, labels, n_bins)
    curve_shuffled = st.quantile_curve(shuffled, labels, n_bins)
    out = {
        "binned_spearman": st.binned_spearman(curve),
        "binned_spearman_score_ge_0": st.binned_spearman(curve, nonnegative=True),
        "binned_spearman_abs": st.binned_spearman(
            st.quantile_curve(np.abs(scores), labels, n_bins)
        ),
        "shuffled_binned_spearman": st.binned_spearman(curve_shuffled),
        "shuffled_binned_spearman_score_ge_0": st.binned_spearman(curve_shuffled, nonnegative=True),
        "shuffled_binned_spearman_abs": st.binned_spearman(
            st.quantile_curve(np.abs(shuffled), labels, n_bins)
        ),
        "positive_fraction": float(np.mean(labels)),
        **st.base_metrics(scores, labels),
        "auroc_abs": st.base_metrics(np.abs(scores), labels)["auroc"],
    }
    return out, curve


def evaluate(
    table: pd.DataFrame,
    *,
    conservation: str | PathLike[str] | None = None,
    threshold: float = 2.0,
    tf_sites: dict[str, str | PathLike[str]] | None = None,
    tss: str | PathLike[str] | None = None,
    reference: pd.DataFrame | None = None,
    n_bins: int = st.N_BINS,
    seed: int = 0,
    scores_path: str | PathLike[str] | None = None,
) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Evaluate per-base ISM scores (the ``ism`` rule's table) against the annotations given.

    Parameters
    ----------
    tf_sites
        TF-site BED per cell name; every cell must own a task (:func:`evaluation.cell_of`).
    reference
        Per-base reference scores ``region_id, offset, value`` and optionally ``task`` (Sharpr
        scores, or the simulator's per-base truth), for Fig 7.
    scores_path
        Where ``table`` came from, for messages.

    Returns
    -------
    tuple
        ``summary`` (JSON-ready: an undefined statistic is ``None``, never NaN) and
        ``{"curves", "reference", "tf", "tss"}`` tables (empty when not computed).
    """
    rng = np.random.default_rng(seed)
    t = table[table["n_windows"] > 0].dropna(subset=["score"]).reset_index(drop=True)
    all_tasks = sorted(table["task"].astype(str).unique())
    tasks = sorted(t["task"].unique())
    if not tasks or len(tasks) < len(all_tasks):
        empty = [k for k in all_tasks if k not in tasks]
        what = f"task(s) {', '.join(empty)} have" if tasks else "the scores have"
        raise InputError(
            f"{what} no scored base ({len(table)} rows, none of them with n_windows > 0 and a "
            "score): nothing to evaluate",
            path=scores_path,
        )
    cell_tasks = _cell_tasks(tasks, tf_sites or {})
    summary: dict = {
        "bases": int(t.groupby("task").size().min()) if len(t) else 0,
        "n_bins": n_bins,
        "tasks": {k: {} for k in tasks},
    }
    tables: dict[str, pd.DataFrame] = {}
    curves = []
    # One row per base (the tasks' scores are columns) for labelling.
    wide = t.pivot_table(
        index=["chrom", "pos", "region_id"], columns="task", values="score", aggfunc="first"
    ).reset_index()
    chrom, pos = wide["chrom"].to_numpy(), wide["pos"].to_numpy(dtype=np.int64)
    labels = {}
    if conservation is not None:
        conserved = ev.conservation_labels(conservation, chrom, pos, threshold=threshold)
        labels["conservation"] = dict.fromkeys(tasks, conserved)
    if tf_sites:
        sites = {c: ev.read_annotation(p, chrom) for c, p in tf_sites.items()}
        cell_labels = {
            c: ev.annotation_labels(
                tf_sites[c],
                chrom,
                pos,
                what=f"TF-site BED of cell {c}",
                option=f"--tf-sites {c}=",
                key=f"datasets.<name>.tf_sites.{c}",
                intervals=s,
            )
            for c, s in sites.items()
        }
        labels["tf_sites"] = {k: cell_labels[c] for c, ks in cell_tasks.items() for k in ks}
    for annotation, per_task in labels.items():
        for task, lab in per_task.items():
            ok = wide[task].notna().to_numpy()
            m, curve = _metrics(wide[task].to_numpy()[ok], lab[ok], n_bins, rng)
            summary["tasks"][task][annotation] = m
            curves.append(curve.assign(task=task, annotation=annotation))
    tables["curves"] = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    if reference is not None:
        tables["reference"] = _against_reference(t, reference, summary)
    if tf_sites:
        tables["tf"] = _per_tf(wide, cell_tasks, sites, summary)
    if tss is not None:
        tables["tss"] = _tss_profile(wide, tasks, _read_tss(tss, chrom), summary)
    return json_ready(summary), tables


def _cell_tasks(tasks: list[str], tf_sites: dict) -> dict[str, list[str]]:
    """Return the tasks of each annotated cell; a cell that owns no task is an error."""
    owner = {k: ev.cell_of(k, tf_sites) for k in tasks}
    out = {c: [k for k in tasks if owner[k] == c] for c in tf_sites}
    for c, ks in out.items():
        if not ks:
            raise InputError(
                f"the TF-site BED is given for cell {c!r} (--tf-sites {c}=...), which names no "
                f"task's cell: the ISM scores' tasks are {', '.join(tasks)} "
                "(a task <cell>_<promoter> belongs to the longest cell name it starts with)",
                path=tf_sites[c],
                key=f"datasets.<name>.tf_sites.{c}",
            )
    return out


def _read_tss(path, chrom: np.ndarray) -> pd.DataFrame:
    """Read the TSS BED, chromosomes renamed to the scores'; none on a scored one: error."""
    tss = ev.read_tss(path)
    mapping = ev.chromosome_map(tss["chrom"].unique(), pd.unique(chrom), path=path)
    if mapping:
        tss = tss.assign(chrom=tss["chrom"].replace(mapping))
    if not tss["chrom"].isin(pd.unique(chrom)).any():
        raise ev.no_overlap_error(
            path,
            tss["chrom"],
            chrom,
            what="TSS BED",
            option="--tss",
            key="datasets.<name>.tss",
            mapped=True,
            covers="has a TSS on the chromosome of",
        )
    return tss


def json_ready(value):
    """``value`` with every non-finite float (NaN, inf) replaced by ``None`` (JSON null)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def summary_json(summary: dict) -> str:
    """``summary.json`` text: strict JSON (undefined statistics are ``null``, never NaN)."""
    return json.dumps(json_ready(summary), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _against_reference(t: pd.DataFrame, reference: pd.DataFrame, summary: dict) -> pd.DataFrame:
    start = t.groupby("region_id")["pos"].transform("min")
    t = t.assign(offset=t["pos"] - start)
    on = ["region_id", "offset"] + (["task"] if "task" in reference.columns else [])
    j = t.merge(reference, on=on, how="inner")
    for task, g in j.groupby("task"):
        summary["tasks"][task]["reference"] = {
            "bases": int(len(g)),
            "spearman": float(spearmanr(g["score"], g["value"]).statistic),
        }
    return j[["region_id", "offset", "task", "score", "value"]]


def _per_tf(wide, cell_tasks, sites, summary) -> pd.DataFrame:
    rows = []
    for cell, s in sites.items():
        score = wide[cell_tasks[cell]].mean(axis=1).to_numpy()
        hits = ev.site_names(wide["chrom"].to_numpy(), wide["pos"].to_numpy(), s)
        means = (
            pd.DataFrame({"name": hits["name"], "score": score[hits["row"].astype(int)]})
            .groupby("name")["score"]
            .agg(["mean", "size"])
        )
        rows.append(means.assign(cell=cell).reset_index())
    per_tf = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    cells = sorted(per_tf["cell"].unique()) if len(per_tf) else []
    if len(cells) >= 2:
        a, b = cells[:2]
        w = per_tf.pivot_table(index="name", columns="cell", values="mean").dropna()
        diff = (w[a] - w[b]).sort_values(key=np.abs, ascending=False)
        summary["tf_by_cell"] = {
            "cells": [a, b],
            "tfs": int(len(w)),
            "pearson": float(np.corrcoef(w[a], w[b])[0, 1]) if len(w) > 2 else float("nan"),
            "largest_differences": {k: float(v) for k, v in diff.head(5).items()},
            "mean_score": {name: {a: float(r[a]), b: float(r[b])} for name, r in w.iterrows()},
        }
    return per_tf


def _tss_profile(wide, tasks, tss, summary) -> pd.DataFrame:
    dist = ev.tss_distance(wide["chrom"].to_numpy(), wide["pos"].to_numpy(), tss)
    scores = wide[tasks].to_numpy()
    near = np.isfinite(dist) & (dist >= 0) & (dist < TSS_MAX)
    flat = scores[np.isfinite(scores)]
    hi, lo = np.quantile(flat, 0.95), np.quantile(flat, 0.05)
    edges = np.arange(0, TSS_MAX + TSS_BIN, TSS_BIN)
    out = {"bin_start": edges[:-1]}
    for name, mask in (
        ("activating", scores >= hi),
        ("repressive", scores <= lo),
        ("all", np.isfinite(scores)),
    ):
        d = np.repeat(dist[:, None], len(tasks), axis=1)[mask & near[:, None]]
        counts, _ = np.histogram(d, bins=edges)
        out[name] = counts / max(counts.sum(), 1) / TSS_BIN
    profile = pd.DataFrame(out)
    summary["tss"] = {
        "bases_within_bp": TSS_MAX,
        "bases_near_tss": int(near.sum()),
        "activating_threshold": float(hi),
        "repressive_threshold": float(lo),
        "activating_median_distance": _median_distance(profile, "activating"),
        "repressive_median_distance": _median_distance(profile, "repressive"),
        "all_median_distance": _median_distance(profile, "all"),
    }
    return profile


def _median_distance(profile: pd.DataFrame, column: str) -> float:
    c = np.cumsum(profile[column].to_numpy())
    if c[-1] == 0:
        return float("nan")
    return float(profile["bin_start"].to_numpy()[np.searchsorted(c, c[-1] / 2)] + TSS_BIN / 2)
