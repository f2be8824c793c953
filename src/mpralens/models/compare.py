"""Comparing trained models on the test split: metrics table and the Stanford study's Fig 6.

Every model's test predictions (long form: ``tile_id, task, activity, weight, prediction``) are
scored per task with :func:`mpralens.models.metrics.task_metrics` against the measured activity
and, for
simulated data, against the simulator's true activity (weights of valid tiles, as for measured).
"""

from __future__ import annotations

import pandas as pd

from mpralens.models.metrics import task_metrics


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
