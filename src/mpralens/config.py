"""Checks on the workflow config that JSON schema expresses poorly, and data-set path lookup.

The schema (``workflow/schemas/config.schema.yaml``) checks types, unknown keys and fills defaults;
this module adds the cross-key rules (a file data set needs its files, the Ernst layout needs a
sequences file) and resolves where a data set's inputs live, so the workflow never needs to know
whether a data set was simulated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpralens.errors import InputError
from mpralens.simulate.tiled import simulated_paths

RESOURCES = "resources"
# Data-set keys that each name one input file (``tf_sites`` names one per cell).
FILE_KEYS = ("sequences", "coords", "libraries", "genome", "conservation", "tss", "sharpr_scores")


def check_config(config: dict[str, Any]) -> None:
    """Raise :class:`InputError` naming the key of the first cross-key problem."""
    check_biophysics(config)
    if not config.get("datasets") and not config.get("biophysics", {}).get("fits"):
        raise InputError("nothing to run; add a data set under 'datasets'", key="datasets")
    for name, ds in config["datasets"].items():
        if ds.get("source", "files") == "simulate":
            check_ism(config, name)
            continue
        required = ["coords", "libraries"] + (
            ["sequences"] if ds.get("layout", "ernst") == "ernst" else []
        )
        for key in required:
            if key not in ds:
                raise InputError(
                    f"a data set with source 'files' and layout "
                    f"'{ds.get('layout', 'ernst')}' needs '{key}'",
                    key=f"datasets.{name}.{key}",
                )
        for key in FILE_KEYS:
            if key in ds and not Path(ds[key]).is_file():
                raise InputError(f"file {ds[key]} does not exist", key=f"datasets.{name}.{key}")
        for cell, path in ds.get("tf_sites", {}).items():
            if not Path(path).is_file():
                raise InputError(
                    f"file {path} does not exist", key=f"datasets.{name}.tf_sites.{cell}"
                )
        check_ism(config, name)
        if (
            config.get("normalize", {}).get("method") == "per_barcode"
            and ds.get("barcodes") != "keep"
        ):
            raise InputError(
                "normalize.method per_barcode needs barcodes: keep", key=f"datasets.{name}.barcodes"
            )


def check_ism(config: dict[str, Any], name: str) -> None:
    """Check that the ISM window stride divides the data set's tile length."""
    stride = config.get("ism", {}).get("stride", 29)
    tile_length, _ = dataset_geometry(config, name)
    if tile_length % stride:
        raise InputError(
            f"the stride {stride} does not divide the tile length {tile_length} of data set "
            f"{name!r} (every base must lie in the same number of windows)",
            key="ism.stride",
        )


def check_biophysics(config: dict[str, Any]) -> None:
    """Every fit names a defined sort-seq data set and model; files exist."""
    bio = config.get("biophysics", {})
    datasets, models = bio.get("datasets", {}), bio.get("models", {})
    for name, ds in datasets.items():
        if ds.get("source", "files") == "files":
            if "path" not in ds:
                raise InputError(
                    "a sort-seq data set needs a path", key=f"biophysics.datasets.{name}.path"
                )
            if not Path(ds["path"]).is_file():
                raise InputError(
                    f"file {ds['path']} does not exist", key=f"biophysics.datasets.{name}.path"
                )
    for name, path in models.items():
        if not Path(path).is_file():
            raise InputError(f"model spec {path} does not exist", key=f"biophysics.models.{name}")
    for i, (ds, model) in enumerate(bio.get("fits", [])):
        if ds not in datasets:
            raise InputError(f"undefined sort-seq data set {ds!r}", key=f"biophysics.fits[{i}]")
        if model not in models:
            raise InputError(f"undefined model {model!r}", key=f"biophysics.fits[{i}]")


def dataset_paths(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Input paths of data set ``name`` (config paths, or where the simulator writes them)."""
    ds = config["datasets"][name]
    if ds.get("source", "files") == "simulate":
        return simulated_paths(f"{RESOURCES}/{name}")
    return {k: ds[k] for k in (*FILE_KEYS, "tf_sites") if k in ds}


def dataset_geometry(config: dict[str, Any], name: str) -> tuple[int, int]:
    """``(tile_length, tile_step)`` of a data set in bp."""
    ds = config["datasets"][name]
    if ds.get("source", "files") == "simulate":
        sim = ds.get("simulate", {})
        return int(sim.get("tile_length", 145)), int(sim.get("tile_step", 5))
    return int(ds.get("tile_length", 145)), int(ds.get("tile_step", 5))
