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
        curve = pd.read_csv(wd / "results/tiny/models/cnn/metrics.csv")
        # The rerun logged only the epochs after the checkpoint, not a fresh start from 0.
        assert curve["epoch"].dropna().min() >= epoch_at_kill
    else:  # a checkpoint cut mid-write is not trusted: training starts afresh and completes
        assert "Restoring states" not in log
    assert model.exists()
    metrics = pd.read_csv(wd / TARGET, sep="\t")
    assert set(metrics["model"]) == {"kmer", "cnn"} and metrics["pearson"].notna().all()
