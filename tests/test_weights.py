import numpy as np
import pandas as pd
import pytest

from mpralens.weights import add_weights, diagonal_weight, inverse_variance_weight


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
