"""``mpralens`` subcommands for IGVF / MPRAsnakeflow data: activity, simulation, QC, alleles."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpralens.cli._args import add_simulation_outdir, command
from mpralens.config.settings import IGVFSettings, IGVFSimulation
from mpralens.io.atomic import Folder, atomic_outputs, check_folder


def _add_activity(p: argparse.ArgumentParser) -> None:
    p.add_argument("counts", type=Path, metavar="FILE", help="counts of one experiment")
    p.add_argument(
        "--format",
        required=True,
        choices=["reporter_experiment_barcode", "reporter_experiment"],
        help="IGVF format of FILE",
    )
    p.add_argument("--out", required=True, type=Path, help="folder to write: new, empty or its own")
    p.add_argument(
        "--design",
        type=Path,
        help="reporter_sequence_design TSV: adds the control test (reporter_element) and, for "
        "allelic designs, the variant test (reporter_variant)",
    )
    p.add_argument(
        "--mapping", type=Path, help="reporter_barcode_to_element_mapping to check against"
    )


@command(
    "activity",
    "element activity (log2 RNA/DNA per replicate, pooled with a CI) from IGVF counts; with a "
    "design, the mpralm-style control and variant tests in the IGVF result formats",
    arguments=_add_activity,
    settings=IGVFSettings,
    key="igvf",
)
def activity_cmd(args: argparse.Namespace, settings: IGVFSettings) -> None:
    """Write DIR/activity.tsv.gz and the IGVF result tables."""
    from mpralens.data.igvf import analyse_experiment, write_experiment

    folder = Folder(args.out, "activity")
    check_folder(folder)
    exp = analyse_experiment(
        args.counts,
        fmt=args.format,
        settings=settings,
        design_path=args.design,
        mapping=args.mapping,
    )
    with atomic_outputs(folder) as (tmp,):
        write_experiment(exp, tmp)


@command(
    "simulate-igvf",
    "write a synthetic IGVF library (elements with controls, or allelic pairs) with its truth",
    arguments=add_simulation_outdir,
    settings=IGVFSimulation,
    key="datasets.<name>.simulate",
)
def simulate_igvf_cmd(args: argparse.Namespace, settings: IGVFSimulation) -> None:
    """Simulate an IGVF library."""
    from mpralens.simulate.igvf import simulate_igvf

    simulate_igvf(settings, args.outdir)


def _add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("--design", required=True, type=Path, help="reporter_sequence_design TSV")
    p.add_argument(
        "--counts",
        required=True,
        nargs="+",
        metavar="EXPERIMENT=FILE",
        help="reporter_experiment_barcode file of each experiment (one model task each)",
    )
    p.add_argument("--mapping", type=Path, help="reporter_barcode_to_element_mapping TSV")
    p.add_argument("--out-tiles", required=True, type=Path, help="tiles.tsv.gz (model sequences)")
    p.add_argument("--out-activity", required=True, type=Path, help="activity.tsv.gz (long form)")
    p.add_argument("--outdir", required=True, type=Path, help="folder: IGVF tables per experiment")


@command(
    "import-igvf",
    "an IGVF data set (design + barcode counts per experiment) to the models' tiles and "
    "activity tables, with the element and variant tests of each experiment",
    arguments=_add_import,
    settings=IGVFSettings,
    key="igvf",
)
def import_igvf_cmd(args: argparse.Namespace, settings: IGVFSettings) -> None:
    """Import an IGVF data set."""
    from mpralens.cli._args import named_values
    from mpralens.data.igvf import analyse_experiment, model_tables, write_experiment
    from mpralens.io.igvf import read_design
    from mpralens.io.tables import write_tsv

    folder = Folder(args.outdir, "import-igvf")
    check_folder(folder)
    files = named_values(args.counts, option="--counts", form="EXPERIMENT=FILE")
    design = read_design(args.design)
    experiments = {
        name: analyse_experiment(
            path,
            fmt="reporter_experiment_barcode",
            settings=settings,
            design=design,
            design_path=args.design,
            mapping=args.mapping,
        )
        for name, path in files.items()
    }
    tiles, activity = model_tables(
        design, experiments, lengths=settings.lengths, design_path=args.design
    )
    with atomic_outputs(args.out_tiles, args.out_activity, folder) as (t, a, d):
        write_tsv(tiles, t)
        write_tsv(activity, a)
        for name, exp in experiments.items():
            (d / name).mkdir()
            write_experiment(exp, d / name)


def _add_score(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--models",
        required=True,
        nargs="+",
        metavar="NAME=MODEL",
        help="trained models (.npz, .ckpt)",
    )
    p.add_argument("--tiles", required=True, type=Path, help="results/<ds>/tiles.tsv.gz")
    p.add_argument("--splits", type=Path, help="results/<ds>/splits.tsv (adds the test subset)")
    p.add_argument(
        "--variants",
        required=True,
        nargs="+",
        metavar="TASK=FILE",
        help="variant_tests.tsv.gz of each experiment (import-igvf or activity --design)",
    )
    p.add_argument("--outdir", required=True, type=Path, help="folder: scores, summary, figure")


@command(
    "score-alleles",
    "score each variant with the trained models (alt - ref) against its measured allelic effect",
    arguments=_add_score,
)
def score_alleles_cmd(args: argparse.Namespace) -> None:
    """Predicted vs measured allelic effects."""
    import json

    import pandas as pd

    from mpralens.cli._args import named_values
    from mpralens.evaluate.alleles import allele_report
    from mpralens.io.tables import write_tsv
    from mpralens.plots.igvf import plot_alleles

    folder = Folder(args.outdir, "score-alleles")
    check_folder(folder)
    models = named_values(args.models, option="--models", form="NAME=MODEL")
    files = named_values(args.variants, option="--variants", form="TASK=FILE")
    tiles = pd.read_csv(args.tiles, sep="\t")
    splits = pd.read_csv(args.splits, sep="\t") if args.splits else None
    measured = {t: pd.read_csv(f, sep="\t") for t, f in files.items()}
    scores, summary = allele_report(models, tiles, measured, splits)  # type: ignore[arg-type]
    with atomic_outputs(folder) as (tmp,):
        write_tsv(scores, tmp / "scores.tsv.gz")
        write_tsv(summary, tmp / "summary.tsv")
        (tmp / "summary.json").write_text(
            json.dumps(summary.to_dict(orient="records"), indent=1) + "\n"
        )
        plot_alleles(scores, summary, tmp / "alleles.png")


def _add_qc(p: argparse.ArgumentParser) -> None:
    p.add_argument("counts", type=Path, metavar="FILE", help="reporter_experiment_barcode TSV")
    p.add_argument("--design", type=Path, help="reporter_sequence_design TSV (control classes)")
    p.add_argument("--out", required=True, type=Path, help="folder: qc.png and qc.json")


@command(
    "igvf-qc",
    "QC page of one IGVF experiment: barcodes per element, replicate correlation, controls",
    arguments=_add_qc,
    settings=IGVFSettings,
    key="igvf",
)
def igvf_qc_cmd(args: argparse.Namespace, settings: IGVFSettings) -> None:
    """Write the QC page."""
    import json

    from mpralens.data.igvf import analyse_experiment
    from mpralens.io.igvf import read_design
    from mpralens.plots.igvf import plot_qc

    folder = Folder(args.out, "igvf-qc")
    check_folder(folder)
    design = read_design(args.design) if args.design else None
    exp = analyse_experiment(
        args.counts, fmt="reporter_experiment_barcode", settings=settings, design=design
    )
    classes = design.set_index("name")["class"] if design is not None else None
    with atomic_outputs(folder) as (tmp,):
        figures = plot_qc(
            exp.per_replicate,
            exp.barcodes_per_oligo,
            classes,
            tmp / "qc.png",
            title=args.counts.name,
        )
        (tmp / "qc.json").write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
