"""What the Snakefile asks of the package: config checks, rule inputs and command arguments.

The rules stay thin (``workflow/rules/common.smk`` only wraps these functions per wildcard): every
decision that can be wrong (which inputs a data set has, which arguments a command gets, what the
workflow delivers) lives here, where it is tested. Functions take the validated config dumped to a
dict (:func:`mpralens.config.settings.validate_config`), ``config`` below.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from mpralens.config.datasets import (
    dataset_geometry,
    dataset_paths,
    download_entry,
    file_entries,
    igvf_paths,
    is_igvf,
)
from mpralens.config.settings import Config, validate_config
from mpralens.interpret.names import DEEPSHAP_ARCHS, KMER_METHODS, METHODS
from mpralens.io.errors import InputError

# Values of the {method} wildcard of the attribution rules.
ATTRIBUTION_METHODS = METHODS
ISM_MODEL_FILES = {"cnn": "model.ckpt", "kmer": "model.npz"}
# What every sequence model trains on, under results/<data set>/.
MODEL_INPUTS = {"tiles": "tiles.tsv.gz", "activity": "activity.tsv.gz", "splits": "splits.tsv"}


def load_config(config: dict[str, Any]) -> tuple[Config, dict[str, Any]]:
    """Validate ``config`` and check what the types cannot say; return the model and its dict.

    The dict holds every key with its default filled in; optional files that are not set are
    absent (so ``"genome" in ds`` means the data set has one).
    """
    settings = validate_config(config)
    plain = settings.model_dump(mode="json")
    for ds in plain["datasets"].values():
        for key in [k for k, v in ds.items() if v is None]:
            del ds[key]
    check_config(plain)
    return settings, plain


def settings_json(section: Any) -> str:
    """Write a settings section (a model or a dict) as compact JSON, for ``--settings``."""
    if hasattr(section, "model_dump"):
        section = section.model_dump(mode="json")
    return json.dumps(section, sort_keys=True, separators=(",", ":"))


def check_config(config: dict[str, Any]) -> None:
    """Raise :class:`InputError` naming the key of the first cross-key problem."""
    check_biophysics(config)
    check_validation_split(config)
    check_interpret(config)
    check_motifs(config)
    check_gia(config)
    if not config["datasets"] and not config["biophysics"]["fits"]:
        raise InputError("nothing to run; add a data set under 'datasets'", key="datasets")
    for name, ds in config["datasets"].items():
        if is_igvf(ds):
            check_igvf(config, name)
            continue
        if ds["source"] == "simulate":
            check_design(config, name)
            check_ism(config, name)
            continue
        required = ["coords", "libraries"] + (["sequences"] if ds["layout"] == "ernst" else [])
        for key in required:
            if key not in ds:
                raise InputError(
                    f"a data set with source 'files' and layout '{ds['layout']}' needs '{key}'",
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
        if config["normalize"]["method"] == "per_barcode" and ds["barcodes"] != "keep":
            raise InputError(
                "normalize.method per_barcode needs barcodes: keep", key=f"datasets.{name}.barcodes"
            )


def check_igvf(config: dict[str, Any], name: str) -> None:
    """Check an IGVF data set's local files exist and its downloads have usable URLs."""
    ds = config["datasets"][name]
    if ds["source"] == "simulate":
        return
    for key, entry in file_entries(ds).items():
        if isinstance(entry, dict):
            check_download(entry, key=f"datasets.{name}.{key}")
        elif not Path(entry).is_file():
            raise InputError(f"file {entry} does not exist", key=f"datasets.{name}.{key}")


def check_validation_split(config: dict[str, Any]) -> None:
    """Refuse an empty validation split: the CNN (trained on every tiled data set) stops on it."""
    split = config["split"]
    if not config["datasets"]:
        return
    if split["by"] == "region" and split["valid_fraction"] <= 0:
        raise InputError(
            "the validation split would be empty; the CNN's early stopping needs it: give a "
            "fraction above 0",
            key="split.valid_fraction",
        )
    if split["by"] == "chromosome" and not split["valid_chromosomes"]:
        raise InputError(
            "the validation split would be empty; the CNN's early stopping needs it: list at "
            "least one chromosome",
            key="split.valid_chromosomes",
        )


