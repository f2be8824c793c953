"""Handlers of the ``mpralens`` subcommands for biophysical models of sort-seq data."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpralens.atomic import Folder, atomic_outputs, check_folder
from mpralens.cli import arguments, build_settings, command, json_object


def _add_fit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, help="sort-seq CSV (set, ct_0.., x)")
    p.add_argument("--model-spec", required=True, type=Path, help="YAML model spec")
    p.add_argument("--name", default=None, help="model name (default: the spec file's stem)")
    p.add_argument("--settings-json", default="{}", help="fit settings (restarts, lr, ...)")
    p.add_argument("--outdir", required=True, type=Path)


@command("fit-biophysical", "fit a thermodynamic or kinetic model to sort-seq data")
@arguments(_add_fit)
def fit_biophysical_cmd(args: argparse.Namespace) -> None:
    """Fit a biophysical model and write its parameters, matrices, logos and information."""
    from mpralens.biophysics.data import read_sortseq
    from mpralens.biophysics.fit import FitSettings, fit_sortseq, information
    from mpralens.biophysics.outputs import write_fit
    from mpralens.biophysics.spec import load_spec

    outdir = Folder(args.outdir, "fit-biophysical")
    check_folder(outdir)  # before the fit, which takes minutes
    spec = load_spec(args.model_spec, args.name or args.model_spec.stem)
    values = json_object(args.settings_json, what="--settings-json", key="biophysics.fit")
    settings = build_settings(FitSettings, values, what="fit", key="biophysics.fit")
    data = read_sortseq(args.data, length=spec.length, n_bins=spec.bins)
    restarts = fit_sortseq(spec, data, settings)
    info = information(restarts[0], data.subset("test"))
    with atomic_outputs(outdir) as (tmp,):
        write_fit(restarts, info, tmp)


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
