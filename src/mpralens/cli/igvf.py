"""``mpralens`` subcommands for IGVF / MPRAsnakeflow data: activity, simulation, QC, alleles."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpralens.cli._args import command
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


def _add_outdir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--outdir", required=True, type=Path, help="folder to write: new, empty or a simulation's"
    )


@command(
    "simulate-igvf",
    "write a synthetic IGVF library (elements with controls, or allelic pairs) with its truth",
    arguments=_add_outdir,
    settings=IGVFSimulation,
    key="datasets.<name>.simulate",
)
def simulate_igvf_cmd(args: argparse.Namespace, settings: IGVFSimulation) -> None:
    """Simulate an IGVF library."""
    from mpralens.simulate.igvf import simulate_igvf

    simulate_igvf(settings, args.outdir)