def check_design(config: dict[str, Any], name: str) -> None:
    """Check that the tile-ID scheme fits the coordinates and every ``tf_sites`` key is a cell."""
    ds = config["datasets"][name]
    simulated = ds["source"] == "simulate"
    if ds["tile_ids"] == "coords":
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
    if not ds["tf_sites"]:
        return
    if simulated:
        cells = list(ds["simulate"]["cells"])
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
    stride = config["ism"]["stride"]
    tile_length, _ = dataset_geometry(config, name)
    if tile_length % stride:
        raise InputError(
            f"the stride {stride} does not divide the tile length {tile_length} of data set "
            f"{name!r} (every base must lie in the same number of windows)",
            key="ism.stride",
        )


def check_biophysics(config: dict[str, Any]) -> None:
    """Every fit names a defined sort-seq data set and model; files exist."""
    bio = config["biophysics"]
    datasets, models = bio["datasets"], bio["models"]
    for name, ds in datasets.items():
        if ds["source"] == "files":
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
    for i, (ds, model) in enumerate(bio["fits"]):
        if ds not in datasets:
            raise InputError(f"undefined sort-seq data set {ds!r}", key=f"biophysics.fits[{i}]")
        if model not in models:
            raise InputError(f"undefined model {model!r}", key=f"biophysics.fits[{i}]")


def check_download(entry: dict[str, Any], *, key: str) -> None:
    """Check that a download entry has a URL urllib can open (the schema checks the rest)."""
    url = str(entry.get("url", ""))
    if "://" not in url or url.split("://", 1)[0] not in ("http", "https", "ftp", "file"):
        raise InputError(f"url must be an http(s)://, ftp:// or file:// URL, got {url!r}", key=key)


# ----------------------------------------------------------------------------- data sets


def datasets(config: dict[str, Any], *, barcodes: str | None = None) -> list[str]:
    """Names of the tiled data sets (only those with ``barcodes`` sum/keep when given)."""
    return sorted(
        name
        for name, ds in config["datasets"].items()
        if not is_igvf(ds) and (barcodes is None or ds["barcodes"] == barcodes)
    )


def igvf_datasets(config: dict[str, Any], *, simulated_only: bool = False) -> list[str]:
    """Names of the IGVF data sets (``format: igvf``; only the simulated ones when asked)."""
    return sorted(
        name
        for name, ds in config["datasets"].items()
        if is_igvf(ds) and (not simulated_only or ds["source"] == "simulate")
    )


def igvf_import_inputs(config: dict[str, Any], ds: str) -> dict[str, Any]:
    """Design, mapping and every experiment's counts of IGVF data set ``ds``."""
    paths = igvf_paths(config, ds)
    inputs: dict[str, Any] = {
        "design": paths["design"],
        "counts": list(paths["experiments"].values()),
    }
    if "mapping" in paths:
        inputs["mapping"] = paths["mapping"]
    return inputs


def igvf_import_args(config: dict[str, Any], ds: str) -> str:
    """Return ``--counts EXPERIMENT=FILE ...`` (and ``--mapping``) of ``mpralens import-igvf``."""
    paths = igvf_paths(config, ds)
    pairs = [shlex.quote(f"{e}={p}") for e, p in paths["experiments"].items()]
    args = ["--counts " + " ".join(pairs)]
    if "mapping" in paths:
        args.append(f"--mapping {shlex.quote(paths['mapping'])}")
    return " ".join(args)


def igvf_experiments(config: dict[str, Any], ds: str) -> list[str]:
    """Experiment (task) names of IGVF data set ``ds``."""
    return list(igvf_paths(config, ds)["experiments"])


def score_alleles_args(config: dict[str, Any], ds: str) -> str:
    """``--models`` and ``--variants`` of ``mpralens score-alleles`` for IGVF data set ``ds``."""
    models = [f"{m}=results/{ds}/models/{m}/{ISM_MODEL_FILES[m]}" for m in ("kmer", "cnn")]
    variants = [
        f"{e}=results/{ds}/igvf/{e}/variant_tests.tsv.gz" for e in igvf_experiments(config, ds)
    ]
    return "--models {} --variants {}".format(
        " ".join(shlex.quote(m) for m in models), " ".join(shlex.quote(v) for v in variants)
    )


