# Input functions, wildcard constraints and resources; the logic lives in mpralens.workflow.
from pathlib import Path

from mpralens import workflow as wf

# CONFIG: the validated config with every default filled in (see the Snakefile).
DATASETS = wf.datasets(CONFIG)
SIMULATED = [d for d in DATASETS if wf.simulated(CONFIG, d)]
BARCODE_DATASETS = wf.datasets(CONFIG, barcodes="keep")
SUMMED_DATASETS = wf.datasets(CONFIG, barcodes="sum")
IGVF_DATASETS = wf.igvf_datasets(CONFIG)
IGVF_SIMULATED = wf.igvf_datasets(CONFIG, simulated_only=True)
BIO = CONFIG["biophysics"]
ISM = CONFIG["ism"]
# Conda environments, one per family of rules (paths relative to workflow/rules/).
ENV_BASE = "../../envs/base.yaml"  # numerical stack: counts, k-mers, evaluation, downloads
ENV_TORCH = "../../envs/torch.yaml"  # + PyTorch: CNN, ISM scoring, biophysical models

# Priority of the data chain up to the CNN (fetch, simulate, import, normalize, weights, split,
# train_cnn): everything interpretive waits for the trained network, so of the jobs ready at
# the start these go first, and the biophysical fits and the k-mer model fill the other cores.
CRITICAL_PATH = 10
# Of the jobs that wait for the trained CNN, the dearest start first (longest processing time
# first), so the last to finish is a short one: on the demo, DeepSHAP 283 s, integrated gradients
# 134 s and GIA 104 s of one core, against under 20 s for each of the rest.
ATTRIBUTE_PRIORITY = {"deepshap": 3, "integrated_gradients": 2, "smoothgrad": 2}
GIA_PRIORITY = 1


def training_threads(most=8):
    """Threads of the CNN training job: half of --cores, at least 1 and at most ``most``.

    Every other PyTorch job (ISM chunks, attribution methods, GIA, motifs) runs on one thread:
    several are ready at once, and side by side they use the cores better than one after the
    other on two (a 2-thread job used 1.4-1.8 cores). Training is on the critical path, but on a
    2-core machine a 2-thread training job waited behind the single-threaded fits that started
    beside the data chain; with half the cores it starts when the data are ready. Cluster runs
    without --cores keep 2. ``--set-threads train_cnn=N`` overrides.
    """
    from snakemake.exceptions import WorkflowError

    try:
        cores = workflow.cores
    except WorkflowError:
        return 2
    return max(1, min(most, int(cores) // 2))


wildcard_constraints:
    ds="|".join(DATASETS + IGVF_DATASETS) or "(?!)",
    exp="[A-Za-z0-9][A-Za-z0-9_.-]*",
    ism_model="cnn|kmer",
    method="|".join(wf.ATTRIBUTION_METHODS),
    chunk="[0-9]+",
    digest="[0-9a-f]{12}",
    bds="|".join(sorted(BIO["datasets"])) or "(?!)",
    model="|".join(sorted(BIO["models"])) or "(?!)",


def datasets_pattern(names):
    """Wildcard constraint matching exactly the data sets ``names`` (none when empty)."""
    return "|".join(names) or "(?!)"


def settings(section, seeded=False):
    """Params function: a settings section as JSON for ``--settings`` (rerun when it changes)."""
    value = wf.seeded(section, CONFIG) if seeded else section
    return wf.settings_json(value)


def scaled(fixed, per_mb=0.0, only=None):
    """A resource (mem_mb, runtime in minutes) growing with the job's input and with retries.

    ``fixed + per_mb * size``, with ``size`` the MB of all inputs (or of the named input
    ``only``), times the attempt number, so that a retry (``--retries``; the SLURM profile sets 1)
    asks for twice as much. The constants come from ``benchmark:`` files of the demo and tiny
    runs (docs/cluster.md): ``fixed`` covers the interpreter and imports, ``per_mb`` the growth
    between the two data sizes, both with about 1.5x headroom.
    """

    def resource(wildcards, input, attempt):
        paths = [input[only]] if only else list(input)
        size = sum(Path(p).stat().st_size for p in paths if Path(p).is_file()) / 1e6
        return int((fixed + per_mb * size) * attempt + 0.5)

    return resource


def biophysics_fit_runtime(wildcards, input, attempt):
    """Minutes for a fit job: ``scaled`` per fit (one free L-BFGS fit of the 0.66 MB lac data
    takes 25-45 s on one core, a profile point about 8 s) times the most fits it makes."""
    fits = wf.biophysics_fits(CONFIG, wildcards.model)
    return int(scaled(1, 1)(wildcards, input, attempt) * fits + 0.5)


# Input functions: one line each over mpralens.workflow.
def get_import_inputs(w):
    return wf.import_inputs(CONFIG, w.ds)


def get_model_inputs(w):
    return {t: f"results/{w.ds}/{f}" for t, f in wf.MODEL_INPUTS.items()}


def get_compare_inputs(w):
    return wf.compare_inputs(CONFIG, w.ds)


def get_ism_inputs(w):
    return wf.ism_inputs(CONFIG, w.ds, w.ism_model)


def get_ism_merge_inputs(w):
    return wf.ism_merge_inputs(CONFIG, w.ds, w.ism_model)


def get_evaluate_inputs(w):
    return wf.evaluate_inputs(CONFIG, w.ds, w.ism_model)


def get_igvf_import_inputs(w):
    return wf.igvf_import_inputs(CONFIG, w.ds)


def get_igvf_counts(w):
    return wf.igvf_paths(CONFIG, w.ds)["experiments"][w.exp]


def get_barcode_counts(w):
    """Per-barcode counts when the per-barcode method is used, else nothing."""
    per_barcode = CONFIG["normalize"]["method"] == "per_barcode"
    return f"results/{w.ds}/barcode_counts.parquet" if per_barcode else []


def get_attribute_inputs(w):
    return wf.attribute_inputs(CONFIG, w.ds, w.ism_model)


def get_grade_attribution_inputs(w):
    return wf.grade_attribution_inputs(CONFIG, w.ds, w.ism_model)
