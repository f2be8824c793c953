import numpy as np
import pandas as pd
import pytest

from mpralens.data.weights import add_weights, diagonal_weight, inverse_variance_weight


def test_diagonal_weight_hand_computed():
    reps = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 1.5]])
    # distances from the diagonal |r1 - r2| / sqrt(2): 0, 0.7071, 1.4142, 0.3536
    w = diagonal_weight(reps)
    assert w == pytest.approx([1.0, 0.5, 0.0, 0.75])


def test_inverse_variance_leave_one_out():
    rng = np.random.default_rng(0)
    n = 400
    dna = rng.integers(20, 2000, n).astype(float)
    sd = 2.0 / np.sqrt(dna)  # noisier at low DNA
    act = rng.normal(0, 1, n)
    reps = np.column_stack([act + rng.normal(0, sd), act + rng.normal(0, sd)])
    w = inverse_variance_weight(reps, dna, neighbors=30)
    assert w.max() == pytest.approx(1.0)
    assert (w > 0).all()
    # Tiles with more DNA are more reproducible and must weigh more on average.
    assert np.corrcoef(np.log(dna), w)[0, 1] > 0.5
    # Leave-one-out: duplicating a tile's huge disagreement must not change its own weight much,
    # but it does change its neighbours'. Check self-exclusion directly on a tiny example:
    reps2 = np.array([[0, 0], [0, 0.1], [0, 0.2], [0, 10.0]], dtype=float)
    dna2 = np.array([100.0, 100.0, 100.0, 100.0])
    w2 = inverse_variance_weight(reps2, dna2, neighbors=3)
    # Every tile's neighbours are the other three; tile 3's prediction excludes its own 50.0
    var = reps2.var(axis=1, ddof=1)
    pred = (var.sum() - var) / 3
    expected = 1 / np.maximum(pred, np.quantile(pred, 0.05))
    assert w2 == pytest.approx(expected / expected.max())


def test_invalid_tiles_weigh_zero_and_single_replicate_weighs_one():
    lr = pd.DataFrame(
        {
            "tile_id": ["a", "b", "c"],
            "region_id": ["r", "r", "r"],
            "tile_pos": [0, 1, 2],
            "task": "T",
            "dna_count": [30.0, 40.0, 5.0],
            "log2_ratio_rep1": [0.5, -0.5, np.nan],
            "activity": [0.5, -0.5, np.nan],
            "valid": [True, True, False],
        }
    )
    out = add_weights(lr)
    assert out["weight"].tolist() == [1.0, 1.0, 0.0]
    assert list(out.columns)[-1] == "weight"


def _three_and_two() -> pd.DataFrame:
    """Task A (3 replicates, 4 valid tiles + 1 invalid) and task B (2 replicates, 3 valid + 1)."""
    nan = np.nan
    rows = [
        ("A", [0.0, 0.0, 0.0], True),
        ("A", [1.0, 2.0, 3.0], True),
        ("A", [0.0, 0.0, 3.0], True),
        ("A", [0.0, 2.0, 4.0], True),
        ("A", [nan, nan, nan], False),
        ("B", [0.0, 1.0, nan], True),
        ("B", [1.0, 1.0, nan], True),
        ("B", [3.0, 0.0, nan], True),
        ("B", [nan, nan, nan], False),
    ]
    reps = np.array([r for _, r, _ in rows])
    return pd.DataFrame(
        {
            "tile_id": [f"t{i}" for i in range(len(rows))],
            "region_id": "r",
            "tile_pos": range(len(rows)),
            "task": [t for t, _, _ in rows],
            "dna_count": 100.0,
            "log2_ratio_rep1": reps[:, 0],
            "log2_ratio_rep2": reps[:, 1],
            "log2_ratio_rep3": reps[:, 2],
            "activity": reps[:, 0],  # not used by the weights
            "valid": [v for _, _, v in rows],
        }
    )


def test_diagonal_weight_three_and_two_replicates_hand_computed():
    out = add_weights(_three_and_two(), method="diagonal")
    # A: replicate sd (ddof=1) 0, 1, sqrt(3) = 1.732051, 2 -> (2 - sd) / (2 - 0)
    expected = [1.0, 0.5, 0.133975, 0.0, 0.0]
    assert out["weight"].iloc[:5].tolist() == pytest.approx(expected, abs=1e-6)
    # B over its own two replicates: |r1 - r2| / sqrt(2) = 0.707107, 0, 2.121320 -> (2.121320 -
    # d) / 2.121320 = 2/3, 1, 0 (before, the NaN third column made every B weight NaN).
    assert out["weight"].iloc[5:].tolist() == pytest.approx([2 / 3, 1.0, 0.0, 0.0], abs=1e-6)
    assert list(out.columns) == [
        "tile_id",
        "region_id",
        "tile_pos",
        "task",
        "log2_ratio_rep1",
        "log2_ratio_rep2",
        "log2_ratio_rep3",
        "activity",
        "valid",
        "weight",
    ]


def test_inverse_variance_three_and_two_replicates_hand_computed():
    # neighbors=3 is at least n - 1 for both tasks, so each tile's neighbours are all other valid
    # tiles of its task whatever the features, and the prediction is their mean variance.
    out = add_weights(_three_and_two(), method="inverse_variance", neighbors=3)
    # A: var (ddof=1) 0, 1, 3, 4 -> pred (8 - var) / 3 = 8/3, 7/3, 5/3, 4/3; 5th percentile floor
    # 4/3 + 0.15 * 1/3 = 1.383333; 1 / max(pred, floor) = 3/8, 3/7, 3/5, 1/1.383333 -> / max.
    inv = np.array([3 / 8, 3 / 7, 3 / 5, 1 / 1.383333])
    assert out["weight"].iloc[:4].to_numpy() == pytest.approx(inv / inv.max(), abs=1e-6)
    # B: var = (r1 - r2)^2 / 2 = 0.5, 0, 4.5 -> pred (5 - var) / 2 = 2.25, 2.5, 0.25; floor
    # 0.25 + 0.1 * 2 = 0.45; 1 / max(pred, floor) = 0.444444, 0.4, 2.222222 -> 0.2, 0.18, 1.
    assert out["weight"].iloc[5:8].tolist() == pytest.approx([0.2, 0.18, 1.0], abs=1e-6)
    assert out["weight"].iloc[4] == 0 and out["weight"].iloc[8] == 0
