"""Figures of the data stage: replicate agreement and count distributions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mpralens.data.weights import task_replicate_columns
from mpralens.plots.style import pyplot


def plot_replicates(summary: dict, activity: pd.DataFrame, path) -> None:
    """Replicate 1 against replicate 2 of every task (a histogram for a single replicate)."""
    plt = pyplot()
    tasks = sorted(activity["task"].unique())
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.2), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        g = activity[activity["task"] == task]
        rep_cols = task_replicate_columns(g)
        v = g[g["valid"]]
        if len(rep_cols) >= 2:
            # Replicates 1 and 2 drawn; the title gives the mean over all pairs of replicates.
            ax.scatter(v[rep_cols[0]], v[rep_cols[1]], s=2, alpha=0.3, rasterized=True)
            r = summary["tasks"][task].get("replicate_pearson")
            what = "Pearson r" if len(rep_cols) == 2 else f"mean Pearson r ({len(rep_cols)} reps)"
            ax.set_title(f"{task}\n{what} = {'n/a' if r is None else f'{r:.2f}'}", fontsize=9)
            ax.set_xlabel("rep1 log2(RNA/DNA)")
            ax.set_ylabel("rep2 log2(RNA/DNA)")
        else:
            ax.hist(v[rep_cols[0]], bins=50)
            ax.set_title(task, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_counts(counts: pd.DataFrame, sheet: pd.DataFrame, path) -> None:
    """Histogram of log10(count + 1) per tile for every library of the sheet."""
    plt = pyplot()
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
    fig.savefig(path, dpi=110)
    plt.close(fig)
