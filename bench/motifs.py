"""Cost of the motif stage's fixed parts, each in a fresh process; JSON.

* ``jaspar_load_s``: JASPAR 2024 CORE vertebrates from pyjaspar's database (879 matrices);
* ``tomtom_first_call_s``: the first Tomtom call of a process (10 queries against JASPAR): loads
  memelite's numba kernels from the environment's cache, or compiles them (about 140 s on 2
  cores) when the cache is cold (``tomtom_cache_files`` = 0 before the run);
* ``tomtom_next_call_s``: the same call again in that process (the baseline: pure compute);
* ``filters_align_s``: activation-based alignment of Paggi's first layer (100 filters) on
  ``--tiles`` random 145-bp tiles.

Usage: python bench/motifs.py [--tiles 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from mpralens.io.motifs import jaspar_core_vertebrates
targets = jaspar_core_vertebrates()
t1 = time.perf_counter()
from mpralens.interpret.tomtom import match
queries = [m.probs for m in targets[:10]]
names = [m.motif_id for m in targets[:10]]
match(queries, names)
t2 = time.perf_counter()
match(queries, names)
t3 = time.perf_counter()
import torch
from mpralens.interpret.filters import filter_motifs
from mpralens.models.cnn.architectures import build_architecture
torch.manual_seed(0)
net = build_architecture("paggi", n_tasks=4, input_length=145).eval()
rng = np.random.default_rng(0)
tiles = ["".join(rng.choice(list("ACGT"), 145)) for _ in range(int(sys.argv[1]))]
t4 = time.perf_counter()
filter_motifs(net, tiles)
t5 = time.perf_counter()
print(json.dumps({"jaspar_load_s": round(t1 - t0, 2), "tomtom_first_call_s": round(t2 - t1, 2),
    "tomtom_next_call_s": round(t3 - t2, 3), "filters_align_s": round(t5 - t4, 2)}))
"""


def main() -> None:
    """Run the measurements in a fresh interpreter and print one JSON object."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiles", type=int, default=2000)
    args = ap.parse_args()
    import memelite

    cache = Path(memelite.__file__).parent / "__pycache__"
    n_cache = len(list(cache.glob("tomtom.*.nbi")))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(args.tiles)], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps({"tomtom_cache_files": n_cache, "tiles": args.tiles, **result}))


if __name__ == "__main__":
    main()
