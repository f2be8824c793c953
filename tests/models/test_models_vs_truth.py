"""Acceptance tests on a CNN trained on simulated data whose truth depends on motif position and
combination: it beats the 6-mer baseline on test-set Pearson, against measured and true activity,
for every task; its ISM map finds the planted functional sites of held-out regions; fast ISM equals
plain ISM on it."""

import numpy as np
import pandas as pd
import pytest

from mpralens.data.counts import import_counts, write_imported
from mpralens.data.libraries import pair_libraries
from mpralens.data.normalize import log_ratios
from mpralens.data.splits import make_splits
from mpralens.data.training import load_training_data, prediction_table
from mpralens.data.weights import add_weights
from mpralens.io.tables import write_tsv
from mpralens.models.cnn.train import TrainSettings as CNNSettings
from mpralens.models.cnn.train import predict_tiles, train_cnn
from mpralens.models.compare import compare
from mpralens.models.kmer import fit_kmer
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled, simulated_paths


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Simulate 800 regions, import, normalise, split, fit a 6-mer model and train Paggi et al.'s
    CNN (100 filters)."""
    tmp_path = tmp_path_factory.mktemp("trained")
    sim = tmp_path / "sim"
    simulate_tiled(TiledSimulation(n_regions=800, seed=11), sim)
    p = simulated_paths(str(sim))
    r = import_counts(
        layout="ernst", libraries=p["libraries"], coords=p["coords"], sequences=p["sequences"]
    )
    write_imported(r, counts_path=tmp_path / "counts.parquet", tiles_path=tmp_path / "tiles.tsv.gz")
    write_tsv(
        add_weights(log_ratios(r.tiles, r.counts, pair_libraries(r.sheet))),
        tmp_path / "activity.tsv.gz",
    )
    write_tsv(
        make_splits(r.tiles, by="region", valid_fraction=0.1, test_fraction=0.15, seed=0),
        tmp_path / "splits.tsv",
    )
    data = load_training_data(
        tmp_path / "tiles.tsv.gz", tmp_path / "activity.tsv.gz", tmp_path / "splits.tsv"
    )
    train = data.subset("train")

    kmer = fit_kmer(list(train.tiles["sequence"]), train.y, train.w, data.tasks, k=6, method="sgd")
    # With max_epochs=10 early stopping ended after epoch 7 and kept epoch 4 (0-based; validation
    # loss 1.012 against 1.046-1.073 for epochs 3 and 5-7): 5 epochs give that model sooner.
    settings = CNNSettings(arch="paggi", max_epochs=5, patience=3, seed=0)
    _, net, spec = train_cnn(data, settings, tmp_path / "cnn")
    return {"paths": p, "tiles": r.tiles, "data": data, "kmer": kmer, "net": net, "spec": spec}


@pytest.mark.slow
def test_cnn_beats_kmer_on_every_task(trained):
    data, kmer, net, spec, p = (trained[k] for k in ("data", "kmer", "net", "spec", "paths"))
    test = data.subset("test")
    preds = {
        "kmer": prediction_table(test, kmer.predict(list(test.tiles["sequence"]))),
        "cnn": prediction_table(test, predict_tiles(net, spec, test)),
    }
    truth = pd.read_parquet(p["truth_tile_activity"]).drop(columns=["region_id", "tile_pos"])
    table = compare(preds, truth)
    # One row per model and task since issue 20 (was: one per model, target and task).
    m = pd.concat(
        [
            table.pivot_table(index="task", columns="model", values=v).assign(target=t)
            for v, t in (("pearson", "measured"), ("pearson_truth", "truth"))
        ]
    ).set_index("target", append=True)
    print(m)
    assert len(m) == 8
    assert (m["cnn"] > m["kmer"]).all(), m
    assert np.isfinite(m.to_numpy()).all()


def _test_regions(trained, n=None):
    from mpralens.ism.windows import WindowScheme, build_contexts, region_table

    test_ids = set(trained["data"].subset("test").tiles["region_id"])
    tiles = trained["tiles"]
    regions = region_table(tiles[tiles["region_id"].isin(test_ids)])
    return build_contexts(regions.head(n), WindowScheme(), genome=trained["paths"]["genome"])


@pytest.fixture(scope="module")
def held_out_ism(trained):
    """Fast ISM of the trained CNN over the held-out (test) regions."""
    from mpralens.ism.run import ism_table
    from mpralens.ism.scoring import CNNScorer

    contexts = _test_regions(trained)
    return ism_table(CNNScorer(trained["net"], trained["spec"]), contexts, progress=False)


@pytest.mark.slow
def test_ism_finds_planted_sites_of_held_out_regions(trained, held_out_ism):
    """|ISM| ranks the bases of planted sites whose TF acts in a task above all other bases
    (including sites of TFs inactive in that task): AUROC >= 0.80 for every task.

    The bar was 0.85 when sites were consensus strings; since issue 17 they are drawn from JASPAR
    matrices (weaker, varied sites, and NFE2's matrix overlaps AP-1's), and the 20-epoch test CNN
    reached 0.843 in its weakest task (HepG2_SV40P) and 0.89-0.91 in K562. 0.80 is still far
    above the shuffled control (0.5) and near Koo & Ploenzke's 0.894 for ISM on their benchmark.
    """
    from sklearn.metrics import roc_auc_score

    table = held_out_ism
    n_regions = table["region_id"].nunique()
    truth = pd.read_parquet(trained["paths"]["truth_base_effect"])
    truth = (
        truth.melt(
            id_vars=["region_id", "chrom", "pos", "genome_pos"],
            var_name="task",
            value_name="effect",
        )
        .drop(columns="pos")
        .rename(columns={"genome_pos": "pos"})
    )
    m = table.merge(truth, on=["region_id", "chrom", "pos", "task"], validate="one_to_one")
    assert len(m) == len(table) == n_regions * 295 * 4
    for task, g in m.groupby("task"):
        auc = roc_auc_score(g["effect"] != 0, g["score"].abs())
        print(task, round(auc, 3))
        assert auc >= 0.80, (task, auc)


@pytest.mark.slow
def test_fast_ism_equals_plain_on_the_trained_cnn(trained):
    """Fast ISM's deltas equal plain ISM's to 1e-5 on the trained CNN, and so do the window
    scores (each base's substitution of largest magnitude) except at a few ties.

    Where plain ISM's two largest magnitudes at a base are within float32 rounding of each other,
    fast ISM may pick the other one (of opposite sign, possibly): only there may the scores
    differ. tests/ism/test_ism.py shows on random networks of every architecture that in
    float64, where no such tie arises, the per-base region scores agree everywhere (a float64
    plain pass of this CNN costs 11 s).
    """
    from mpralens.ism.scoring import CNNScorer, window_scores

    (ctx,) = _test_regions(trained, n=1)
    net, spec = trained["net"], trained["spec"]
    plain = CNNScorer(net, spec, "plain").window_deltas(ctx)
    fast = CNNScorer(net, spec, "fast").window_deltas(ctx)
    assert np.abs(plain).max() > 0.1
    np.testing.assert_allclose(fast, plain, atol=1e-5, rtol=0)
    magnitude = np.sort(np.abs(plain), axis=2)  # (window, base, substitution, task)
    tie = magnitude[:, :, -1, :] - magnitude[:, :, -2, :] <= 2e-5
    differ = np.abs(window_scores(fast) - window_scores(plain)) > 1e-5
    assert not (differ & ~tie).any(), np.argwhere(differ & ~tie)[:5]
    assert differ.mean() < 1e-3, differ.sum()


@pytest.mark.slow
def test_ism_beats_shuffled_scores_on_conservation_and_tf_sites(trained, held_out_ism):
    """Quantile-binned Spearman of ISM scores against conservation and against TF sites of the
    task's cell type is positive, and higher than for the same scores shuffled, for every task
    (bins with mean score >= 0 as in the reference analysis, and bins of |score|)."""
    from mpralens.evaluate.ism_maps import evaluate

    p = trained["paths"]
    summary, _ = evaluate(
        held_out_ism, conservation=p["conservation"], tf_sites=p["tf_sites"], n_bins=1000
    )
    for task, per in summary["tasks"].items():
        for annotation in ("conservation", "tf_sites"):
            m = per[annotation]
            print(task, annotation, {k: round(v, 3) for k, v in m.items()})
            for variant in ("score_ge_0", "abs"):
                rho = m[f"binned_spearman_{variant}"]
                assert rho > 0.3, (task, annotation, variant, rho)
                assert rho > m[f"shuffled_binned_spearman_{variant}"] + 0.2


@pytest.mark.slow
def test_gia_on_a_trained_cnn_recovers_the_strongest_factors(trained):
    """The CNN of the models-vs-truth tests (800 simulated regions, Paggi, best of 5 epochs; the
    fixture is reused): the marginal effect of the strongest planted activators (HNF4A in
    HepG2_minP, GATA1 in K562_minP: 1.4 log2 per site) is positive with an interval excluding 0,
    REST's (-1.2) negative; decoys stay below 0.15 log2 and some decoy's interval holds 0 in at
    least half the tasks.

    On the 300-region simulation (seed 1, same CNN, 10 epochs) the decoys' marginal effects
    were -0.13..0.07 against 0.23-0.29 for HNF4A and GATA1 in their cells and -0.46..-0.71 for
    REST: the CNN gives decoys small effects of its own (a decoy's interval excludes 0 in some
    tasks), hence "some decoy" rather than "every decoy".
    """
    from mpralens.interpret.gia import (
        GIA,
        network_predictor,
        null_sequences,
        resolve_motif,
        run_gia,
    )

    test = trained["data"].subset("test").tiles
    null = null_sequences(list(test["sequence"]), 150, seed=0)
    gia = GIA(network_predictor(trained["net"], trained["spec"]), null, n_boot=500, seed=0)
    names = ("HNF4A", "GATA1", "REST", "CEBPB", "FOXA2", "NRF1", "YY1")
    table = run_gia(gia, [resolve_motif(n) for n in names], ["marginal"])
    table = table.set_index(["motifs", "task"])
    print(table[["effect", "ci_low", "ci_high"]].round(3).to_string())
    decoys = ["CEBPB", "FOXA2", "NRF1", "YY1"]
    for motif, task in (("HNF4A", "HepG2_minP"), ("GATA1", "K562_minP")):
        assert table.loc[(motif, task), "ci_low"] > 0, (motif, task)
        strongest = table.loc[(motif, task), "effect"]
        assert table.loc[(decoys, task), "effect"].abs().max() < strongest
    for task in ("HepG2_minP", "K562_minP"):
        assert table.loc[("REST", task), "ci_high"] < 0
    # Measured on this CNN: decoys -0.08..0.02 (a decoy's interval holds 0 in 3 of the 4 tasks,
    # none in HepG2_minP) against 0.54 / 0.49 for HNF4A / GATA1: small, not always nil.
    tasks = table.index.get_level_values("task").unique()
    held = 0
    for task in tasks:
        d = table.loc[(decoys, task), :]
        held += bool(((d["ci_low"] <= 0) & (d["ci_high"] >= 0)).any())
        assert d["effect"].abs().max() < 0.15
    assert held >= len(tasks) // 2
