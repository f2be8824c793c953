# Input functions and helpers; the logic they use lives in the mpralens package.
import json
import shlex
from pathlib import Path

from mpralens.biophysics.profile import fits_per_restart
from mpralens.biophysics.spec import load_spec
from mpralens.config.datasets import check_config, dataset_geometry, dataset_paths, download_entry
from mpralens.data.libraries import read_library_sheet

check_config(config)

DATASETS = sorted(config["datasets"])
SIMULATED = [d for d in DATASETS if config["datasets"][d]["source"] == "simulate"]
BARCODE_DATASETS = [d for d in DATASETS if config["datasets"][d]["barcodes"] == "keep"]
SUMMED_DATASETS = [d for d in DATASETS if d not in BARCODE_DATASETS]
# Conda environments, one per family of rules (paths relative to workflow/rules/).
ENV_BASE = "../../envs/base.yaml"  # numerical stack: counts, k-mers, evaluation, downloads
ENV_TORCH = "../../envs/torch.yaml"  # + PyTorch: CNN, ISM scoring, biophysical models


BIO = config["biophysics"]
BIO_DATASETS = sorted(BIO["datasets"])
BIO_MODELS = sorted(BIO["models"])


ISM = config["ism"]


def scaled(fixed, per_mb=0.0, only=None):
    """A resource (mem_mb, runtime in minutes) growing with the job's input and with retries.

    ``fixed + per_mb * size``, with ``size`` the MB of all inputs (or of the named input
    ``only``), times the attempt number, so that a retry (``--retries``; the SLURM profile sets 1)
    asks for twice as much. The constants come from ``benchmark:`` files of the demo and tiny
    runs (README, "Running on a cluster"): ``fixed`` covers the interpreter and imports,
    ``per_mb`` the growth between the two data sizes, both with about 1.5x headroom.
    """

    def resource(wildcards, input, attempt):
        paths = [input[only]] if only else list(input)
        size = sum(Path(p).stat().st_size for p in paths if Path(p).is_file()) / 1e6
        return int((fixed + per_mb * size) * attempt + 0.5)

    return resource


wildcard_constraints:
    ds="|".join(DATASETS),
    ism_model="cnn|kmer",
    chunk="[0-9]+",
    digest="[0-9a-f]{12}",
    bds="|".join(BIO_DATASETS) or "NONE",
    model="|".join(BIO_MODELS) or "NONE",


def datasets_pattern(names):
    """Wildcard constraint matching exactly the data sets ``names`` (none when empty)."""
    return "|".join(names) or "(?!)"


def dataset_inputs(ds):
    """Config (or simulator) paths of a data set."""
    return dataset_paths(config, ds)


def get_import_inputs(wildcards):
    """Design files, the library sheet and, for file data sets, every count file it lists."""
    paths = dataset_inputs(wildcards.ds)
    inputs = {"libraries": paths["libraries"]}
    if paths["coords"] != "from_ids":  # else derived from scale-up tile IDs
        inputs["coords"] = paths["coords"]
    if config["datasets"][wildcards.ds]["layout"] == "ernst" or wildcards.ds in SIMULATED:
        inputs["sequences"] = paths["sequences"]
    if wildcards.ds not in SIMULATED:
        sheet = read_library_sheet(
            paths["libraries"], downloads=counts_downloads(wildcards.ds), check_files=False
        )
        inputs["counts"] = list(sheet["path"])
    return inputs


def counts_downloads(ds):
    """Where count files given as URLs in a data set's library sheet are downloaded."""
    return f"resources/{ds}/downloads/counts"


def import_flags(wildcards, input, output):
    """Command-line flags of `mpralens import-counts` for a data set."""
    ds = config["datasets"][wildcards.ds]
    tile_length, tile_step = dataset_geometry(config, wildcards.ds)
    layout = "ernst" if wildcards.ds in SIMULATED else ds["layout"]
    flags = [f"--layout {layout}", f"--tile-length {tile_length}", f"--tile-step {tile_step}"]
    flags.append(f"--tile-ids {ds.get('tile_ids', 'sharpr')}")
    coords = shlex.quote(input.coords) if "coords" in input.keys() else "from_ids"
    flags.append(f"--coords {coords}")
    if "sequences" in input.keys():
        flags.append(f"--sequences {shlex.quote(input.sequences)}")
    if "counts" in input.keys() and any(
        str(p).startswith(counts_downloads(wildcards.ds)) for p in input.counts
    ):
        flags.append(f"--downloads {shlex.quote(counts_downloads(wildcards.ds))}")
    if "barcodes" in output.keys():
        flags.append(f"--out-barcodes {shlex.quote(output.barcodes)}")
    return " ".join(flags)


def simulate_settings(wildcards):
    """Simulator settings of a data set as a JSON string for the shell."""
    return json.dumps(config["datasets"][wildcards.ds]["simulate"], sort_keys=True)


def get_library_sheet(wildcards):
    """The data set's library sheet."""
    return dataset_inputs(wildcards.ds)["libraries"]


