"""Comparing trained models on the test split: metrics table and the Stanford study's Fig 6.

Every model's test predictions (long form: ``tile_id, task, activity, weight, prediction``) are
scored per task with :func:`mpralens.metrics.task_metrics` against the measured activity and, for
simulated data, against the simulator's true activity (weights of valid tiles, as for measured).
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.metrics import task_metrics


def compare(
    predictions: dict[str, pd.DataFrame], truth: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Metrics of every model.

    Parameters
    ----------
    predictions
        ``{model name: test predictions}``.
    truth
        Optional wide truth table (``tile_id`` and one column per task), e.g. the simulator's
        ``truth/tile_activity.parquet``.

    Returns
    -------
    pandas.DataFrame
        ``model, target, task, n, weighted_mse, pearson, spearman`` with ``target`` ``measured``
        or ``truth``.
    """
    frames = []
    for name, pred in predictions.items():
        m = task_metrics(pred)
        frames.append(m.assign(model=name, target="measured"))
        if truth is not None:
            long = truth.melt(
                id_vars=["tile_id"],
                value_vars=sorted(pred["task"].unique()),
                var_name="task",
                value_name="true_activity",
            )
            joined = pred.merge(long, on=["tile_id", "task"], how="left")
            joined["true_activity"] = joined["true_activity"].where(joined["activity"].notna())
            frames.append(
                task_metrics(joined, truth_column="true_activity").assign(
                    model=name, target="truth"
                )
            )
    cols = ["model", "target", "task", "n", "weighted_mse", "pearson", "spearman"]
    return pd.concat(frames, ignore_index=True)[cols]


def plot_comparison(metrics: pd.DataFrame, path: str | PathLike[str]) -> None:
    """Fig 6: grouped bars per task (one bar per model) of weighted MSE and Pearson r."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = metrics[metrics["target"] == "measured"]
    tasks = sorted(measured["task"].unique())
    models = sorted(measured["model"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    width = 0.8 / len(models)
    x = np.arange(len(tasks))
    for ax, metric, label in zip(
        axes, ("weighted_mse", "pearson"), ("weighted MSE (test)", "Pearson r (test)"), strict=True
    ):
        for i, model in enumerate(models):
            vals = measured[measured["model"] == model].set_index("task").reindex(tasks)[metric]
            ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, label=model)
        ax.set_xticks(x, tasks, rotation=20, fontsize=8)
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle("Models on the test split (cf. Paggi et al. Fig 6)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_scatter(predictions: dict[str, pd.DataFrame], path: str | PathLike[str]) -> None:
    """Predicted vs measured activity on the test split, one panel per model and task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
