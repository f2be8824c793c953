"""Letter logos drawn as one collection: placement, flip, colours, and logomaker's own glyphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mpralens.plots.letters import CLASSIC_COLORS, draw_letters, draw_logo, letter_path
from mpralens.plots.style import pyplot

SEQ = "ACGTNAcGT"
HEIGHTS = np.array([1.5, -2.0, 0.7, -0.3, 4.0, 0.0, 9.0, np.nan, 2.5])
# Drawn: A, C, G, T at 0-3 and T at 8; skipped: N (not a base), A (0), c (lower case), G (NaN).
DRAWN = [(0, "A", 1.5), (1, "C", -2.0), (2, "G", 0.7), (3, "T", -0.3), (8, "T", 2.5)]
WIDTH = 0.9


@pytest.fixture
def ax():
    plt = pyplot()
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_one_path_per_drawn_letter_filling_its_cell(ax):
    coll = draw_letters(ax, SEQ, HEIGHTS, width=WIDTH)
    paths = coll.get_paths()
    assert len(paths) == len(DRAWN)
    for p, (i, _, h) in zip(paths, DRAWN, strict=True):
        box = p.get_extents()
        assert (box.ymin, box.ymax) == pytest.approx((min(h, 0), max(h, 0)), abs=1e-9)
        assert (box.xmin, box.xmax) == pytest.approx((i - WIDTH / 2, i + WIDTH / 2), abs=1e-9)
    # The collection draws in data coordinates, with no edges.
    assert coll.get_transform() == ax.transData
    assert list(coll.get_linewidths()) == [0]


def test_face_colours_are_logomakers_classic_scheme(ax):
    from logomaker.src.colors import COLOR_SCHEME_DICT

    classic = {c: v for k, v in COLOR_SCHEME_DICT["classic"].items() for c in k}
    assert {c: list(CLASSIC_COLORS[c]) for c in "ACGT"} == {c: classic[c] for c in "ACGT"}
    faces = draw_letters(ax, SEQ, HEIGHTS).get_facecolors()
    want = [(*CLASSIC_COLORS[c], 1.0) for _, c, _ in DRAWN]
    assert np.allclose(faces, want)
    faces = draw_letters(ax, "AT", [1, 1], colors={"A": "black", "T": "white"}).get_facecolors()
    assert np.allclose(faces, [(0, 0, 0, 1), (1, 1, 1, 1)])


def test_a_negative_height_flips_the_letter(ax):
    """The apex of the A is at the top above the axis and at the bottom below it."""
    up, down = draw_letters(ax, "AA", [2.0, -2.0], width=1.0).get_paths()
    # The A's apex is its highest vertices (y = h), which sit at the letter's centre.
    apex = up.vertices[np.isclose(up.vertices[:, 1], 2.0)]
    assert apex.size and np.allclose(apex[:, 0].mean(), 0.0, atol=0.1)
    low = down.vertices[np.isclose(down.vertices[:, 1], -2.0)]
    assert low.size and np.allclose(low[:, 0].mean() - 1, 0.0, atol=0.1)
    # The flipped letter is the upright one mirrored in y = 0 (and moved one position).
    assert np.allclose(down.vertices, up.vertices * [1, -1] + [1, 0], atol=1e-12)
    assert list(down.codes) == list(up.codes)


def test_matches_logomakers_glyphs(ax):
    """The same paths logomaker draws for a one-base-per-position matrix, flip included."""
    import logomaker

    seq, h = "ACGTTGCA", np.array([1.0, -0.5, 2.0, -3.0, 0.25, 1.5, -1.0, 0.8])
    mat = pd.DataFrame(0.0, index=np.arange(len(seq)), columns=list("ACGT"))
    for i, (b, v) in enumerate(zip(seq, h, strict=True)):
        mat.loc[i, b] = v
    plt = pyplot()
    fig, lax = plt.subplots()
    try:
        logo = logomaker.Logo(mat, ax=lax, color_scheme="classic")
        theirs = [
            (logo.glyph_df.loc[i, b].patch.get_path(), logo.glyph_df.loc[i, b].color)
            for i, b in enumerate(seq)
        ]
    finally:
        plt.close(fig)
    coll = draw_letters(ax, seq, h)
    for ours, face, (path, color) in zip(
        coll.get_paths(), coll.get_facecolors(), theirs, strict=True
    ):
        assert np.allclose(ours.vertices, path.vertices, atol=1e-9)
        assert list(ours.codes) == list(path.codes)
        assert np.allclose(face[:3], color)


def test_axis_limits_and_baseline(ax):
    draw_letters(ax, SEQ, HEIGHTS)
    assert ax.get_xlim() == (-0.5, len(SEQ) - 0.5)
    lo, hi = ax.get_ylim()
    # The skipped N (4.0) and c (9.0) do not count; the drawn letters lie inside.
    assert -2.0 - 0.2 < lo < -2.0 and 2.5 < hi < 2.5 + 0.2
    (line,) = ax.get_lines()
    assert list(line.get_ydata()) == [0, 0] and line.get_linewidth() == 0.3
    # All positive: the axis starts at 0, where the letters stand.
    _, other = pyplot().subplots()
    draw_letters(other, "AC", [1.0, 2.0], baseline_width=0)
    assert other.get_ylim()[0] == 0.0 and not other.get_lines()
    pyplot().close(other.figure)


def test_glyphs_fill_the_unit_box():
    for c in "ACGT":
        box = letter_path(c).get_extents()
        assert (box.xmin, box.ymin, box.xmax, box.ymax) == pytest.approx((0, 0, 1, 1), abs=1e-12)
    assert letter_path("A") is letter_path("A")  # built once


def test_plot_logos_draws_the_top_regions_by_mean_abs_score(tmp_path):
    from mpralens.plots.interpret import plot_logos

    rng = np.random.default_rng(0)
    scale = {"r0": 0.1, "r1": 3.0, "r2": -2.0, "r3": 1.0}  # r2: large but negative
    seqs = {rid: "".join(rng.choice(list("ACGT"), 30)) for rid in scale}
    rows = [
        ("chr1", 100 * k + p, rid, task, s * (1 + 0.1 * rng.random()))
        for k, (rid, s) in enumerate(scale.items())
        for task in ("a", "b")
        for p in range(30)
    ]
    table = pd.DataFrame(rows, columns=["chrom", "pos", "region_id", "task", "score"])
    # Only the first task counts: in the second, r0 would come first.
    table.loc[(table["task"] == "b") & (table["region_id"] == "r0"), "score"] = 100.0
    sites = pd.DataFrame({"chrom": ["chr1"], "start": [105], "end": [112], "name": ["GATA"]})
    out = tmp_path / "logos.png"
    assert plot_logos(table, seqs, out, top=3, title="t", sites=sites) == ["r1", "r2", "r3"]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


@pytest.mark.parametrize("flip_below", [True, False])
def test_stacked_logo_matches_logomaker(ax, flip_below):
    """Several letters per position (negative ones included): logomaker's stacks, path by path."""
    import logomaker

    rng = np.random.default_rng(3)
    h = rng.normal(size=(6, 4))
    h[1, 2] = 0.0  # a zero is not drawn
    h[4] = [0.5, 0.25, 1.0, 2.0]  # all positive, as in an information logo
    start = 17
    mat = pd.DataFrame(h, index=np.arange(start, start + 6), columns=list("ACGT"))
    plt = pyplot()
    fig, lax = plt.subplots()
    try:
        logo = logomaker.Logo(mat, ax=lax, flip_below=flip_below)
        theirs = {
            (int(p), b): logo.glyph_df.loc[p, b].patch.get_path()
            for p in mat.index
            for b in "ACGT"
            if h[p - start, "ACGT".index(b)] != 0
        }
    finally:
        plt.close(fig)
    coll = draw_logo(ax, h, start=start, flip_below=flip_below)
    paths = coll.get_paths()
    assert len(paths) == len(theirs) == 23
    for path in paths:
        box = path.get_extents()
        p = round((box.xmin + box.xmax) / 2)
        # the letter at that position whose glyph logomaker put in the same box
        match = [
            k
            for k, q in theirs.items()
            if k[0] == p
            and q.vertices.shape == path.vertices.shape
            and np.allclose(q.vertices, path.vertices, atol=1e-9)
        ]
        assert len(match) == 1, (p, box)
    assert ax.get_xlim() == (start - 0.5, start + 5.5)
    lo, hi = ax.get_ylim()
    assert (
        lo <= np.where(h < 0, h, 0).sum(axis=1).min()
        and hi >= np.where(h > 0, h, 0).sum(axis=1).max()
    )