def simulated(config: dict[str, Any], ds: str) -> bool:
    """Whether data set ``ds`` is written by the simulator."""
    return bool(config["datasets"][ds]["source"] == "simulate")


def counts_downloads(ds: str) -> str:
    """Where count files given as URLs in a data set's library sheet are downloaded."""
    return f"resources/{ds}/downloads/counts"


def import_inputs(config: dict[str, Any], ds: str) -> dict[str, Any]:
    """Design files, the library sheet and, for file data sets, every count file it lists."""
    from mpralens.data.libraries import read_library_sheet

    paths = dataset_paths(config, ds)
    inputs: dict[str, Any] = {"libraries": paths["libraries"]}
    if paths["coords"] != "from_ids":  # else derived from scale-up tile IDs
        inputs["coords"] = paths["coords"]
    if simulated(config, ds) or config["datasets"][ds]["layout"] == "ernst":
        inputs["sequences"] = paths["sequences"]
    if not simulated(config, ds):
        sheet = read_library_sheet(
            paths["libraries"], downloads=counts_downloads(ds), check_files=False
        )
        inputs["counts"] = list(sheet["path"])
    return inputs


def import_args(config: dict[str, Any], ds: str, input: Any, output: Any) -> str:
    """Arguments of ``mpralens import-counts`` for data set ``ds``."""
    tile_length, tile_step = dataset_geometry(config, ds)
    entry = config["datasets"][ds]
    layout = "ernst" if simulated(config, ds) else entry["layout"]
    args = [
        f"--layout {layout}",
        f"--tile-length {tile_length}",
        f"--tile-step {tile_step}",
        f"--tile-ids {entry['tile_ids']}",
        "--coords " + (shlex.quote(input.coords) if "coords" in input.keys() else "from_ids"),
    ]
    if "sequences" in input.keys():
        args.append(f"--sequences {shlex.quote(input.sequences)}")
    if "counts" in input.keys() and any(
        str(p).startswith(counts_downloads(ds)) for p in input.counts
    ):
        args.append(f"--downloads {shlex.quote(counts_downloads(ds))}")
    if "barcodes" in output.keys():
        args.append(f"--out-barcodes {shlex.quote(output.barcodes)}")
    return " ".join(args)


def fetch_args(entry: dict[str, Any], key: str) -> str:
    """Arguments of ``mpralens fetch`` for a download ``{url, sha256, gunzip}`` named ``key``."""
    args = [f"--url {shlex.quote(entry['url'])}", f"--key {shlex.quote(key)}"]
    if entry.get("sha256"):
        args.append(f"--sha256 {shlex.quote(entry['sha256'])}")
    if entry.get("gunzip"):
        args.append("--gunzip")
    return " ".join(args)


def download_args(config: dict[str, Any], digest: str) -> str:
    """Arguments of ``mpralens fetch`` for the data-set file downloaded into ``digest``."""
    entry, key = download_entry(config, digest)
    return fetch_args(entry, key)


def count_download_args(config: dict[str, Any], ds: str, file: str) -> str:
    """Arguments of ``mpralens fetch`` for a count file the library sheet gives as a URL."""
    from mpralens.data.libraries import read_library_sheet

    sheet = read_library_sheet(
        dataset_paths(config, ds)["libraries"], downloads=".", check_files=False
    )
    row = sheet[sheet["path"].map(lambda p: Path(p).name) == file].iloc[0]
    entry = {"url": row["url"], "sha256": row["sha256"] or None}
    return fetch_args(entry, f"datasets.{ds}.libraries ({row['library']})")


# ----------------------------------------------------------------------------- models, ISM


