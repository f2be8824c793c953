"""Shared fixtures: the ../shared data (fail, not skip, under CI) and small simulated data sets."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from mpralens.cli._allocator import keep_freed_memory

REPO = Path(__file__).resolve().parents[1]

# The tests train and interpret networks in their own processes too: the allocator settings of the
# `mpralens` command (an epoch of the 800-region fixture's CNN 25% faster).
keep_freed_memory()

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs one worker per core (pytest-xdist): one thread each, here and in the
    # commands the tests start, so that workers do not oversubscribe the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)

# The modules that take minutes, in the order `make test` starts them (longest first, from
# `--durations`; the tiny DAG's module first, as most of the others wait for its shared run).
# The Makefile runs xdist with --dist loadfile --no-loadscope-reorder, which hands files to the
# workers in collection order: long modules start at once and the short ones fill in around them,
# instead of a long module starting last and running alone.
LONG_MODULES = (
    "tests/workflow/test_workflow.py",
    "tests/models/test_models_vs_truth.py",
    "tests/workflow/test_slurm.py",
    "tests/robustness/test_output_folders.py",
    "tests/biophysics/test_fit.py",
    "tests/robustness/test_entry_points.py",
    "tests/robustness/test_user_inputs.py",
    # Then modules of 20-60 s, so that the run ends on short tests: in collection order
    # test_interruption.py (a DAG run, killed, and its rerun) ran alone at the end of a run.
    "tests/robustness/test_interruption.py",
    "tests/interpret/test_motifs.py",
    "tests/ism/test_ism.py",
    "tests/models/test_models_round2.py",
    "tests/io/test_download.py",
)


KERNELS = pytest.StashKey[subprocess.Popen]()


def pytest_sessionstart(session) -> None:
    """Start compiling memelite's kernels in the background (the controller process only).

    In a new environment the tiny DAG's filters and patterns jobs, the SLURM run's and the motif
    tests would each reach a cold numba cache; started now, the compile (about a minute of one
    core) runs while the workers simulate and train, and those jobs wait on its lock
    (mpralens.interpret.tomtom.compile_kernels) instead of compiling it again. Nothing depends
    on it: if it fails, the first job compiles the kernels itself. Only for a run spread over
    xdist workers (`make test`, `make unit`): a single test's run would mostly pay for it.
    """
    if hasattr(session.config, "workerinput"):  # an xdist worker: the controller started it
        return
    if not getattr(session.config.option, "numprocesses", None):
        return
    session.config.stash[KERNELS] = subprocess.Popen(
        [sys.executable, "-m", "mpralens.interpret.tomtom"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pytest_sessionfinish(session) -> None:
    """Stop the background compile if the tests ended first."""
    proc = session.config.stash.get(KERNELS, None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait()


def pytest_collection_modifyitems(config, items) -> None:
    """Collect the long modules first (a stable sort: the rest keep their order)."""
    missing = [name for name in LONG_MODULES if not (REPO / name).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py: LONG_MODULES names no file {missing}")
    rank = {name: i for i, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


SHARED = REPO.parent / "shared"
SHARPR = SHARED / "data" / "sharpr_format"

# Every table the tiny DAG writes (gzip headers carry no timestamp; parquet carries no time).
TINY_TABLES = [
    "counts.parquet",
    "tiles.tsv.gz",
    "log_ratios.parquet",
    "activity.tsv.gz",
    "splits.tsv",
    "qc/qc.json",
    "models/kmer/predictions.tsv.gz",
    "models/kmer/metrics.tsv",
    "models/cnn/predictions.tsv.gz",
    "models/cnn/metrics.tsv",
    "evaluation/models.tsv",
    "ism/cnn/scores.tsv.gz",
    "interpret/cnn/deepshap/scores.tsv.gz",  # seeded shuffled references
    "interpret/cnn/gia.tsv",  # seeded null sequences and bootstrap
]


def slurm_unavailable() -> str | None:
    """Why tests/workflow/test_slurm.py cannot start its SLURM cluster here (None: it can)."""
    if os.geteuid() != 0:
        return "needs root to install and start SLURM"
    if shutil.which("apt-get") is None and shutil.which("slurmctld") is None:
        return "needs Debian's apt-get (or SLURM installed)"
    return None


def require_shared() -> Path:
    """Return ../shared; skip locally when it is missing, fail under CI."""
    if not SHARPR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the shared data is missing: {SHARPR}")
        pytest.skip(f"shared data not found at {SHARPR}")
    return SHARED


@pytest.fixture
def shared() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def small_sim(tmp_path_factory) -> Path:
    """A 300-region simulated data set (seed 1), written once per session."""
    from mpralens.simulate.tiled import TiledSimulation, simulate_tiled

    out = tmp_path_factory.mktemp("sim") / "small"
    simulate_tiled(TiledSimulation(n_regions=300, seed=1), out)
    return out


def run_cli_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m mpralens`` in a new process and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "mpralens", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


@contextlib.contextmanager
def _isolated_process_state():
    """Give a command run in this process what a new process would, and put everything back.

    Working folder, environment, random generators, torch's thread count and deterministic
    mode (Lightning's training sets it process-wide), the root logger (so the command's
    ``logging.basicConfig`` installs its handler on the captured stderr, as in a new process) and
    the warning filters (so a warning shown by an earlier command in this process shows again).
    """
    import random

    import numpy as np
    import torch

    cwd, environ = os.getcwd(), dict(os.environ)
    rng = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    threads = torch.get_num_threads()
    deterministic = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()  # a new interpreter's filters
            for category in (
                DeprecationWarning,
                PendingDeprecationWarning,
                ImportWarning,
                ResourceWarning,
            ):
                warnings.simplefilter("ignore", category)
            yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = handlers, level
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        random.setstate(rng[0])
        np.random.set_state(rng[1])
        torch.random.set_rng_state(rng[2])
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the ``mpralens`` command line in this process; return what ``python -m mpralens`` would.

    The same ``main()`` as the console script and ``python -m mpralens``: arguments, exit status
    (argparse's usage errors 2, an uncaught exception 1 with its traceback on stderr), stdout and
    stderr. In this process, so the interpreter and its imports (torch, Lightning: 2-6 s per new
    process) are paid once per test worker, not once per call. Every workflow test runs the real
    console script in new processes, and tests/robustness/test_entry_points.py checks that
    ``python -m mpralens`` (:func:`run_cli_process`) answers bad input, a usage error and a whole
    command as this does.
    """
    from mpralens.cli import main

    argv = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    with (
        _isolated_process_state(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        if cwd is not None:
            os.chdir(cwd)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: --help, usage errors
            if isinstance(exc.code, str):  # as the interpreter does: message on stderr, status 1
                print(exc.code, file=sys.stderr)
                code = 1
            else:
                code = int(exc.code or 0)
        except Exception:
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess(["mpralens", *argv], code, out.getvalue(), err.getvalue())


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    """The ``mpralens: error: ...`` lines of a command's stderr."""
    return [ln for ln in proc.stderr.splitlines() if ln.startswith("mpralens: error: ")]


def snakemake_env() -> dict[str, str]:
    """Environment whose PATH finds this interpreter's ``mpralens`` script."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_snakemake_process(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake --cores 2 ARGS`` in ``workdir``, in a new process.

    ``env``: the environment (default :func:`snakemake_env`).
    """
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *map(str, args)],
        cwd=workdir,
        env=snakemake_env() if env is None else env,
        capture_output=True,
        text=True,
    )


