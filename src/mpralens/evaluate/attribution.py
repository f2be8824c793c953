"""Grade attribution maps against the simulator's planted sites (Koo & Ploenzke 2021 protocol).

For each method and task, on the attributed regions (the test split in the workflow): the bases of
planted sites with a non-zero effect in that task (``truth/sites.tsv``, ``effect_<task> != 0``) are
positives, every other scored base is a negative: background, sites of TFs without effect in that
task, and the decoys of the TF-site BEDs (they are not planted sites, so they are not in
``sites.tsv``). The score of a base is ``|score|``; AUROC and average precision (AUPR) come from
scikit-learn. A control row scores the same bases with the first method's ``|score|`` shuffled
among them (AUROC about 0.5, AUPR about the positive fraction).
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError

GRADING_COLUMNS = ["method", "task", "auroc", "aupr", "n_positive_bases", "n_bases"]
CONTROL = "shuffled_control"


def read_sites(path: str | PathLike[str]) -> pd.DataFrame:
    """Read ``truth/sites.tsv`` (``chrom, start, end`` and ``effect_<task>`` columns)."""
    try:
        sites = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    except FileNotFoundError:
        raise InputError("file not found", path=path) from None
    missing = {"chrom", "start", "end"} - set(sites.columns)
    if missing:
        raise InputError(
            f"a truth sites table needs columns chrom, start, end (missing {sorted(missing)})",
            path=path,
        )
    return sites


def positive_bases(sites: pd.DataFrame, task: str) -> pd.MultiIndex:
    """``(chrom, pos)`` of every base of a site with an effect in ``task``."""
    col = f"effect_{task}"
    if col not in sites.columns:
        effects = [c for c in sites.columns if c.startswith("effect_")]
        raise InputError(
            f"the truth sites have no column {col!r} for task {task!r} (they have "
            f"{', '.join(effects) or 'none'}): were the model and the sites made from the same "
            "data set?"
        )
    s = sites[sites[col].fillna(0) != 0]
    lengths = (s["end"] - s["start"]).to_numpy(dtype=np.int64)
    pos = np.repeat(s["start"].to_numpy(dtype=np.int64), lengths) + (
        np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    chrom = np.repeat(s["chrom"].astype(str).to_numpy(), lengths)
    return pd.MultiIndex.from_arrays([chrom, pos])


def labelled(table: pd.DataFrame, sites: pd.DataFrame, task: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(labels, |score|)`` of the scored bases of ``task`` (each base once)."""
    t = table[(table["task"] == task) & np.isfinite(table["score"])]
    per_base = t.groupby(["chrom", "pos"], sort=True)["score"].mean()
    labels = per_base.index.isin(positive_bases(sites, task))
    return labels.astype(bool), per_base.abs().to_numpy(dtype=np.float64)


def _metrics(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if y.all() or not y.any():
        return float("nan"), float("nan")
    return float(roc_auc_score(y, s)), float(average_precision_score(y, s))


def grade(tables: dict[str, pd.DataFrame], sites: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """One row per method and task (:data:`GRADING_COLUMNS`) and the shuffled control's rows.

    Raises
    ------
    InputError
        A task has no ``effect_<task>`` column in the sites.
    """
    rows = []
    rng = np.random.default_rng(seed)
    for i, (method, table) in enumerate(tables.items()):
        for task in sorted(table["task"].unique()):
            y, s = labelled(table, sites, task)
            rows.append((method, task, *_metrics(y, s), int(y.sum()), len(y)))
            if i == 0:
                rows.append((CONTROL, task, *_metrics(y, rng.permutation(s)), int(y.sum()), len(y)))
    out = pd.DataFrame(rows, columns=GRADING_COLUMNS)
    order = {m: k for k, m in enumerate([*tables, CONTROL])}
    return out.sort_values(
        ["method", "task"], key=lambda c: c.map(order) if c.name == "method" else c, kind="stable"
    ).reset_index(drop=True)


def curves(
    tables: dict[str, pd.DataFrame], sites: pd.DataFrame
) -> dict[str, dict[str, np.ndarray]]:
    """ROC and PR curves per method, pooled over tasks (``fpr, tpr, recall, precision``)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    out = {}
    for method, table in tables.items():
        ys, ss = [], []
        for task in sorted(table["task"].unique()):
            y, s = labelled(table, sites, task)
            ys.append(y)
            ss.append(s)
        y, s = np.concatenate(ys), np.concatenate(ss)
        if y.all() or not y.any():
            continue
        fpr, tpr, _ = roc_curve(y, s)
        precision, recall, _ = precision_recall_curve(y, s)
        out[method] = {"fpr": fpr, "tpr": tpr, "recall": recall, "precision": precision}
    return out
