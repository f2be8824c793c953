"""Plain vs fast tiled ISM on the same model and regions (and a peer tool); print JSON.

Model: Paggi et al.'s CNN (2 convolutions of 100 filters, max-pool 44, dense), untrained (speed
and exactness do not depend on the weights), in the tile layout (145-bp input) and the positional
layout (295-bp frame). Regions: simulated 295-bp regions with 116-bp flanks (15 windows each).

Each region is scored by every method in turn (alternating, so a change of machine load falls
on all of them alike); the first region is a warm-up and not counted. For each layout and method:
median seconds per region, wall clock and CPU (``time.process_time``; on a shared machine the
steadier figure), the speedup of fast ISM over each baseline from both, and the largest absolute
differences from fast ISM's outputs: of ``f(ref) - f(mut)`` over every mutation and of the final
per-base scores.

``--peer tangermeme`` adds tangermeme's ``saturation_mutagenesis`` of the same network on the
same windows (one call per group of windows sharing a frame offset, ``raw_outputs=True``), plain
(``fast=False``) and with its fastISM (``fast=True``). Its fast path is forced: by default it
falls back to plain for jobs it estimates under 30 s, and when its self-check finds the fast path
slower than plain (timing noise on a loaded machine); both thresholds are lifted, and the JSON
says whether the fast path was used. Its per-call setup (the first batch of edits run plainly and
timed, the ``torch.export`` capture and the self-check against plain) is timed apart:
``steady`` is the call minus that setup, scaled from the edits run after the setup to all edits:
what repeated use of one captured model would cost.

Usage: python bench/ism.py [--regions 4] [--threads 1] [--arch paggi] [--peer tangermeme]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from mpralens.ism.scoring import ALTERNATIVES, CNNScorer, _codes, region_scores
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


class Tangermeme:
    """tangermeme's saturation mutagenesis of a network on a region's windows, as our deltas."""

    def __init__(self, scorer: CNNScorer, fast: bool, batch_size: int) -> None:
        import tangermeme.saturation_mutagenesis as tsm

        self.tsm, self.scorer, self.fast, self.batch_size = tsm, scorer, fast, batch_size
        self.setup_s = 0.0  # per-call setup of the last region (wall)
        self.setup_cpu_s = 0.0
        self.first_edits = 0  # edits of the last region run inside the setup
        self.fast_used: list[bool] = []

    def _timed_fast_path(self, original):
        def timed(*a, **k):
            t, c = time.perf_counter(), time.process_time()
            out = original(*a, **k)
            self.setup_s += time.perf_counter() - t
            self.setup_cpu_s += time.process_time() - c
            self.fast_used.append(out[0] is not None)
            self.first_edits += out[2]  # edits it ran plainly while deciding (in the setup)
            return out

        return timed

    def window_deltas(self, ctx: RegionContext) -> np.ndarray:
        """``f(ref) - f(mut)`` in :meth:`CNNScorer.window_deltas`'s layout."""
        s = self.scorer
        x = s._windows(ctx)
        offsets = s._positions(ctx)
        length = s.window_length
        self.setup_s = self.setup_cpu_s = 0.0
        self.first_edits = 0
        out = np.empty((len(offsets), length, 3, len(s.tasks)))
        tsm = self.tsm
        saved = tsm._fast_path, tsm._FAST_MIN_SECONDS, tsm._FAST_MAX_RELATIVE_TIME
        if self.fast:  # force the fast path and time its setup (see the module docstring)
            tsm._fast_path = self._timed_fast_path(saved[0])
            tsm._FAST_MIN_SECONDS, tsm._FAST_MAX_RELATIVE_TIME = 0.0, float("inf")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its fall-back warnings: fast_used records them
            for o in np.unique(offsets):
                idx = np.flatnonzero(offsets == o)
                y0, y_hat = self.tsm.saturation_mutagenesis(
                    s.net,
                    x[idx],
                    start=int(o),
                    end=int(o) + length,
                    batch_size=self.batch_size,
                    raw_outputs=True,
                    fast=self.fast,
                    device="cpu",
                )
                # y_hat: (windows, 4 bases, length, tasks); pick each base's 3 alternatives.
                for j, w in enumerate(idx):
                    start = ctx.window_starts[w]
                    alts = ALTERNATIVES[np.maximum(_codes(ctx.ext[start : start + length]), 0)]
                    mut = y_hat[j][torch.from_numpy(alts), torch.arange(length)[:, None]]
                    out[w] = (y0[j][None, None, :] - mut).double().numpy()
        tsm._fast_path, tsm._FAST_MIN_SECONDS, tsm._FAST_MAX_RELATIVE_TIME = saved
        return out


