"""Seconds per region of every attribution method against fast ISM, same model and regions; JSON.

Model: Paggi et al.'s CNN as the demo trains it (2 convolutions of 100 filters, max-pool 44,
dense to the demo's 4 tasks), untrained (the cost does not depend on the weights), tile layout.
Regions: simulated 295-bp regions with 116-bp flanks, 15 windows of 145 bp each (every base in 5),
scored through :func:`mpralens.interpret.run.attribution_table` exactly as ``mpralens attribute``
does (the workflow's batching, default settings: 20 shuffled references, 20 IG steps, 25
SmoothGrad samples). For each method: seconds per region (after a warm-up), its ratio to fast ISM
and the issue's budget (gradient methods at most 0.1 x fast ISM, DeepSHAP at most 1 x).

The floor: a method cannot cost less than the forward passes it needs per window, whatever its
backward passes cost: saliency and gradient x input 1, integrated gradients ``ig_steps`` (one
per point of the path), SmoothGrad ``smoothgrad_samples`` (one per noisy copy), DeepSHAP
``n_shuffles + 1`` (each reference, and the input once). ``floor_ratio_to_fast_ism`` is that
many inference forward passes over the region's windows (timed here, same batching) over fast
ISM's time; where the floor alone exceeds the budget, no implementation of the method at these
settings meets it on this model (``budget_reachable`` false).

Baseline in the same run: captum's ``NoiseTunnel(Saliency)`` called once per task on the same
windows (what ``smoothgrad`` did before its tasks shared the forward pass; the maps are equal).

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


def forward_per_region(net, ctxs: list[RegionContext], spec: dict, batch: int) -> float:
    """Seconds per region of one inference forward pass over every window of the regions."""
    attributor = CNNAttributor(net, spec, "saliency")
    per_group = max(1, batch // len(ctxs[0].window_starts))  # as attribution_table groups them
    groups = [ctxs[i : i + per_group] for i in range(0, len(ctxs), per_group)]
    xs = [attributor.encode(g)[0] for g in groups]
    with torch.inference_mode():
        net(xs[0])  # warm-up
        t = time.perf_counter()
        for x in xs:
            net(x)
    return (time.perf_counter() - t) / len(ctxs)


def captum_smoothgrad_per_region(
    net, ctxs: list[RegionContext], spec: dict, options: dict
) -> float:
    """Seconds per region of captum's SmoothGrad run once per task (the baseline)."""
    from captum.attr import NoiseTunnel, Saliency

    attributor = CNNAttributor(net, spec, "saliency")
    per_group = max(1, InterpretSettings().windows_per_batch // len(ctxs[0].window_starts))
    xs = [attributor.encode(ctxs[i : i + per_group])[0] for i in range(0, len(ctxs), per_group)]
    nt = NoiseTunnel(Saliency(net))
    t = time.perf_counter()
    for x in xs:
        for task in range(len(TASKS)):
            torch.manual_seed(0)
            nt.attribute(
                x,
                nt_type="smoothgrad",
                nt_samples=options["smoothgrad_samples"],
                nt_samples_batch_size=options["smoothgrad_samples"],
                stdevs=options["smoothgrad_noise"],
                target=task,
                abs=False,
            )
    return (time.perf_counter() - t) / len(ctxs)


def forward_passes(method: str, options: dict) -> int:
    """Forward passes per window a method cannot do without (see the module docstring)."""
    return {
        "saliency": 1,
        "gradxinput": 1,
        "integrated_gradients": int(options["ig_steps"]),
        "smoothgrad": int(options["smoothgrad_samples"]),
        "deepshap": int(options["n_shuffles"]) + 1,
    }[method]


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
    fwd = forward_per_region(net, ctxs, spec, s.windows_per_batch)
    out: dict = {
        "model": "paggi CNN, 100 filters, 4 tasks, tile layout (145 bp), untrained",
        "regions": args.regions,
        "windows_per_region": 15,
        "threads": args.threads,
        "settings": options,
        "seconds_per_region": {"ism_fast": round(ism, 4), "one_forward_pass": round(fwd, 5)},
        "ratio_to_fast_ism": {},
        "within_budget": {},
        "forward_passes_per_window": {},
        "floor_ratio_to_fast_ism": {},
        "budget_reachable": {},
        "autograd_floor_ratio_to_fast_ism": {},
    }
    for method, budget in BUDGET.items():
        sec = per_region(CNNAttributor(net, spec, method, **options), ctxs, s.windows_per_batch)
        out["seconds_per_region"][method] = round(sec, 4)
        out["ratio_to_fast_ism"][method] = round(sec / ism, 3)
        out["within_budget"][method] = bool(sec <= budget * ism)
        passes = forward_passes(method, options)
        out["forward_passes_per_window"][method] = passes
        out["floor_ratio_to_fast_ism"][method] = round(passes * fwd / ism, 3)
        out["budget_reachable"][method] = bool(passes * fwd <= budget * ism)
        samples = passes - 1 if method == "deepshap" else passes  # the references
        saliency = out["seconds_per_region"]["saliency"]
        out["autograd_floor_ratio_to_fast_ism"][method] = round(samples * saliency / ism, 3)
    captum = captum_smoothgrad_per_region(net, ctxs, spec, options)
    out["seconds_per_region"]["baseline_captum_smoothgrad_per_task"] = round(captum, 4)
    out["smoothgrad_speedup_over_captum"] = round(
        captum / out["seconds_per_region"]["smoothgrad"], 2
    )
    out["budget_ratio"] = BUDGET
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
