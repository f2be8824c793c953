"""Handlers of ``mpralens gia`` (global importance analysis) and ``mpralens truth-recovery``."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from mpralens.cli._args import command, named_values
from mpralens.config.settings import GIARun
from mpralens.io.atomic import atomic_outputs
from mpralens.io.errors import InputError
from mpralens.io.tables import write_tsv

log = logging.getLogger(__name__)


def _add_gia(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", required=True, type=Path, help="CNN .ckpt (tile layout) or k-mer .npz"
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--tiles", type=Path, help="results/<ds>/tiles.tsv.gz (column sequence)")
    src.add_argument(
        "--sequences",
        type=Path,
        help="FASTA, or TSV with columns id and sequence, of the tiles to draw null sequences "
        "from (one length, the model's)",
    )
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (gia.regions)")
    p.add_argument(
        "--motif",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=MOTIF",
        help="motif to test: an A/C/G/T consensus, a JASPAR 2024 ID (MA0035.5) or a catalogue "
        "factor (GATA1); repeatable. Replaces gia.motifs",
    )
    p.add_argument(
        "--analysis",
        nargs="+",
        action="extend",
        default=[],
        choices=["marginal", "position", "spacing", "number"],
        help="analyses to run (replaces gia.analyses)",
    )
    p.add_argument("--pair", nargs=2, metavar="NAME", help="motif names of the spacing analysis")
    p.add_argument(
        "--hypothesis",
        type=Path,
        help="YAML: motifs, analyses, pair, positions, spacings, copies (docs/interpret.md)",
    )
    p.add_argument(
        "--truth",
        type=Path,
        help="a simulated data set's truth/ folder: with no motif given, its factors.tsv "
        "consensus strings (planted and decoys) and the syntax.json pair",
    )
    p.add_argument("--out-tsv", required=True, type=Path, help="gia.tsv")
    p.add_argument(
        "--out-null", type=Path, help="null vs real tiles: mean, SD of predictions per task, GC"
    )
    p.add_argument(
        "--out-figure",
        nargs="*",
        default=[],
        metavar="ANALYSIS=PNG",
        help="one figure per analysis run (marginal=gia_marginal.png ...)",
    )


def _tile_sequences(args: argparse.Namespace, settings: GIARun) -> list[str]:
    """Return the tiles the null sequences come from (the chosen split's, A/C/G/T only)."""
    if args.tiles is not None:
        if not args.tiles.is_file():
            raise InputError("file not found", path=args.tiles)
        tiles = pd.read_csv(args.tiles, sep="\t", usecols=["tile_id", "sequence"])
        if settings.regions != "all":
            if args.splits is None:
                raise InputError(
                    f"drawing null sequences from the {settings.regions!r} tiles needs --splits",
                    key="gia.regions",
                )
            splits = pd.read_csv(args.splits, sep="\t", usecols=["tile_id", "split"])
            keep = set(splits.loc[splits["split"] == settings.regions, "tile_id"])
            tiles = tiles[tiles["tile_id"].isin(keep)]
            if tiles.empty:
                raise InputError(f"no {settings.regions} tile in the splits", key="gia.regions")
        seqs = tiles["sequence"].str.upper()
        ok = seqs.str.fullmatch("[ACGT]+")
        if not ok.any():
            raise InputError("no tile is A/C/G/T only", path=args.tiles)
        return list(seqs[ok])
    from mpralens.models.predict import read_sequences_any

    df = read_sequences_any(args.sequences)
    return list(df["sequence"])


def _motifs(args: argparse.Namespace, settings: GIARun, hypothesis: Any) -> dict[str, Any]:
    """Motifs by name (command line > hypothesis file > settings > the truth's catalogue)."""
    from mpralens.interpret.gia import resolve_motif

    if args.motif:
        out = {}
        for spec in args.motif:
            m = resolve_motif(spec)
            out[m.name] = m
        return out
    if hypothesis is not None:
        return {n: resolve_motif(v, name=n, key="motifs") for n, v in hypothesis.motifs.items()}
    if settings.motifs:
        return {n: resolve_motif(v, name=n, key="gia.motifs") for n, v in settings.motifs.items()}
    if args.truth is not None:
        from mpralens.evaluate.interpretation import read_factors

        factors = read_factors(args.truth)
        return {
            f: resolve_motif(c, name=f)
            for f, c in zip(factors["factor"], factors["consensus"], strict=True)
        }
    raise InputError(
        "no motif to test: give --motif NAME=MOTIF, --hypothesis, gia.motifs or --truth"
    )


def _pair(
    args: argparse.Namespace, settings: GIARun, hypothesis: Any, motifs: dict
) -> tuple | None:
    """Return the pair of the spacing analysis (command line > file > settings > truth)."""
    names = args.pair or (hypothesis.pair if hypothesis and hypothesis.pair else None)
    names = names or settings.pair
    if names is None and args.truth is not None and (args.truth / "syntax.json").is_file():
        syntax = json.loads((args.truth / "syntax.json").read_text())
        names = [syntax["first"], syntax["second"]]
    if names is None:
        return None
    for n in names:
        if n not in motifs:
            raise InputError(
                f"pair motif {n!r} is not among the motifs ({', '.join(motifs)})", key="gia.pair"
            )
    return motifs[names[0]], motifs[names[1]]


@command(
    "gia",
    "global importance analysis: motif effects (marginal, position, spacing, number) embedded "
    "in null sequences, with bootstrap intervals",
    arguments=_add_gia,
    settings=GIARun,
    key="gia",
    hidden=("models", "motifs", "analyses", "pair"),
)
def gia_cmd(args: argparse.Namespace, settings: GIARun) -> None:
    """Run the requested analyses and write gia.tsv, the null shift and one figure each."""
    from mpralens.interpret.gia import (
        GIA,
        check_motif_lengths,
        load_predictor,
        null_sequences,
        null_shift,
        one_hot,
        read_hypothesis,
        run_gia,
    )

    hypothesis = read_hypothesis(args.hypothesis) if args.hypothesis is not None else None
    figures = named_values(args.out_figure, option="--out-figure", form="ANALYSIS=PNG")
    asked = args.analysis or (hypothesis.analyses if hypothesis and hypothesis.analyses else None)
    analyses = list(asked or settings.analyses)
    for a in figures:
        if a not in analyses:
            raise InputError(f"--out-figure names {a!r}, an analysis not run ({analyses})")
    motifs = _motifs(args, settings, hypothesis)
    pair = _pair(args, settings, hypothesis, motifs) if "spacing" in analyses else None
    if "spacing" in analyses and pair is None and not asked and "spacing" not in figures:
        log.info("no pair of motifs given: the spacing analysis is skipped")
        analyses.remove("spacing")
    if "spacing" in analyses and pair is None:
        raise InputError(
            "the spacing analysis needs a pair: --pair A B, pair: in the hypothesis, gia.pair "
            "or --truth"
        )
    predictor = load_predictor(args.model, batch_size=settings.batch_size)
    tiles = _tile_sequences(args, settings)
    length = len(tiles[0])
    if predictor.length is not None and length != predictor.length:
        raise InputError(
            f"the tiles are {length} bp; the model takes {predictor.length}-bp tiles",
            path=args.tiles or args.sequences,
        )
    check_motif_lengths(list(motifs.values()), length)
    t0 = time.perf_counter()
    null = null_sequences(tiles, settings.n_null, method=settings.null, seed=settings.seed)
    gia = GIA(
        predictor, null, n_boot=settings.n_boot, ci_level=settings.ci_level, seed=settings.seed
    )
    options: dict[str, Any] = {
        "position_step": settings.position_step,
        "spacings": range(settings.max_spacing + 1),
        "copies": range(1, settings.max_copies + 1),
    }
    if hypothesis is not None:
        for key in ("positions", "spacings", "copies"):
            if getattr(hypothesis, key) is not None:
                options[key] = getattr(hypothesis, key)
    table = run_gia(gia, list(motifs.values()), analyses, pair=pair, **options)
    real = one_hot(tiles[: settings.n_null * 5])
    shift = null_shift(predictor, real, null, method=settings.null, null_predictions=gia.base)
    print(json.dumps({"rows": len(table), "seconds": round(time.perf_counter() - t0, 2)}))
    outputs: list = [args.out_tsv]
    if args.out_null is not None:
        outputs.append(args.out_null)
    outputs += list(figures.values())
    with atomic_outputs(*outputs) as paths:
        write_tsv(table, paths[0])
        rest = paths[1:]
        if args.out_null is not None:
            write_tsv(shift, rest[0])
            rest = rest[1:]
        if figures:
            from mpralens.plots.gia import plot_gia

            planted = None
            if args.truth is not None and (args.truth / "syntax.json").is_file():
                lo, hi = json.loads((args.truth / "syntax.json").read_text())["spacing_bp"]
                planted = (int(lo), int(hi))
            for (analysis, _), path in zip(figures.items(), rest, strict=True):
                plot_gia(table, analysis, path, shift=shift, planted_spacing=planted)


def _add_truth_recovery(p: argparse.ArgumentParser) -> None:
    p.add_argument("--truth", required=True, type=Path, help="a simulated data set's truth/")
    p.add_argument("--gia", type=Path, help="gia.tsv (mpralens gia)")
    p.add_argument("--filters", type=Path, help="filters.tsv (first-layer filters vs JASPAR)")
    p.add_argument("--patterns", type=Path, help="patterns.tsv (TF-MoDISco patterns vs JASPAR)")
    p.add_argument("--out-tsv", required=True, type=Path, help="truth_recovery.tsv")


@command(
    "truth-recovery",
    "what filters, MoDISco patterns and GIA recover of the simulator's truth (metric, value)",
    arguments=_add_truth_recovery,
)
def truth_recovery_cmd(args: argparse.Namespace) -> None:
    """Grade the interpretation outputs that exist against the truth; NaN for the others."""
    from mpralens.evaluate.interpretation import truth_recovery

    table = truth_recovery(args.truth, gia=args.gia, filters=args.filters, patterns=args.patterns)
    with atomic_outputs(args.out_tsv) as paths:
        write_tsv(table, paths[0])
