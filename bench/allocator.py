"""glibc's allocator as the ``mpralens`` command sets it, against its defaults; prints JSON.

Each measurement is a new process (the settings are per process): one epoch of training Paggi et
al.'s CNN (100 filters, the demo's architecture) on simulated regions, then DeepSHAP of 64 held-out
tiles (20 shuffled references, as the workflow), one thread. The two modes alternate, the first
swapped each round. For each step: wall seconds, user and system CPU seconds and minor page faults
(``getrusage`` around the step), and the process's peak resident memory; then the medians over
rounds and the ratios default / ours. The trained networks of the two modes are compared too
(equal to the bit: the allocator decides where a block lies, not what is computed in it).

Usage: python bench/allocator.py [--regions 800] [--epochs 1] [--rounds 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("glibc_default", "mpralens")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the other bench scripts' helpers


def _usage() -> tuple[float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime, r.ru_minflt


def _timed(step, *args):
    """Run ``step(*args)``; return its result and wall, user, system seconds and faults."""
    u0, s0, f0 = _usage()
    t0 = time.perf_counter()
    out = step(*args)
    wall = time.perf_counter() - t0
    u1, s1, f1 = _usage()
    figures = {"wall_s": wall, "user_s": u1 - u0, "sys_s": s1 - s0, "minor_faults": f1 - f0}
    return out, {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def child(mode: str, workdir: Path, epochs: int, out: Path) -> None:
    """One process: the allocator as ``mode`` says, then the timed steps; JSON to ``out``."""
    import mpralens.cli._allocator as allocator

    applied = allocator.keep_freed_memory() if mode == "mpralens" else False
    import torch

    from igvf import peak_rss_mb  # bench/igvf.py
    from mpralens.data.training import load_training_data
    from mpralens.interpret.methods import attribute
    from mpralens.models.cnn.network import encode
    from mpralens.models.cnn.train import TrainSettings, train_cnn

    torch.set_num_threads(1)
    data = load_training_data(
        workdir / "tiles.tsv.gz", workdir / "activity.tsv.gz", workdir / "splits.tsv"
    )
    settings = TrainSettings(arch="paggi", max_epochs=epochs, patience=epochs, seed=0)
    (_, net, spec), train = _timed(train_cnn, data, settings, out.with_suffix(".cnn"))
    test = data.subset("test").tiles.head(64)
    x = torch.as_tensor(
        encode(
            list(test["sequence"]), test["offset"].to_numpy(), spec["layout"], spec["frame_length"]
        ),
        dtype=torch.float32,
    )
    _, shap = _timed(lambda: attribute(net, x, "deepshap", n_tasks=len(data.tasks)))
    digest = torch.cat([p.detach().flatten() for p in net.parameters()])
    record = {
        "mode": mode,
        "applied": applied,
        "train_epochs": epochs,
        "train": train,
        "deepshap_64_tiles": shap,
        "peak_rss_mb": peak_rss_mb(),
        "weights_sha256": hashlib.sha256(digest.numpy().tobytes()).hexdigest(),
    }
    out.write_text(json.dumps(record))


def prepare(regions: int, workdir: Path) -> None:
    """Simulate, import, normalise, weight and split ``regions`` regions into ``workdir``."""
    from models import simulate  # bench/models.py

    simulate(regions, workdir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=800)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", nargs=3, metavar=("MODE", "WORKDIR", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, workdir, out = args.child
        child(mode, Path(workdir), args.epochs, Path(out))
        return
    with tempfile.TemporaryDirectory(prefix="mpralens-bench-allocator-") as tmp:
        workdir = Path(tmp)
        prepare(args.regions, workdir)
        runs: list[dict] = []
        for r in range(args.rounds):
            for mode in MODES if r % 2 == 0 else MODES[::-1]:
                out = workdir / f"{mode}-{r}.json"
                subprocess.run(
                    [sys.executable, __file__, "--epochs", str(args.epochs)]
                    + ["--child", mode, str(workdir), str(out)],
                    check=True,
                )
                runs.append(json.loads(out.read_text()))
    summary: dict = {}
    for step in ("train", "deepshap_64_tiles"):
        for mode in MODES:
            for key in ("wall_s", "user_s", "sys_s", "minor_faults"):
                values = [run[step][key] for run in runs if run["mode"] == mode]
                summary.setdefault(step, {}).setdefault(mode, {})[key] = statistics.median(values)
        d, m = (summary[step][mode] for mode in MODES)
        summary[step]["wall_ratio_default_over_ours"] = round(d["wall_s"] / m["wall_s"], 2)
        summary[step]["cpu_ratio_default_over_ours"] = round(
            (d["user_s"] + d["sys_s"]) / (m["user_s"] + m["sys_s"]), 2
        )
    summary["peak_rss_mb"] = {
        mode: statistics.median(run["peak_rss_mb"] for run in runs if run["mode"] == mode)
        for mode in MODES
    }
    summary["same_trained_weights"] = len({run["weights_sha256"] for run in runs}) == 1
    print(
        json.dumps(
            {
                "regions": args.regions,
                "epochs": args.epochs,
                "rounds": args.rounds,
                "threads": 1,
                "summary": summary,
                "runs": runs,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
