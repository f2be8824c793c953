"""Handlers of the ``mpralens`` subcommands for attribution maps and their grading."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from mpralens.cli._args import command, named_values
from mpralens.config.settings import InterpretRun
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.errors import InputError
from mpralens.io.intervals import read_site_files
from mpralens.io.tables import write_tsv

log = logging.getLogger(__name__)


def _add_attribute(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="CNN .ckpt or k-mer .npz")
    p.add_argument(
        "--method",
        required=True,
        help="ism, saliency, gradxinput, integrated_gradients, smoothgrad, deepshap "
        "(CNNs), kmer_weights (k-mer model)",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--tiles", type=Path, help="results/<ds>/tiles.tsv.gz (the workflow's regions)"
    )
    src.add_argument(
        "--sequences",
        type=Path,
        help="FASTA of sequences of the model's input length, or a BED of such intervals "
        "(with --genome); no workflow needed",
    )
    p.add_argument("--genome", type=Path, help="genome FASTA (flanks of --tiles, or the BED's)")
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (for --regions)")
    p.add_argument("--out-tsv", required=True, type=Path, help="per-base scores (ISM's columns)")
    p.add_argument("--out-tracks", type=Path, help="folder of <task>.bw (with --out-figure)")
    p.add_argument("--out-figure", type=Path, help="sequence logos of the top regions")
    p.add_argument(
        "--sites", type=Path, nargs="+", help="BED files or truth sites TSV to shade in the logos"
    )
    p.add_argument("--out-timing", type=Path, help="JSON: regions, seconds, seconds per region")


@command(
    "attribute",
    "attribution maps (ISM, gradients, DeepSHAP, k-mer weights): per-base scores, bigWig tracks, "
    "logos",
    arguments=_add_attribute,
    settings=InterpretRun,
    key="interpret",
    hidden=("methods", "models"),
)
def attribute_cmd(args: argparse.Namespace, settings: InterpretRun) -> None:
    """Attribute every base of the chosen regions (or of the given sequences) with one method."""
    from mpralens.interpret.run import attribution_table, load_attributor, read_sequences

    if (args.out_tracks is None) != (args.out_figure is None):
        raise InputError("give both --out-tracks and --out-figure, or neither")
    folder = None
    if args.out_tracks is not None:
        folder = Folder(args.out_tracks, "attribute")
        check_folder(folder)
    sites = read_site_files(args.sites)  # before any scoring, so that a bad file fails first
    options = {
        "correction": settings.correction,
        "ig_steps": settings.ig_steps,
        "smoothgrad_samples": settings.smoothgrad_samples,
        "smoothgrad_noise": settings.smoothgrad_noise,
        "n_shuffles": settings.n_shuffles,
        "seed": settings.seed,
    }
    regions = None
    if args.tiles is not None:
        from mpralens.ism.run import select_regions
        from mpralens.ism.windows import build_contexts, region_table, window_scheme

        tiles = pd.read_csv(args.tiles, sep="\t")
        tile_length = int(tiles["sequence"].str.len().max())
        attributor = load_attributor(
            args.model, args.method, window_length=tile_length, options=options
        )
        try:
            regions = select_regions(
                region_table(tiles),
                splits=args.splits,
                which=settings.regions,
                max_regions=settings.max_regions,
            )
        except InputError as exc:  # name this stage's key, not ISM's
            key = exc.key.replace("ism.", "interpret.") if exc.key else None
            raise InputError(exc.message, path=exc.path, line=exc.line, key=key) from None
        contexts = build_contexts(
            regions,
            window_scheme(attributor.window_length, settings.stride, regions, args.genome),
            frame_length=attributor.frame_length,
            genome=args.genome,
        )
    else:
        attributor = _sequence_attributor(args, options)
        contexts = read_sequences(
            args.sequences, length=attributor.window_length, genome=args.genome
        )
    t0 = time.perf_counter()
    table = attribution_table(
        attributor, contexts, windows_per_batch=settings.windows_per_batch, desc=args.method
    )
    seconds = time.perf_counter() - t0
    timing = {
        "method": args.method,
        "regions": len(contexts),
        "seconds": round(seconds, 3),
        "seconds_per_region": round(seconds / max(len(contexts), 1), 5),
    }
    print(json.dumps(timing))
    outputs: list = [args.out_tsv]
    if args.out_timing is not None:
        outputs.append(args.out_timing)
    if folder is not None:
        outputs += [folder, args.out_figure]
    with atomic_outputs(*outputs) as paths:
        write_tsv(table, paths[0])
        if args.out_timing is not None:
            paths[1].write_text(json.dumps(timing, indent=1) + "\n")
        if folder is not None:
            from mpralens.ism.tracks import chrom_sizes, write_bigwigs
            from mpralens.plots.interpret import plot_logos

            tracks, figure = paths[-2], paths[-1]
            written = pd.read_csv(paths[0], sep="\t", dtype={"chrom": str})
            genome = args.genome if args.tiles is not None else None
            write_bigwigs(written, chrom_sizes(genome, written), tracks)
            sequences = {c.region_id: c.ext[c.offset : c.offset + c.length] for c in contexts}
            plot_logos(
                written,
                sequences,
                figure,
                top=settings.top_regions,
                title=args.method,
                sites=sites,
            )


def _sequence_attributor(args: argparse.Namespace, options: dict) -> Any:
    """Return the attributor for ``--sequences`` (a tile-layout CNN: the window is its input)."""
    from mpralens.interpret.run import load_attributor

    if str(args.model).endswith(".npz"):
        raise InputError(
            "a k-mer model takes sequences of any length; give --tiles (the data set's windows) "
            "to attribute with it",
            path=args.model,
        )
    from mpralens.models.cnn.network import load_network

    _, spec = load_network(args.model)
    if spec["layout"] != "tile":
        raise InputError(
            f"the model takes its tiles placed in a {spec['frame_length']}-bp frame "
            f"({spec['layout']} layout), so a bare sequence has no place in it; --sequences "
            "needs a tile-layout model (or give --tiles)",
            path=args.model,
        )
    return load_attributor(args.model, args.method, options=options)


def _add_grade(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scores", required=True, nargs="+", help="METHOD=TSV per-base scores of each method"
    )
    p.add_argument("--timing", nargs="*", default=[], help="METHOD=JSON timing of each method")
    p.add_argument("--sites", required=True, type=Path, help="the simulator's truth/sites.tsv")
    p.add_argument("--out-tsv", required=True, type=Path, help="attribution_grading.tsv")
    p.add_argument("--out-figure", type=Path, help="ROC and PR curves per method")


@command(
    "grade-attribution",
    "AUROC/AUPR of |attribution| at planted-site bases against all other bases, per method/task",
    arguments=_add_grade,
    settings=InterpretRun,
    key="interpret",
    hidden=("methods", "models"),
)
def grade_attribution_cmd(args: argparse.Namespace, settings: InterpretRun) -> None:
    """Grade each method's per-base scores against the planted sites."""
    from mpralens.evaluate.attribution import curves, grade, read_sites

    scores = named_values(args.scores, option="--scores", form="METHOD=TSV")
    timing = named_values(args.timing, option="--timing", form="METHOD=JSON")
    sites = read_sites(args.sites)
    tables = {}
    for method, path in scores.items():
        if not Path(path).is_file():
            raise InputError("file not found", path=path)
        tables[method] = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    grades = grade(tables, sites, seed=settings.seed)
    per_region = {
        m: json.loads(Path(p).read_text())["seconds_per_region"] for m, p in timing.items()
    }
    grades["seconds_per_region"] = grades["method"].map(per_region).astype(float)
    outputs = [args.out_tsv] + ([args.out_figure] if args.out_figure is not None else [])
    with atomic_outputs(*outputs) as paths:
        write_tsv(grades, paths[0])
        if args.out_figure is not None:
            from mpralens.plots.interpret import plot_grading_curves

            plot_grading_curves(curves(tables, sites), grades, paths[1])
