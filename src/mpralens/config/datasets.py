"""Checks on the workflow config that JSON schema expresses poorly, and data-set path lookup.

The schema (``workflow/schemas/config.schema.yaml``) checks types, unknown keys and fills defaults;
this module adds the cross-key rules (a file data set needs its files, the Ernst layout needs a
sequences file) and resolves where a data set's inputs live, so the workflow never needs to know
whether a data set was simulated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mpralens.io.errors import InputError
from mpralens.simulate.tiled import simulated_paths

RESOURCES = "resources"
# Data-set keys that each name one input file (``tf_sites`` names one per cell).
FILE_KEYS = ("sequences", "coords", "libraries", "genome", "conservation", "tss", "sharpr_scores")


def check_config(config: dict[str, Any]) -> None:
    """Raise :class:`InputError` naming the key of the first cross-key problem."""
    check_biophysics(config)
    check_validation_split(config)
    if not config.get("datasets") and not config.get("biophysics", {}).get("fits"):
        raise InputError("nothing to run; add a data set under 'datasets'", key="datasets")
    for name, ds in config["datasets"].items():
        if ds.get("source", "files") == "simulate":
            check_design(config, name)
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
        for key, entry in file_entries(ds).items():
            if isinstance(entry, dict):
                check_download(entry, key=f"datasets.{name}.{key}")
            elif key == "coords" and entry == "from_ids":
                continue
            elif not Path(entry).is_file():
                raise InputError(f"file {entry} does not exist", key=f"datasets.{name}.{key}")
        check_design(config, name)
        if isinstance(ds.get("genome"), str):
            check_genome(ds["genome"], key=f"datasets.{name}.genome")
        check_ism(config, name)
        if (
            config.get("normalize", {}).get("method") == "per_barcode"
            and ds.get("barcodes") != "keep"
        ):
            raise InputError(
                "normalize.method per_barcode needs barcodes: keep", key=f"datasets.{name}.barcodes"
            )


def check_validation_split(config: dict[str, Any]) -> None:
    """Refuse an empty validation split: the CNN (trained on every tiled data set) stops on it."""
    split = config.get("split", {})
    if not config.get("datasets"):
        return
    if split.get("by", "region") == "region" and split.get("valid_fraction", 0.1) <= 0:
        raise InputError(
            "the validation split would be empty; the CNN's early stopping needs it: give a "
            "fraction above 0",
            key="split.valid_fraction",
        )
    if split.get("by", "region") == "chromosome" and not split.get("valid_chromosomes", ["chr8"]):
        raise InputError(
            "the validation split would be empty; the CNN's early stopping needs it: list at "
            "least one chromosome",
            key="split.valid_chromosomes",
        )


def check_design(config: dict[str, Any], name: str) -> None:
    """Check that the tile-ID scheme fits the coordinates and every ``tf_sites`` key is a cell."""
    ds = config["datasets"][name]
    simulated = ds.get("source", "files") == "simulate"
    if ds.get("tile_ids", "sharpr") == "coords":
        if simulated:
            raise InputError(
                "tile_ids: coords needs a coords file with one row per tile; simulated data sets "
                "use Sharpr IDs (the default tile_ids: sharpr)",
                key=f"datasets.{name}.tile_ids",
            )
        if ds.get("coords") == "from_ids":
            raise InputError(
                "coords: from_ids derives regions from Sharpr scale-up IDs; with tile_ids: coords "
                "give a coords file with one row per tile",
                key=f"datasets.{name}.coords",
            )
    if not ds.get("tf_sites"):
        return
    if simulated:
        from mpralens.simulate.tiled import TiledSimulation

        cells = list(ds.get("simulate", {}).get("cells", TiledSimulation().cells))
        source = "the simulator's cells setting"
    else:
        from mpralens.data.libraries import read_library_sheet

        sheet = read_library_sheet(ds["libraries"], check_files=False)
        cells = sorted(set(sheet.loc[sheet["molecule"] == "RNA", "cell"]))
        source = f"the cell column of {ds['libraries']}"
    for cell in ds["tf_sites"]:
        if cell not in cells:
            raise InputError(
                f"cell {cell!r} names no task's cell; the data set's cells are "
                f"{', '.join(cells)} ({source})",
                key=f"datasets.{name}.tf_sites.{cell}",
            )


def check_genome(path: str, *, key: str) -> None:
    """Check a local genome FASTA now, before anything trains (ISM needs it only at the end).

    Cheap once indexed; the first time, one pass over the FASTA checks it and writes its index
    (:func:`mpralens.io.sequences.index_fasta`). A downloaded genome is checked where it is used.
    """
    from mpralens.io.sequences import index_fasta

    try:
        index_fasta(path)
    except InputError as exc:
        raise InputError(exc.message, path=exc.path, line=exc.line, key=key) from exc


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


def file_entries(ds: dict[str, Any]) -> dict[str, Any]:
    """Return a data set's file entries by dotted key (``genome``, ``tf_sites.K562``...).

    Each is a path or a download ``{url, sha256, gunzip}``.
    """
    entries = {k: ds[k] for k in FILE_KEYS if k in ds}
    entries.update({f"tf_sites.{c}": p for c, p in ds.get("tf_sites", {}).items()})
    return entries


def check_download(entry: dict[str, Any], *, key: str) -> None:
    """Check that a download entry has a URL urllib can open (the schema checks the rest)."""
    url = str(entry.get("url", ""))
    if "://" not in url or url.split("://", 1)[0] not in ("http", "https", "ftp", "file"):
        raise InputError(f"url must be an http(s)://, ftp:// or file:// URL, got {url!r}", key=key)


def url_digest(entry: dict[str, Any]) -> str:
    """Short digest of a download entry's URL and unpacking (names its folder)."""
    import hashlib

    text = f"{entry['url']}|gunzip={bool(entry.get('gunzip'))}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def download_path(entry: dict[str, Any]) -> str:
    """Return where a download entry's file goes: ``resources/downloads/<digest>/<name>``.

    Data sets that name the same URL (two designs on one genome) share one download.
    """
    base = entry["url"].rstrip("/").rsplit("/", 1)[-1] or "download"
    if entry.get("gunzip") and base.endswith(".gz"):
        base = base[:-3]
    return f"{RESOURCES}/downloads/{url_digest(entry)}/{base}"