def measure(methods: dict[str, Callable], ctxs: list[RegionContext], peer=None):
    """Run every method on every region in turn; medians over regions after the first."""
    wall: dict[str, list[float]] = {m: [] for m in methods}
    cpu: dict[str, list[float]] = {m: [] for m in methods}
    deltas: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    setup: dict[str, list] = {m: [] for m in peer or {}}
    for i, ctx in enumerate(ctxs):
        for name, fn in methods.items():
            t, c = time.perf_counter(), time.process_time()
            d = fn(ctx)
            t, c = time.perf_counter() - t, time.process_time() - c
            if i == 0:
                continue  # warm-up
            wall[name].append(t)
            cpu[name].append(c)
            deltas[name].append(d)
            if name in (peer or {}) and peer[name].fast:
                # The setup also ran a first batch of edits of each call plainly: the steady
                # state is the rest's time scaled to all edits.
                edits = d.shape[0] * d.shape[1] * d.shape[2]
                scale = edits / (edits - peer[name].first_edits)
                setup[name].append((t, c, peer[name].setup_s, peer[name].setup_cpu_s, scale))
    return wall, cpu, deltas, setup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=4, help="regions, the first a warm-up")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--arch", default="paggi")
    ap.add_argument("--peer", choices=["tangermeme"], action="append", default=[])
    ap.add_argument("--peer-batch", type=int, default=256, help="the peer's batch_size")
    ap.add_argument("--layouts", default="tile,positional")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ctxs = contexts(args.regions)
    result: dict = {
        "arch": args.arch,
        "regions_timed": args.regions - 1,
        "threads": args.threads,
        "load_average_start": os.getloadavg(),
    }
    for layout in args.layouts.split(","):
        length = 145 if layout == "tile" else 295
        net = build_architecture(args.arch, n_tasks=4, input_length=length).eval()
        spec = {"tasks": list("abcd"), "tile_length": 145, "layout": layout, "frame_length": 295}
        fast = CNNScorer(net, spec, "fast")
        methods: dict[str, Callable] = {
            "plain": CNNScorer(net, spec, "plain").window_deltas,
            "fast": fast.window_deltas,
        }
        peers = {}
        if "tangermeme" in args.peer:
            import tangermeme

            result["tangermeme_version"] = tangermeme.__version__
            for mode in ("plain", "fast"):
                name = f"tangermeme_{mode}"
                peers[name] = Tangermeme(fast, mode == "fast", args.peer_batch)
                methods[name] = peers[name].window_deltas
        wall, cpu, deltas, setup = measure(methods, ctxs, peers)
        med = {m: float(np.median(v)) for m, v in wall.items()}
        med_cpu = {m: float(np.median(v)) for m, v in cpu.items()}
        out: dict = {}
        for m in methods:
            row: dict = {
                "s_per_region": round(med[m], 4),
                "cpu_s_per_region": round(med_cpu[m], 4),
            }
            if m != "fast":
                row["fast_speedup"] = round(med[m] / med["fast"], 1)
                row["fast_speedup_cpu"] = round(med_cpu[m] / med_cpu["fast"], 1)
                row["max_abs_diff_delta"] = float(
                    max(np.abs(a - b).max() for a, b in zip(deltas[m], deltas["fast"], strict=True))
                )
                row["max_abs_diff_score"] = max(
                    float(np.nanmax(np.abs(region_scores(c, a)[0] - region_scores(c, b)[0])))
                    for c, a, b in zip(ctxs[1:], deltas[m], deltas["fast"], strict=True)
                )
            if setup.get(m):
                s_wall = float(np.median([s for _, _, s, _, _ in setup[m]]))
                steady = float(np.median([(t - s) * k for t, _, s, _, k in setup[m]]))
                steady_cpu = float(np.median([(c - s) * k for _, c, _, s, k in setup[m]]))
                row["setup_s_per_region"] = round(s_wall, 4)
                row["edits_in_setup_per_region"] = peers[m].first_edits
                row["steady_s_per_region"] = round(steady, 4)
                row["steady_cpu_s_per_region"] = round(steady_cpu, 4)
                row["fast_speedup_steady"] = round(steady / med["fast"], 1)
                row["fast_speedup_steady_cpu"] = round(steady_cpu / med_cpu["fast"], 1)
                row["fast_path_used"] = all(peers[m].fast_used) and bool(peers[m].fast_used)
            out[m] = row
        out["sharpr_15720_regions_fast_h"] = round(med["fast"] * 15720 / 3600, 2)
        result[layout] = out
    result["load_average_end"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