def compare_inputs(config: dict[str, Any], ds: str) -> dict[str, str]:
    """Test predictions, training.json and replicates (activity) of every model, and the truth.

    The activity table's replicates give the noise ceiling; the simulator's truth, when there is
    one, the true activity and the truth-based ceiling.
    """
    inputs = {m: f"results/{ds}/models/{m}/predictions.tsv.gz" for m in ("kmer", "cnn")}
    inputs |= {f"{m}_info": f"results/{ds}/models/{m}/training.json" for m in ("kmer", "cnn")}
    inputs["activity"] = f"results/{ds}/activity.tsv.gz"
    if simulated(config, ds) and not is_igvf(config["datasets"][ds]):
        inputs["truth"] = dataset_paths(config, ds)["truth_tile_activity"]
    return inputs


def site_files(config: dict[str, Any], ds: str) -> list[str]:
    """Sites drawn in the ISM figure: the simulator's truth, or the TF-site BEDs by cell."""
    paths = dataset_paths(config, ds)
    if simulated(config, ds):
        return [paths["truth_sites"]]
    return [paths["tf_sites"][c] for c in sorted(paths.get("tf_sites", {}))]


def ism_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Return the model, tiles and splits ISM reads, and the genome and sites when any.

    An IGVF data set's elements are read from its tiles table (one tile per element): it has
    neither a genome nor TF sites.
    """
    inputs: dict[str, Any] = {
        "model": f"results/{ds}/models/{model}/{ISM_MODEL_FILES[model]}",
        "tiles": f"results/{ds}/tiles.tsv.gz",
        "splits": f"results/{ds}/splits.tsv",
    }
    if is_igvf(config["datasets"][ds]):
        return inputs
    paths = dataset_paths(config, ds)
    if "genome" in paths:
        inputs["genome"] = paths["genome"]
    sites = site_files(config, ds)
    if sites:
        inputs["sites"] = sites
    return inputs


def ism_merge_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Every chunk's scores, and the genome and sites the tracks and the figure need."""
    chunks = config["ism"]["chunks"]
    inputs: dict[str, Any] = {
        "chunks": [f"results/{ds}/ism/{model}/chunks/{i}.tsv.gz" for i in range(chunks)]
    }
    inputs.update(
        {k: v for k, v in ism_inputs(config, ds, model).items() if k in ("genome", "sites")}
    )
    return inputs


def optional_args(input: Any, **options: str) -> str:
    """``--option path`` for each named input the job has (``options``: option per input)."""
    args = []
    for name, option in options.items():
        if name in input.keys():
            value = input[name]
            paths = value if isinstance(value, list) else [value]
            if not paths:  # an input function that gave nothing
                continue
            args.append(f"{option} " + " ".join(shlex.quote(str(p)) for p in paths))
    return " ".join(args)


def attribute_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Return what an attribution job reads: ISM's inputs (the logos shade the same sites)."""
    return ism_inputs(config, ds, model)


def attribute_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Return the ``interpret`` section plus ISM's stride and the seed (``InterpretRun``)."""
    return {**config["interpret"], "stride": config["ism"]["stride"], "seed": config["seed"]}


def interpret_folder(ds: str, model: str) -> str:
    """Where the attribution maps of ``model`` on data set ``ds`` go."""
    return f"results/{ds}/interpret/{model}"


