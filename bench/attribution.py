"""Seconds per region of every attribution method against fast ISM, same model and regions; JSON.

Model: Paggi et al.'s CNN as the demo trains it (2 convolutions of 100 filters, max-pool 44,
dense to the demo's 4 tasks), untrained (the cost does not depend on the weights), tile layout.
Regions: simulated 295-bp regions with 116-bp flanks, 15 windows of 145 bp each (every base in 5),
scored through :func:`mpralens.interpret.run.attribution_table` exactly as ``mpralens attribute``
does (the workflow's batching, default settings: 20 shuffled references, 20 IG steps, 25
SmoothGrad samples). For each method: seconds per region (after a warm-up), its ratio to fast ISM
and the issue's budget (gradient methods at most 0.1 x fast ISM, DeepSHAP at most 1 x).

Usage: python bench/attribution.py [--regions 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from mpralens.config.settings import InterpretSettings
from mpralens.interpret.run import CNNAttributor, ISMAttributor, attribution_table
from mpralens.ism.scoring import CNNScorer
from mpralens.ism.windows import RegionContext, WindowScheme
from mpralens.models.cnn.architectures import build_architecture

TASKS = ["HepG2_SV40P", "HepG2_minP", "K562_SV40P", "K562_minP"]
BUDGET = {
    "saliency": 0.1,
    "gradxinput": 0.1,
    "integrated_gradients": 0.1,
    "smoothgrad": 0.1,
    "deepshap": 1.0,
}


def contexts(n: int, seed: int = 0) -> list[RegionContext]:
    rng = np.random.default_rng(seed)
    scheme = WindowScheme()
    rel = scheme.starts(295)
    flank = -int(rel[0])
    ext_len = flank + int(rel[-1]) + scheme.length
    return [
        RegionContext(
            f"r{i}",
            "chr1",
            10_000 * i,
            295,
            "".join(rng.choice(list("ACGT"), ext_len)),
            10_000 * i - flank,
            flank,
            flank + rel,
            np.clip(rel, 0, 150),
        )
        for i in range(n)
    ]


def per_region(attributor, ctxs: list[RegionContext], batch: int) -> float:
    attribution_table(attributor, ctxs[:2], windows_per_batch=batch, progress=False)  # warm-up
    t = time.perf_counter()
    attribution_table(attributor, ctxs, windows_per_batch=batch, progress=False)
    return (time.perf_counter() - t) / len(ctxs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = build_architecture("paggi", n_tasks=len(TASKS), input_length=145).eval()
    spec = {"arch": "paggi", "tasks": TASKS, "tile_length": 145, "layout": "tile"}
    s = InterpretSettings()
    options = {
        "correction": s.correction,
        "ig_steps": s.ig_steps,
        "smoothgrad_samples": s.smoothgrad_samples,
        "smoothgrad_noise": s.smoothgrad_noise,
        "n_shuffles": s.n_shuffles,
    }
    ctxs = contexts(args.regions)
    ism = per_region(ISMAttributor(CNNScorer(net, spec, method="fast")), ctxs, 64)
    out: dict = {
        "model": "paggi CNN, 100 filters, 4 tasks, tile layout (145 bp), untrained",
        "regions": args.regions,
        "windows_per_region": 15,
        "threads": args.threads,
        "settings": options,
        "seconds_per_region": {"ism_fast": round(ism, 4)},
        "ratio_to_fast_ism": {},
        "within_budget": {},
    }
    for method, budget in BUDGET.items():
        sec = per_region(CNNAttributor(net, spec, method, **options), ctxs, s.windows_per_batch)
        out["seconds_per_region"][method] = round(sec, 4)
        out["ratio_to_fast_ism"][method] = round(sec / ism, 3)
        out["within_budget"][method] = bool(sec <= budget * ism)
    out["budget_ratio"] = BUDGET
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
