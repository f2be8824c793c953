"""Handlers of the ``mpralens`` subcommands for in-silico mutagenesis and variant effects."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pandas as pd

from mpralens.atomic import atomic_outputs
from mpralens.cli import arguments, command
from mpralens.tables import write_tsv

log = logging.getLogger(__name__)


def _add_ism(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="CNN .ckpt or k-mer .npz")
    p.add_argument("--tiles", required=True, type=Path, help="results/<ds>/tiles.tsv.gz")
    p.add_argument("--genome", type=Path, help="genome FASTA for the flanks (else none)")
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (for --regions)")
    p.add_argument("--regions", default="all", choices=["all", "train", "valid", "test"])
    p.add_argument("--max-regions", type=int, help="score at most this many regions")
    p.add_argument("--method", default="fast", choices=["fast", "plain"])
    p.add_argument("--stride", type=int, default=29, help="window stride in bp (29)")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument(
        "--sites", type=Path, nargs="+", help="BED files or truth sites TSV to mark in the figure"
    )
    p.add_argument("--top", type=int, default=6, help="regions in the figure")
    p.add_argument("--out-tsv", required=True, type=Path)
    p.add_argument("--out-tracks", required=True, type=Path, help="folder of <task>.bw")
    p.add_argument("--out-figure", required=True, type=Path)


@command("ism", "tiled in-silico mutagenesis: per-base scores, bigWig tracks and a figure")
@arguments(_add_ism)
def ism_cmd(args: argparse.Namespace) -> None:
    """Score every base of the chosen regions with a trained model."""
    import time

    import torch

    from mpralens.ism.run import ism_table, load_scorer, select_regions
    from mpralens.ism.tracks import chrom_sizes, plot_top_regions, read_intervals, write_bigwigs
    from mpralens.ism.windows import WindowScheme, build_contexts, region_table

    tiles = pd.read_csv(args.tiles, sep="\t")
    tile_length = int(tiles["sequence"].str.len().max())
    scorer = load_scorer(
        args.model, method=args.method, window_length=tile_length, batch_size=args.batch_size
    )
    scheme = WindowScheme(scorer.window_length, args.stride)
    regions = select_regions(
        region_table(tiles), splits=args.splits, which=args.regions, max_regions=args.max_regions
    )
    sites = pd.concat([read_intervals(s) for s in args.sites]) if args.sites else None
    contexts = build_contexts(
        regions,
        scheme,
        frame_length=getattr(scorer, "frame_length", None),
        genome=args.genome,
    )
    log.info("ISM of %d regions with %s (%s)", len(contexts), args.model, args.method)
    t0 = time.perf_counter()
    with torch.inference_mode():
        table = ism_table(scorer, contexts)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "regions": len(contexts),
                "method": args.method,
                "seconds": round(seconds, 2),
                "seconds_per_region": round(seconds / max(len(contexts), 1), 4),
            }
        )
    )
    with atomic_outputs(args.out_tsv, args.out_tracks, args.out_figure) as (tsv, tracks, fig):
        write_tsv(table, tsv)
        write_bigwigs(table, chrom_sizes(args.genome, table), tracks)
        plot_top_regions(table, fig, sites=sites, top=args.top)


def _add_variants(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="CNN .ckpt or k-mer .npz")
    p.add_argument("--vcf", required=True, type=Path)
    p.add_argument("--genome", required=True, type=Path)
    p.add_argument("--window", type=int, help="window length for k-mer models (default 145)")
    p.add_argument("--out", required=True, type=Path, help="TSV: chrom pos id ref alt <tasks>")


@command("score-variants", "predicted effect f(alt) - f(ref) of each SNV of a VCF, per task")
@arguments(_add_variants)
def score_variants_cmd(args: argparse.Namespace) -> None:
    """Score the SNVs of a VCF."""
    from mpralens.ism.variants import score_variants

    table = score_variants(args.model, args.vcf, args.genome, window_length=args.window)
    with atomic_outputs(args.out) as (tmp,):
        write_tsv(table, tmp)
