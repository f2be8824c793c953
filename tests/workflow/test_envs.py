"""Conda environments (one per family of rules) against pyproject.toml, and each family's rules
against its environment."""

import subprocess
import sys
import tomllib

import pytest
import yaml

from tests.conftest import GUARDED, REPO, base_env_guard, dry_run_jobs, rule_families

# The workflow engine runs outside the rule environments.
ENGINE = {"snakemake", "snakemake-executor-plugin-slurm"}


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


def test_every_rule_has_a_family_environment():
    envs = {rule: env for rule, (env, _) in rule_families().items()}
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


@pytest.mark.slow
def test_base_family_rules_run_without_torch(tiny_run):
    """Every base-family job of the tiny DAG ran with PyTorch, Lightning, logomaker and the rest
    of what envs/base.yaml lacks unimportable: the shared tiny run installs
    ``conftest.base_env_guard``, which records each command it guarded (the next test shows
    that it blocks them)."""
    families = rule_families()
    base = {
        families[job.rule][1]
        for job in dry_run_jobs(tiny_run)
        if job.shell and families[job.rule][0] == "ENV_BASE"
    }
    assert len(base) >= 8, base
    guarded = (tiny_run.parent / GUARDED).read_text().split()
    assert set(guarded) == base


def test_the_guard_blocks_torch_in_base_family_commands_only(tmp_path):
    """In a command named ``mpralens`` whose subcommand belongs to a base-family rule, importing
    torch fails and the command is recorded; in a torch-family one it works."""
    log = tmp_path / "guarded.txt"
    env = base_env_guard(tmp_path / "guard", log)
    script = tmp_path / "bin" / "mpralens"  # stands for the console script
    script.parent.mkdir()
    script.write_text("import sys\nimport torch\nprint(sys.argv[1], torch.__name__)\n")

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), command], env=env, capture_output=True, text=True
        )

    families = rule_families()
    assert families["normalize"][0] == "ENV_BASE" and families["train_cnn"][0] == "ENV_TORCH"
    blocked = run(families["normalize"][1])
    assert blocked.returncode != 0
    assert "ModuleNotFoundError: torch is not in envs/base.yaml" in blocked.stderr
    allowed = run(families["train_cnn"][1])
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.split() == ["train-cnn", "torch"]
    assert log.read_text().split() == ["normalize"]
