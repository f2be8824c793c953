"""On simulated data whose truth depends on motif position and combination, the CNN must beat the
6-mer baseline on test-set Pearson, against measured activity and against the true activity, for
every task (issue 3's acceptance test)."""

import numpy as np
import pandas as pd
import pytest

from mpralens.cnn.train import CNNSettings, predict_tiles, train_cnn
from mpralens.compare import compare
from mpralens.counts import import_counts, write_imported
from mpralens.kmer import fit_kmer
from mpralens.libraries import pair_libraries
from mpralens.normalize import log_ratios
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled, simulated_paths
from mpralens.splits import make_splits
from mpralens.tables import write_tsv
from mpralens.training_data import load_training_data, prediction_table
from mpralens.weights import add_weights


@pytest.mark.slow
def test_cnn_beats_kmer_on_every_task(tmp_path):
    sim = tmp_path / "sim"
    simulate_tiled(TiledSimulation(n_regions=500, seed=11), sim)
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
    train, test = data.subset("train"), data.subset("test")

    kmer = fit_kmer(list(train.tiles["sequence"]), train.y, train.w, data.tasks, k=6, method="sgd")
    settings = CNNSettings(
        arch="paggi", arch_kwargs={"filters": 64}, max_epochs=10, patience=3, seed=0
    )
    _, net, spec = train_cnn(data, settings, tmp_path / "cnn")
    preds = {
        "kmer": prediction_table(test, kmer.predict(list(test.tiles["sequence"]))),
        "cnn": prediction_table(test, predict_tiles(net, spec, test)),
    }
    truth = pd.read_parquet(p["truth_tile_activity"]).drop(columns=["region_id", "tile_pos"])
    m = compare(preds, truth).pivot_table(
        index=["target", "task"], columns="model", values="pearson"
    )
    print(m)
    assert len(m) == 8
    assert (m["cnn"] > m["kmer"]).all(), m
    assert np.isfinite(m.to_numpy()).all()
