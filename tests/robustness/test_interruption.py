"""A SIGKILL during CNN training, then a rerun: complete, valid results, and training resumes from
the last checkpoint instead of starting over."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from tests.conftest import run_snakemake, snakemake_env, workflow_copy

CONFIG = """seed: 3
datasets:
  tiny:
    type: tiled_mpra
    source: simulate
    simulate: {n_regions: 60, seed: 5}
split: {valid_fraction: 0.2, test_fraction: 0.2}
models:
  cnn: {arch_kwargs: {filters: 32}, max_epochs: 25, patience: 25}
ism: {models: []}
"""
TARGET = "results/tiny/evaluation/models.tsv"


@pytest.mark.slow
def test_killed_training_resumes_from_its_last_checkpoint(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    (wd / "kill.yaml").write_text(CONFIG)
    last = wd / "results/tiny/models/cnn/checkpoints/last.ckpt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", TARGET, "--configfile", "kill.yaml"],
        cwd=wd,
        env=snakemake_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches every job
    )
    try:
        deadline = time.monotonic() + 300
        while not last.exists():
            assert proc.poll() is None, "the workflow ended before training wrote a checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 300 s"
            time.sleep(0.2)
        time.sleep(1.5)  # a few more epochs
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    model = wd / "results/tiny/models/cnn/model.ckpt"
    assert not model.exists()  # the killed job left no half-written output
    try:
        epoch_at_kill = torch.load(last, map_location="cpu", weights_only=True)["epoch"]
    except Exception:  # noqa: BLE001 - killed while Lightning was writing it
        epoch_at_kill = None
    # The recovery a user runs: unlock the working directory and rerun incomplete jobs.
    run_snakemake(wd, "--unlock", "--configfile", "kill.yaml")
    run_snakemake(wd, TARGET, "--rerun-incomplete", "--configfile", "kill.yaml")
    log = (wd / "logs/tiny/train_cnn.log").read_text()
    print("killed after epoch", epoch_at_kill)
    if epoch_at_kill is not None:
        assert "Restoring states from the checkpoint path" in log, log[-3000:]
        assert str(last) in log or "last.ckpt" in log
    else:  # a checkpoint cut mid-write is not trusted: training starts afresh and completes
        assert "Restoring states" not in log
    # The training curve holds every epoch's validation loss once, from 0 to the last (max_epochs
    # 25, patience 25): the interrupted run's epochs before the checkpoint, then the resumed
    # run's (Lightning's logger deletes metrics.csv when it starts; train_cnn puts the earlier
    # epochs back). An epoch's training loss is logged just after its checkpoint is saved, so a
    # kill in between may leave out that one epoch's.
    curve = pd.read_csv(wd / "results/tiny/models/cnn/metrics.csv")
    val = curve.dropna(subset=["val_loss"])["epoch"].astype(int).tolist()
    assert val == list(range(25)), val
    train = curve.dropna(subset=["train_loss"])["epoch"].astype(int).tolist()
    assert train == sorted(set(train)) and len(train) >= 24 and set(train) <= set(range(25))
    assert curve["step"].is_monotonic_increasing
    assert model.exists()
    metrics = pd.read_csv(wd / TARGET, sep="\t")
    assert set(metrics["model"]) == {"kmer", "cnn"} and metrics["pearson"].notna().all()


def test_resumed_curve_keeps_the_epochs_before_the_checkpoint(tmp_path):
    """The rows of the interrupted run before the resumed run's first epoch go first; its rows of
    that epoch and later ones (logged after the checkpoint) give way to the resumed run's."""
    from mpralens.models.cnn.train import _join_curves, _read_curve

    path = tmp_path / "metrics.csv"
    path.write_text(
        "epoch,step,train_loss,val_loss\n0,8,,1.5\n0,8,1.6,\n1,17,,1.4\n1,17,1.45,\n2,26,,1.3\n2,2"
    )  # the kill cut the last line
    earlier = _read_curve(path)
    assert earlier is not None and len(earlier) == 6
    path.write_text("epoch,step,train_loss,val_loss\n2,26,,1.25\n2,26,1.3,\n3,35,,1.2\n")
    _join_curves(path, earlier)
    joined = pd.read_csv(path)
    assert joined["epoch"].tolist() == [0, 0, 1, 1, 2, 2, 3]
    assert joined["val_loss"].dropna().tolist() == [1.5, 1.4, 1.25, 1.2]
    assert joined["step"].tolist() == [8, 8, 17, 17, 26, 26, 35]
    assert not list(tmp_path.glob("*.tmp*")) and [p.name for p in tmp_path.iterdir()] == [
        "metrics.csv"
    ]
    assert _read_curve(tmp_path / "missing.csv") is None
    (tmp_path / "empty.csv").write_text("")
    assert _read_curve(tmp_path / "empty.csv") is None