def barcodes_flag(wildcards, input):
    """`--barcodes <file>` for the per-barcode method, else empty."""
    return f"--barcodes {shlex.quote(input.barcodes)}" if input.barcodes else ""


def get_barcode_counts(wildcards):
    """Per-barcode counts when the per-barcode method is used, else nothing."""
    if config["normalize"]["method"] == "per_barcode":
        return f"results/{wildcards.ds}/barcode_counts.parquet"
    return []


def split_flags(wildcards):
    """Command-line flags of `mpralens split`."""
    s = config["split"]
    if s["by"] == "region":
        return (
            f"--by region --valid-fraction {s['valid_fraction']} "
            f"--test-fraction {s['test_fraction']} --seed {config['seed']}"
        )
    return (
        f"--by chromosome --valid-chromosomes {shlex.join(s['valid_chromosomes'])} "
        f"--test-chromosomes {shlex.join(s['test_chromosomes'])}"
    )


def get_model_inputs(wildcards):
    """Tables every sequence model trains on."""
    return {
        "tiles": f"results/{wildcards.ds}/tiles.tsv.gz",
        "activity": f"results/{wildcards.ds}/activity.tsv.gz",
        "splits": f"results/{wildcards.ds}/splits.tsv",
    }


def cnn_flags(wildcards):
    """Command-line flags of `mpralens train-cnn` from `models.cnn`."""
    c = config["models"]["cnn"]
    flags = [
        f"--arch {c['arch']}",
        f"--arch-kwargs {shlex.quote(json.dumps(c['arch_kwargs'], sort_keys=True))}",
        f"--layout {c['layout']}",
        f"--batch-size {c['batch_size']}",
        f"--lr {c['lr']}",
        f"--max-epochs {c['max_epochs']}",
        f"--patience {c['patience']}",
        f"--devices {c['devices']}",
        f"--seed {config['seed']}",
    ]
    if c["rc_augment"]:
        flags.append("--rc-augment")
    return " ".join(flags)


def get_compare_inputs(wildcards):
    """Test predictions of every model, and the simulator's truth when there is one."""
    inputs = {
        "kmer": f"results/{wildcards.ds}/models/kmer/predictions.tsv.gz",
        "cnn": f"results/{wildcards.ds}/models/cnn/predictions.tsv.gz",
    }
    if wildcards.ds in SIMULATED:
        inputs["truth"] = dataset_inputs(wildcards.ds)["truth_tile_activity"]
    return inputs


def truth_flag(wildcards, input):
    """`--truth <file>` for simulated data sets, else empty."""
    return f"--truth {shlex.quote(input.truth)}" if "truth" in input.keys() else ""


def get_sortseq_data(wildcards):
    """A sort-seq data set's CSV: its path, or where the simulator writes it."""
    ds = BIO["datasets"][wildcards.bds]
    if ds["source"] == "simulate":
        return f"resources/{wildcards.bds}/sortseq_data.csv.gz"
    return ds["path"]


def get_model_spec(wildcards):
    """A biophysical model's YAML spec."""
    return BIO["models"][wildcards.model]


def biophysics_fits_per_restart(wildcards):
    """Fits one restart of a biophysical model makes (``fits_per_restart``: the profile's grid
    points and one at its minimum for a thermodynamic model with interactions, else 1)."""
    spec = load_spec(get_model_spec(wildcards), wildcards.model)
    return fits_per_restart(spec, BIO["fit"]["interaction_grid"])


def biophysics_fit_runtime(wildcards, input, attempt):
    """Minutes for a fit job: ``scaled`` per fit (one fit of the 0.66 MB lac data takes about
    25 s on 2 cores) times the fits it makes."""
    fits = BIO["fit"]["restarts"] * biophysics_fits_per_restart(wildcards)
    return int(scaled(1, 1)(wildcards, input, attempt) * fits + 0.5)


def sortseq_sim_settings(wildcards):
    """Sort-seq simulator settings as a JSON string for the shell."""
    return json.dumps(BIO["datasets"][wildcards.bds]["simulate"], sort_keys=True)


def biophysics_fit_settings(wildcards):
    """Fit settings (shared by all fits) as a JSON string for the shell."""
    return json.dumps(BIO["fit"], sort_keys=True)


def _fetch_flags(entry, key):
    flags = [f"--url {shlex.quote(entry['url'])}", f"--key {shlex.quote(key)}"]
    if entry.get("sha256"):
        flags.append(f"--sha256 {shlex.quote(entry['sha256'])}")
    if entry.get("gunzip"):
        flags.append("--gunzip")
    return " ".join(flags)


def download_flags(wildcards):
    """Command-line flags of `mpralens fetch` for a data-set file given as {url, sha256}."""
    entry, key = download_entry(config, wildcards.digest)
    return _fetch_flags(entry, key)


