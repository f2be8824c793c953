"""Figures of global importance analysis (one per analysis of ``gia.tsv``)."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from mpralens.plots.style import pyplot


def _panels(tasks: list[str]):
    plt = pyplot()
    n = len(tasks)
    cols = min(n, 2)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:n])


def _line(ax, x, g: pd.DataFrame, label: str) -> None:
    ax.plot(x, g["effect"], marker="o", ms=3, lw=1.2, label=label)
    ax.fill_between(x, g["ci_low"], g["ci_high"], alpha=0.2)


def plot_gia(
    table: pd.DataFrame,
    analysis: str,
    path: str | PathLike[str],
    *,
    shift: pd.DataFrame | None = None,
    planted_spacing: tuple[int, int] | None = None,
) -> None:
    """Draw ``analysis`` of a GIA table (one panel per task) to ``path``.

    marginal: effect of each motif with its 95% interval; position: effect against the motif
    start; spacing: cooperativity (pair minus singles) against the spacer, one line per
    arrangement, with the simulator's planted spacer range shaded (``planted_spacing``); number:
    effect against the copy count. ``shift``: the null-vs-real table, noted in the title.
    """
    tasks = list(dict.fromkeys(table["task"]))
    kind = "cooperativity" if analysis == "spacing" else analysis
    rows = table[table["analysis"] == kind]
    plt, fig, axes = _panels(tasks or ["(none)"])
    for ax, task in zip(axes, tasks, strict=False):
        t = rows[rows["task"] == task]
        if analysis == "marginal":
            t = t.sort_values("effect")
            y = np.arange(len(t))
            err = np.vstack([t["effect"] - t["ci_low"], t["ci_high"] - t["effect"]])
            ax.barh(y, t["effect"], xerr=err, color="tab:blue", alpha=0.8, capsize=2)
            ax.set_yticks(y, t["motifs"], fontsize=7)
            ax.axvline(0, color="k", lw=0.6)
            ax.set_xlabel("effect (log2, with - without motif)")
        elif analysis == "position":
            for motif, g in t.groupby("motifs", sort=False):
                _line(ax, pd.to_numeric(g["position"]), g, str(motif))
            ax.set_xlabel("motif start in the tile (bp)")
            ax.set_ylabel("effect (log2)")
        elif analysis == "spacing":
            for (motif, orient), g in t.groupby(["motifs", "orientation"], sort=False):
                _line(ax, pd.to_numeric(g["spacing"]), g, f"{motif} {orient}")
            if planted_spacing is not None:
                lo, hi = planted_spacing
                ax.axvspan(lo, hi, color="0.85", zorder=0, label="planted spacers")
            ax.set_xlabel("spacer (bp)")
            ax.set_ylabel("cooperativity (pair - singles, log2)")
        elif analysis == "number":
            for motif, g in t.assign(copies=t["motifs"].str.count(r"\+") + 1).groupby(
                t["motifs"].str.split("+").str[0], sort=False
            ):
                _line(ax, g["copies"], g, str(motif))
            ax.set_xlabel("copies")
            ax.set_ylabel("effect (log2)")
        else:
            raise ValueError(f"unknown analysis {analysis!r}")
        if analysis != "marginal":
            ax.axhline(0, color="k", lw=0.6)
            ax.legend(fontsize=6, ncol=2, loc="upper right")
        ax.set_title(task, fontsize=9)
    title = f"GIA: {analysis}"
    if shift is not None and not shift.empty:
        gc = shift.groupby("sequences")["gc"].first()
        null = [k for k in gc.index if k != "real"]
        if "real" in gc.index and null:
            title += f" (GC real tiles {gc['real']:.3f}, {null[0]} nulls {gc[null[0]]:.3f})"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
