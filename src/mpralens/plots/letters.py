"""Sequence logos drawn as one collection per axes: logomaker's glyphs at a fraction of its cost.

``logomaker.Logo`` builds a ``TextPath`` and a ``PathPatch`` for every cell of its matrix,
zero cells included. The attribution figure (:func:`mpralens.plots.interpret.plot_logos`) has
one non-zero base per position, yet drew 4 x 295 glyphs per region, 7,080 per figure of 6
regions: 10.8 to 14.7 s per figure on the 2-core development machine, in every attribution
job of the workflow. Here each of A, C, G, T is built once as a path filling the unit box,
placed per position by an affine transform (a negative height flips it below the axis), and
the row is added as one ``PathCollection``: the same figure takes 0.56 to 0.83 s, under 0.1 s
of it for the letters, the rest layout and PNG. The paths are logomaker's, vertex for vertex
(tests/test_plots_letters.py). The motif grids (100 filter logos of 11 positions, 4,400 glyphs)
cost the same way: 10 s of the filters job went into logomaker. :func:`draw_logo` stacks a
matrix of letter heights as logomaker does (largest on top, negative ones below the axis), and
:func:`draw_letters` is its one-base-per-position case.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

#: logomaker's "classic" colour scheme (``logomaker.src.colors.COLOR_SCHEME_DICT``).
CLASSIC_COLORS: dict[str, tuple[float, float, float]] = {
    "A": (0.0, 0.5, 0.0),
    "C": (0.0, 0.0, 1.0),
    "G": (1.0, 0.65, 0.0),
    "T": (1.0, 0.0, 0.0),
}


@cache
def letter_path(letter: str) -> Any:
    """Return ``letter`` as a bold sans-serif path filling the unit box [0, 1] x [0, 1].

    The font is the one logomaker's glyphs use (``family="sans"``, ``weight="bold"``); the
    path is scaled by its own extents, as logomaker stretches each glyph to its cell. (For
    A, C, G and T logomaker's cap on stretching, at the width of "E", never binds: in the
    DejaVu Sans Bold matplotlib ships, "E" is the narrowest of the five.)
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    raw = TextPath((0, 0), letter, size=1, prop=FontProperties(family="sans", weight="bold"))
    box = raw.get_extents()
    unit = Affine2D().translate(-box.xmin, -box.ymin).scale(1 / box.width, 1 / box.height)
    path: Path = unit.transform_path(raw)
    return path


def draw_logo(
    ax: Any,
    heights: npt.ArrayLike,
    *,
    letters: str = "ACGT",
    start: int = 0,
    width: float = 0.95,
    flip_below: bool = True,
    colors: Mapping[str, Any] | None = None,
    baseline_width: float = 0.5,
    limits: bool = True,
) -> Any:
    """Draw a logo of ``heights`` (``(L, len(letters))``) on ``ax`` as one collection.

    At each position the letters are stacked as ``logomaker.Logo`` stacks them (its default
    ``stack_order="big_on_top"``, ``vsep=0``): sorted by height, the negative ones from their sum
    up to 0 and the positive ones from 0 up, the largest magnitudes furthest from the axis.

    Parameters
    ----------
    ax
        The matplotlib Axes to draw on.
    heights
        Letter heights, one row per position and one column per letter of ``letters``; zero and
        NaN heights are skipped.
    letters
        The column letters (each of A, C, G, T).
    start
        x of the first position (a logomaker matrix's first index).
    width
        Width of each letter, centred on its position (logomaker's default 0.95).
    flip_below
        Draw letters of negative height upside down (logomaker's default).
    colors
        Face colour of each letter; default logomaker's "classic" scheme.
    baseline_width
        Line width of the black line at y = 0 (0: none).
    limits
        Set the x limits to the positions and the y limits to the stacks (a margin only on
        a side with letters: 0 is logomaker's edge).

    Returns
    -------
    matplotlib.collections.PathCollection
        One path per drawn letter, in data coordinates, position by position; no edges.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D

    palette = CLASSIC_COLORS if colors is None else colors
    h = np.asarray(heights, dtype=float).reshape(-1, len(letters))
    paths, faces = [], []
    lows, highs = [0.0], [0.0]
    for i, row in enumerate(h):
        order = np.argsort(np.nan_to_num(row), kind="stable")
        floor = float(np.nansum(np.where(row < 0, row, 0.0)))
        lows.append(floor)
        for k in order:
            v = float(row[k])
            if not np.isfinite(v) or v == 0:
                continue
            flip = v < 0 and flip_below
            place = Affine2D().scale(width, -abs(v) if flip else abs(v))
            place = place.translate(start + i - width / 2, floor + abs(v) if flip else floor)
            paths.append(place.transform_path(letter_path(letters[k])))
            faces.append(palette[letters[k]])
            floor += abs(v)
        highs.append(floor)
    coll = PathCollection(paths, facecolors=faces, edgecolors="none", linewidths=0, zorder=0)
    ax.add_collection(coll, autolim=False)
    if baseline_width > 0:
        ax.axhline(0, color="black", linewidth=baseline_width, zorder=-1)
    if limits:
        lo, hi = min(lows), max(highs)
        pad = 0.02 * (hi - lo)
        ax.set_xlim(start - 0.5, start + max(len(h), 1) - 0.5)
        if hi > lo:
            ax.set_ylim(lo - (pad if lo < 0 else 0.0), hi + (pad if hi > 0 else 0.0))
        else:
            ax.set_ylim(-1.0, 1.0)
    return coll


def draw_letters(
    ax: Any,
    letters: str,
    heights: npt.ArrayLike,
    *,
    width: float = 0.95,
    colors: Mapping[str, Any] | None = None,
    baseline_width: float = 0.3,
) -> Any:
    """Draw ``letters[i]`` at x = i with height ``heights[i]``: :func:`draw_logo`, one per row.

    Letters other than upper-case A, C, G, T are skipped (as the logomaker matrix this replaces
    had no column for them), but the x axis spans them all. Heights beyond the last letter, and
    letters beyond the last height, are ignored. A negative height draws the letter upside
    down below the axis; zero and NaN heights are skipped.
    """
    h = np.asarray(heights, dtype=float)
    n = min(len(letters), len(h))
    mat = np.zeros((len(letters), 4))
    for i in range(n):
        k = "ACGT".find(letters[i])
        if k >= 0:
            mat[i, k] = h[i]
    return draw_logo(ax, mat, width=width, colors=colors, baseline_width=baseline_width)
