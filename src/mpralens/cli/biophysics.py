"""Handlers of the ``mpralens`` subcommands for biophysical models of sort-seq data."""

from __future__ import annotations

import argparse
from pathlib import Path

from mpralens.cli._args import command
from mpralens.config.settings import FitSettings
from mpralens.io.atomic import Folder, atomic_outputs, check_folder


def _add_fit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, type=Path, help="sort-seq CSV (set, ct_0.., x)")
    p.add_argument("--model-spec", required=True, type=Path, help="YAML model spec")
    p.add_argument("--name", default=None, help="model name (default: the spec file's stem)")
    p.add_argument("--outdir", required=True, type=Path)


@command(
    "fit-biophysical",
    "fit a thermodynamic or kinetic model to sort-seq data",
    arguments=_add_fit,
    settings=FitSettings,
    key="biophysics.fit",
)
def fit_biophysical_cmd(args: argparse.Namespace, settings: FitSettings) -> None:
    """Fit a biophysical model and write its parameters, matrices, logos and information."""
    from mpralens.biophysics.data import read_sortseq
    from mpralens.biophysics.spec import load_spec

    outdir = Folder(args.outdir, "fit-biophysical")
    check_folder(outdir)  # before the fit, which takes minutes
    spec = load_spec(args.model_spec, args.name or args.model_spec.stem)
    data = read_sortseq(args.data, length=spec.length, n_bins=spec.bins)
    # Imported once the inputs are known good: the fit imports torch (and, for adam fits,
    # Lightning), seconds per process.
    from mpralens.biophysics.fit import fit_sortseq, information
    from mpralens.biophysics.outputs import write_fit
    from mpralens.plots.biophysics import plot_fit

    restarts = fit_sortseq(spec, data, settings)
    info = information(restarts[0], data.subset("test"))
    with atomic_outputs(outdir) as (tmp,):
        write_fit(restarts, info, tmp)
        plot_fit(restarts, tmp)
