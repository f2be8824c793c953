"""``mpralens`` subcommands that write synthetic data sets with known truth."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mpralens.cli._args import arguments, build_settings, command, json_object
from mpralens.io.errors import InputError


def _add_simulate(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--outdir", required=True, type=Path, help="folder to write: new, empty or a simulation's"
    )
    p.add_argument(
        "--settings-json",
        default="{}",
        help="JSON object of simulator settings (see config/README.md)",
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="one setting")


@command("simulate-tiled", "write a synthetic tiled-MPRA data set in the Ernst-site layout")
@arguments(_add_simulate)
def simulate_tiled_cmd(args: argparse.Namespace) -> None:
    """Simulate a tiled MPRA experiment."""
    from mpralens.simulate.tiled import TiledSimulation, simulate_tiled

    settings = json_object(args.settings_json, what="--settings-json")
    defaults = TiledSimulation()
    for item in args.set:
        key, _, value = item.partition("=")
        if not hasattr(defaults, key):
            raise InputError(f"unknown simulator setting {key!r} in --set {item}")
        settings[key] = type(getattr(defaults, key))(
            json.loads(value) if value[:1] in "[{" else value
        )
    sim = build_settings(TiledSimulation, settings, what="simulator")
    simulate_tiled(sim, args.outdir)


def _add_sim(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outdir", required=True, type=Path)
    p.add_argument(
        "--settings-json", default="{}", help="simulator settings (see config/README.md)"
    )


@command("simulate-sortseq", "write a synthetic lac-like sort-seq data set with its true energies")
@arguments(_add_sim)
def simulate_sortseq_cmd(args: argparse.Namespace) -> None:
    """Simulate sort-seq data."""
    from mpralens.simulate.sortseq import SortSeqSimulation, simulate_sortseq

    key = "biophysics.datasets.<name>.simulate"
    values = json_object(args.settings_json, what="--settings-json", key=key)
    sim = build_settings(SortSeqSimulation, values, what="simulator", key=key)
    simulate_sortseq(sim, args.outdir)
