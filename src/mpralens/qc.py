"""Quality control of counts and activities: replicate agreement, valid tiles, library totals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from mpralens.weights import replicate_columns


def qc_summary(
    counts: pd.DataFrame, activity: pd.DataFrame, sheet: pd.DataFrame, tiles: pd.DataFrame
) -> dict:
    """Numbers for ``qc.json``.

    Returns
    -------
    dict
        ``libraries``: per library its molecule, total reads, fraction of zero-count tiles and mean
        barcodes per tile; ``tasks``: per task the number and fraction of valid tiles and the
        Pearson and Spearman correlation of replicate 1 and 2 log2 ratios over valid tiles.
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
    rep_cols = replicate_columns(activity)
    for task, g in activity.groupby("task", sort=True):
        v = g[g["valid"]]
        entry = {
            "n_tiles": int(len(g)),
            "n_valid": int(len(v)),
            "valid_fraction": float(g["valid"].mean()),
        }
        if len(rep_cols) >= 2 and len(v) > 2:
            a, b = v[rep_cols[0]].to_numpy(), v[rep_cols[1]].to_numpy()
            entry["replicate_pearson"] = float(stats.pearsonr(a, b).statistic)
            entry["replicate_spearman"] = float(stats.spearmanr(a, b).statistic)
        tasks[task] = entry
    return {"libraries": libs, "tasks": tasks}


def write_qc(
    summary: dict,
    counts: pd.DataFrame,
    activity: pd.DataFrame,
    sheet: pd.DataFrame,
    *,
    json_path,
    replicates_png,
    counts_png,
) -> None:
    """Write ``qc.json`` and the two QC figures (paths are final; caller handles atomicity)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    Path(json_path).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    rep_cols = replicate_columns(activity)
    tasks = sorted(activity["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        v = activity[(activity["task"] == task) & activity["valid"]]
        if len(rep_cols) >= 2:
            ax.scatter(v[rep_cols[0]], v[rep_cols[1]], s=2, alpha=0.3, rasterized=True)
            r = summary["tasks"][task].get("replicate_pearson", float("nan"))
            ax.set_title(f"{task}\nPearson r = {r:.2f}", fontsize=9)
            ax.set_xlabel("rep1 log2(RNA/DNA)")
            ax.set_ylabel("rep2 log2(RNA/DNA)")
        else:
            ax.hist(v[rep_cols[0]], bins=50)
            ax.set_title(task, fontsize=9)
    fig.tight_layout()
    fig.savefig(replicates_png, dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for row in sheet.itertuples(index=False):
        ax.hist(
            np.log10(counts[row.library].to_numpy() + 1.0),
            bins=60,
            histtype="step",
            label=row.library,
        )
    ax.set_xlabel("log10(count + 1) per tile")
    ax.set_ylabel("tiles")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(counts_png, dpi=110)
    plt.close(fig)
