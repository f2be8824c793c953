"""Handlers of the ``mpralens`` subcommands for in-silico mutagenesis and variant effects."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from mpralens.cli._args import command
from mpralens.config.settings import ISMSettings
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.intervals import read_site_files
from mpralens.io.sequences import index_fasta
from mpralens.io.tables import write_tsv

log = logging.getLogger(__name__)


def _add_figure(p: argparse.ArgumentParser) -> None:
    """Add the top-regions figure flags (shared by ``ism`` and ``ism-merge``)."""
    p.add_argument(
        "--sites", type=Path, nargs="+", help="BED files or truth sites TSV to mark in the figure"
    )


def _add_ism(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="CNN .ckpt or k-mer .npz")
    p.add_argument("--tiles", required=True, type=Path, help="results/<ds>/tiles.tsv.gz")
    p.add_argument("--genome", type=Path, help="genome FASTA for the flanks (else none)")
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (for --regions)")
    _add_figure(p)
    p.add_argument(
        "--chunk", type=int, default=0, help="score only this chunk (0-based) of --chunks"
    )
    p.add_argument("--out-tsv", required=True, type=Path)
    p.add_argument("--out-tracks", type=Path, help="folder of <task>.bw (else scores only)")
    p.add_argument("--out-figure", type=Path, help="top-regions figure (with --out-tracks)")


def _tracks_folder(args: argparse.Namespace) -> Folder | None:
    """Check the --out-tracks folder before any scoring; return it (None without tracks).

    ``ism-merge`` writes the same tracks as one ``ism`` pass, so both own the folder as ``ism``.
    """
    from mpralens.io.errors import InputError

    if (args.out_tracks is None) != (args.out_figure is None):
        raise InputError("give both --out-tracks and --out-figure, or neither")
    if args.out_tracks is None:
        return None
    folder = Folder(args.out_tracks, "ism")
    check_folder(folder)
    return folder


def _write_ism_outputs(
    table: pd.DataFrame,
    args: argparse.Namespace,
    settings: ISMSettings,
    sites: pd.DataFrame | None,
    tracks_folder: Folder | None,
) -> None:
    """Scores, and with --out-tracks/--out-figure the bigWigs and the figure, all or nothing."""
    from mpralens.ism.tracks import chrom_sizes, write_bigwigs
    from mpralens.plots.ism import plot_top_regions

    if tracks_folder is None:
        with atomic_outputs(args.out_tsv) as (tsv,):
            write_tsv(table, tsv)
        return
    with atomic_outputs(args.out_tsv, tracks_folder, args.out_figure) as (tsv, tracks, fig):
        write_tsv(table, tsv)
        # Tracks and figure from the numbers as written (8 significant digits), so that they are
        # the same whether the table was scored in one pass or merged from chunks.
        table = pd.read_csv(tsv, sep="\t")
        write_bigwigs(table, chrom_sizes(args.genome, table), tracks)
        plot_top_regions(table, fig, sites=sites, top=settings.top_regions)


ISM_OPTIONS: dict[str, Any] = {
    "arguments": _add_ism,
    "settings": ISMSettings,
    "key": "ism",
    "hidden": ("models",),
    "replaced": {"--top": "--top-regions"},
}


@command(
    "ism", "tiled in-silico mutagenesis: per-base scores, bigWig tracks and a figure", **ISM_OPTIONS
)
@command(
    "ism-chunk",
    "ISM of one chunk (--chunk of ism.chunks) of the regions, scores only (rule ism_chunk)",
    **ISM_OPTIONS,
)
def ism_cmd(args: argparse.Namespace, settings: ISMSettings) -> None:
    """Score every base of the chosen regions with a trained model."""
    import time

    import torch

    from mpralens.ism.run import chunk_of, ism_table, load_scorer, select_regions
    from mpralens.ism.windows import build_contexts, region_table, window_scheme

    tracks_folder = _tracks_folder(args)
    # The user's files before the model (a CNN checkpoint takes seconds to load): a bad BED or
    # genome fails at once. The genome is checked (and indexed) here; contexts open it later.
    sites = read_site_files(args.sites)
    if args.genome is not None:
        index_fasta(args.genome)
    tiles = pd.read_csv(args.tiles, sep="\t")
    tile_length = int(tiles["sequence"].str.len().max())
    scorer = load_scorer(
        args.model,
        method=settings.method,
        window_length=tile_length,
        batch_size=settings.batch_size,
    )
    regions = select_regions(
        region_table(tiles),
        splits=args.splits,
        which=settings.regions,
        max_regions=settings.max_regions,
    )
    scheme = window_scheme(scorer.window_length, settings.stride, regions, args.genome)
    regions = chunk_of(regions, args.chunk, settings.chunks)
    contexts = build_contexts(
        regions,
        scheme,
        frame_length=getattr(scorer, "frame_length", None),
        genome=args.genome,
    )
    log.info("ISM of %d regions with %s (%s)", len(contexts), args.model, settings.method)
    t0 = time.perf_counter()
    with torch.inference_mode():
        table = ism_table(scorer, contexts)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "regions": len(contexts),
                "method": settings.method,
                "seconds": round(seconds, 2),
                "seconds_per_region": round(seconds / max(len(contexts), 1), 4),
            }
        )
    )
    _write_ism_outputs(table, args, settings, sites, tracks_folder)


def _add_merge(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scores", required=True, type=Path, nargs="+", help="chunk TSVs, in order")
    p.add_argument("--genome", type=Path, help="genome FASTA (chromosome sizes of the bigWigs)")
    _add_figure(p)
    p.add_argument("--out-tsv", required=True, type=Path)
    p.add_argument("--out-tracks", required=True, type=Path, help="folder of <task>.bw")
    p.add_argument("--out-figure", required=True, type=Path)


@command(
    "ism-merge",
    "merge ISM chunks into one score table, bigWig tracks and the figure",
    arguments=_add_merge,
    settings=ISMSettings,
    key="ism",
    hidden=("models",),
    replaced={"--top": "--top-regions"},
)
def ism_merge_cmd(args: argparse.Namespace, settings: ISMSettings) -> None:
    """Concatenate chunk tables (in chunk order) and write the per-data-set outputs."""
    tracks_folder = _tracks_folder(args)
    sites = read_site_files(args.sites)
    table = pd.concat([pd.read_csv(p, sep="\t") for p in args.scores], ignore_index=True)
    _write_ism_outputs(table, args, settings, sites, tracks_folder)


def _add_variants(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="CNN .ckpt or k-mer .npz")
    p.add_argument("--vcf", required=True, type=Path)
    p.add_argument("--genome", required=True, type=Path)
    p.add_argument("--window", type=int, help="window length for k-mer models (default 145)")
    p.add_argument("--out", required=True, type=Path, help="TSV: chrom pos id ref alt <tasks>")


@command(
    "score-variants",
    "predicted effect f(alt) - f(ref) of each SNV of a VCF, per task",
    arguments=_add_variants,
)
def score_variants_cmd(args: argparse.Namespace) -> None:
    """Score the SNVs of a VCF."""
    from mpralens.ism.variants import score_variants

    table = score_variants(args.model, args.vcf, args.genome, window_length=args.window)
    with atomic_outputs(args.out) as (tmp,):
        write_tsv(table, tmp)
