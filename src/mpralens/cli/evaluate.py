"""``mpralens`` subcommands that grade base-resolution maps against annotations and truth."""

from __future__ import annotations

import argparse
from os import PathLike
from pathlib import Path

import pandas as pd

from mpralens.cli._args import command, named_values
from mpralens.config.settings import EvaluationRun
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.tables import write_tsv


def _add_evaluate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scores", required=True, type=Path, help="results/<ds>/ism/<model>/scores")
    p.add_argument("--conservation", type=Path, help="bigWig of per-base scores or element BED")
    p.add_argument("--tf-sites", nargs="+", default=[], metavar="CELL=BED")
    p.add_argument("--tss", type=Path, help="TSS BED with strand")
    p.add_argument("--reference", type=Path, help="Sharpr per-base scores or simulator truth")
    p.add_argument("--outdir", required=True, type=Path)


def _reference(path: Path) -> pd.DataFrame:
    """Per-base reference scores as ``region_id, offset[, task], value``."""
    from mpralens.evaluate.labels import read_sharpr_scores

    if path.suffix == ".parquet":  # the simulator's truth/base_effect.parquet
        truth = pd.read_parquet(path)
        tasks = [c for c in truth.columns if c not in ("region_id", "chrom", "pos", "genome_pos")]
        return truth.rename(columns={"pos": "offset"}).melt(
            id_vars=["region_id", "offset"], value_vars=tasks, var_name="task", value_name="value"
        )
    return read_sharpr_scores(path)


EVAL_OUTPUTS = {
    "summary": "summary.json",
    "curves": "quantile_curves.tsv.gz",
    "fig7": "fig7_sharpr.png",
    "fig8": "fig8_quantiles.png",
    "fig9_tf": "fig9_tf_by_cell.png",
    "fig9_tss": "fig9_tss_distance.png",
}


@command(
    "evaluate-ism",
    "ISM scores vs conservation, TF sites, Sharpr scores and TSS (Figs 7-9)",
    arguments=_add_evaluate,
    settings=EvaluationRun,
    key="evaluation",
)
def evaluate_ism_cmd(args: argparse.Namespace, settings: EvaluationRun) -> None:
    """Evaluate one ISM map against the data set's annotations."""
    from mpralens.evaluate.ism_maps import evaluate, summary_json
    from mpralens.plots.evaluate import plot_figures

    outdir = Folder(args.outdir, "evaluate-ism")
    check_folder(outdir)
    tf_sites: dict[str, str | PathLike[str]] = dict(
        named_values(args.tf_sites, option="--tf-sites", form="CELL=BED")
    )
    table = pd.read_csv(args.scores, sep="\t")
    summary, tables = evaluate(
        table,
        conservation=args.conservation,
        threshold=settings.conservation_threshold,
        tf_sites=tf_sites,
        tss=args.tss,
        reference=_reference(args.reference) if args.reference else None,
        n_bins=settings.bins,
        seed=settings.seed,
        scores_path=args.scores,
    )
    with atomic_outputs(outdir) as (tmp,):
        paths = {name: tmp / file for name, file in EVAL_OUTPUTS.items()}
        paths["summary"].write_text(summary_json(summary))
        write_tsv(tables.get("curves", pd.DataFrame()), paths["curves"])
        plot_figures(summary, tables, {k: str(v) for k, v in paths.items()})