def run_snakemake_here(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run Snakemake's command line (``snakemake.cli.main``) in this process: dry runs, lint.

    What ``python -m snakemake --cores 2 ARGS`` would return: exit status, stdout and stderr
    (:func:`_isolated_process_state` restores the working folder, environment and loggers; the
    Snakefile's folder Snakemake puts on ``sys.path`` is taken off again). A dry run costs about
    0.1 s here against 1.2 s in a new process, which is mostly Snakemake's imports; the config
    refusals are about 50 such runs. tests/workflow/test_workflow.py checks that a refusal and a
    dry run print the same here as in a new process.
    """
    from snakemake.cli import main
    from snakemake.logging import logger

    argv = ["--cores", "2", *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    path = sys.path[:]
    with (
        _isolated_process_state(),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        os.environ.update(snakemake_env())
        os.chdir(workdir)
        for handler in list(logger.handlers):  # none until Snakemake adds its own, as when new
            logger.removeHandler(handler)
        try:
            main(argv)
            code = 0  # main() always exits; kept for the type checker
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        finally:
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
                handler.close()
            sys.path[:] = path
    return subprocess.CompletedProcess(["snakemake", *argv], code, out.getvalue(), err.getvalue())


def run_snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake on a copy of the workflow in ``workdir``.

    Dry runs (``-n``) and ``--lint``, which run no job, run in this process
    (:func:`run_snakemake_here`); the others in a new one.
    """
    here = "-n" in args or "--lint" in args
    proc = run_snakemake_here(workdir, *args) if here else run_snakemake_process(workdir, *args)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@dataclass
class DryJob:
    """One job of a Snakemake dry run: its rule, the indented fields and the shell command."""

    rule: str
    fields: dict[str, str]
    shell: str | None

    def paths(self, field: str) -> list[str]:
        """The comma-separated files of ``input`` or ``output`` ("" when absent)."""
        value = self.fields.get(field)
        return value.split(", ") if value else []


def dry_run_jobs(
    workdir: Path, *args: str, config: str = "tests/configs/tiny.yaml"
) -> list[DryJob]:
    """Every job of a forced dry run (``-n -p --forceall``) of ``config`` (the tiny DAG)."""
    return parse_dry_run(
        run_snakemake(workdir, "-n", "-p", "--forceall", "--configfile", config, *args).stdout
    )


def parse_dry_run(stdout: str) -> list[DryJob]:
    """The jobs a dry run (``-n -p``) lists on stdout, in its order."""
    jobs = []
    for rule, block, shell in re.findall(
        r"(?m)^rule (\w+):\n((?:    .*\n)*)(?:Shell command: (.*)$)?", stdout
    ):
        fields = dict(re.findall(r"(?m)^    (\w+): (.*)$", block))
        jobs.append(DryJob(rule, fields, None if shell in ("", "None") else shell))
    assert jobs, f"no jobs in the dry run:\n{stdout[-3000:]}"
    return jobs


def workflow_copy(dest: Path) -> Path:
    """Copy the workflow files (not results) into ``dest`` so tests never touch the checkout."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "config", "envs", "profiles", "tests"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    # Data shipped in the repository (the rest of resources/ is written by the workflow).
    shutil.copytree(REPO / "resources" / "lac_sortseq", dest / "resources" / "lac_sortseq")
    # Pilot configs reach ../shared relative to the repository root.
    if SHARED.exists() and not (dest.parent / "shared").exists():
        (dest.parent / "shared").symlink_to(SHARED)
    return dest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, worker_id) -> Path:
    """The whole DAG on the tiny config, run once per test session from a clean copy.

    Under pytest-xdist the workers share one run: the first to need it runs it under a file lock
    in the session's common temporary folder, the others wait and read it (tests only read it).
    """
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent
    shared = root / "tiny-shared"
    wd, done = shared / "wf", shared / "done"
    with FileLock(str(root / "tiny-shared.lock")):
        if not done.exists():
            shutil.rmtree(shared, ignore_errors=True)  # a failed earlier attempt
            workflow_copy(wd)
            env = base_env_guard(shared / "guard", shared / GUARDED)
            proc = run_snakemake_process(wd, "--configfile", "tests/configs/tiny.yaml", env=env)
            if proc.returncode != 0:
                raise AssertionError(
                    f"the tiny DAG failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
                )
            done.touch()
    return wd


# What envs/torch.yaml has and envs/base.yaml lacks (top-level import names).
TORCH_ONLY_MODULES = (
    "captum",
    "lightning",
    "logomaker",
    "memelite",
    "modiscolite",
    "pytorch_lightning",
    "tangermeme",
    "torch",
)
# The file beside the tiny run's folder where the guard lists the commands it guarded.
GUARDED = "guarded-base-commands.txt"


def rule_families() -> dict[str, tuple[str, str]]:
    """Rule name -> (the env variable its ``conda:`` names, its ``mpralens`` subcommand)."""
    rules = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for name, body in re.findall(r"(?ms)^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text()):
            env = re.search(r"conda:\s*\n\s*(\w+)", body)
            assert env, f"rule {name} in {smk.name} has no conda: environment"
            commands = set(re.findall(r"\bmpralens ([a-z][\w-]*)", body))
            assert len(commands) <= 1, (name, commands)
            rules[name] = (env.group(1), commands.pop() if commands else "")
    return rules


GUARD = """# Written by tests/conftest.py (base_env_guard).
import importlib.abc
import os
import sys

BLOCKED = {blocked!r}
COMMANDS = {commands!r}


class _NotInBaseEnv(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{{name}} is not in envs/base.yaml")
        return None


if (
    len(sys.argv) > 1
    and os.path.basename(sys.argv[0]) == "mpralens"
    and sys.argv[1] in COMMANDS
):
    sys.meta_path.insert(0, _NotInBaseEnv())
    with open({log!r}, "a") as f:
        f.write(sys.argv[1] + "\\n")
"""


def base_env_guard(folder: Path, log: Path) -> dict[str, str]:
    """An environment for Snakemake in which base-family jobs cannot import torch-family modules.

    Writes ``folder/sitecustomize.py``: in every ``mpralens`` command of a rule whose ``conda:``
    is ``ENV_BASE`` (:func:`rule_families`), importing a module of :data:`TORCH_ONLY_MODULES`
    raises ``ModuleNotFoundError`` ("... is not in envs/base.yaml"), and the command's name is
    appended to ``log``. Other processes (Snakemake, torch-family jobs) are left alone. The shared
    tiny run uses it, so that its base-family jobs show envs/base.yaml is enough for them
    (tests/workflow/test_envs.py).
    """
    commands = sorted({c for env, c in rule_families().values() if env == "ENV_BASE" and c})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        GUARD.format(blocked=set(TORCH_ONLY_MODULES), commands=set(commands), log=str(log))
    )
    env = snakemake_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH")) if p)
    return env
