"""Figures of IGVF data: predicted vs measured allelic effects, and a QC page per experiment."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.plots.style import pyplot


def plot_alleles(scores: pd.DataFrame, summary: pd.DataFrame, path: str | PathLike[str]) -> None:
    """Scatter of predicted against measured allelic effects, one panel per model and task."""
    plt = pyplot()
    keys = sorted({(m, t) for m, t in zip(scores["model"], scores["task"], strict=True)})
    fig, axes = plt.subplots(
        1, max(len(keys), 1), figsize=(4.2 * max(len(keys), 1), 4), squeeze=False
    )
    for ax, (model, task) in zip(axes[0], keys, strict=False):
        s = scores[(scores["model"] == model) & (scores["task"] == task)]
        sig = s["significant"].to_numpy(dtype=bool)
        ax.scatter(s["measured"][~sig], s["predicted"][~sig], s=8, c="0.6", label="not significant")
        ax.scatter(s["measured"][sig], s["predicted"][sig], s=10, c="C3", label="FDR significant")
        ax.axhline(0, c="0.8", lw=0.8)
        ax.axvline(0, c="0.8", lw=0.8)
        row = summary[
            (summary["model"] == model) & (summary["task"] == task) & (summary["subset"] == "all")
        ]
        if len(row):
            r = row.iloc[0]
            ax.set_title(
                f"{model}, {task}: Spearman {r['spearman']:.2f}\n"
                f"sign agreement (significant) {r['sign_agreement']:.2f}, n = {int(r['n'])}",
                fontsize=9,
            )
        ax.set_xlabel("measured alt - ref (log2)")
        ax.set_ylabel("predicted alt - ref (log2)")
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_qc(
    per_replicate: pd.DataFrame,
    barcodes: pd.DataFrame,
    classes: pd.Series | None,
    path: str | PathLike[str],
    *,
    title: str = "",
) -> dict[str, float]:
    """QC page: barcodes per element, replicate correlation, control distributions.

    Returns the page's figures (median barcodes, replicate Pearson per pair, control medians).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    reps = [c for c in barcodes.columns if c != "oligo_name"]
    figures: dict[str, float] = {}
    for rep in reps:
        axes[0].hist(barcodes[rep], bins=40, histtype="step", label=f"replicate {rep}")
        figures[f"median_barcodes_{rep}"] = float(np.median(barcodes[rep]))
    axes[0].set_xlabel("barcodes seen per element (DNA > 0)")
    axes[0].set_ylabel("elements")
    axes[0].legend(fontsize=7)
    wide = per_replicate.pivot(index="oligo_name", columns="replicate", values="log2_ratio")
    cols = list(wide.columns)
    if len(cols) >= 2:
        a, b = wide[cols[0]], wide[cols[1]]
        ok = a.notna() & b.notna()
        axes[1].scatter(a[ok], b[ok], s=5, alpha=0.5)
        for i in range(len(cols)):
            for j in range(i + 1, len(cols)):
                x, y = wide[cols[i]], wide[cols[j]]
                m = x.notna() & y.notna()
                figures[f"pearson_{cols[i]}_{cols[j]}"] = float(np.corrcoef(x[m], y[m])[0, 1])
        r = figures[f"pearson_{cols[0]}_{cols[1]}"]
        axes[1].set_title(f"replicates {cols[0]} vs {cols[1]}: Pearson {r:.2f}", fontsize=9)
        axes[1].set_xlabel(f"log2 RNA/DNA, replicate {cols[0]}")
        axes[1].set_ylabel(f"log2 RNA/DNA, replicate {cols[1]}")
    pooled = wide.mean(axis=1)
    if classes is not None:
        cls = classes.reindex(pooled.index).fillna("unknown")
        for name in sorted(cls.unique()):
            values = pooled[cls == name].dropna()
            axes[2].hist(
                values, bins=30, histtype="step", density=True, label=f"{name} ({len(values)})"
            )
            figures[f"median_activity_{name.replace(' ', '_')}"] = float(values.median())
        axes[2].legend(fontsize=7)
    else:
        axes[2].hist(pooled.dropna(), bins=30)
    axes[2].set_xlabel("activity (mean log2 RNA/DNA)")
    axes[2].set_ylabel("density")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return figures
