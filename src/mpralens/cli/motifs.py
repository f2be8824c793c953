"""Handlers of the ``mpralens`` subcommands for motifs: first-layer filters, TF-MoDISco patterns."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

from mpralens.cli._args import command, named_values
from mpralens.config.settings import MotifSettings
from mpralens.io.atomic import atomic_outputs
from mpralens.io.errors import InputError
from mpralens.io.tables import write_tsv

log = logging.getLogger(__name__)


def _split_ids(splits: Path | None, which: str, column: str) -> set[str] | None:
    """IDs (``tile_id`` or ``region_id``) of the ``which`` split; None for all."""
    if which == "all":
        return None
    if splits is None:
        raise InputError(f"choosing the {which!r} tiles needs --splits", key="motifs.regions")
    if not splits.is_file():
        raise InputError("file not found", path=splits)
    table = pd.read_csv(splits, sep="\t", dtype=str)
    if column not in table.columns or "split" not in table.columns:
        raise InputError(f"a splits table needs columns {column} and split", path=splits)
    ids = set(table.loc[table["split"] == which, column])
    if not ids:
        raise InputError(f"the splits table has no {which!r} tile", path=splits)
    return ids


def _read_tiles(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("file not found", path=path)
    tiles = pd.read_csv(path, sep="\t", dtype={"chrom": str})
    missing = {"tile_id", "region_id", "sequence"} - set(tiles.columns)
    if missing:
        raise InputError(f"a tiles table needs columns {sorted(missing)}", path=path)
    return tiles


_MODISCO = (
    "max_seqlets",
    "window_size",
    "flank_size",
    "min_metacluster_size",
    "final_min_cluster_size",
    "target_seqlet_fdr",
    "n_leiden_runs",
)


def _add_targets(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--motifs",
        type=Path,
        help="compare with the motifs of this MEME or JASPAR file instead of JASPAR 2024 CORE "
        "vertebrates",
    )


def _targets(path: Path | None) -> list | None:
    if path is None:
        return None
    from mpralens.io.motifs import read_motifs

    return read_motifs(path)


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, type=Path, help="CNN checkpoint (.ckpt)")
    p.add_argument("--tiles", required=True, type=Path, help="results/<ds>/tiles.tsv.gz")
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (for --regions)")
    p.add_argument("--out-tsv", required=True, type=Path, help="filters.tsv")
    p.add_argument("--out-meme", required=True, type=Path, help="the filters' PFMs (MEME format)")
    p.add_argument("--out-matches", type=Path, help="every Tomtom match (TSV)")
    _add_targets(p)
    p.add_argument("--out-figure", type=Path, help="logo grid of the filters")


@command(
    "filters",
    "first-layer CNN filters as motifs (Koo & Ploenzke alignment), Tomtom vs JASPAR 2024",
    arguments=_add_filters,
    settings=MotifSettings,
    key="motifs",
    hidden=_MODISCO + ("enabled", "sources", "best_method"),
)
def filters_cmd(args: argparse.Namespace, settings: MotifSettings) -> None:
    """Align each first-layer filter's activating subsequences and match the PFMs to JASPAR."""
    from mpralens.interpret.filters import filter_motifs, filter_table, load_cnn
    from mpralens.io.motifs import write_meme

    net, _ = load_cnn(args.model)
    targets = _targets(args.motifs)
    tiles = _read_tiles(args.tiles)
    ids = _split_ids(args.splits, settings.regions, "tile_id")
    if ids is not None:
        tiles = tiles[tiles["tile_id"].astype(str).isin(ids)]
    if settings.max_tiles is not None:
        tiles = tiles.head(settings.max_tiles)
    motifs, n_sites = filter_motifs(
        net,
        list(tiles["sequence"]),
        threshold=settings.activation_threshold,
        pseudocount=settings.pseudocount,
        name=str(args.model),
    )
    table, matches = filter_table(
        motifs,
        n_sites,
        q_cutoff=settings.q_cutoff,
        min_information_content=settings.min_information_content,
        targets=targets,
    )
    outputs: list = [args.out_tsv, args.out_meme]
    if args.out_matches is not None:
        outputs.append(args.out_matches)
    if args.out_figure is not None:
        outputs.append(args.out_figure)
    with atomic_outputs(*outputs) as paths:
        write_tsv(table, paths[0])
        write_meme(motifs, paths[1])
        rest = paths[2:]
        if args.out_matches is not None:
            write_tsv(matches, rest.pop(0))
        if args.out_figure is not None:
            from mpralens.plots.motifs import plot_logo_grid

            titles = [
                f"{r.filter} n={r.n_sites} {r.best_match or '-'}"
                + (f" q={r.q_value:.1g}" if r.best_match else "")
                for r in table.itertuples(index=False)
            ]
            plot_logo_grid(
                [m.probs for m in motifs],
                titles,
                rest[0],
                columns=settings.logo_columns,
                title=f"first-layer filters ({len(tiles)} tiles)",
            )
    print(
        f"{int((table['significant_matches'] != '').sum())} of {len(table)} filters match "
        f"JASPAR (q < {settings.q_cutoff})"
    )


