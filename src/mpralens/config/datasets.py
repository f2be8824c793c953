"""Where a data set's inputs live and its geometry, from the validated config.

The workflow never needs to know whether a data set was simulated or downloaded: it asks
:func:`dataset_paths`. Functions here take the config as validated by
:func:`mpralens.config.settings.validate_config` and dumped to a dict (every key present, optional
files absent when unset).
"""

from __future__ import annotations

from typing import Any

from mpralens.config.settings import TiledSimulation
from mpralens.io.errors import InputError

RESOURCES = "resources"
# File names of a simulated design (the Ernst-site layout of a design called SimDesign).
DESIGN = "SimDesign"
# Data-set keys that each name one input file (``tf_sites`` names one per cell).
FILE_KEYS = ("sequences", "coords", "libraries", "genome", "conservation", "tss", "sharpr_scores")
# Keys of an IGVF data set that name one file (each experiment's counts: experiments.<name>.counts).
IGVF_FILE_KEYS = ("design", "mapping")
# The experiment a simulated IGVF data set has.
SIMULATED_EXPERIMENT = "sim"


def is_igvf(ds: dict[str, Any]) -> bool:
    """Whether a data set (validated, dumped) is an IGVF one (``format: igvf``)."""
    return ds.get("format") == "igvf"


def igvf_paths(config: dict[str, Any], name: str) -> dict[str, Any]:
    """Return an IGVF data set's ``design``, ``mapping`` (if any) and ``experiments`` paths.

    Config paths, where downloads go, or where ``simulate-igvf`` writes them (plus ``truth``).
    """
    ds = config["datasets"][name]
    if ds["source"] == "simulate":
        base = f"{RESOURCES}/{name}"
        return {
            "design": f"{base}/design.tsv",
            "mapping": f"{base}/mapping.tsv.gz",
            "experiments": {SIMULATED_EXPERIMENT: f"{base}/{SIMULATED_EXPERIMENT}.barcodes.tsv.gz"},
            "truth": f"{base}/truth/elements.tsv",
        }
    resolved = {
        key: download_path(e) if isinstance(e, dict) else e for key, e in file_entries(ds).items()
    }
    out: dict[str, Any] = {k: resolved[k] for k in IGVF_FILE_KEYS if k in resolved}
    out["experiments"] = {e: resolved[f"experiments.{e}.counts"] for e in sorted(ds["experiments"])}
    return out


def file_entries(ds: dict[str, Any]) -> dict[str, Any]:
    """Return a data set's file entries by dotted key (``genome``, ``tf_sites.K562``...).

    Each is a path or a download ``{url, sha256, gunzip}``.
    """
    entries = {k: ds[k] for k in FILE_KEYS + IGVF_FILE_KEYS if k in ds}
    entries.update({f"tf_sites.{c}": p for c, p in ds.get("tf_sites", {}).items()})
    entries.update(
        {f"experiments.{e}.counts": x["counts"] for e, x in ds.get("experiments", {}).items()}
    )
    return entries


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
    if ds["source"] == "simulate":
        return simulated_paths(f"{RESOURCES}/{name}", ds["simulate"]["cells"])
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
    geometry = ds["simulate"] if ds["source"] == "simulate" else ds
    return int(geometry["tile_length"]), int(geometry["tile_step"])


def simulated_paths(outdir: str, cells: list[str] | None = None) -> dict[str, object]:
    """Paths :func:`simulate_tiled` writes, keyed like a data set's config entries.

    Returns
    -------
    dict
        ``sequences, coords, libraries, genome, conservation, tss, truth_sites,
        truth_tile_activity, truth_base_effect, truth_base_sites, truth_syntax, truth_factors,
        truth_position``
        as strings and ``tf_sites`` as ``{cell: path}``.
    """
    cells = TiledSimulation().cells if cells is None else cells
    return {
        "sequences": f"{outdir}/{DESIGN}.sequences.txt",
        "coords": f"{outdir}/coords_{DESIGN}_hg19.txt",
        "libraries": f"{outdir}/libraries.tsv",
        "genome": f"{outdir}/genome.fa",
        "conservation": f"{outdir}/conservation.bw",
        "tss": f"{outdir}/tss.bed",
        "tf_sites": {c: f"{outdir}/tf_sites/{c}.bed" for c in cells},
        "truth_sites": f"{outdir}/truth/sites.tsv",
        "truth_tile_activity": f"{outdir}/truth/tile_activity.parquet",
        "truth_base_effect": f"{outdir}/truth/base_effect.parquet",
        "truth_base_sites": f"{outdir}/truth/base_sites.parquet",
        "truth_syntax": f"{outdir}/truth/syntax.json",
        "truth_factors": f"{outdir}/truth/factors.tsv",
        "truth_position": f"{outdir}/truth/position.json",
    }
