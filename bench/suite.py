"""Run every benchmark in bench/ at small sizes and collect their JSON into one file.

Each ``bench/*.py`` script (except this one) runs in its own process with the small default
arguments below (the whole suite takes minutes; each script's own defaults are the full-scale
figures the docs quote). The output holds, besides each script's JSON, its command line, exit
status and wall seconds, and once: the date (UTC), the machine (logical cores, CPU model from
/proc/cpuinfo, memory), the load average before and after, the Python and torch versions and the
git commit (with ``dirty`` when the working tree has changes). A script that fails or prints no
JSON is recorded with its exit status and the end of its stderr; the suite goes on.

``bench/resources.py`` reads a finished workflow run, so it runs only with
``--args resources="--directory RUN_DIR"``.

Usage:
  python bench/suite.py [--only ism,train] [--skip models] [--out FILE]
                        [--args ism="--regions 6 --peer tangermeme"] [--timeout 1800]

``--args NAME="..."`` replaces a script's suite arguments (repeat it for several scripts);
``make bench BENCH_ARGS='...'`` passes options through. Default output:
bench/results/suite-<UTC date>.json (bench/results/ is git-ignored: results belong to a machine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# Small sizes: minutes for the whole suite on 2 cores.
SMALL = {
    "allocator": ["--regions", "300", "--rounds", "1"],
    "attribution": ["--regions", "2"],
    "biophysics_lac": ["--restarts", "1"],
    "igvf": ["--barcodes", "50000"],
    "igvf_recovery": ["--seeds", "1"],
    "import_normalize": ["--n-regions", "500"],
    "ism": ["--regions", "3", "--peer", "tangermeme"],
    "models": ["--regions", "100", "--epochs", "1", "--seeds", "1", "--configs", "paggi"],
    "train": ["--tiles", "20000", "--cnn-tiles", "512"],
}
NEEDS_ARGS = {"resources": "reads a finished workflow run: pass --args resources='--directory DIR'"}


def scripts() -> list[str]:
    """Return every benchmark script's name (file stem), sorted."""
    return sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "suite")


def last_json(text: str):
    """Return the last JSON value printed on its own lines (scripts may log before it)."""
    decoder = json.JSONDecoder()
    lines = text.splitlines(keepends=True)
    offsets = [sum(len(x) for x in lines[:i]) for i in range(len(lines))]
    for i in reversed(range(len(lines))):
        if lines[i].startswith(("{", "[")):
            try:
                value, end = decoder.raw_decode(text, offsets[i])
            except json.JSONDecodeError:
                continue
            if not text[end:].strip():
                return value
    return None


def machine() -> dict:
    """Return the cores, CPU model and memory of this machine."""
    info: dict = {"logical_cores": os.cpu_count(), "platform": platform.platform()}
    try:
        info["usable_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        pass
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gb"] = round(int(line.split()[1]) / 2**20, 1)
    return info


def git_commit() -> dict:
    """Return the commit checked out and whether the working tree differs from it."""

    def git(*a: str) -> str:
        out = subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def run_one(name: str, args: list[str], timeout: float) -> dict:
    """Run one script; return its JSON, command, exit status and wall seconds."""
    cmd = [sys.executable, str(BENCH / f"{name}.py"), *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"command": shlex.join(cmd[1:]), "returncode": None, "timed_out_s": timeout}
    record: dict = {
        "command": shlex.join(cmd[1:]),
        "returncode": proc.returncode,
        "wall_s": round(time.perf_counter() - start, 1),
        "result": last_json(proc.stdout),
    }
    if proc.returncode or record["result"] is None:
        record["stderr_tail"] = proc.stderr[-2000:]
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated script names")
    ap.add_argument("--skip", default="", help="comma-separated script names")
    ap.add_argument("--args", action="append", default=[], metavar='NAME="ARGS"')
    ap.add_argument("--out", type=Path)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per script")
    a = ap.parse_args(argv)
    names = a.only.split(",") if a.only else scripts()
    unknown = set(names) - set(scripts())
    if unknown:
        ap.error(f"no benchmark script {sorted(unknown)}; there are {scripts()}")
    given = {}
    for item in a.args:
        name, _, rest = item.partition("=")
        if name not in scripts():
            ap.error(f"--args {item!r}: no benchmark script {name!r}")
        given[name] = shlex.split(rest)
    now = dt.datetime.now(dt.UTC)
    out = a.out or BENCH / "results" / f"suite-{now:%Y-%m-%d}.json"
    n = 1
    while a.out is None and out.exists():  # an earlier run of the same day stays
        n += 1
        out = BENCH / "results" / f"suite-{now:%Y-%m-%d}-{n}.json"
    suite: dict = {
        "date": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_start": os.getloadavg(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "git": git_commit(),
        "benchmarks": {},
    }
    out.parent.mkdir(parents=True, exist_ok=True)

    def write() -> None:  # after every script, so a stopped suite keeps what it measured
        suite["load_average_end"] = os.getloadavg()
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(suite, indent=1) + "\n")
        tmp.replace(out)

    for name in names:
        if name in a.skip.split(","):
            continue
        if name in NEEDS_ARGS and name not in given:
            suite["benchmarks"][name] = {"skipped": NEEDS_ARGS[name]}
            continue
        print(f"bench/{name}.py ...", file=sys.stderr, flush=True)
        rec = run_one(name, given.get(name, SMALL.get(name, [])), a.timeout)
        suite["benchmarks"][name] = rec
        print(f"  exit {rec['returncode']}, {rec.get('wall_s')} s", file=sys.stderr, flush=True)
        write()
    write()
    print(out)
    failed = [k for k, r in suite["benchmarks"].items() if r.get("returncode", 0) != 0]
    return 1 if failed else 0


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    sys.exit(main())