def _add_patterns(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scores",
        required=True,
        nargs="+",
        help="METHOD=TSV per-base scores (mpralens attribute or the ISM stage) of each method",
    )
    p.add_argument("--grading", type=Path, help="attribution_grading.tsv (chooses `best`)")
    p.add_argument("--tiles", required=True, type=Path, help="results/<ds>/tiles.tsv.gz")
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (for --regions)")
    p.add_argument(
        "--planted",
        action="store_true",
        help="simulated data: name the catalogue factor each pattern matches (planted_factor)",
    )
    p.add_argument("--out-tsv", required=True, type=Path, help="patterns.tsv")
    p.add_argument("--out-meme", required=True, type=Path, help="the patterns' PFMs (MEME format)")
    p.add_argument("--out-figure", type=Path, help="logos of the patterns")
    _add_targets(p)


@command(
    "patterns",
    "TF-MoDISco patterns of attribution maps per task, Tomtom vs JASPAR 2024",
    arguments=_add_patterns,
    settings=MotifSettings,
    key="motifs",
    hidden=("enabled", "activation_threshold", "max_tiles"),
)
def patterns_cmd(args: argparse.Namespace, settings: MotifSettings) -> None:
    """Run TF-MoDISco per source and task and match the patterns to JASPAR."""
    from mpralens.interpret.patterns import (
        find_patterns,
        pattern_table,
        region_maps,
        resolve_sources,
    )
    from mpralens.io.motifs import write_meme
    from mpralens.ism.windows import region_table

    scores = named_values(args.scores, option="--scores", form="METHOD=TSV")
    targets = _targets(args.motifs)
    grading = None
    if args.grading is not None:
        if not args.grading.is_file():
            raise InputError("file not found", path=args.grading)
        grading = pd.read_csv(args.grading, sep="\t")
    sources = resolve_sources(settings.sources, list(scores), grading, settings.best_method)
    tiles = _read_tiles(args.tiles)
    regions = region_table(tiles)
    ids = _split_ids(args.splits, settings.regions, "region_id")
    if ids is not None:
        regions = regions[regions["region_id"].astype(str).isin(ids)]
    patterns = []
    for source in sources:
        path = Path(scores[source])
        if not path.is_file():
            raise InputError("file not found", path=path)
        table = pd.read_csv(path, sep="\t", dtype={"chrom": str, "region_id": str})
        missing = {"pos", "region_id", "task", "score"} - set(table.columns)
        if missing:
            raise InputError(
                f"a per-base score table needs columns {sorted(missing)} (ISM's columns)",
                path=path,
            )
        for task in sorted(table["task"].unique()):
            one_hot, s, _ = region_maps(table, regions, task)
            found = find_patterns(one_hot, s, settings, task=task, source=source)
            log.info("%s %s: %d patterns", source, task, len(found))
            patterns += found
    out, _ = pattern_table(
        patterns,
        q_cutoff=settings.q_cutoff,
        min_information_content=settings.min_information_content,
        planted=args.planted,
        targets=targets,
    )
    outputs: list = [args.out_tsv, args.out_meme]
    if args.out_figure is not None:
        outputs.append(args.out_figure)
    with atomic_outputs(*outputs) as paths:
        write_tsv(out, paths[0])
        write_meme([p.motif for p in patterns], paths[1])
        if args.out_figure is not None:
            from mpralens.plots.motifs import plot_logo_grid

            titles = [
                f"{r.source} {r.task} {r.pattern} n={r.n_seqlets} {r.best_match or '-'}"
                + (f" ({r.planted_factor})" if r.planted_factor else "")
                for r in out.itertuples(index=False)
            ]
            plot_logo_grid(
                [p.motif.probs for p in patterns],
                titles,
                paths[2],
                columns=settings.logo_columns,
                title=f"TF-MoDISco patterns ({', '.join(sources)})",
            )
    print(f"{len(out)} patterns; sources {', '.join(sources)}")
