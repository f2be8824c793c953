"""One letter per position, drawn as a single collection: the fast path for attribution logos.

``logomaker.Logo`` builds a ``TextPath`` and a ``PathPatch`` for every cell of its matrix,
zero cells included. The attribution figure (:func:`mpralens.plots.interpret.plot_logos`) has
one non-zero base per position, yet drew 4 x 295 glyphs per region, 7,080 per figure of 6
regions: 10.8 to 14.7 s per figure on the 2-core development machine, in every attribution
job of the workflow. Here each of A, C, G, T is built once as a path filling the unit box,
placed per position by an affine transform (a negative height flips it below the axis), and
the row is added as one ``PathCollection``: the same figure takes 0.56 to 0.83 s, under 0.1 s
of it for the letters, the rest layout and PNG. The paths are logomaker's, vertex for vertex
(tests/test_plots_letters.py). Motif and biophysics logos are small and keep using logomaker.
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


def draw_letters(
    ax: Any,
    letters: str,
    heights: npt.ArrayLike,
    *,
    width: float = 0.95,
    colors: Mapping[str, Any] | None = None,
    baseline_width: float = 0.3,
) -> Any:
    """Draw ``letters[i]`` at x = i with height ``heights[i]``, as one collection on ``ax``.

    Parameters
    ----------
    ax
        The matplotlib Axes to draw on.
    letters
        One letter per position; letters other than upper-case A, C, G, T are skipped (as
        the logomaker matrix this replaces had no column for them). The x axis spans them all.
    heights
        One height per position; heights beyond the last letter, and letters beyond the last
        height, are ignored. A negative height draws the letter upside down below the axis,
        from 0 down to the height (logomaker's ``flip_below=True``); zero and NaN heights are
        skipped.
    width
        Width of each letter, centred on its position (logomaker's default 0.95).
    colors
        Face colour of each of A, C, G, T; default logomaker's "classic" scheme.
    baseline_width
        Line width of the black line at y = 0 (0: none).

    Returns
    -------
    matplotlib.collections.PathCollection
        The letters, one path per drawn letter in position order (in data coordinates), with
        no edges.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D

    palette = CLASSIC_COLORS if colors is None else colors
    h = np.asarray(heights, dtype=float)
    n = min(len(letters), len(h))
    paths, faces, drawn = [], [], []
    for i in range(n):
        c, v = letters[i], float(h[i])
        if c not in CLASSIC_COLORS or not np.isfinite(v) or v == 0:
            continue
        place = Affine2D().scale(width, v).translate(i - width / 2, 0)
        paths.append(place.transform_path(letter_path(c)))
        faces.append(palette[c])
        drawn.append(v)
    coll = PathCollection(paths, facecolors=faces, edgecolors="none", linewidths=0, zorder=0)
    ax.add_collection(coll, autolim=False)
    if baseline_width > 0:
        ax.axhline(0, color="black", linewidth=baseline_width, zorder=-1)
    lo, hi = min([0.0, *drawn]), max([0.0, *drawn])
    pad = 0.02 * (hi - lo)
    ax.set_xlim(-0.5, max(len(letters), 1) - 0.5)
    if hi > lo:  # a margin only on the sides that have letters, as 0 is logomaker's edge
        ax.set_ylim(lo - (pad if lo < 0 else 0.0), hi + (pad if hi > 0 else 0.0))
    else:
        ax.set_ylim(-1.0, 1.0)
    return coll
