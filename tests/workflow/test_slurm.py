"""The tiny DAG through a real SLURM scheduler (Debian's slurmctld/slurmd on localhost).

scripts/slurm_cluster.sh installs and starts the cluster (root, Debian); the test runs
``snakemake --profile profiles/slurm`` and checks that every job went through sbatch (the job IDs
Snakemake reports are in slurmctld's log, submitted and completed), that the results equal the
local run's byte for byte, and that a job failing under SLURM fails the run instead of hanging.
That run is also the determinism check's second clean run with the same seed
(tests/robustness/test_determinism.py reruns the DAG locally only where SLURM cannot run).
Locally, without root or apt, the module is skipped; under CI it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    REPO,
    TINY_TABLES,
    dry_run_jobs,
    slurm_unavailable,
    snakemake_env,
    workflow_copy,
)

SCRIPT = REPO / "scripts" / "slurm_cluster.sh"
# Fast status checks for a test (the profile's 20 s suit a real cluster); MinJobAge=300 in the
# test cluster's slurm.conf keeps squeue reliable with them.
FAST_STATUS = [
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> Path:
    """A single-node cluster for this module; torn down even when a test fails."""
    reason = slurm_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the SLURM test cannot run: {reason}")
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm")
    up = subprocess.run(
        ["timeout", "-k", "10", "300", "bash", str(SCRIPT), "up", str(state)],
        capture_output=True,
        text=True,
    )
    try:
        assert up.returncode == 0, f"cluster did not start:\n{up.stdout}\n{up.stderr}"
        yield state
    finally:
        subprocess.run(
            ["timeout", "-k", "10", "60", "bash", str(SCRIPT), "down", str(state)], check=False
        )


def _snakemake_slurm(workdir: Path, *args: str, limit: int) -> subprocess.CompletedProcess:
    """Run snakemake through profiles/slurm, bounded in time (SIGTERM, then SIGKILL)."""
    return subprocess.run(
        ["timeout", "-k", "10", str(limit), sys.executable, "-m", "snakemake"]
        + ["--profile", "profiles/slurm", "--configfile", "tests/configs/tiny.yaml"]
        + FAST_STATUS
        + list(args),
        cwd=workdir,
        env=snakemake_env(),
        capture_output=True,
        text=True,
    )


def _submitted(output: str) -> dict[str, str]:
    """SLURM job ID -> rule, from Snakemake's "submitted with SLURM jobid" lines."""
    pattern = r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/"
    return dict(re.findall(pattern, output))


@pytest.mark.slow
def test_tiny_dag_runs_through_slurm_and_matches_local(slurm, request, tmp_path):
    # The local run (the shared tiny_run) is asked for only once the SLURM run is done: the two
    # runs overlap (another worker runs the local one), and this run's waits on squeue and the
    # SLURM plugin's backoff leave the cores to the other tests.
    wd = workflow_copy(tmp_path / "wf")
    proc = _snakemake_slurm(wd, limit=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake under SLURM failed:\n{out[-6000:]}"

    # Every job of the DAG except the local `all` was a SLURM batch job that slurmctld
    # accepted and saw complete with exit status 0.
    jobs = _submitted(out)
    dag = {job.rule for job in dry_run_jobs(wd)} - {"all"}
    assert set(jobs.values()) == dag, sorted(jobs.values())
    ctld = (slurm / "log" / "slurmctld.log").read_text()
    for jobid in jobs:
        assert f"_slurm_rpc_submit_batch_job: JobId={jobid} " in ctld, jobid
        assert re.search(rf"_job_complete: JobId={jobid} WEXITSTATUS 0", ctld), jobid

    tiny_run = request.getfixturevalue("tiny_run")
    for table in TINY_TABLES:
        a = (tiny_run / "results" / "tiny" / table).read_bytes()
        b = (wd / "results" / "tiny" / table).read_bytes()
        assert a == b, f"{table} differs between the SLURM run and the local run"

    # A job that fails on the cluster fails the run (no hang on the status checks).
    (wd / "results/tiny/tiles.tsv.gz").write_bytes(b"not gzip")
    failed = _snakemake_slurm(wd, "--forcerun", "split", "--until", "split", limit=300)
    out = failed.stdout + failed.stderr
    assert failed.returncode not in (0, 124, 137), out[-4000:]
    assert "Error in rule split" in out
    assert re.search(r"SLURM-job '\d+' failed", out), out[-4000:]
