"""Trained models meet measured variant effects: predicted against measured allelic effects.

For every variant of an allelic design, each model predicts its ref and alt oligo; the predicted
effect is ``alt - ref`` (log2) in the task (experiment) that measured it. Compared with the
measured effect (the mpralm-style variant test, :mod:`mpralens.data.element_tests`): Spearman and
Pearson correlations over all variants and over the test split's, and the sign agreement among
variants significant at ``igvf.fdr`` (the fraction whose predicted effect has the measured sign).
"""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd
from scipy import stats

from mpralens.models.predict import predict_frame


def score_variants(
    model: str | PathLike[str], tiles: pd.DataFrame, variants: pd.DataFrame
) -> pd.DataFrame:
    """Predicted ``alt - ref`` of every variant, one column per task of the model."""
    need = pd.unique(pd.concat([variants["ref"], variants["alt"]]))
    seqs = tiles.set_index("tile_id").loc[need, "sequence"]
    pred = predict_frame(model, pd.DataFrame({"id": need, "sequence": seqs.to_numpy()}))
    pred = pred.set_index("id")
    diff = pred.loc[variants["alt"]].to_numpy() - pred.loc[variants["ref"]].to_numpy()
    out = pd.DataFrame(diff, columns=pred.columns)
    out.insert(0, "variant_id", variants["variant_id"].to_numpy())
    return out


def compare_effects(measured: pd.DataFrame, predicted: np.ndarray) -> dict[str, float]:
    """Spearman, Pearson, sign agreement among significant variants, and their counts."""
    m = measured["effect"].to_numpy(dtype=np.float64)
    ok = np.isfinite(m) & np.isfinite(predicted)
    m, p = m[ok], predicted[ok]
    sig = measured["significant"].to_numpy(dtype=bool)[ok]
    out: dict[str, float] = {"n": int(ok.sum()), "n_significant": int(sig.sum())}
    if ok.sum() >= 3:
        out["spearman"] = float(stats.spearmanr(m, p)[0])
        out["pearson"] = float(np.corrcoef(m, p)[0, 1])
    else:
        out["spearman"] = out["pearson"] = float("nan")
    nz = sig & (m != 0)
    out["sign_agreement"] = (
        float((np.sign(p[nz]) == np.sign(m[nz])).mean()) if nz.any() else float("nan")
    )
    return out


def allele_report(
    models: dict[str, str | PathLike[str]],
    tiles: pd.DataFrame,
    measured: dict[str, pd.DataFrame],
    splits: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every model on every task's measured variants.

    Returns
    -------
    (scores, summary)
        ``scores``: ``model, task, variant_id, ref, alt, measured, q_value, significant,
        predicted, split``; ``summary``: one row per model, task and subset (``all``, ``test``)
        with :func:`compare_effects`' figures.
    """
    split_of = splits.set_index("tile_id")["split"] if splits is not None else pd.Series(dtype=str)
    rows, summary = [], []
    for model, path in sorted(models.items()):
        for task, variants in sorted(measured.items()):
            pred = score_variants(path, tiles, variants)
            if task not in pred.columns:
                continue
            frame = pd.DataFrame(
                {
                    "model": model,
                    "task": task,
                    "variant_id": variants["variant_id"].to_numpy(),
                    "ref": variants["ref"].to_numpy(),
                    "alt": variants["alt"].to_numpy(),
                    "measured": variants["effect"].to_numpy(),
                    "q_value": variants["q_value"].to_numpy(),
                    "significant": variants["significant"].to_numpy(dtype=bool),
                    "predicted": pred[task].to_numpy(),
                    "split": split_of.reindex(variants["ref"]).fillna("").to_numpy(),
                }
            )
            rows.append(frame)
            for subset, mask in (
                ("all", np.ones(len(frame), bool)),
                ("test", frame["split"] == "test"),
            ):
                sub = frame[np.asarray(mask)]
                figures = compare_effects(
                    sub.rename(columns={"measured": "effect"}), sub["predicted"].to_numpy()
                )
                summary.append({"model": model, "task": task, "subset": subset, **figures})
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(), pd.DataFrame(summary)
