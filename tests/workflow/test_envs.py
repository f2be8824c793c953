"""Conda environments (one per family of rules) against pyproject.toml, and each family's rules
against its environment."""

import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml

from tests.conftest import REPO, dry_run_jobs, snakemake_env, workflow_copy

# The workflow engine runs outside the rule environments.
ENGINE = {"snakemake", "snakemake-executor-plugin-slurm"}
# What envs/torch.yaml has and envs/base.yaml lacks: blocked when base-family rules are tested.
TORCH_MODULES = {
    "torch",
    "lightning",
    "pytorch_lightning",
    "logomaker",
    "tangermeme",
    "captum",
    "modiscolite",
    "memelite",
}


def _name(requirement: str) -> str:
    return requirement.split("==")[0].lower()


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _env_pins(env: str) -> dict[str, str]:
    spec = yaml.safe_load((REPO / "envs" / env).read_text())
    assert "python=3.11" in spec["dependencies"], env
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    return {_name(p): p for p in pip if "==" in p}


def test_env_pins_equal_pyproject():
    project = _project()
    base = {_name(d): d for d in project["dependencies"] if _name(d) not in ENGINE}
    torch = base | {_name(d): d for d in project["optional-dependencies"]["torch"]}
    assert _env_pins("base.yaml") == base
    assert _env_pins("torch.yaml") == torch
    assert sorted(p.name for p in (REPO / "envs").glob("*.yaml")) == ["base.yaml", "torch.yaml"]


def test_lock_agrees_with_pyproject():
    project = _project()
    lock = {
        _name(line): line.strip()
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    extras = [d for group in project["optional-dependencies"].values() for d in group]
    for dep in project["dependencies"] + extras:
        assert lock[_name(dep)] == dep


def _rule_envs() -> dict[str, str]:
    """Rule name -> the env variable its `conda:` names, from workflow/rules/*.smk."""
    envs = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for name, body in re.findall(r"(?ms)^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text()):
            found = re.search(r"conda:\s*\n\s*(\w+)", body)
            assert found, f"rule {name} in {smk.name} has no conda: environment"
            envs[name] = found.group(1)
    return envs


def test_every_rule_has_a_family_environment():
    envs = _rule_envs()
    assert set(envs.values()) == {"ENV_BASE", "ENV_TORCH"}
    assert {r for r, e in envs.items() if e == "ENV_TORCH"} == {
        "train_cnn",
        "ism_chunk",
        "simulate_sortseq",
        "fit_biophysical",
        "attribute",  # gradients and DeepSHAP of the CNN (issue 17)
        "score_alleles",  # predicts ref and alt elements with the CNN (issue 19)
        "filters",  # first-layer CNN filters, Tomtom (memelite) (issue 18)
        "patterns",  # TF-MoDISco (modisco-lite), Tomtom (issue 18)
        "gia",  # predicts null sequences with motifs embedded (issue 18)
    }


BLOCKER = f"""
import importlib.abc
import sys

class _NotInBaseEnv(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {sorted(TORCH_MODULES)!r}:
            raise ModuleNotFoundError(f"{{name}} is not in envs/base.yaml")
        return None

sys.meta_path.insert(0, _NotInBaseEnv())
"""


@pytest.mark.slow
def test_base_family_rules_run_without_torch(tiny_run, tmp_path):
    """Every base-family job of the tiny DAG runs with PyTorch, Lightning and logomaker absent."""
    wd = workflow_copy(tmp_path / "wf")
    for sub in ("resources", "results", "logs"):
        shutil.copytree(tiny_run / sub, wd / sub, symlinks=True, dirs_exist_ok=True)
    jobs = [job for job in dry_run_jobs(wd) if job.shell]  # rule all has no command
    envs = _rule_envs()
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    blocked = snakemake_env() | {"PYTHONPATH": str(blocker)}

    def run(cmd: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", cmd], cwd=wd, env=env, capture_output=True, text=True)

    # Temporary outputs of torch-family jobs (ISM chunks) are gone after the run: remake them.
    for job in jobs:
        missing = [o for o in job.paths("output") if not (wd / o).exists()]
        if envs[job.rule] == "ENV_TORCH" and missing:
            assert run(job.shell, snakemake_env()).returncode == 0, job.shell
    assert run(f"{sys.executable} -c 'import torch'", blocked).returncode != 0, (
        "the blocker does not block"
    )
    base_jobs = [(job.rule, job.shell) for job in jobs if envs[job.rule] == "ENV_BASE"]
    assert len(base_jobs) >= 8
    for rule, cmd in base_jobs:
        proc = run(cmd, blocked)
        logs = re.findall(r"> (logs/\S+\.log)", cmd)
        detail = (wd / logs[0]).read_text()[-3000:] if logs else proc.stderr
        assert proc.returncode == 0, f"{rule} needs more than envs/base.yaml:\n{detail}"
    assert os.path.getsize(wd / "results/tiny/ism/cnn/scores.tsv.gz") > 0