def grade_attribution_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Every method's scores and timing, and the simulator's planted sites."""
    folder = interpret_folder(ds, model)
    methods = config["interpret"]["methods"]
    return {
        "scores": [f"{folder}/{m}/scores.tsv.gz" for m in methods],
        "timing": [f"{folder}/{m}/timing.json" for m in methods],
        "sites": dataset_paths(config, ds)["truth_sites"],
    }


def grade_attribution_args(config: dict[str, Any], input: Any) -> str:
    """Return ``--scores METHOD=TSV ...`` and ``--timing METHOD=JSON ...`` (methods in order)."""
    methods = config["interpret"]["methods"]
    scores = [shlex.quote(f"{m}={p}") for m, p in zip(methods, input.scores, strict=True)]
    timing = [shlex.quote(f"{m}={p}") for m, p in zip(methods, input.timing, strict=True)]
    return f"--scores {' '.join(scores)} --timing {' '.join(timing)}"


def check_interpret(config: dict[str, Any]) -> None:
    """Every model listed under ``interpret.models`` gives every listed method."""
    methods = config["interpret"]["methods"]
    if "kmer" in config["interpret"]["models"]:
        for m in methods:
            if m not in KMER_METHODS:
                raise InputError(
                    f"the k-mer model cannot give {m}: it has no gradient; it gives "
                    f"{', '.join(KMER_METHODS)} (drop kmer from interpret.models or {m} from "
                    "interpret.methods)",
                    key="interpret.methods",
                )
    if "cnn" in config["interpret"]["models"] and "kmer_weights" in methods:
        raise InputError(
            "the CNN cannot give kmer_weights (the k-mer model's exact attribution); list it "
            "only with interpret.models: [kmer]",
            key="interpret.methods",
        )
    if "deepshap" in methods and "cnn" in config["interpret"]["models"]:
        arch = config["models"]["cnn"]["arch"]
        if arch not in DEEPSHAP_ARCHS:
            raise InputError(
                f"the {arch} CNN cannot give deepshap: DeepLIFT needs every nonlinearity as an "
                f"nn.ReLU module (architectures {', '.join(DEEPSHAP_ARCHS)})",
                key="interpret.methods",
            )


# ----------------------------------------------------------------------------- GIA


def gia_models(config: dict[str, Any], ds: str) -> list[str]:
    """Return the models GIA runs on for ``ds`` (none: not simulated and no gia.motifs)."""
    if not simulated(config, ds) and not config["gia"]["motifs"]:
        return []
    return list(config["gia"]["models"])


def check_gia(config: dict[str, Any]) -> None:
    """Refuse a gia.pair that gia.motifs does not name, or a missing one that spacing needs."""
    gia = config["gia"]
    if not gia["motifs"]:
        if gia["pair"] is not None:
            raise InputError(
                "gia.pair names motifs of gia.motifs, which is empty (simulated data sets use "
                "their planted pair: leave gia.pair null)",
                key="gia.pair",
            )
        return
    if "spacing" in gia["analyses"] and gia["pair"] is None:
        raise InputError(
            "the spacing analysis of gia.motifs needs gia.pair (two of its names), or drop "
            "spacing from gia.analyses",
            key="gia.pair",
        )
    for name in gia["pair"] or []:
        if name not in gia["motifs"]:
            raise InputError(
                f"gia.pair names {name!r}, which is not in gia.motifs ({', '.join(gia['motifs'])})",
                key="gia.pair",
            )


def gia_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Return the model, tiles and splits GIA reads, and the truth (simulated data sets)."""
    inputs = {
        k: v for k, v in ism_inputs(config, ds, model).items() if k in ("model", "tiles", "splits")
    }
    if simulated(config, ds):
        paths = dataset_paths(config, ds)
        inputs["factors"] = paths["truth_factors"]
        inputs["syntax"] = paths["truth_syntax"]
    return inputs


def gia_args(config: dict[str, Any], ds: str, model: str, input: Any) -> str:
    """``--truth`` (simulated), ``--analysis`` and one ``--out-figure`` per analysis."""
    args = []
    if "factors" in input.keys():
        args.append(f"--truth {shlex.quote(str(Path(input.factors).parent))}")
    analyses = config["gia"]["analyses"]
    args.append("--analysis " + " ".join(analyses))
    folder = interpret_folder(ds, model)
    figures = [shlex.quote(f"{a}={folder}/gia_{a}.png") for a in analyses]
    args.append("--out-figure " + " ".join(figures))
    return " ".join(args)


