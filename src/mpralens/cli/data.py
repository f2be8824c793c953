"""Handlers of the ``mpralens`` subcommands for the counts-to-activity stage.

Each handler only reads its inputs, calls the library and writes outputs all-or-nothing; the
science lives in the modules it calls.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from mpralens.cli._args import command
from mpralens.config.settings import NormalizeSettings, SplitRun, WeightsSettings
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.errors import InputError
from mpralens.io.tables import write_tsv


def _add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("--layout", choices=["ernst", "geo"], required=True)
    p.add_argument("--libraries", required=True, type=Path, help="library sheet TSV")
    p.add_argument("--coords", required=True, help="coords file, or from_ids (scale-up IDs)")
    p.add_argument("--sequences", type=Path, help="ernst layout: *.sequences.txt")
    p.add_argument("--tile-step", type=int, default=5)
    p.add_argument("--tile-length", type=int, default=145)
    p.add_argument("--tile-ids", choices=["sharpr", "coords"], default="sharpr")
    p.add_argument("--out-counts", required=True, type=Path, help="counts.parquet")
    p.add_argument("--out-tiles", required=True, type=Path, help="tiles.tsv.gz")
    p.add_argument("--out-barcodes", type=Path, help="keep barcodes: barcode_counts.parquet")
    p.add_argument("--downloads", type=Path, help="folder of count files the sheet gives as URLs")


@command(
    "import-counts",
    "read counts in the Ernst-site or GEO layout into one tile x library table",
    arguments=_add_import,
)
def import_counts_cmd(args: argparse.Namespace) -> None:
    """Import counts."""
    from mpralens.data.counts import import_counts, write_imported

    result = import_counts(
        layout=args.layout,
        libraries=args.libraries,
        coords=args.coords,
        sequences=args.sequences,
        tile_step=args.tile_step,
        tile_length=args.tile_length,
        keep_barcodes=args.out_barcodes is not None,
        downloads=args.downloads,
        tile_ids=args.tile_ids,
    )
    write_imported(
        result,
        counts_path=args.out_counts,
        tiles_path=args.out_tiles,
        barcodes_path=args.out_barcodes,
    )


def _add_normalize(p: argparse.ArgumentParser) -> None:
    p.add_argument("--counts", required=True, type=Path)
    p.add_argument("--tiles", required=True, type=Path)
    p.add_argument("--libraries", required=True, type=Path)
    p.add_argument("--barcodes", type=Path, help="per-barcode method: barcode_counts.parquet")
    p.add_argument("--out", required=True, type=Path, help="log_ratios.parquet")
    p.add_argument("--qc-dir", required=True, type=Path, help="folder: qc.json and figures")


@command(
    "normalize",
    "log2 RNA/DNA ratios per replicate and task, with QC",
    arguments=_add_normalize,
    settings=NormalizeSettings,
    key="normalize",
)
def normalize_cmd(args: argparse.Namespace, settings: NormalizeSettings) -> None:
    """Normalise counts to activity."""
    from mpralens.data.libraries import pair_libraries, read_library_sheet
    from mpralens.data.normalize import log_ratios
    from mpralens.data.qc import qc_summary, write_qc_json
    from mpralens.plots.qc import plot_counts, plot_replicates

    qc = Folder(args.qc_dir, "normalize")
    check_folder(qc)
    sheet = read_library_sheet(args.libraries, check_files=False)
    counts = pd.read_parquet(args.counts)
    tiles = pd.read_csv(args.tiles, sep="\t")
    barcodes = pd.read_parquet(args.barcodes) if args.barcodes else None
    if settings.method == "per_barcode" and barcodes is None:
        raise InputError(
            "method per_barcode needs --barcodes (barcode_counts.parquet)", key="normalize.method"
        )
    pairs = pair_libraries(sheet, sheet_path=args.libraries)
    missing = sorted({lib for p in pairs for lib in (p.dna, p.rna)} - set(counts.columns))
    if missing:
        one = len(missing) == 1
        raise InputError(
            f"{'library' if one else 'libraries'} {', '.join(missing)} "
            f"{'has' if one else 'have'} no counts here, though the library sheet "
            f"{args.libraries} names {'it' if one else 'them'}: these counts were imported from "
            "another sheet; rerun import-counts with this sheet",
            path=args.counts,
        )
    table = log_ratios(
        tiles,
        counts,
        pairs,
        pseudocount=settings.pseudocount,
        min_dna=settings.min_dna,
        barcode_counts=barcodes,
    )
    summary = qc_summary(counts, table, sheet, tiles)
    with atomic_outputs(args.out, qc) as (out, qc_tmp):
        table.to_parquet(out, index=False)
        write_qc_json(summary, qc_tmp / "qc.json")
        plot_replicates(summary, table, qc_tmp / "replicates.png")
        plot_counts(counts, sheet, qc_tmp / "counts.png")


def _add_weights(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log-ratios", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="activity.tsv.gz")


@command(
    "weights",
    "replicate-consistency weights; writes the activity table",
    arguments=_add_weights,
    settings=WeightsSettings,
    key="weights",
)
def weights_cmd(args: argparse.Namespace, settings: WeightsSettings) -> None:
    """Add replicate weights."""
    from mpralens.data.weights import add_weights

    table = add_weights(
        pd.read_parquet(args.log_ratios), method=settings.method, neighbors=settings.neighbors
    )
    with atomic_outputs(args.out) as (out,):
        write_tsv(table, out)


def _add_split(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tiles", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path, help="splits.tsv")


@command(
    "split",
    "train/valid/test split by region or chromosome",
    arguments=_add_split,
    settings=SplitRun,
    key="split",
)
def split_cmd(args: argparse.Namespace, settings: SplitRun) -> None:
    """Split tiles by region or chromosome."""
    from mpralens.data.splits import make_splits

    tiles = pd.read_csv(args.tiles, sep="\t")
    kw: dict[str, Any]
    if settings.by == "region":
        kw = {
            "valid_fraction": settings.valid_fraction,
            "test_fraction": settings.test_fraction,
            "seed": settings.seed,
        }
    else:
        kw = {
            "valid_chromosomes": settings.valid_chromosomes,
            "test_chromosomes": settings.test_chromosomes,
        }
    table = make_splits(tiles, by=settings.by, **kw)
    with atomic_outputs(args.out) as (out,):
        write_tsv(table, out)


def _add_fetch(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", required=True, help="https://, ftp:// or file:// URL")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--sha256", help="expected SHA-256 of the downloaded bytes (hex)")
    p.add_argument("--gunzip", action="store_true", help="decompress after checking")
    p.add_argument("--key", help="config entry the URL comes from (named in errors)")


@command(
    "fetch",
    "download a file and check its SHA-256 (all or nothing)",
    arguments=_add_fetch,
)
def fetch_cmd(args: argparse.Namespace) -> None:
    """Download one input file of a data set."""
    from mpralens.io.download import fetch

    digest = fetch(args.url, args.out, sha256=args.sha256, gunzip=args.gunzip, key=args.key)
    print(json.dumps({"url": args.url, "sha256": digest, "checked": args.sha256 is not None}))
