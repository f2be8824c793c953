"""Figures of the motif stage: logo grids of first-layer filters and TF-MoDISco patterns."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np

from mpralens.plots.letters import draw_logo
from mpralens.plots.style import pyplot


def information_matrix(probs: np.ndarray) -> np.ndarray:
    """Letter heights in bits (``p * IC`` of the position), ``(length, 4)`` in A, C, G, T order."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ic = 2.0 + np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)
    return p * ic[:, None]


def plot_logo_grid(
    matrices: Sequence[np.ndarray],
    titles: Sequence[str],
    path: str | PathLike[str],
    *,
    columns: int = 4,
    title: str = "",
) -> None:
    """One information-content logo per ``(length, 4)`` probability matrix, in a grid.

    An empty list draws one panel saying so.
    """
    plt = pyplot()
    n = max(len(matrices), 1)
    cols = min(columns, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 1.5 * rows + 0.4), squeeze=False)
    flat = axes.ravel()
    for ax, probs, label in zip(flat, matrices, titles, strict=False):
        draw_logo(ax, information_matrix(probs))
        ax.set_ylim(0, 2)
        ax.set_title(label, fontsize=7, loc="left")
        ax.tick_params(labelsize=6)
    if not matrices:
        flat[0].text(0.5, 0.5, "nothing to draw", ha="center", va="center")
    for ax in flat[len(matrices) or 1 :]:
        ax.axis("off")
    if not matrices:
        flat[0].set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
