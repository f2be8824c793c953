"""Time simulate -> import -> normalise -> weights at the full Sharpr scale; print JSON.

Baseline, measured in the same run: reading the same count files with a bare ``pandas.read_csv``
(no checks, no join), i.e. the I/O floor our validated import is compared against.

Usage: python bench/import_normalize.py [--n-regions 15720] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd

from mpralens.data.counts import import_counts
from mpralens.data.libraries import pair_libraries
from mpralens.data.normalize import log_ratios
from mpralens.data.weights import add_weights
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled, simulated_paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-regions", type=int, default=15720)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        out = Path(tmp) / "sim"
        t0 = time.perf_counter()
        simulate_tiled(TiledSimulation(n_regions=args.n_regions, seed=0), out)
        t_sim = time.perf_counter() - t0
        p = simulated_paths(str(out))
        sheet = pd.read_csv(p["libraries"], sep="\t")
        t0 = time.perf_counter()
        for path in sheet["path"]:
            pd.read_csv(out / path, sep="\t", skiprows=1, header=None)
        pd.read_csv(p["sequences"], sep="\t", header=None)
        t_floor = time.perf_counter() - t0
        t0 = time.perf_counter()
        r = import_counts(
            layout="ernst", libraries=p["libraries"], coords=p["coords"], sequences=p["sequences"]
        )
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        lr = log_ratios(r.tiles, r.counts, pair_libraries(r.sheet))
        t_norm = time.perf_counter() - t0
        t0 = time.perf_counter()
        add_weights(lr, method="diagonal")
        t_diag = time.perf_counter() - t0
        t0 = time.perf_counter()
        add_weights(lr, method="inverse_variance")
        t_iv = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "n_regions": args.n_regions,
                "n_tiles": int(len(r.tiles)),
                "n_libraries": int(len(r.sheet)),
                "simulate_s": round(t_sim, 2),
                "import_s": round(t_import, 2),
                "baseline_bare_read_csv_s": round(t_floor, 2),
                "import_over_baseline": round(t_import / t_floor, 2),
                "normalize_s": round(t_norm, 2),
                "weights_diagonal_s": round(t_diag, 2),
                "weights_inverse_variance_s": round(t_iv, 2),
                "total_s": round(t_sim + t_import + t_norm + t_diag, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
