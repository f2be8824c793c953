"""Import and activity of a large IGVF barcode file (1M barcodes x 3 replicates); print JSON.

Measured, each in a fresh process so peak memory (VmHWM) is its own: ``read`` (read and check the
``reporter_experiment_barcode`` file: header, pairs, barcodes, counts, duplicate barcodes, schema on
the first rows), ``activity`` (read + per-replicate and pooled activity with CIs, the element test
with a design of 20,000 oligos) and the baseline, a bare ``pandas.read_csv`` of the same gzipped
file. Wall time, CPU time of the step (the machine is shared: CPU time is the steadier figure)
and peak RSS (MB, imports included). The file: 20,000 oligos x 50 barcodes, negative-binomial
counts, empty cells where a count is 0, as MPRAsnakeflow writes it.

Usage: python bench/igvf.py [--barcodes 1000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_files(workdir: Path, n_barcodes: int, per_oligo: int = 50, reps: int = 3) -> None:
    rng = np.random.default_rng(0)
    n_oligos = n_barcodes // per_oligo
    names = np.array([f"oligo_{i:06d}" for i in range(n_oligos)], dtype=object)
    oligo = np.repeat(names, per_oligo)
    codes = rng.integers(0, 4**15, size=n_barcodes * 2, dtype=np.int64)
    codes = np.unique(codes)[:n_barcodes]
    rng.shuffle(codes)
    letters = np.array(list("ACGT"))
    digits = (codes[:, None] // (4 ** np.arange(15))) % 4
    barcodes = ["".join(row) for row in letters[digits]]
    activity = np.repeat(rng.normal(0, 1, n_oligos), per_oligo)
    table = {"barcode": barcodes, "oligo_name": oligo}
    for r in range(1, reps + 1):
        a = rng.lognormal(0, 0.5, n_barcodes)
        dna = rng.poisson(rng.gamma(10, 20 * a / 10))
        rna = rng.poisson(rng.gamma(10, 20 * a * 2**activity / 10))
        table[f"dna_count_{r}"] = np.where(dna > 0, dna.astype(str), "")
        table[f"rna_count_{r}"] = np.where(rna > 0, rna.astype(str), "")
    pd.DataFrame(table).to_csv(workdir / "barcodes.tsv.gz", sep="\t", index=False)
    seq = "".join(rng.choice(letters, 200))
    design = pd.DataFrame(
        {
            "name": names,
            "sequence": seq,
            "category": "element",
            "class": np.where(np.arange(n_oligos) < 500, "element inactive control", "test"),
            "variant_class": "NA",
            "variant_pos": "NA",
            "SPDI": "NA",
            "allele": "NA",
        }
    )
    design.to_csv(workdir / "design.tsv", sep="\t", index=False)


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process in MB (VmHWM).

    Not ``ru_maxrss``: it survives exec, so a child started by a larger parent reports the
    parent's peak.
    """
    status = Path("/proc/self/status").read_text()
    peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
    return round(peak_kb / 1024, 1)


def run_step(step: str, workdir: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    if step == "pandas":
        pd.read_csv(
            workdir / "barcodes.tsv.gz", sep="\t", dtype={"barcode": str, "oligo_name": str}
        )
    elif step == "read":
        from mpralens.io.igvf import read_barcode_counts

        read_barcode_counts(workdir / "barcodes.tsv.gz")
    else:
        from mpralens.config.settings import IGVFSettings
        from mpralens.data.igvf import analyse_experiment

        analyse_experiment(
            workdir / "barcodes.tsv.gz",
            fmt="reporter_experiment_barcode",
            settings=IGVFSettings(),
            design_path=workdir / "design.tsv",
        )
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - cpu0, 2),
        "peak_rss_mb": peak_rss_mb(),
        "process_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--barcodes", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--reuse", action="store_true", help="keep the files already in --workdir")
    args = ap.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.workdir)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        t0 = time.perf_counter()
        if not (args.reuse and (workdir / "barcodes.tsv.gz").exists()):
            make_files(workdir, args.barcodes)
        made = time.perf_counter() - t0
        size = (workdir / "barcodes.tsv.gz").stat().st_size / 1e6
        out: dict[str, object] = {
            "barcodes": args.barcodes,
            "replicates": 3,
            "file_mb_gz": round(size, 1),
            "make_s": round(made, 1),
        }
        for step in ("pandas", "read", "activity"):
            proc = subprocess.run(
                [sys.executable, __file__, "--step", step, "--workdir", str(workdir)],
                check=True,
                capture_output=True,
                text=True,
            )
            out[step] = json.loads(proc.stdout.strip().splitlines()[-1])
        pandas_s = out["pandas"]["wall_s"]  # type: ignore[index]
        out["activity_over_pandas"] = round(out["activity"]["wall_s"] / pandas_s, 2)  # type: ignore[index]
        pandas_cpu = out["pandas"]["cpu_s"]  # type: ignore[index]
        out["activity_cpu_over_pandas"] = round(out["activity"]["cpu_s"] / pandas_cpu, 2)  # type: ignore[index]
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
