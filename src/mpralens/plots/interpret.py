"""Figures of the attribution stage: sequence logos of the top regions, ROC and PR curves."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.plots.letters import draw_letters
from mpralens.plots.style import pyplot


def site_spans(
    sites: pd.DataFrame | None, chrom: str, start: int, length: int
) -> list[tuple[int, int, str]]:
    """Return the sites overlapping ``chrom:start-(start + length)`` in region coordinates.

    ``sites`` has columns ``chrom, start, end, name``; each is ``(first, last + 1, name)``,
    clipped to the region.
    """
    if sites is None:
        return []
    end = start + length
    s = sites[(sites["chrom"] == chrom) & (sites["end"] > start) & (sites["start"] < end)]
    return [
        (max(int(a) - start, 0), min(int(b) - start, length), str(n))
        for a, b, n in zip(s["start"], s["end"], s["name"], strict=True)
    ]


def plot_logos(
    table: pd.DataFrame,
    sequences: dict[str, str],
    path: str | PathLike[str],
    *,
    top: int = 6,
    title: str = "",
    sites: pd.DataFrame | None = None,
) -> list[str]:
    """Logos of the ``top`` regions with the largest mean |score|, first task.

    Each base's letter is drawn with height equal to its per-base score (upside down below the
    axis when negative), in logomaker's classic colours, by :func:`draw_letters`.
    ``sites`` (the simulator's planted sites or TF-site BEDs) are shaded and named.
    Returns the plotted region IDs.
    """
    plt = pyplot()
    task = sorted(table["task"].unique())[0] if len(table) else ""
    t = table[table["task"] == task]
    strength = t.assign(a=t["score"].abs()).groupby("region_id")["a"].mean()
    chosen = list(strength.sort_values(ascending=False, kind="stable").index[:top])
    fig, axes = plt.subplots(max(len(chosen), 1), 1, figsize=(12, 1.6 * max(len(chosen), 1)))
    axes = np.atleast_1d(axes)
    for ax, rid in zip(axes, chosen, strict=False):
        r = t[t["region_id"] == rid].sort_values("pos")
        seq = sequences[rid]
        score = np.nan_to_num(r["score"].to_numpy(dtype=float))
        lo = int(r["pos"].min())
        for first, end, name in site_spans(sites, str(r["chrom"].iloc[0]), lo, len(seq)):
            ax.axvspan(first - 0.5, end - 0.5, color="0.88", lw=0, zorder=0)
            ax.text(
                (first + end - 1) / 2,
                1.0,
                name,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=6,
            )
        draw_letters(ax, seq, score, baseline_width=0.3)
        ax.set_ylabel("score", fontsize=7)
        ax.set_title(
            f"{rid} ({r['chrom'].iloc[0]}:{lo}-{lo + len(seq)}, {task})", fontsize=8, loc="left"
        )
    axes[-1].set_xlabel("position in region")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return chosen


def plot_grading_curves(
    curves: dict[str, dict[str, np.ndarray]], grades: pd.DataFrame, path: str | PathLike[str]
) -> None:
    """ROC and precision-recall curves of each method (pooled over tasks), mean AUROC/AUPR.

    The ROC legend gives the seconds per region of each method when the grades have them.
    """
    plt = pyplot()
    fig, (roc, pr) = plt.subplots(1, 2, figsize=(10, 4.2))
    cols = ["auroc", "aupr"] + (["seconds_per_region"] if "seconds_per_region" in grades else [])
    means = grades.groupby("method")[cols].mean()
    for method, c in curves.items():
        row = means.loc[method] if method in means.index else pd.Series(dtype=float)
        auroc, aupr = row.get("auroc", np.nan), row.get("aupr", np.nan)
        sec = row.get("seconds_per_region", np.nan)
        when = f", {sec:.3g} s/region" if np.isfinite(sec) else ""
        roc.plot(c["fpr"], c["tpr"], lw=1, label=f"{method} ({auroc:.3f}{when})")
        pr.plot(c["recall"], c["precision"], lw=1, label=f"{method} ({aupr:.3f})")
    roc.plot([0, 1], [0, 1], color="0.6", lw=0.6, ls="--")
    roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (mean AUROC)")
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall (mean AUPR)")
    for ax in (roc, pr):
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
