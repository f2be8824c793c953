"""Handlers of the ``mpralens`` subcommands for sequence models: train, predict, compare."""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mpralens.cli._args import command, named_values
from mpralens.config.settings import CNNRun, KmerRun
from mpralens.io.atomic import Folder, atomic_outputs, check_folder, claimed_folder
from mpralens.io.errors import InputError
from mpralens.io.tables import write_tsv

if TYPE_CHECKING:
    from mpralens.data.training import TrainingData


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tiles", required=True, type=Path, help="results/<ds>/tiles.tsv.gz")
    p.add_argument("--activity", required=True, type=Path, help="results/<ds>/activity.tsv.gz")
    p.add_argument("--splits", required=True, type=Path, help="results/<ds>/splits.tsv")
    p.add_argument("--outdir", required=True, type=Path)


# What train-cnn writes into --outdir while it trains (cnn/train.py: Lightning's checkpoints and
# CSV logger), so that a rerun after a kill resumes in a folder it owns.
CNN_TRAINING_STATE = (
    "checkpoints/best.ckpt",
    "checkpoints/last.ckpt",
    "metrics.csv",
    "hparams.yaml",
)


def _training_state(ensemble: int) -> tuple[str, ...]:
    """Files train-cnn writes into its folder while it trains (each member's, for an ensemble)."""
    if ensemble == 1:
        return CNN_TRAINING_STATE
    return tuple(f"members/{i}/{f}" for i in range(ensemble) for f in CNN_TRAINING_STATE)


def _write_model_outputs(
    outdir: Folder,
    test: TrainingData,
    pred: np.ndarray,
    model_name: str,
    save_model: Callable[[Path], object],
    cost: dict[str, float],
) -> None:
    """Write test predictions, metrics, the model and its cost into ``outdir``, all or nothing.

    ``cost`` (``parameters``, ``seconds_per_epoch``, the torch threads it ran on) goes to
    ``training.json``, which ``compare-models`` reads for the models table.

    ``pred`` is ``(n, n_tasks)``, or ``(k, n, n_tasks)`` for an ensemble's members: then the
    prediction is their mean and each tile's spread is written beside it (``prediction_sd``,
    ``prediction_lo``, ``prediction_hi``: see
    :func:`~mpralens.models.cnn.network.ensemble_summary`).
    """
    from mpralens.data.training import prediction_table
    from mpralens.models.metrics import task_metrics

    if pred.ndim == 3 and pred.shape[0] > 1:
        from mpralens.models.cnn.network import ensemble_summary

        summary = ensemble_summary(pred.astype(np.float64))
        table = prediction_table(test, summary["mean"])
        for part in ("sd", "lo", "hi"):
            table[f"prediction_{part}"] = summary[part].reshape(-1)
    else:
        table = prediction_table(test, pred.reshape(pred.shape[-2], pred.shape[-1]))
    with atomic_outputs(outdir) as (tmp,):
        write_tsv(table, tmp / "predictions.tsv.gz")
        write_tsv(task_metrics(table), tmp / "metrics.tsv")
        save_model(tmp / model_name)
        as_json = {k: (None if v != v else v) for k, v in cost.items()}  # NaN -> null
        (tmp / "training.json").write_text(json.dumps(as_json, indent=1) + "\n")


def _add_train_kmer(p: argparse.ArgumentParser) -> None:
    _add_data(p)


@command(
    "train-kmer",
    "k-mer regression baseline, one regressor per task",
    arguments=_add_train_kmer,
    settings=KmerRun,
    key="models.kmer",
)
def train_kmer_cmd(args: argparse.Namespace, settings: KmerRun) -> None:
    """Fit and evaluate the k-mer baseline."""
    from mpralens.data.training import load_training_data
    from mpralens.models.kmer import fit_kmer

    outdir = Folder(args.outdir, "train-kmer")
    check_folder(outdir)
    data = load_training_data(args.tiles, args.activity, args.splits)
    train, test = data.subset("train"), data.subset("test")
    model = fit_kmer(
        list(train.tiles["sequence"]),
        train.y,
        train.w,
        data.tasks,
        k=settings.k,
        method=settings.method,
        alpha=settings.alpha,
        seed=settings.seed,
    )
    pred = model.predict(list(test.tiles["sequence"]))
    coef, intercept = model.coefficients()
    cost = {"parameters": int(np.size(coef) + np.size(intercept)), "seconds_per_epoch": np.nan}
    _write_model_outputs(outdir, test, pred, "model.npz", model.save, cost)


