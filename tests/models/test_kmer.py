import numpy as np

from mpralens.models.kmer import fit_kmer, kmer_matrix


def test_kmer_counts_by_hand():
    m = kmer_matrix(["ACGTA", "AANAA", "TT"], 2).toarray()
    # AC=1, CG=6, GT=11, TA=12 once each; AANAA has AA twice (windows with N skipped); TT=15
    assert m[0, [1, 6, 11, 12]].tolist() == [1, 1, 1, 1] and m[0].sum() == 4
    assert m[1, 0] == 2 and m[1].sum() == 2
    assert m[2, 15] == 1 and m[2].sum() == 1
    assert kmer_matrix(["ACGT" * 40], 8).shape == (1, 4**8)


def test_kmer_regression_recovers_planted_kmer():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(1500)]
    seqs = [s[:20] + ("GATTACA" if i % 3 == 0 else s[20:27]) + s[27:] for i, s in enumerate(seqs)]
    y = np.array([[2.0 * s.count("GATTACA") + rng.normal(0, 0.1)] for s in seqs])
    w = np.ones_like(y)
    for method in ("sgd", "ridge"):
        model = fit_kmer(seqs[:1000], y[:1000], w[:1000], ["T"], k=6, method=method, alpha=1e-5)
        pred = model.predict(seqs[1000:])
        assert np.corrcoef(pred[:, 0], y[1000:, 0])[0, 1] > 0.9, method


def test_sample_weights_and_invalid_rows_are_used():
    seqs = ["AAAAAA", "CCCCCC"] * 50
    y = np.array([[1.0], [np.nan]] * 50)
    w = np.array([[1.0], [0.0]] * 50)
    model = fit_kmer(seqs, y, w, ["T"], k=3, method="ridge", alpha=1e-6)
    assert abs(model.predict(["AAAAAA"])[0, 0] - 1.0) < 0.05


def test_saved_model_predicts_identically(tmp_path):
    from mpralens.models.kmer import load_kmer_model

    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(200)]
    y = rng.normal(size=(200, 2))
    model = fit_kmer(seqs, y, np.ones_like(y), ["a", "b"], k=4, method="ridge", alpha=1e-3)
    model.save(tmp_path / "m.npz")
    loaded = load_kmer_model(tmp_path / "m.npz")
    assert loaded.tasks == ["a", "b"] and loaded.k == 4
    np.testing.assert_allclose(loaded.predict(seqs), model.predict(seqs), rtol=1e-5, atol=1e-6)
    # and it equals sklearn's own prediction
    np.testing.assert_allclose(
        model.predict(seqs)[:, 0],
        model.models[0].predict(kmer_matrix(seqs, 4)),
        rtol=1e-5,
        atol=1e-6,
    )
