"""Quality control of counts and activities: replicate agreement, valid tiles, library totals.

Replicate agreement of a task is measured over its own replicates and valid tiles: the Pearson and
Spearman correlation of every pair of replicate log2 ratios (``replicate_pairs``, keyed
``rep<i>_rep<j>``) and their means over the pairs (``replicate_pearson``, ``replicate_spearman``;
for two replicates simply their correlation). A task with one replicate, or fewer than 3 valid
tiles, has none of these keys; a correlation that is undefined (a replicate constant over the valid
tiles) is ``null``, and so is a mean over pairs that include one. ``qc.json`` never holds NaN, which
is not JSON.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats

from mpralens.data.weights import task_replicate_columns


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _mean_or_none(values: list[float | None]) -> float | None:
    # ``None not in values``: every value is a float (the checker cannot narrow a list).
    return float(np.mean(cast(list[float], values))) if values and None not in values else None


def replicate_agreement(valid_rows: pd.DataFrame, rep_cols: list[str]) -> dict:
    """Pairwise and mean replicate correlations over one task's valid tiles (module docstring).

    Returns
    -------
    dict
        ``replicate_pearson``, ``replicate_spearman`` and ``replicate_pairs``; empty with fewer
        than two replicates or three tiles.
    """
    if len(rep_cols) < 2 or len(valid_rows) < 3:
        return {}
    pairs = {}
    with warnings.catch_warnings():
        # A constant replicate makes the correlation undefined: reported as null, not warned.
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for a, b in itertools.combinations(rep_cols, 2):
            x, y = valid_rows[a].to_numpy(), valid_rows[b].to_numpy()
            name = f"{a.removeprefix('log2_ratio_')}_{b.removeprefix('log2_ratio_')}"
            pairs[name] = {
                "pearson": _finite_or_none(stats.pearsonr(x, y).statistic),
                "spearman": _finite_or_none(stats.spearmanr(x, y).statistic),
            }
    return {
        "replicate_pearson": _mean_or_none([p["pearson"] for p in pairs.values()]),
        "replicate_spearman": _mean_or_none([p["spearman"] for p in pairs.values()]),
        "replicate_pairs": pairs,
    }


def qc_summary(
    counts: pd.DataFrame, activity: pd.DataFrame, sheet: pd.DataFrame, tiles: pd.DataFrame
) -> dict:
    """Numbers for ``qc.json``.

    Returns
    -------
    dict
        ``libraries``: per library its molecule, total reads, fraction of zero-count tiles and mean
        barcodes per tile; ``tasks``: per task the number and fraction of valid tiles, its
        number of replicates and their agreement over valid tiles (module docstring).
    """
    libs = {}
    for row in sheet.itertuples(index=False):
        c = counts[row.library].to_numpy()
        libs[row.library] = {
            "molecule": row.molecule,
            "total_reads": int(c.sum()),
            "zero_fraction": float((c == 0).mean()),
            "mean_barcodes_per_tile": float(tiles["n_barcodes"].mean())
            if "n_barcodes" in tiles
            else 1.0,
        }
    tasks = {}
    for task, g in activity.groupby("task", sort=True):
        v = g[g["valid"]]
        rep_cols = task_replicate_columns(g)
        tasks[task] = {
            "n_tiles": int(len(g)),
            "n_valid": int(len(v)),
            "valid_fraction": float(g["valid"].mean()),
            "n_replicates": len(rep_cols),
            **replicate_agreement(v, rep_cols),
        }
    return {"libraries": libs, "tasks": tasks}


def write_qc_json(summary: dict, path) -> None:
    """Write ``qc.json`` (sorted keys; NaN is refused, the summary holds None instead)."""
    text = json.dumps(summary, indent=2, sort_keys=True, allow_nan=False)
    Path(path).write_text(text + "\n")