def truth_recovery_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Return the truth and the GIA, filters and patterns tables the config makes for ``model``.

    A metric whose table is not made is written as NaN.
    """
    paths = dataset_paths(config, ds)
    inputs: dict[str, Any] = {
        "factors": paths["truth_factors"],
        "syntax": paths["truth_syntax"],
        "position": paths["truth_position"],
    }
    folder = interpret_folder(ds, model)
    if model in gia_models(config, ds):
        inputs["gia"] = f"{folder}/gia.tsv"
    made = motif_outputs(config, ds)
    for name in ("filters", "patterns"):
        if f"{folder}/{name}.tsv" in made:
            inputs[name] = f"{folder}/{name}.tsv"
    return inputs


# ----------------------------------------------------------------------------- evaluation


def evaluate_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """ISM scores and every annotation the data set has (simulated: the truth is the reference)."""
    paths = dataset_paths(config, ds)
    inputs: dict[str, Any] = {"scores": f"results/{ds}/ism/{model}/scores.tsv.gz"}
    for key in ("conservation", "tss"):
        if key in paths:
            inputs[key] = paths[key]
    if paths.get("tf_sites"):
        inputs["tf_sites"] = [paths["tf_sites"][c] for c in sorted(paths["tf_sites"])]
    if simulated(config, ds):
        inputs["reference"] = paths["truth_base_effect"]
    elif "sharpr_scores" in paths:
        inputs["reference"] = paths["sharpr_scores"]
    return inputs


def evaluate_args(config: dict[str, Any], ds: str, input: Any) -> str:
    """Annotation arguments of ``mpralens evaluate-ism`` (``--tf-sites CELL=BED`` pairs)."""
    args = [
        optional_args(input, conservation="--conservation", tss="--tss", reference="--reference")
    ]
    if "tf_sites" in input.keys():
        cells = sorted(dataset_paths(config, ds)["tf_sites"])
        pairs = [shlex.quote(f"{c}={p}") for c, p in zip(cells, input.tf_sites, strict=True)]
        args.append("--tf-sites " + " ".join(pairs))
    return " ".join(a for a in args if a)


def seeded(section: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Return a settings section with the workflow's global ``seed`` in it."""
    return {**section, "seed": config["seed"]}


# ----------------------------------------------------------------------------- biophysics


def sortseq_data(config: dict[str, Any], bds: str) -> str:
    """Return a sort-seq data set's CSV: its path, or where the simulator writes it."""
    ds = config["biophysics"]["datasets"][bds]
    if ds["source"] == "simulate":
        return f"resources/{bds}/sortseq_data.csv.gz"
    return str(ds["path"])


def biophysics_fits(config: dict[str, Any], model: str) -> int:
    """Most fits a fit job of model ``model`` makes (restarts, profile points)."""
    from mpralens.biophysics.profile import planned_fits
    from mpralens.biophysics.spec import load_spec
    from mpralens.config.settings import FitSettings

    spec = load_spec(config["biophysics"]["models"][model], model)
    return planned_fits(spec, FitSettings.model_validate(config["biophysics"]["fit"]))


# ----------------------------------------------------------------------------- motifs


def motif_sources(config: dict[str, Any], ds: str, model: str) -> dict[str, str]:
    """Attribution maps the patterns rule can read for ``model``: ``{method: scores table}``.

    Every method of ``interpret.methods`` (when the model is in ``interpret.models``), and ISM's
    own maps (the ISM stage, same columns) when ``ism`` is not among them and the model is in
    ``ism.models``.
    """
    out = {}
    if model in config["interpret"]["models"]:
        folder = interpret_folder(ds, model)
        out = {m: f"{folder}/{m}/scores.tsv.gz" for m in config["interpret"]["methods"]}
    if "ism" not in out and model in config["ism"]["models"]:
        out["ism"] = f"results/{ds}/ism/{model}/scores.tsv.gz"
    return out


def motif_outputs(config: dict[str, Any], ds: str) -> list[str]:
    """Return ``filters.tsv`` of each CNN and ``patterns.tsv`` of each model to interpret.

    Only when ``motifs.enabled``; patterns only where attribution maps exist.
    """
    if not config["motifs"]["enabled"]:
        return []
    out = []
    for m in config["interpret"]["models"]:
        if m == "cnn":
            out.append(f"{interpret_folder(ds, m)}/filters.tsv")
        if motif_sources(config, ds, m):
            out.append(f"{interpret_folder(ds, m)}/patterns.tsv")
    return out


