import tomllib

import yaml

from tests.conftest import REPO


def test_conda_env_pins_match_pyproject():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for env in sorted((REPO / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
        pinned = {p.split("==")[0].lower(): p for p in pip if "==" in p}
        for dep in deps:
            name = dep.split("==")[0].lower()
            if name in pinned:
                assert pinned[name] == dep, f"{env.name}: {pinned[name]} != pyproject {dep}"
        assert set(pinned) <= {d.split("==")[0].lower() for d in deps}, env.name
        assert "python=3.11" in spec["dependencies"]


def test_lock_agrees_with_pyproject():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    lock = {
        line.split("==")[0].lower(): line.strip()
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for dep in deps:
        assert lock[dep.split("==")[0].lower()] == dep
