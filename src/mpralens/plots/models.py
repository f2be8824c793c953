"""Figures of the model stage: Fig 6 comparison and test-set scatter."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.plots.style import pyplot


def plot_comparison(metrics: pd.DataFrame, path: str | PathLike[str]) -> None:
    """Fig 6 extended: grouped bars per task (one bar per model).

    Weighted MSE, Pearson r with the measured activity (black ticks: the noise ceiling, from the
    truth or else from replicates) and Pearson r with the true activity (when there is a truth;
    else Spearman with the measured activity).
    """
    plt = pyplot()

    tasks = sorted(metrics["task"].unique())
    models = sorted(metrics["model"].unique())
    has_truth = bool(metrics["pearson_truth"].notna().any())
    third = (
        ("pearson_truth", "Pearson r with truth (test)")
        if has_truth
        else (
            "spearman",
            "Spearman rho (test)",
        )
    )
    panels = [("weighted_mse", "weighted MSE (test)"), ("pearson", "Pearson r (test)"), third]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    width = 0.8 / len(models)
    x = np.arange(len(tasks))
    for ax, (metric, label) in zip(axes, panels, strict=True):
        for i, model in enumerate(models):
            vals = metrics[metrics["model"] == model].set_index("task").reindex(tasks)[metric]
            ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, label=model)
        ax.set_xticks(x, tasks, rotation=20, fontsize=8)
        ax.set_ylabel(label)
    first = metrics.drop_duplicates("task").set_index("task").reindex(tasks)
    ceiling = first["ceiling"].where(first["ceiling"].notna(), first["ceiling_replicates"])
    if ceiling.notna().any():
        axes[1].hlines(ceiling, x - 0.45, x + 0.45, colors="black", label="noise ceiling")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Models on the test split (cf. Paggi et al. Fig 6)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scatter(predictions: dict[str, pd.DataFrame], path: str | PathLike[str]) -> None:
    """Predicted vs measured activity on the test split, one panel per model and task."""
    plt = pyplot()

    models = sorted(predictions)
    tasks = sorted(next(iter(predictions.values()))["task"].unique())
    fig, axes = plt.subplots(
        len(models), len(tasks), figsize=(2.8 * len(tasks), 2.8 * len(models)), squeeze=False
    )
    for i, model in enumerate(models):
        p = predictions[model]
        for j, task in enumerate(tasks):
            g = p[(p["task"] == task) & p["activity"].notna()]
            ax = axes[i, j]
            ax.scatter(g["activity"], g["prediction"], s=2, alpha=0.3, rasterized=True)
            r = np.corrcoef(g["activity"], g["prediction"])[0, 1] if len(g) > 2 else np.nan
            ax.set_title(f"{model} {task}\nr = {r:.2f}", fontsize=8)
            ax.set_xlabel("measured", fontsize=7)
            ax.set_ylabel("predicted", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
