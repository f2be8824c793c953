"""Figures of the evaluation stage: Figs 7-9 of Paggi et al. for one ISM map."""

from __future__ import annotations

import math

import pandas as pd

from mpralens.evaluate.ism_maps import TSS_BIN
from mpralens.plots.style import pyplot


def _fmt(value) -> str:
    """Format a statistic for a figure: two decimals, or ``n/a`` when undefined (None/NaN)."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"


def plot_figures(summary: dict, tables: dict[str, pd.DataFrame], paths: dict[str, str]) -> None:
    """Figs 7, 8, 9 top and 9 bottom (a placeholder panel says when an input is missing)."""
    plt = pyplot()

    def save(fig, path):
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)

    def missing(path, what):
        fig, ax = plt.subplots(figsize=(5, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, f"not computed: the data set has no {what}", ha="center", va="center")
        fig.savefig(path, dpi=100)
        plt.close(fig)

    ref = tables.get("reference")
    if ref is not None and len(ref):
        tasks = sorted(ref["task"].unique())
        fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.2), squeeze=False)
        for ax, task in zip(axes[0], tasks, strict=True):
            g = ref[ref["task"] == task]
            ax.hexbin(g["value"], g["score"], gridsize=40, bins="log", mincnt=1, cmap="viridis")
            rho = summary["tasks"][task]["reference"]["spearman"]
            ax.set_title(f"{task}\nSpearman {_fmt(rho)}", fontsize=9)
            ax.set_xlabel("reference per-base score")
        axes[0][0].set_ylabel("ISM score")
        save(fig, paths["fig7"])
    else:
        missing(paths["fig7"], "Sharpr (or simulated true) per-base scores")

    curves = tables.get("curves")
    if curves is not None and len(curves):
        annotations = sorted(curves["annotation"].unique())
        fig, axes = plt.subplots(
            1, len(annotations), figsize=(5 * len(annotations), 3.6), squeeze=False
        )
        for ax, ann in zip(axes[0], annotations, strict=True):
            for task, g in curves[curves["annotation"] == ann].groupby("task"):
                rho = summary["tasks"][task][ann]["binned_spearman_score_ge_0"]
                ax.plot(
                    g["mean_score"],
                    g["mean_label"],
                    ".",
                    ms=2,
                    label=f"{task} (rho, bins >= 0: {_fmt(rho)})",
                )
            ax.set_xlabel("mean ISM score of the quantile bin")
            ax.set_ylabel(f"fraction of bases: {ann.replace('_', ' ')}")
            ax.legend(fontsize=7, markerscale=4)
        save(fig, paths["fig8"])
    else:
        missing(paths["fig8"], "conservation track or TF-site BEDs")

    tf = summary.get("tf_by_cell")
    if tf and tf["mean_score"]:
        a, b = tf["cells"]
        fig, ax = plt.subplots(figsize=(4.6, 4.3))
        xs = [v[a] for v in tf["mean_score"].values()]
        ys = [v[b] for v in tf["mean_score"].values()]
        ax.scatter(xs, ys, s=12)
        for name in tf["largest_differences"]:
            v = tf["mean_score"][name]
            ax.annotate(name, (v[a], v[b]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        lim = [min(xs + ys), max(xs + ys)]
        ax.plot(lim, lim, color="0.6", lw=0.8)
        ax.set_xlabel(f"mean ISM score at {a} sites ({a} tasks)")
        ax.set_ylabel(f"mean ISM score at {b} sites ({b} tasks)")
        save(fig, paths["fig9_tf"])
    else:
        what = "TF with sites in both cell types" if tf else "TF-site BEDs for two cell types"
        missing(paths["fig9_tf"], what)

    prof = tables.get("tss")
    if prof is not None and len(prof):
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        for col in ("activating", "repressive", "all"):
            ax.plot(
                prof["bin_start"] + TSS_BIN / 2,
                prof[col],
                label=col,
                ls="--" if col == "all" else "-",
            )
        ax.set_xlabel("distance upstream of the nearest TSS (bp)")
        ax.set_ylabel("density of bases")
        ax.legend(fontsize=8)
        save(fig, paths["fig9_tss"])
    else:
        missing(paths["fig9_tss"], "TSS BED")