def count_download_flags(wildcards):
    """Command-line flags of `mpralens fetch` for a count file the library sheet gives as a URL."""
    sheet = read_library_sheet(
        dataset_inputs(wildcards.ds)["libraries"], downloads=".", check_files=False
    )
    row = sheet[sheet["path"].map(lambda p: Path(p).name) == wildcards.file].iloc[0]
    entry = {"url": row["url"], "sha256": row["sha256"] or None}
    return _fetch_flags(entry, f"datasets.{wildcards.ds}.libraries ({row['library']})")


def get_ism_inputs(wildcards):
    """The trained model, the tiles, the splits, and the genome and sites when there are any."""
    model = "model.ckpt" if wildcards.ism_model == "cnn" else "model.npz"
    paths = dataset_inputs(wildcards.ds)
    inputs = {
        "model": f"results/{wildcards.ds}/models/{wildcards.ism_model}/{model}",
        "tiles": f"results/{wildcards.ds}/tiles.tsv.gz",
        "splits": f"results/{wildcards.ds}/splits.tsv",
    }
    if "genome" in paths:
        inputs["genome"] = paths["genome"]
    if wildcards.ds in SIMULATED:
        inputs["sites"] = [paths["truth_sites"]]
    elif paths.get("tf_sites"):
        inputs["sites"] = [paths["tf_sites"][c] for c in sorted(paths["tf_sites"])]
    return inputs


def ism_flags(wildcards, input):
    """Command-line flags of `mpralens ism` (one chunk) from the `ism` section."""
    flags = [
        f"--splits {shlex.quote(input.splits)}",
        f"--regions {ISM['regions']}",
        f"--method {ISM['method']}",
        f"--stride {ISM['stride']}",
        f"--batch-size {ISM['batch_size']}",
    ]
    if ISM["max_regions"] is not None:
        flags.append(f"--max-regions {ISM['max_regions']}")
    if "genome" in input.keys():
        flags.append(f"--genome {shlex.quote(input.genome)}")
    return " ".join(flags)


def get_ism_merge_inputs(wildcards):
    """Every chunk's scores, and the genome and sites the tracks and the figure need."""
    inputs = {
        "chunks": [
            f"results/{wildcards.ds}/ism/{wildcards.ism_model}/chunks/{i}.tsv.gz"
            for i in range(ISM["chunks"])
        ]
    }
    inputs.update(
        {k: v for k, v in get_ism_inputs(wildcards).items() if k in ("genome", "sites")}
    )
    return inputs


def ism_merge_flags(wildcards, input):
    """Command-line flags of `mpralens ism-merge`."""
    flags = [f"--top {ISM['top_regions']}"]
    if "genome" in input.keys():
        flags.append(f"--genome {shlex.quote(input.genome)}")
    if "sites" in input.keys():
        flags.append("--sites " + " ".join(map(shlex.quote, input.sites)))
    return " ".join(flags)


def get_evaluate_inputs(wildcards):
    """ISM scores and every annotation the data set has (simulated: the truth is the reference)."""
    paths = dataset_inputs(wildcards.ds)
    inputs = {"scores": f"results/{wildcards.ds}/ism/{wildcards.ism_model}/scores.tsv.gz"}
    for key in ("conservation", "tss"):
        if key in paths:
            inputs[key] = paths[key]
    if paths.get("tf_sites"):
        inputs["tf_sites"] = [paths["tf_sites"][c] for c in sorted(paths["tf_sites"])]
    if wildcards.ds in SIMULATED:
        inputs["reference"] = paths["truth_base_effect"]
    elif "sharpr_scores" in paths:
        inputs["reference"] = paths["sharpr_scores"]
    return inputs


def evaluate_flags(wildcards, input):
    """Command-line flags of `mpralens evaluate-ism`."""
    paths = dataset_inputs(wildcards.ds)
    e = config["evaluation"]
    flags = [
        f"--bins {e['bins']}",
        f"--conservation-threshold {e['conservation_threshold']}",
        f"--seed {config['seed']}",
    ]
    for key in ("conservation", "tss", "reference"):
        if key in input.keys():
            flags.append(f"--{key} {shlex.quote(input[key])}")
    if "tf_sites" in input.keys():
        cells = sorted(paths["tf_sites"])
        pairs = [shlex.quote(f"{c}={p}") for c, p in zip(cells, input.tf_sites)]
        flags.append("--tf-sites " + " ".join(pairs))
    return " ".join(flags)


def all_outputs():
    """Every deliverable of every configured data set."""
    out = []
    for ds in DATASETS:
        out += [
            f"results/{ds}/activity.tsv.gz",
            f"results/{ds}/splits.tsv",
            f"results/{ds}/qc/qc.json",
            f"results/{ds}/evaluation/models.tsv",
        ]
        out += [f"results/{ds}/ism/{m}/scores.tsv.gz" for m in ISM["models"]]
        out += [f"results/{ds}/evaluation/ism_{m}/summary.json" for m in ISM["models"]]
    for bds, model in BIO["fits"]:
        out += [
            f"results/biophysics/{bds}/{model}/params.json",
            f"results/biophysics/{bds}/{model}/info.json",
        ]
    return out