def _add_train_cnn(p: argparse.ArgumentParser) -> None:
    _add_data(p)
    p.add_argument(
        "--gpus",
        type=int,
        default=0,
        help="train on this many GPUs (data-parallel when > 1); 0: --devices on any accelerator",
    )
    p.add_argument("--dataset", default="", help="data set name recorded in the checkpoint")


@command(
    "train-cnn",
    "multitask CNN (Lightning); resumes from the last checkpoint",
    arguments=_add_train_cnn,
    settings=CNNRun,
    key="models.cnn",
)
def train_cnn_cmd(args: argparse.Namespace, settings: CNNRun) -> None:
    """Train and evaluate the CNN."""
    import torch

    from mpralens.data.training import load_training_data
    from mpralens.models.cnn.train import (
        TrainSettings,
        predict_tiles_members,
        save_ensemble,
        train_ensemble,
    )

    outdir = Folder(args.outdir, "train-cnn", keep=_training_state(settings.ensemble))
    check_folder(outdir)
    if args.gpus < 0:
        raise InputError(f"--gpus must be >= 0, got {args.gpus}", key="resources.gpu")
    train = TrainSettings(
        **settings.model_dump(exclude={"devices"}),
        devices=args.gpus or settings.devices,
        accelerator="gpu" if args.gpus else "auto",
    )
    data = load_training_data(
        args.tiles, args.activity, args.splits, need=("train", "valid", "test")
    )
    with claimed_folder(outdir):
        try:
            trained = train_ensemble(data, train, outdir.path, dataset=args.dataset)
        except TypeError as exc:
            raise InputError(
                f"bad architecture settings: {exc}", key="models.cnn.arch_kwargs"
            ) from exc
    if trained is None:  # a data-parallel worker other than rank 0: rank 0 writes the outputs
        return
    bests, net, spec = trained
    test = data.subset("test")
    pred = predict_tiles_members(net, spec, test)

    cost_keys = ("parameters", "seconds_per_epoch")
    cost = {k: spec[k] for k in cost_keys} | {"threads": torch.get_num_threads()}

    def save(path: Path) -> None:
        if len(bests) == 1:
            shutil.copyfile(bests[0], path)
        else:
            save_ensemble(bests, {k: v for k, v in spec.items() if k not in cost_keys}, path)

    _write_model_outputs(outdir, test, pred, "model.ckpt", save, cost)


def _add_predict(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model", required=True, type=Path, help="model.ckpt (CNN) or model.npz (k-mer)"
    )
    p.add_argument(
        "--sequences", required=True, type=Path, help="FASTA, or TSV with id, sequence [, offset]"
    )
    p.add_argument("--out", required=True, type=Path, help="TSV: id then one column per task")


@command(
    "predict",
    "predict per-task activity of new sequences with a trained model",
    arguments=_add_predict,
)
def predict_cmd(args: argparse.Namespace) -> None:
    """Predict with a trained model."""
    from mpralens.models.predict import predict_file

    table = predict_file(args.model, args.sequences)
    with atomic_outputs(args.out) as (out,):
        write_tsv(table, out)


def _add_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("--predictions", nargs="+", required=True, metavar="NAME=PATH")
    p.add_argument("--truth", type=Path, help="simulator truth/tile_activity.parquet")
    p.add_argument(
        "--activity", type=Path, help="results/<ds>/activity.tsv.gz (replicate-based ceiling)"
    )
    p.add_argument(
        "--info",
        nargs="*",
        default=[],
        metavar="NAME=PATH",
        help="training.json of a model (parameters, seconds per epoch)",
    )
    p.add_argument("--out-tsv", required=True, type=Path)
    p.add_argument("--out-figure", required=True, type=Path)
    p.add_argument("--out-scatter", required=True, type=Path)


@command(
    "compare-models",
    "test-set metrics of every model and the Fig 6 comparison",
    arguments=_add_compare,
)
def compare_cmd(args: argparse.Namespace) -> None:
    """Compare models."""
    from mpralens.models.compare import compare
    from mpralens.plots.models import plot_comparison, plot_scatter

    paths = named_values(args.predictions, option="--predictions", form="NAME=PATH")
    preds = {name: pd.read_csv(path, sep="\t") for name, path in paths.items()}
    truth = pd.read_parquet(args.truth) if args.truth else None
    activity = pd.read_csv(args.activity, sep="\t") if args.activity else None
    info = {
        name: json.loads(Path(path).read_text())
        for name, path in named_values(args.info, option="--info", form="NAME=PATH").items()
    }
    metrics = compare(preds, truth, activity=activity, info=info)
    with atomic_outputs(args.out_tsv, args.out_figure, args.out_scatter) as (tsv, fig, scatter):
        write_tsv(metrics, tsv)
        plot_comparison(metrics, fig)
        plot_scatter(preds, scatter)
