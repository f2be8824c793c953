"""Seconds of each GIA analysis at the default settings against plain prediction; JSON.

Model: Paggi et al.'s CNN as the demo trains it (100 filters, 4 tasks, 145-bp tiles, tile layout),
untrained (the cost does not depend on the weights). Null sequences: dinucleotide shuffles of
random 145-bp tiles (``gia.n_null``, default 200). Motifs: the simulator's 10 catalogue consensus
strings and its GATA1+SP1 pair, as the workflow runs them on a simulated data set. For each
analysis: seconds as GIA runs it (each construct's bases and what they reach recomputed from the
nulls' activations, mpralens.ism.local.Edited), against the same analysis predicting every
construct's whole sequences (the baseline; GIA before the incremental pass), the speed-up, and
the largest difference between the two effect tables.

Usage: python bench/gia.py [--threads 2] [--n-null 200]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from mpralens.config.settings import GIASettings
from mpralens.interpret.gia import (
    GIA,
    network_predictor,
    null_sequences,
    resolve_motif,
    run_gia,
)
from mpralens.models.cnn.architectures import build_architecture
from mpralens.simulate.catalog import CATALOG, DECOYS, SYNTAX

TASKS = ["HepG2_SV40P", "HepG2_minP", "K562_SV40P", "K562_minP"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-null", type=int, default=GIASettings().n_null)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = GIASettings()
    net = build_architecture("paggi", n_tasks=len(TASKS), input_length=145).eval()
    spec = {"arch": "paggi", "tasks": TASKS, "tile_length": 145, "layout": "tile"}
    predictor = network_predictor(net, spec, batch_size=s.batch_size)
    whole = network_predictor(net, spec, batch_size=s.batch_size)
    whole.edits = None
    rng = np.random.default_rng(0)
    tiles = ["".join(rng.choice(list("ACGT"), 145)) for _ in range(args.n_null)]
    null = null_sequences(tiles, args.n_null, seed=0)
    motifs = [resolve_motif(f.name) for f in CATALOG + DECOYS]
    by_name = {m.name: m for m in motifs}
    pair = (by_name[SYNTAX.first], by_name[SYNTAX.second])
    options = {
        "position_step": s.position_step,
        "spacings": range(s.max_spacing + 1),
        "copies": range(1, s.max_copies + 1),
    }
    out: dict = {
        "model": "paggi CNN, 100 filters, 4 tasks, tile layout (145 bp), untrained",
        "threads": args.threads,
        "n_null": args.n_null,
        "n_boot": s.n_boot,
        "analyses": {},
    }
    predictor(null[:10])  # warm-up
    for analysis in s.analyses:
        timed = {}
        for name, pred in (("incremental", predictor), ("whole", whole)):
            gia = GIA(pred, null, n_boot=s.n_boot, seed=0)
            t = time.perf_counter()
            table = run_gia(gia, motifs, [analysis], pair=pair, **options)
            timed[name] = (time.perf_counter() - t, table["effect"].to_numpy())
        (sec, effect), (base, want) = timed["incremental"], timed["whole"]
        out["analyses"][analysis] = {
            "seconds": round(sec, 2),
            "sequences_predicted": len(gia._cache) * 2 * len(null),  # both strands
            "whole_sequence_seconds": round(base, 2),
            "speedup": round(base / sec, 2),
            "max_abs_difference": float(np.abs(effect - want).max()),
        }
    for key in ("seconds", "whole_sequence_seconds"):
        out[f"total_{key}"] = round(sum(a[key] for a in out["analyses"].values()), 1)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
