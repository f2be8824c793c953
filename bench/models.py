"""Model zoo on simulated data (issue 20): every architecture and option, >= 3 seeds each.

One simulated Sharpr-like data set (the simulator knows the true activity), one split, the same
epoch budget for every model (``--epochs``, no early stopping: patience = epochs; the checkpoint of
the best validation loss is kept), seeds fixed. Per configuration and task: test Pearson and
Spearman with the measured activity, Pearson with the true activity, the noise ceiling (measured
vs truth, and its replicate estimate) and the fraction of it reached; parameters and seconds per
training epoch on ``--threads`` cores (validation excluded).

A configuration's numbers are the mean and standard deviation over seeds. Each one is compared with
the baseline (Paggi et al.'s CNN) on the Pearson averaged over tasks: the difference, its standard
error over seeds, and ``within_seed_noise`` when ``|difference| < 2 SE`` (a difference that small
is not evidence either way). ``paggi_demo`` is Paggi et al.'s CNN at the width the demo trains
(100 filters; the other CNNs are at demo-scale widths of 32). ``paggi+rc_average`` is the
baseline's own networks with predictions averaged over both strands (the option is test-time
only), so it costs no training. The ensemble's members are models of seeds the single-model runs
do not use (ensemble ``e`` has members ``100 + 3e + {0, 1, 2}``), so its seeds are independent.

Usage: python bench/models.py [--regions 300] [--epochs 4] [--seeds 3] [--threads 2]
       [--out bench_models.tsv]
       python bench/models.py --tables a.tsv b.tsv [--markdown]   (summarise runs made apart)
Prints JSON (per configuration: mean/sd over seeds); ``--out`` writes the per-seed, per-task table.
A long comparison can run as several processes (``--configs``, each with the same ``--regions``
and ``--epochs`` and its own ``--out``), summarised together with ``--tables``; the baseline must
be in one of them.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

# The zoo at demo scale. LegNet is scaled down from the paper's (256, 128, 128, 64, 64, 64, 64)
# and trained with its recipe (AdamW, weight decay 0.01, one-cycle to lr 0.005).
SMALL = {"paggi": {"filters": 32}, "dragonn": {"filters": 32}, "residual": {"channels": 32}}
LEGNET = {
    "arch": "legnet",
    "arch_kwargs": {"stages": [32, 16, 16, 16], "mapper": 16},
    "optimizer": "adamw",
    "weight_decay": 0.01,
    "schedule": "onecycle",
    "lr": 0.005,
}
CONFIGS: dict[str, dict] = {
    "paggi": {"arch": "paggi", "arch_kwargs": SMALL["paggi"]},
    "paggi_demo": {"arch": "paggi"},  # the demo's own width: Paggi et al.'s 100 filters
    "paggi+rc_tied": {"arch": "paggi", "arch_kwargs": SMALL["paggi"], "rc": "tied"},
    "paggi+exp": {"arch": "paggi", "arch_kwargs": SMALL["paggi"], "first_activation": "exp"},
    "paggi+ensemble3": {"arch": "paggi", "arch_kwargs": SMALL["paggi"], "ensemble": 3},
    "dragonn": {"arch": "dragonn", "arch_kwargs": SMALL["dragonn"]},
    "residual": {"arch": "residual", "arch_kwargs": SMALL["residual"]},
    "legnet": LEGNET,
}
BASELINE = "paggi"


def simulate(regions: int, workdir: Path):
    """Simulate, import, normalise, weight and split; return training data, truth and activity."""
    from mpralens.data.counts import import_counts, write_imported
    from mpralens.data.libraries import pair_libraries
    from mpralens.data.normalize import log_ratios
    from mpralens.data.splits import make_splits
    from mpralens.data.training import load_training_data
    from mpralens.data.weights import add_weights
    from mpralens.io.tables import write_tsv
    from mpralens.simulate.tiled import TiledSimulation, simulate_tiled, simulated_paths

    sim = workdir / "sim"
    simulate_tiled(TiledSimulation(n_regions=regions, seed=11), sim)
    p = simulated_paths(str(sim))
    r = import_counts(
        layout="ernst", libraries=p["libraries"], coords=p["coords"], sequences=p["sequences"]
    )
    write_imported(r, counts_path=workdir / "counts.parquet", tiles_path=workdir / "tiles.tsv.gz")
    activity = add_weights(log_ratios(r.tiles, r.counts, pair_libraries(r.sheet)))
    write_tsv(activity, workdir / "activity.tsv.gz")
    write_tsv(
        make_splits(r.tiles, by="region", valid_fraction=0.1, test_fraction=0.15, seed=0),
        workdir / "splits.tsv",
    )
    data = load_training_data(
        workdir / "tiles.tsv.gz", workdir / "activity.tsv.gz", workdir / "splits.tsv"
    )
    truth = pd.read_parquet(p["truth_tile_activity"]).drop(columns=["region_id", "tile_pos"])
    return data, truth, activity


def run(config: str, seed: int, data, truth, activity, epochs: int, workdir: Path) -> pd.DataFrame:
    """Train one configuration with one seed; its per-task metrics."""
    from mpralens.data.training import prediction_table
    from mpralens.models.cnn.train import TrainSettings, predict_tiles, train_ensemble
    from mpralens.models.compare import compare

    opts = dict(CONFIGS[config])
    if opts.get("ensemble", 1) > 1:
        seed = 100 + 3 * seed
    settings = TrainSettings(
        **opts, max_epochs=epochs, patience=epochs, seed=seed, batch_size=256, accelerator="cpu"
    )
    t0 = time.perf_counter()
    trained = train_ensemble(data, settings, workdir / f"{config}_{seed}")
    assert trained is not None
    _, net, spec = trained
    wall = time.perf_counter() - t0
    test = data.subset("test")
    pred = prediction_table(test, predict_tiles(net, spec, test))
    preds = {config: pred}
    if config == BASELINE:  # rc = average is test-time only: the same trained networks
        from mpralens.models.cnn.architectures import ReverseComplement

        avg = ReverseComplement(net, "average").eval()
        preds[f"{config}+rc_average"] = prediction_table(test, predict_tiles(avg, spec, test))
    table = compare(preds, truth, activity=activity)
    return table.assign(
        seed=seed,
        parameters=spec["parameters"],
        seconds_per_epoch=spec["seconds_per_epoch"],
        wall_seconds=wall,
    )


def summarize(table: pd.DataFrame, baseline: str = BASELINE) -> dict:
    """Mean and sd over seeds per configuration; each compared with the baseline."""
    per_seed = table.groupby(["model", "seed"])[
        ["pearson", "spearman", "pearson_truth", "fraction_of_ceiling"]
    ].mean()  # averaged over tasks
    out: dict = {}
    base = per_seed.loc[baseline, "pearson"] if baseline in per_seed.index else None
    for model, g in per_seed.groupby(level="model"):
        rows = table[table["model"] == model]
        entry = {
            "seeds": len(g),
            **{f"{c}_mean": round(float(g[c].mean()), 4) for c in g.columns},
            **{f"{c}_sd": round(float(g[c].std(ddof=1)), 4) for c in g.columns},
            "per_task_pearson": {
                t: round(float(v), 4) for t, v in rows.groupby("task")["pearson"].mean().items()
            },
            "parameters": int(rows["parameters"].iloc[0]),
            "seconds_per_epoch": round(float(rows["seconds_per_epoch"].mean()), 2),
        }
        if base is not None and model != baseline:
            diff = float(g["pearson"].mean() - base.mean())
            se = float(np.sqrt(g["pearson"].var(ddof=1) / len(g) + base.var(ddof=1) / len(base)))
            entry["pearson_minus_baseline"] = round(diff, 4)
            entry["difference_se"] = round(se, 4)
            entry["within_seed_noise"] = bool(abs(diff) < 2 * se)
        out[str(model)] = entry
    ceil = table.groupby("task")[["ceiling", "ceiling_replicates"]].first()
    return {"configurations": out, "ceiling_by_task": ceil.round(4).to_dict(orient="index")}


def markdown(summary: dict, baseline: str = BASELINE) -> str:
    """Format the summary as docs/models.md's comparison table (task means, then seeds)."""
    confs = summary["configurations"]
    tasks = list(next(iter(confs.values()))["per_task_pearson"])
    head = [
        "configuration",
        "Pearson (mean ± sd)",
        "Spearman",
        "Pearson w/ truth",
        "fraction of ceiling",
        *tasks,
        "parameters",
        "s/epoch",
        f"vs {baseline} (± SE)",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, c in confs.items():
        if "pearson_minus_baseline" in c:
            verdict = "within seed noise" if c["within_seed_noise"] else "beyond 2 SE"
            vs = f"{c['pearson_minus_baseline']:+.3f} ± {c['difference_se']:.3f} ({verdict})"
        else:
            vs = "-"
        cells = [
            name,
            f"{c['pearson_mean']:.3f} ± {c['pearson_sd']:.3f}",
            f"{c['spearman_mean']:.3f} ± {c['spearman_sd']:.3f}",
            f"{c['pearson_truth_mean']:.3f} ± {c['pearson_truth_sd']:.3f}",
            f"{c['fraction_of_ceiling_mean']:.3f} ± {c['fraction_of_ceiling_sd']:.3f}",
            *(f"{c['per_task_pearson'][t]:.3f}" for t in tasks),
            f"{c['parameters']:,}",
            f"{c['seconds_per_epoch']:.1f}",
            vs,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--regions", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--out", type=Path, help="per-seed, per-task TSV")
    ap.add_argument(
        "--tables", nargs="+", type=Path, help="summarise these --out tables instead of training"
    )
    ap.add_argument("--markdown", action="store_true", help="with --tables: print the doc table")
    ap.add_argument("--baseline", default=BASELINE, help="with --tables: compare with this one")
    args = ap.parse_args()
    if args.tables:
        table = pd.concat([pd.read_csv(t, sep="\t") for t in args.tables], ignore_index=True)
        if args.baseline not in set(table["model"]):
            raise SystemExit(f"none of the tables holds the baseline {args.baseline!r}")
        summary = summarize(table, args.baseline)
        if args.markdown:
            print(markdown(summary, args.baseline))
        else:
            print(json.dumps({"tables": [str(t) for t in args.tables], **summary}, indent=1))
        return
    torch.set_num_threads(args.threads)
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data, truth, activity = simulate(args.regions, work)
        parts = [
            run(c, s, data, truth, activity, args.epochs, work)
            for c in args.configs
            for s in range(args.seeds)
        ]
    table = pd.concat(parts, ignore_index=True)
    if args.out:
        table.to_csv(args.out, sep="\t", index=False)
    counts = data.tiles["split"].value_counts().to_dict()
    result = {
        "data": {"regions": args.regions, "tiles_by_split": counts, "tasks": data.tasks},
        "epochs": args.epochs,
        "threads": args.threads,
        "total_seconds": round(time.perf_counter() - t0, 1),
        **summarize(table),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
