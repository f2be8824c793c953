"""Plain vs fast tiled ISM on the same model and regions; print JSON.

Model: Paggi et al.'s CNN (2 convolutions of 100 filters, max-pool 44, dense), untrained (speed
and exactness do not depend on the weights), in the tile layout (145-bp input) and the positional
layout (295-bp frame). Regions: simulated 295-bp regions with 116-bp flanks (15 windows each).
For each layout: seconds per region (median of the regions, after one warm-up region), the
speedup, and the largest absolute differences between the two methods' outputs: of ``f(ref) -
f(mut)`` over every mutation and of the final per-base scores.

Usage: python bench/ism.py [--regions 4] [--threads 2] [--arch paggi]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from mpralens.ism.scoring import CNNScorer, region_scores
from mpralens.ism.windows import RegionContext, WindowScheme
from mpralens.models.cnn.architectures import build_architecture


def contexts(n: int, seed: int = 0) -> list[RegionContext]:
    rng = np.random.default_rng(seed)
    scheme = WindowScheme()
    rel = scheme.starts(295)
    flank = -int(rel[0])
    ext_len = flank + int(rel[-1]) + scheme.length
    out = []
    for i in range(n):
        ext = "".join(rng.choice(list("ACGT"), ext_len))
        out.append(
            RegionContext(
                f"r{i}",
                "chr1",
                10_000 * i,
                295,
                ext,
                10_000 * i - flank,
                flank,
                flank + rel,
                np.clip(rel, 0, 150),
            )
        )
    return out


def timed(scorer: CNNScorer, ctxs: list[RegionContext]):
    scorer.window_deltas(ctxs[0])  # warm-up
    times, deltas = [], []
    for c in ctxs:
        t = time.perf_counter()
        deltas.append(scorer.window_deltas(c))
        times.append(time.perf_counter() - t)
    return float(np.median(times)), deltas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--arch", default="paggi")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ctxs = contexts(args.regions)
    result = {"arch": args.arch, "regions": args.regions, "threads": args.threads}
    for layout, length in (("tile", 145), ("positional", 295)):
        net = build_architecture(args.arch, n_tasks=4, input_length=length).eval()
        spec = {"tasks": list("abcd"), "tile_length": 145, "layout": layout, "frame_length": 295}
        plain_s, plain = timed(CNNScorer(net, spec, "plain"), ctxs)
        fast_s, fast = timed(CNNScorer(net, spec, "fast"), ctxs)
        score_diff = max(
            float(np.nanmax(np.abs(region_scores(c, a)[0] - region_scores(c, b)[0])))
            for c, a, b in zip(ctxs, plain, fast, strict=True)
        )
        result[layout] = {
            "plain_s_per_region": round(plain_s, 4),
            "fast_s_per_region": round(fast_s, 4),
            "speedup": round(plain_s / fast_s, 1),
            "max_abs_diff_delta": float(
                max(np.abs(a - b).max() for a, b in zip(plain, fast, strict=True))
            ),
            "max_abs_diff_score": score_diff,
            "sharpr_15720_regions_fast_h": round(fast_s * 15720 / 3600, 2),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