def filters_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Return the CNN checkpoint, tiles and splits the filters rule reads."""
    return {
        k: v for k, v in ism_inputs(config, ds, model).items() if k in ("model", "tiles", "splits")
    }


def patterns_inputs(config: dict[str, Any], ds: str, model: str) -> dict[str, Any]:
    """Every source's maps, the tiles and splits, and the attribution grading when there is one."""
    inputs: dict[str, Any] = {
        "scores": list(motif_sources(config, ds, model).values()),
        "tiles": f"results/{ds}/tiles.tsv.gz",
        "splits": f"results/{ds}/splits.tsv",
    }
    if (
        config["interpret"]["methods"]
        and model in config["interpret"]["models"]
        and simulated(config, ds)
    ):
        inputs["grading"] = f"{interpret_folder(ds, model)}/attribution_grading.tsv"
    return inputs


def patterns_args(config: dict[str, Any], ds: str, model: str, input: Any) -> str:
    """``--scores METHOD=TSV ...``, ``--grading`` when given, ``--planted`` on simulated data."""
    sources = motif_sources(config, ds, model)
    scores = [shlex.quote(f"{m}={p}") for m, p in zip(sources, input.scores, strict=True)]
    args = [f"--scores {' '.join(scores)}"]
    if "grading" in input.keys():
        args.append(f"--grading {shlex.quote(str(input.grading))}")
    if simulated(config, ds):
        args.append("--planted")
    return " ".join(args)


def check_motifs(config: dict[str, Any]) -> None:
    """Each source named in ``motifs.sources`` has maps for every model that finds patterns."""
    if not config["motifs"]["enabled"]:
        return
    for m in config["interpret"]["models"]:
        available = motif_sources(config, "_", m)  # the same methods for every data set
        if not available:
            continue
        for s in config["motifs"]["sources"]:
            if s != "best" and s not in available:
                raise InputError(
                    f"motifs.sources names {s!r} but the {m} model has no {s} maps (add it to "
                    f"interpret.methods; available: {', '.join(available)})",
                    key="motifs.sources",
                )
        best = config["motifs"]["best_method"]
        if best is not None and best not in available:
            raise InputError(
                f"motifs.best_method {best!r} has no maps for the {m} model (available: "
                f"{', '.join(available)})",
                key="motifs.best_method",
            )


# ----------------------------------------------------------------------------- deliverables


def all_outputs(config: dict[str, Any]) -> list[str]:
    """Every deliverable of every configured data set and fit."""
    out = []
    for ds in datasets(config):
        out += [
            f"results/{ds}/activity.tsv.gz",
            f"results/{ds}/splits.tsv",
            f"results/{ds}/qc/qc.json",
            f"results/{ds}/evaluation/models.tsv",
        ]
        for m in config["ism"]["models"]:
            out += [
                f"results/{ds}/ism/{m}/scores.tsv.gz",
                f"results/{ds}/evaluation/ism_{m}/summary.json",
            ]
        for m in config["interpret"]["models"]:
            out += [
                f"{interpret_folder(ds, m)}/{method}/scores.tsv.gz"
                for method in config["interpret"]["methods"]
            ]
            if config["interpret"]["methods"] and simulated(config, ds):
                out.append(f"{interpret_folder(ds, m)}/attribution_grading.tsv")
        out += motif_outputs(config, ds)
        for m in gia_models(config, ds):
            out.append(f"{interpret_folder(ds, m)}/gia.tsv")
            if simulated(config, ds):
                out.append(f"{interpret_folder(ds, m)}/truth_recovery.tsv")
    for ds in igvf_datasets(config):
        out += [
            f"results/{ds}/activity.tsv.gz",
            f"results/{ds}/splits.tsv",
            f"results/{ds}/evaluation/models.tsv",
            f"results/{ds}/alleles/summary.tsv",
        ]
        out += [f"results/{ds}/qc/{e}/qc.json" for e in igvf_experiments(config, ds)]
        # Per-base maps of every element (one window each); no per-base truth to grade them on.
        out += [f"results/{ds}/ism/{m}/scores.tsv.gz" for m in config["ism"]["models"]]
        out += [
            f"{interpret_folder(ds, m)}/{method}/scores.tsv.gz"
            for m in config["interpret"]["models"]
            for method in config["interpret"]["methods"]
        ]
    for bds, model in config["biophysics"]["fits"]:
        out += [f"results/biophysics/{bds}/{model}/{f}" for f in ("params.json", "info.json")]
    return out
