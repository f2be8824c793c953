"""Measured need of every job of a finished run against the resources its rule asks for.

Run after a workflow run, from its working directory::

    python bench/resources.py --configfile config/config.yaml

For each job of the (forced, dry-run) DAG that has a ``benchmark:`` file, prints its input size,
wall time and peak memory (from the benchmark) next to the ``runtime`` and ``mem_mb`` the rule
requests for that input (from the dry run, so the same ``scaled()`` formulas a scheduler sees).
``fits`` is false where a job used more than it asked for: a scheduler would have killed it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

JOB = re.compile(r"(?m)^rule (\w+):\n((?:    .*\n)*)")


def _field(block: str, name: str) -> str | None:
    found = re.search(rf"(?m)^    {name}: (.*)$", block)
    return found.group(1) if found else None


def measure(workdir: Path, configfile: str) -> list[dict]:
    """One record per benchmarked job of the DAG."""
    dry = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--forceall", "--configfile", configfile],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    records = []
    for rule, block in JOB.findall(dry):
        bench = _field(block, "benchmark")
        if not bench or not (workdir / bench).exists():
            continue
        inputs = (_field(block, "input") or "").split(", ")
        size = sum((workdir / p).stat().st_size for p in inputs if (workdir / p).is_file())
        header, values = (workdir / bench).read_text().splitlines()[:2]
        row = dict(zip(header.split("\t"), values.split("\t"), strict=True))
        resources = _field(block, "resources") or ""
        requested = dict(re.findall(r"\b(mem_mb|runtime)=(\d+)", resources))
        seconds, rss = float(row["s"]), float(row["max_rss"])
        records.append(
            {
                "job": Path(bench).stem,
                "rule": rule,
                "threads": int(_field(block, "threads") or 1),
                "input_mb": round(size / 1e6, 2),
                "seconds": round(seconds, 1),
                "max_rss_mb": round(rss),
                "runtime_min": int(requested.get("runtime", 0)),
                "mem_mb": int(requested.get("mem_mb", 0)),
                "fits": seconds <= 60 * int(requested.get("runtime", 0))
                and rss <= int(requested.get("mem_mb", 0)),
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config/config.yaml")
    parser.add_argument("--directory", type=Path, default=Path("."))
    args = parser.parse_args()
    records = measure(args.directory, args.configfile)
    print(json.dumps({"jobs": records, "all_fit": all(r["fits"] for r in records)}, indent=1))


if __name__ == "__main__":
    main()
