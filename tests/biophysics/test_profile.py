"""The profile-likelihood estimate of interaction energies (hand-computed profiles)."""

import numpy as np
import pytest
import yaml

from mpralens.biophysics.profile import (
    grid_points,
    profile_minimum,
    quadratic_vertex,
)

GRID = np.arange(-7.0, 0.0)  # -7 .. -1 kT


def test_vertex_of_an_exact_quadratic_is_exact():
    est, edge = quadratic_vertex(GRID, 1.83 + 2e-4 * (GRID + 4.3) ** 2)
    assert est == pytest.approx(-4.3, abs=1e-9) and not edge


def test_vertex_uses_only_points_near_the_minimum():
    # Far points follow another curve; only the five nearest the minimum (-6..-2) are used.
    y = (GRID + 4.0) ** 2
    y[GRID == -7.0] = 100.0
    y[GRID == -1.0] = -0.5 + 9.0  # still above the minimum, far from the quadratic
    est, _ = quadratic_vertex(GRID, y)
    assert est == pytest.approx(-4.0, abs=1e-9)


def test_grid_order_does_not_matter():
    y = (GRID + 2.5) ** 2
    perm = np.random.default_rng(0).permutation(len(GRID))
    assert quadratic_vertex(GRID[perm], y[perm])[0] == pytest.approx(-2.5)


def test_minimum_at_the_edge_is_reported_as_such():
    est, edge = quadratic_vertex(GRID, GRID.copy())  # keeps falling towards -7
    assert est == -7.0 and edge
    est, edge = quadratic_vertex(GRID, -GRID)  # keeps falling towards -1
    assert est == -1.0 and edge


def test_flat_or_short_profiles_fall_back_to_the_best_point():
    assert quadratic_vertex(np.array([-3.0]), np.array([1.0])) == (-3.0, False)
    # Downward curvature around an interior minimum (a kink): the best grid point.
    y = np.array([5.0, 4.0, 3.0, 0.0, 2.9, 3.9, 4.9])
    est, edge = quadratic_vertex(GRID, y)
    assert not edge and -5.0 <= est <= -3.0


def test_two_interactions_are_profiled_one_by_one():
    points = grid_points([-1.0, -2.0, -3.0, -4.0, -5.0], 2)
    assert len(points) == 25 and points[0] == (-5.0, -5.0)
    vals = [(a + 2.2) ** 2 + 0.5 * (b + 3.6) ** 2 for a, b in points]
    est, edge = profile_minimum(points, vals)
    assert est == pytest.approx((-2.2, -3.6), abs=1e-9) and edge == (False, False)


def test_a_wider_window_averages_noise_out():
    # A noisy parabola with its minimum at -4.2: the lowest noisy point is -5; its window of
    # two steps (-7..-3) is lopsided, that of three steps (-7..-2) recovers the minimum better.
    y = 1e-4 * (GRID + 4.2) ** 2 + np.array([0.0, 0.0, -1.5e-4, 1.0e-4, 0.0, 1.0e-4, 0.0])
    narrow, _ = quadratic_vertex(GRID, y, half_width=2)
    wide, _ = quadratic_vertex(GRID, y, half_width=3)
    a, b, _ = np.polyfit(GRID[:6], y[:6], 2)
    assert wide == pytest.approx(-b / (2 * a), abs=1e-9)
    assert abs(wide + 4.2) < abs(narrow + 4.2)


def test_planned_fits_count_restarts_and_profile_points():
    from mpralens.biophysics.profile import planned_fits
    from mpralens.biophysics.spec import parse_spec
    from mpralens.config.settings import FitSettings
    from tests.conftest import REPO

    thermo = parse_spec(
        "lac", yaml.safe_load((REPO / "config/biophysics/lac_thermo.yaml").read_text())
    )
    kinetic = parse_spec(
        "kin", yaml.safe_load((REPO / "config/biophysics/lac_kinetic.yaml").read_text())
    )
    # lbfgs: one fit per restart, then up to interval_points per side of the one interaction.
    assert planned_fits(thermo, FitSettings(restarts=2, interval_points=4)) == 2 + 8
    assert planned_fits(thermo, FitSettings(restarts=3, interval_points=0)) == 3
    assert planned_fits(kinetic, FitSettings(restarts=2, optimizer="lbfgs")) == 2
    # auto (the default): lbfgs for thermodynamic models, adam for kinetic ones.
    assert FitSettings().optimizer_for("thermodynamic") == "lbfgs"
    assert FitSettings().optimizer_for("kinetic") == "adam"
    assert FitSettings(optimizer="lbfgs").optimizer_for("kinetic") == "lbfgs"
    assert FitSettings(optimizer="adam").optimizer_for("thermodynamic") == "adam"
    assert planned_fits(thermo, FitSettings(restarts=2)) == 2 + 8
    assert planned_fits(kinetic, FitSettings(restarts=2)) == 2
    # adam: per restart, 7 grid points and one fit at the profile's minimum.
    assert planned_fits(thermo, FitSettings(restarts=2, optimizer="adam")) == 16
    assert planned_fits(kinetic, FitSettings(restarts=2, optimizer="adam")) == 2
