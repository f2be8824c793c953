"""Comparing trained models on the test split: the metrics table and the Fig 6 comparison.

Every model's test predictions (long form: ``tile_id, task, activity, weight, prediction``) are
scored per task with :func:`mpralens.models.metrics.task_metrics` against the measured activity
and, for simulated data, against the simulator's true activity. The noise ceiling says how much is
left: on simulated data the measured activity's own Pearson r with the truth
(:func:`~mpralens.models.metrics.truth_ceiling`), and from replicates the Spearman-Brown estimate
of the same (:func:`~mpralens.models.metrics.replicate_ceiling`; on real data the only one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mpralens.models.metrics import replicate_ceiling, task_metrics, truth_ceiling

COLUMNS = [
    "model",
    "task",
    "n",
    "weighted_mse",
    "pearson",
    "spearman",
    "pearson_truth",
    "spearman_truth",
    "ceiling",
    "ceiling_replicates",
    "fraction_of_ceiling",
    "parameters",
]


def ceilings(
    pred: pd.DataFrame, truth: pd.DataFrame | None, activity: pd.DataFrame | None
) -> pd.DataFrame:
    """Noise ceilings per task over the valid tiles of one model's test predictions.

    Returns
    -------
    pandas.DataFrame
        ``task, ceiling, ceiling_replicates`` (NaN where there is no truth / no replicates).
    """
    valid = pred[pred["activity"].notna()]
    rows = []
    for task, g in valid.groupby("task", sort=True):
        row: dict[str, Any] = {"task": task, "ceiling": np.nan, "ceiling_replicates": np.nan}
        if truth is not None and task in truth.columns:
            t = truth.set_index("tile_id")[task].reindex(g["tile_id"]).to_numpy()
            row["ceiling"] = truth_ceiling(g["activity"].to_numpy(), t)
        if activity is not None:
            a = activity[activity["task"] == task].set_index("tile_id")
            rep_cols = sorted(c for c in a.columns if c.startswith("log2_ratio_rep"))
            reps = a.reindex(g["tile_id"])[rep_cols].to_numpy(dtype=np.float64)
            row["ceiling_replicates"] = replicate_ceiling(reps)
        rows.append(row)
    return pd.DataFrame(rows, columns=["task", "ceiling", "ceiling_replicates"])


def compare(
    predictions: dict[str, pd.DataFrame],
    truth: pd.DataFrame | None = None,
    *,
    activity: pd.DataFrame | None = None,
    info: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Metrics of every model, one row per model and task.

    Parameters
    ----------
    predictions
        ``{model name: test predictions}``.
    truth
        Optional wide truth table (``tile_id`` and one column per task), e.g. the simulator's
        ``truth/tile_activity.parquet``.
    activity
        Optional ``activity.tsv.gz`` table (``tile_id, task, log2_ratio_rep1...``) for the
        replicate-based ceiling.
    info
        Optional ``{model name: {"parameters": int, ...}}`` (a model's ``training.json``). Its
        training time is left out of the table on purpose: the table is byte-identical between
        runs with the same seed, time is not (bench/models.py reports it).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`. ``pearson``/``spearman``: with the measured activity;
        ``*_truth``: with the true activity (NaN without truth); ``ceiling``: the measured
        activity's Pearson r with the truth; ``ceiling_replicates``: its replicate estimate;
        ``fraction_of_ceiling``: ``pearson / ceiling`` (the replicate ceiling when there is no
        truth), 1 for a model that predicts the truth exactly.
    """
    frames = []
    for name, pred in predictions.items():
        m = task_metrics(pred).assign(model=name)
        if truth is not None:
            long = truth.melt(
                id_vars=["tile_id"],
                value_vars=sorted(pred["task"].unique()),
                var_name="task",
                value_name="true_activity",
            )
            joined = pred.merge(long, on=["tile_id", "task"], how="left")
            joined["true_activity"] = joined["true_activity"].where(joined["activity"].notna())
            t = task_metrics(joined, truth_column="true_activity")[["task", "pearson", "spearman"]]
            m = m.merge(t.add_suffix("_truth").rename(columns={"task_truth": "task"}), on="task")
        else:
            m = m.assign(pearson_truth=np.nan, spearman_truth=np.nan)
        m = m.merge(ceilings(pred, truth, activity), on="task", how="left")
        ceiling = m["ceiling"].where(m["ceiling"].notna(), m["ceiling_replicates"])
        m["fraction_of_ceiling"] = m["pearson"] / ceiling
        meta = (info or {}).get(name, {})
        m["parameters"] = meta.get("parameters", np.nan)
        frames.append(m)
    return pd.concat(frames, ignore_index=True)[COLUMNS]
