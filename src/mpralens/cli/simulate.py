"""``mpralens`` subcommands that write synthetic data sets with known truth."""

from __future__ import annotations

import argparse

from mpralens.cli._args import add_simulation_outdir, command
from mpralens.config.settings import SortSeqSimulation, TiledSimulation


@command(
    "simulate-tiled",
    "write a synthetic tiled-MPRA data set in the Ernst-site layout",
    arguments=add_simulation_outdir,
    settings=TiledSimulation,
    key="datasets.<name>.simulate",
    replaced={"--set": "--<setting> VALUE (e.g. --n-regions 100)"},
)
def simulate_tiled_cmd(args: argparse.Namespace, settings: TiledSimulation) -> None:
    """Simulate a tiled MPRA experiment."""
    from mpralens.simulate.tiled import simulate_tiled

    simulate_tiled(settings, args.outdir)


@command(
    "simulate-sortseq",
    "write a synthetic lac-like sort-seq data set with its true energies",
    arguments=add_simulation_outdir,
    settings=SortSeqSimulation,
    key="biophysics.datasets.<name>.simulate",
)
def simulate_sortseq_cmd(args: argparse.Namespace, settings: SortSeqSimulation) -> None:
    """Simulate sort-seq data."""
    from mpralens.simulate.sortseq import simulate_sortseq

    simulate_sortseq(settings, args.outdir)