def dataset_paths(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Return the input paths of data set ``name``.

    Config paths, where downloads go, or where the simulator writes them.
    """
    ds = config["datasets"][name]
    if ds.get("source", "files") == "simulate":
        return simulated_paths(f"{RESOURCES}/{name}")
    resolved = {
        key: download_path(e) if isinstance(e, dict) else e for key, e in file_entries(ds).items()
    }
    out = {k: v for k, v in resolved.items() if not k.startswith("tf_sites.")}
    cells = {k.split(".", 1)[1]: v for k, v in resolved.items() if k.startswith("tf_sites.")}
    if cells:
        out["tf_sites"] = cells
    return out


def download_entry(config: dict[str, Any], digest: str) -> tuple[dict[str, Any], str]:
    """Return the download entry whose folder is ``digest`` and the config key that names it."""
    for name, ds in config["datasets"].items():
        for key, entry in file_entries(ds).items():
            if isinstance(entry, dict) and url_digest(entry) == digest:
                return entry, f"datasets.{name}.{key}"
    raise InputError(f"no configured download has the folder {digest}", key="datasets")


def dataset_geometry(config: dict[str, Any], name: str) -> tuple[int, int]:
    """``(tile_length, tile_step)`` of a data set in bp."""
    ds = config["datasets"][name]
    if ds.get("source", "files") == "simulate":
        sim = ds.get("simulate", {})
        return int(sim.get("tile_length", 145)), int(sim.get("tile_step", 5))
    return int(ds.get("tile_length", 145)), int(ds.get("tile_step", 5))
