"""Figures of the ISM stage: score tracks of the strongest regions with sites shaded."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.plots.style import pyplot


def plot_top_regions(
    table: pd.DataFrame,
    path: str | PathLike[str],
    *,
    sites: pd.DataFrame | None = None,
    top: int = 6,
) -> list[str]:
    """Score tracks of the ``top`` regions with the largest mean |score|, sites shaded.

    Returns the plotted region IDs.
    """
    plt = pyplot()

    strength = table.assign(a=table["score"].abs()).groupby("region_id")["a"].mean()
    chosen = list(strength.sort_values(ascending=False, kind="stable").index[:top])
    fig, axes = plt.subplots(max(len(chosen), 1), 1, figsize=(10, 1.9 * max(len(chosen), 1)))
    axes = np.atleast_1d(axes)
    for ax, rid in zip(axes, chosen, strict=False):
        r = table[table["region_id"] == rid]
        chrom = r["chrom"].iloc[0]
        lo, hi = int(r["pos"].min()), int(r["pos"].max()) + 1
        if sites is not None:
            s = sites[(sites["chrom"] == chrom) & (sites["end"] > lo) & (sites["start"] < hi)]
            for st, en, name in zip(s["start"], s["end"], s["name"], strict=True):
                ax.axvspan(st, en, color="0.85", lw=0)
                ax.text(
                    (st + en) / 2,
                    1.0,
                    str(name),
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                )
        for task, t in r.groupby("task", sort=True):
            ax.plot(t["pos"], t["score"], lw=0.8, label=task)
        ax.axhline(0, color="0.5", lw=0.5)
        ax.set_xlim(lo, hi)
        ax.set_ylabel("ISM score")
        ax.set_title(f"{rid} ({chrom}:{lo}-{hi})", fontsize=8, loc="left")
    axes[0].legend(fontsize=6, ncol=4, loc="upper right")
    axes[-1].set_xlabel("genome position (0-based)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return chosen
