"""The workflow end to end: lint, the whole DAG on a tiny config, the real pilot in both layouts."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from tests.conftest import (
    dry_run_jobs,
    parse_dry_run,
    run_snakemake,
    run_snakemake_here,
    run_snakemake_process,
    workflow_copy,
)


def test_lint_is_clean(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    proc = run_snakemake(wd, "--lint", "--configfile", "config/config.yaml", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_runs_here_print_what_a_new_process_prints(tmp_path):
    """The tests run Snakemake's dry runs in their own process (``run_snakemake_here``); a config
    refusal and a dry run of the tiny DAG give the same exit status, stderr and jobs as
    ``python -m snakemake`` in a new process.

    A refusal's output is the same to the byte. A dry run's header differs in its date, workflow
    ID, command and run folder, and jobs that are ready together may be listed in another order,
    so the jobs are compared as sorted lists.
    """
    wd = workflow_copy(tmp_path / "wf")
    bad = wd / "bad.yaml"
    tiny = (wd / "tests/configs/tiny.yaml").read_text()
    bad.write_text(tiny.replace("test_fraction: 0.2", "test_fraction: 2"))
    args = ("-n", "--configfile", bad.name)
    here, new = run_snakemake_here(wd, *args), run_snakemake_process(wd, *args)
    assert here.returncode == new.returncode == 1
    assert "test_fraction" in new.stdout + new.stderr
    assert (here.stdout, here.stderr) == (new.stdout, new.stderr)
    assert not (wd / "results").exists()

    args = ("-n", "-p", "--forceall", "--configfile", "tests/configs/tiny.yaml")
    here, new = run_snakemake_here(wd, *args), run_snakemake_process(wd, *args)
    assert here.returncode == new.returncode == 0
    assert here.stderr == new.stderr

    def jobs(stdout):
        listed = parse_dry_run(stdout)
        return sorted((j.rule, sorted(j.fields.items()), j.shell or "") for j in listed)

    assert jobs(here.stdout) == jobs(new.stdout)
    assert len(jobs(new.stdout)) == 19


@pytest.mark.slow
def test_whole_dag_on_tiny_config(tiny_run):
    res = tiny_run / "results" / "tiny"
    act = pd.read_csv(res / "activity.tsv.gz", sep="\t")
    assert list(act.columns) == [
        "tile_id",
        "region_id",
        "tile_pos",
        "task",
        "log2_ratio_rep1",
        "log2_ratio_rep2",
        "log2_ratio_rep3",  # tiny.yaml: 3 replicates in HepG2, 2 in K562
        "activity",
        "valid",
        "weight",
    ]
    assert sorted(act["task"].unique()) == ["HepG2_SV40P", "HepG2_minP", "K562_SV40P", "K562_minP"]
    assert len(act) == 60 * 31 * 4
    hepg2 = act["task"].str.startswith("HepG2")
    assert act.loc[~hepg2, "log2_ratio_rep3"].isna().all()
    assert act.loc[act["valid"] & hepg2, "log2_ratio_rep3"].notna().all()
    assert act.loc[act["valid"], "weight"].between(0, 1).all()
    assert (act.loc[~act["valid"], "weight"] == 0).all()
    splits = pd.read_csv(res / "splits.tsv", sep="\t")
    assert (splits.groupby("region_id")["split"].nunique() == 1).all()
    assert set(splits["split"]) == {"train", "valid", "test"}
    qc = json.loads((res / "qc" / "qc.json").read_text())
    assert set(qc["tasks"]) == set(act["task"])
    assert {t: e["n_replicates"] for t, e in qc["tasks"].items()} == {
        "HepG2_SV40P": 3,
        "HepG2_minP": 3,
        "K562_SV40P": 2,
        "K562_minP": 2,
    }
    for lib in qc["libraries"].values():
        assert lib["total_reads"] > 0
    models = pd.read_csv(res / "evaluation" / "models.tsv", sep="\t")
    assert set(models["model"]) == {"kmer", "cnn"}
    # One row per model and task (issue 20: the truth metrics and noise ceilings are columns).
    assert len(models) == 2 * 4
    truth_cols = ["pearson_truth", "spearman_truth", "ceiling", "ceiling_replicates"]
    assert models[truth_cols].notna().all().all() and models["ceiling"].between(0, 1).all()
    assert models["parameters"].gt(0).all()
    # Every task of both replicate counts is fitted and tested on real tiles.
    assert (models["n"] > 0).all() and models["weighted_mse"].notna().all()
    assert (res / "evaluation" / "models.png").stat().st_size > 10_000
    assert (res / "models" / "cnn" / "checkpoints" / "last.ckpt").exists()
    # ISM of the CNN: every base of every region, 5 windows each (the genome has the flanks).
    ism = pd.read_csv(res / "ism" / "cnn" / "scores.tsv.gz", sep="\t")
    assert list(ism.columns) == ["chrom", "pos", "region_id", "task", "score", "n_windows"]
    assert len(ism) == 60 * 295 * 4 and (ism["n_windows"] == 5).all()
    assert ism["score"].notna().all() and (ism["score"] != 0).mean() > 0.5
    assert sorted(p.name for p in (res / "ism" / "cnn" / "tracks").glob("*.bw")) == [
        f"{t}.bw" for t in sorted(act["task"].unique())
    ]
    # Evaluation of the ISM map against the simulated annotations (Figs 7-9) with its summary.
    summary = json.loads((res / "evaluation" / "ism_cnn" / "summary.json").read_text())
    assert set(summary["tasks"]) == set(act["task"])
    for per in summary["tasks"].values():
        assert set(per) == {"conservation", "tf_sites", "reference"}
        assert -1 <= per["conservation"]["binned_spearman_score_ge_0"] <= 1
        assert per["reference"]["bases"] == 60 * 295
    assert set(summary["tf_by_cell"]["cells"]) == {"HepG2", "K562"} and "tss" in summary
    rules = ("simulate_tiled", "import_counts", "normalize", "weights", "split", "ism_cnn")
    rules += ("evaluate_ism_cnn",)
    for rule in rules + ("train_kmer", "train_cnn", "compare_models"):
        assert (tiny_run / "benchmarks" / "tiny" / f"{rule}.tsv").exists()
    # The HTML report holds every figure.
    run_snakemake(tiny_run, "--report", "report.html", "--configfile", "tests/configs/tiny.yaml")
    html = (tiny_run / "report.html").read_text(errors="ignore")
    for fig in (
        "replicates.png",
        "counts.png",
        "models.png",
        "models_scatter.png",
        "top_regions.png",
    ):
        assert fig in html, fig
    # A second run has nothing to do.
    proc = run_snakemake(tiny_run, "-n", "--configfile", "tests/configs/tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_gia_and_truth_recovery_on_the_tiny_dag(tiny_run):
    """GIA of the tiny CNN (tiny.yaml: 100 null sequences) and its grading against the truth."""
    from mpralens.evaluate.interpretation import METRICS
    from mpralens.interpret.gia import GIA_COLUMNS

    folder = tiny_run / "results" / "tiny" / "interpret" / "cnn"
    gia = pd.read_csv(folder / "gia.tsv", sep="\t", keep_default_na=False)
    assert list(gia.columns) == GIA_COLUMNS
    tasks = {"HepG2_SV40P", "HepG2_minP", "K562_SV40P", "K562_minP"}
    counts = gia.groupby("analysis")["task"].count()
    # 10 catalogue motifs; positions 0, 25, ..., and the last start; 4 arrangements x 13
    # spacers of GATA1+SP1 (syntax.json); 1-3 copies.
    assert counts["marginal"] == 10 * 4 and counts["number"] == 10 * 3 * 4
    assert counts["spacing"] == counts["cooperativity"] == 4 * 13 * 4
    assert set(gia["task"]) == tasks
    assert set(gia.loc[gia["analysis"] == "spacing", "motifs"]) == {"GATA1+SP1", "SP1+GATA1"}
    assert (gia["ci_low"] <= gia["effect"] + 1e-12).all()
    assert (gia["effect"] <= gia["ci_high"] + 1e-12).all()
    for analysis in ("marginal", "position", "spacing", "number"):
        assert (folder / f"gia_{analysis}.png").stat().st_size > 10_000
    null = pd.read_csv(folder / "gia_null.tsv", sep="\t")
    assert set(null["sequences"]) == {"real", "shuffle"} and set(null["task"]) == tasks
    # Dinucleotide shuffles of the test tiles keep their GC within sampling error.
    gc = null.groupby("sequences")["gc"].first()
    assert abs(gc["real"] - gc["shuffle"]) < 0.02
    rec = pd.read_csv(folder / "truth_recovery.tsv", sep="\t")
    assert list(rec["metric"]) == list(METRICS)
    v = rec.set_index("metric")["value"]
    assert v["n_planted"] == 6 and v["n_decoys"] == 4
    assert (v["planted_coop_spacing_min"], v["planted_coop_spacing_max"]) == (4, 8)
    assert 0 <= v["gia_coop_peak_spacing"] <= 12
    assert -1 <= v["gia_marginal_pearson"] <= 1 and v["position_effect_sign_agrees"] in (0, 1)
    # The filter and MoDISco counts are read from the DAG's filters.tsv and patterns.tsv.
    factors = pd.read_csv(tiny_run / "resources/tiny/truth/factors.tsv", sep="\t")
    for table, metric in (("filters.tsv", "filters"), ("patterns.tsv", "modisco")):
        t = pd.read_csv(folder / table, sep="\t", dtype=str, keep_default_na=False)
        ids = {i for cell in t["significant_matches"] for i in cell.split(";") if i}
        for kind, name in (("planted", "planted"), ("decoy", "decoys")):
            want = factors.loc[factors["kind"] == kind, "matrix_id"].isin(ids).sum()
            assert v[f"{metric}_{name}_matched"] == want, (metric, name)
    print(rec.to_string())


def check_tiny_attribution(res) -> None:
    """Attribution maps of the tiny DAG (tiny.yaml: ism and deepshap of the CNN, test regions)."""
    folder = res / "interpret" / "cnn"
    splits = pd.read_csv(res / "splits.tsv", sep="\t")
    test = sorted(set(splits.loc[splits["split"] == "test", "region_id"]))
    tasks = ["HepG2_SV40P", "HepG2_minP", "K562_SV40P", "K562_minP"]
    for method in ("ism", "deepshap"):
        scores = pd.read_csv(folder / method / "scores.tsv.gz", sep="\t")
        assert sorted(scores["region_id"].unique()) == test
        assert len(scores) == len(test) * 295 * 4 and (scores["n_windows"] == 5).all()
        assert scores["score"].notna().all() and (scores["score"] != 0).mean() > 0.5
        assert sorted(p.name for p in (folder / method / "tracks").glob("*.bw")) == [
            f"{t}.bw" for t in tasks
        ]
        assert (folder / method / "top_regions.png").stat().st_size > 10_000
        timing = json.loads((folder / method / "timing.json").read_text())
        assert timing["regions"] == len(test) and timing["seconds_per_region"] > 0
    # The attribution stage's ISM is the ISM stage's, on the test regions.
    ism = pd.read_csv(res / "ism" / "cnn" / "scores.tsv.gz", sep="\t")
    ism = ism[ism["region_id"].isin(test)].reset_index(drop=True)
    assert ism.equals(pd.read_csv(folder / "ism" / "scores.tsv.gz", sep="\t"))
    grading = pd.read_csv(folder / "attribution_grading.tsv", sep="\t")
    assert list(grading.columns) == [
        "method",
        "task",
        "auroc",
        "aupr",
        "n_positive_bases",
        "n_bases",
        "seconds_per_region",
    ]
    assert list(grading["method"].unique()) == ["ism", "deepshap", "shuffled_control"]
    assert (grading["n_bases"] == len(test) * 295).all()
    assert (grading["n_positive_bases"] > 0).all()
    # The tiny CNN trains 2 epochs on 36 regions (test Pearson about 0), yet its maps find the
    # planted sites above chance: mean AUROC over tasks at least 0.02 above the shuffled control
    # (measured: ism 0.535, deepshap 0.565, control 0.491).
    mean = grading.groupby("method")["auroc"].mean()
    assert mean["shuffled_control"] == pytest.approx(0.5, abs=0.03)
    for method in ("ism", "deepshap"):
        assert mean[method] > mean["shuffled_control"] + 0.02, mean
    assert (folder / "attribution_curves.png").stat().st_size > 10_000


@pytest.mark.slow
def test_attribution_maps_on_the_tiny_dag(tiny_run):
    check_tiny_attribution(tiny_run / "results" / "tiny")


def check_tiny_motifs(tiny_run) -> None:
    """Filters and TF-MoDISco patterns of the tiny DAG (tiny.yaml: motifs on, 16 filters)."""
    from mpralens.interpret.filters import FILTER_COLUMNS
    from mpralens.interpret.patterns import PATTERN_COLUMNS, catalog_targets
    from mpralens.io.motifs import information_content, read_motifs

    folder = tiny_run / "results" / "tiny" / "interpret" / "cnn"
    filters = pd.read_csv(folder / "filters.tsv", sep="\t", keep_default_na=False)
    assert list(filters.columns) == FILTER_COLUMNS
    assert list(filters["filter"]) == [f"filter{i}" for i in range(16)]
    assert (filters["n_sites"] > 0).any() and (filters["n_sites"] >= 0).all()
    motifs = read_motifs(folder / "filters.meme")
    assert [m.motif_id for m in motifs] == list(filters["filter"])
    assert all(m.length == 11 for m in motifs)  # Paggi's first-layer width
    np.testing.assert_allclose(
        filters["information_content"], [information_content(m.probs) for m in motifs], atol=1e-3
    )
    # A filter matched (q < 0.05) has its best match first among its significant matches.
    for r in filters.itertuples():
        if r.significant_matches:
            assert r.significant_matches.split(";")[0] == r.best_match_id
            assert float(r.q_value) < 0.05 and r.information_content >= 6.0
    patterns = pd.read_csv(folder / "patterns.tsv", sep="\t", keep_default_na=False)
    assert list(patterns.columns) == PATTERN_COLUMNS
    # Sources: the best-graded method and ISM (tiny.yaml grades ism and deepshap).
    assert set(patterns["source"]) <= {"ism", "deepshap"}
    assert set(patterns["planted_factor"]) <= {"", *catalog_targets().values()}
    if len(patterns):
        assert len(read_motifs(folder / "patterns.meme")) == len(patterns)
    for fig in ("filters.png", "patterns.png"):
        assert (folder / fig).stat().st_size > 5_000
    for rule in ("filters_cnn", "patterns_cnn"):
        assert (tiny_run / "benchmarks" / "tiny" / f"{rule}.tsv").exists()


@pytest.mark.slow
def test_motifs_on_the_tiny_dag(tiny_run):
    check_tiny_motifs(tiny_run)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "n_reps"), [("HepG2_SV40P", 3), ("K562_minP", 2)])
def test_tiny_dag_unequal_replicates_by_hand(tiny_run, task, n_reps):
    """Log ratios, activity and diagonal weights of the 3- and the 2-replicate task, recomputed
    with numpy from the imported counts (pseudocount 1, min_dna 20, one plasmid per promoter)."""
    res = tiny_run / "results" / "tiny"
    counts = pd.read_parquet(res / "counts.parquet")
    act = pd.read_csv(res / "activity.tsv.gz", sep="\t")
    act = act[act["task"] == task].set_index("tile_id").loc[counts["tile_id"]]
    cell, promoter = task.split("_")
    dna = counts[f"{promoter}_Plasmid"].to_numpy(dtype=float)
    valid = dna >= 20
    assert (act["valid"].to_numpy() == valid).all() and valid.sum() > 100
    d = np.log2((dna + 1) / (dna[valid] + 1).sum())
    reps = []
    for r in range(1, n_reps + 1):
        rna = counts[f"{cell}_{promoter}_mRNA_Rep{r}"].to_numpy(dtype=float)
        reps.append(np.log2((rna + 1) / (rna[valid] + 1).sum()) - d)
    reps = np.column_stack(reps)[valid]
    for r in range(n_reps):
        got = act[f"log2_ratio_rep{r + 1}"].to_numpy()[valid]
        assert got == pytest.approx(reps[:, r], abs=1e-6)
    assert act["log2_ratio_rep3"].isna().all() == (n_reps == 2)
    # Activity: the mean over this task's own replicates.
    assert act["activity"].to_numpy()[valid] == pytest.approx(reps.mean(axis=1), abs=1e-6)
    # Diagonal weight: the spread sqrt(sum (r - mean)^2 / (n - 1)) (|r1 - r2| / sqrt 2 for two),
    # negated and min-max scaled over the valid tiles.
    spread = np.sqrt(((reps - reps.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / (n_reps - 1))
    if n_reps == 2:
        assert spread == pytest.approx(np.abs(reps[:, 0] - reps[:, 1]) / np.sqrt(2))
    weight = (spread.max() - spread) / (spread.max() - spread.min())
    assert act["weight"].to_numpy()[valid] == pytest.approx(weight, abs=1e-5)
    # A few tiles spelled out: the most and least reproducible valid tiles weigh 1 and 0.
    ids = counts["tile_id"].to_numpy()[valid]
    assert act.loc[ids[spread.argmin()], "weight"] == pytest.approx(1.0)
    assert act.loc[ids[spread.argmax()], "weight"] == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("layout", ["ernst", "geo"])
def test_pilot_through_snakemake(layout, shared, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    name = f"pilot_{layout}"
    run_snakemake(
        wd, f"results/{name}/activity.tsv.gz", "--configfile", f"tests/configs/{name}.yaml"
    )
    act = pd.read_csv(wd / "results" / name / "activity.tsv.gz", sep="\t")
    assert len(act) == 18 * 2 and set(act["task"]) == {"HepG2_SV40P", "K562_SV40P"}
    assert act["valid"].all()
    # Sharpr's own normalisation (Pilot_normalized, HepG2 rep1, recentred ends) is on another
    # scale, but it must rank a region's tiles as our rep1 log ratios do.
    sharpr = pd.read_csv(
        shared
        / "data/sharpr_format/ernst_site/Pilot_normalized/tablenorm_recenterends_HepG2_Rep1_20.txt",
        sep="\t",
        header=None,
        index_col=0,
    )
    hep = act[act["task"] == "HepG2_SV40P"].sort_values(["region_id", "tile_pos"])
    for region, g in hep.groupby("region_id"):
        rho = spearmanr(g["log2_ratio_rep1"], sharpr.loc[region].to_numpy()).statistic
        assert rho > 0.85, (region, rho)


def test_reproduce_the_paper_config_plans(tmp_path):
    """config/sharpr_mpra.yaml validates and plans the whole DAG: the 20 GEO count files and hg19
    are downloads (hg19 once for both designs), region coordinates come from the tile IDs."""
    wd = workflow_copy(tmp_path / "wf")
    proc = run_snakemake(wd, "-n", "--configfile", "config/sharpr_mpra.yaml")
    out = proc.stdout
    table = out.split("Job stats:")[1].split("\n\n")[0].splitlines()[3:]
    counts = {ln.split()[0]: int(ln.split()[1]) for ln in table if len(ln.split()) == 2}
    assert counts["fetch"] == 1 and counts["fetch_counts"] == 20
    for rule in ("import_counts", "train_cnn", "ism_chunk", "ism_merge", "evaluate_ism"):
        assert counts[rule] == 2, (rule, counts)
    sheet = pd.read_csv(wd / "config/sharpr_mpra/design1_libraries.tsv", sep="\t")
    for url in sheet["path"]:  # GEO's layout: samples/GSMnnn/GSM<id>/suppl/GSM<id>_<name>
        gsm = url.rsplit("/", 1)[1].split("_", 1)[0]
        assert f"/{gsm}/suppl/{gsm}_" in url and "ScaleUpDesign1" in url


@pytest.mark.slow
def test_sharded_ism_through_the_workflow(tiny_run, tmp_path):
    """ism.chunks: 3 runs three ism_chunk jobs and a merge whose scores equal the one-pass run."""
    import shutil

    wd = tmp_path / "wf"
    shutil.copytree(tiny_run, wd, symlinks=True)
    (wd / "chunks.yaml").write_text("ism:\n  chunks: 3\n")
    target = "results/tiny/ism/cnn/scores.tsv.gz"
    proc = run_snakemake(
        wd,
        target,
        "--configfile",
        "tests/configs/tiny.yaml",
        "chunks.yaml",
        "--forcerun",
        "ism_merge",
    )
    assert proc.stdout.count("rule ism_chunk:") + proc.stderr.count("rule ism_chunk:") == 3
    assert (wd / target).read_bytes() == (tiny_run / target).read_bytes()


def _dry_run_jobs(workdir, *args):
    """rule -> (resources line, shell command) of a forced dry run of the tiny DAG."""
    return {job.rule: (job.fields["resources"], job.shell) for job in dry_run_jobs(workdir, *args)}


def _resource(line, name):
    return int(re.search(rf"\b{name}=(\d+)", line).group(1))


def test_resources_scale_with_input_size(tiny_run):
    jobs = _dry_run_jobs(tiny_run)
    # train_kmer: mem_mb = 1000 + 100 per MB of input, runtime = 5 + 2 per MB (common.smk).
    inputs = ["tiles.tsv.gz", "activity.tsv.gz", "splits.tsv"]
    mb = sum((tiny_run / "results/tiny" / f).stat().st_size for f in inputs) / 1e6
    res = jobs["train_kmer"][0]
    assert _resource(res, "mem_mb") == int(1000 + 100 * mb + 0.5)
    assert _resource(res, "runtime") == int(5 + 2 * mb + 0.5)
    # ISM: per MB of tiles only, fast method (8 min per MB), one chunk.
    tiles_mb = (tiny_run / "results/tiny/tiles.tsv.gz").stat().st_size / 1e6
    assert _resource(jobs["ism_chunk"][0], "runtime") == int(10 + 12 * tiles_mb + 0.5)
    assert "--gpus 0 " in jobs["train_cnn"][1]
    # Attribution logos shade the simulator's planted sites, as ISM's figure does.
    assert "--sites resources/tiny/truth/sites.tsv" in jobs["attribute"][1]


@pytest.mark.parametrize(("cores", "train"), [(2, 1), (8, 4), (40, 8)])
def test_threads_and_priorities_of_the_demo(tmp_path, cores, train):
    """Training gets half the cores (1 to 8); every interpretive PyTorch job gets one thread, so
    jobs ready together run side by side; the data chain runs first, then the dearest jobs."""
    wd = workflow_copy(tmp_path / "wf")
    jobs = dry_run_jobs(wd, "--cores", str(cores), config="config/config.yaml")

    def field(job, name):  # Snakemake prints threads and priority only when they are not 1 / 0
        return int(job.fields.get(name, 1 if name == "threads" else 0))

    by_rule = {}
    for job in jobs:
        by_rule.setdefault(job.rule, []).append(job)
    (cnn,) = by_rule["train_cnn"]
    assert field(cnn, "threads") == train and f"OMP_NUM_THREADS={train} " in cnn.shell
    for rule in ("attribute", "ism_chunk", "gia", "filters", "patterns", "fit_biophysical"):
        for job in by_rule[rule]:
            assert field(job, "threads") == 1, (rule, job.fields)
            if job.shell and "OMP_NUM_THREADS" in job.shell:
                assert "OMP_NUM_THREADS=1 " in job.shell, job.shell
    chain = ("simulate_tiled", "import_counts", "normalize", "weights", "split", "train_cnn")
    assert {field(j, "priority") for r in chain for j in by_rule[r]} == {10}
    attribute = {
        re.search(r"method=(\w+)", j.fields["wildcards"]).group(1): field(j, "priority")
        for j in by_rule["attribute"]
    }
    assert attribute == {"deepshap": 3, "integrated_gradients": 2, "ism": 0, "saliency": 0}
    assert [field(j, "priority") for j in by_rule["gia"]] == [1]
    assert {field(j, "priority") for j in by_rule["fit_biophysical"]} == {0}


def test_biophysical_fit_time_counts_the_profile_fits(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    jobs = {
        job.fields["wildcards"]: job
        for job in dry_run_jobs(wd, config="config/config.yaml")
        if job.rule == "fit_biophysical"
    }
    lac_mb = (wd / "resources/lac_sortseq/sortseq_data.csv.gz").stat().st_size / 1e6
    per_fit = int(1 + lac_mb + 0.5)  # scaled(1, 1) minutes per fit
    # 2 restarts + up to 4 profile points on each side of dG_I for the model with dG_I.
    thermo = jobs["bds=lac, model=lac_thermo"]
    assert _resource(thermo.fields["resources"], "runtime") == (2 + 2 * 4) * per_fit
    kinetic = jobs["bds=lac, model=lac_kinetic"]
    assert _resource(kinetic.fields["resources"], "runtime") == 2 * per_fit


def test_gpu_profile_gives_train_cnn_a_gpu(tiny_run):
    jobs = _dry_run_jobs(tiny_run, "--workflow-profile", "profiles/gpu")
    res, cmd = jobs["train_cnn"]
    assert _resource(res, "gpu") == 1 and "--gpus 1 " in cmd
    assert "gpu=" not in jobs["train_kmer"][0]


PER_BARCODE = """seed: 3
datasets:
  bc:
    type: tiled_mpra
    source: simulate
    barcodes: keep
    simulate: {n_regions: 20, n_barcodes: 4, seed: 5}
normalize: {method: per_barcode, pseudocount: 1, min_dna: 20}
"""


def test_per_barcode_normalisation_through_the_workflow(tmp_path):
    """`normalize.method: per_barcode` runs to activity.tsv.gz: import declares the barcode table,
    and the activities are the per-barcode ones, not the barcode-summed ones."""
    import numpy as np

    from mpralens.data.libraries import pair_libraries, read_library_sheet
    from mpralens.data.normalize import log_ratios

    wd = workflow_copy(tmp_path / "wf")
    (wd / "bc.yaml").write_text(PER_BARCODE)
    run_snakemake(wd, "results/bc/activity.tsv.gz", "--configfile", "bc.yaml")
    res = wd / "results" / "bc"
    sheet_path = wd / "resources" / "bc" / "libraries.tsv"
    pairs = pair_libraries(read_library_sheet(sheet_path, check_files=False), sheet_path=sheet_path)
    tiles = pd.read_csv(res / "tiles.tsv.gz", sep="\t")
    counts = pd.read_parquet(res / "counts.parquet")
    barcodes = pd.read_parquet(res / "barcode_counts.parquet")
    assert len(barcodes) == len(tiles) * 4
    kw = {"pseudocount": 1.0, "min_dna": 20}
    expected = log_ratios(tiles, counts, pairs, barcode_counts=barcodes, **kw)
    summed = log_ratios(tiles, counts, pairs, **kw)
    act = pd.read_csv(res / "activity.tsv.gz", sep="\t")
    keys = ["tile_id", "task"]
    got = act[keys + ["activity"]].merge(expected[keys + ["activity"]], on=keys, validate="1:1")
    assert len(got) == len(expected) == 20 * 31 * 4
    np.testing.assert_allclose(got["activity_x"], got["activity_y"], rtol=1e-7, equal_nan=True)
    valid = expected["valid"].to_numpy()
    assert valid.mean() > 0.5
    diff = np.abs(expected["activity"] - summed["activity"]).to_numpy()[valid]
    assert diff.max() > 0.05  # the two methods disagree, so the check above tells them apart


def test_igvf_and_tiled_data_sets_share_one_dag(tmp_path):
    """A tiled and an IGVF data set in one config: each gets its own import, shared model rules."""
    wd = workflow_copy(tmp_path / "wf")
    jobs = dry_run_jobs(wd, "tests/configs/tiny_igvf.yaml")
    by_rule: dict[str, int] = {}
    for job in jobs:
        by_rule[job.rule] = by_rule.get(job.rule, 0) + 1
    assert by_rule["import_igvf"] == 1 and by_rule["import_counts"] == 1
    assert by_rule["split"] == 2 and by_rule["train_cnn"] == 2 and by_rule["score_alleles"] == 1
    imports = [j for j in jobs if j.rule == "import_igvf"]
    assert "--counts sim=resources/alleles/sim.barcodes.tsv.gz" in imports[0].shell
    assert "weights" not in {j.rule for j in jobs if "alleles" in j.fields.get("output", "")}


@pytest.mark.slow
def test_igvf_dag_on_tiny_allelic_library(tmp_path):
    """Simulated allelic IGVF library -> activity, tests -> models -> allele scoring, QC page."""
    wd = workflow_copy(tmp_path / "wf")
    run_snakemake(wd, "--configfile", "tests/configs/tiny_igvf.yaml")
    res = wd / "results" / "alleles"
    act = pd.read_csv(res / "activity.tsv.gz", sep="\t")
    assert list(act.columns) == [
        "tile_id",
        "region_id",
        "tile_pos",
        "task",
        "log2_ratio_rep1",
        "log2_ratio_rep2",
        "log2_ratio_rep3",
        "activity",
        "valid",
        "weight",
    ]
    assert act["weight"].between(0, 1).all() and set(act["task"]) == {"sim"}
    # ref and alt of a variant share a region, so a split never separates them.
    splits = pd.read_csv(res / "splits.tsv", sep="\t").set_index("tile_id")
    pairs = act[act["tile_id"].str.endswith("_alt")]
    refs = pairs["tile_id"].str.replace("_alt", "_ref")
    assert (pairs["region_id"].to_numpy() == refs.to_numpy()).all()
    assert (
        splits.loc[pairs["tile_id"], "split"].to_numpy() == splits.loc[refs, "split"].to_numpy()
    ).all()
    variants = pd.read_csv(res / "igvf" / "sim" / "variant_tests.tsv.gz", sep="\t")
    truth = pd.read_csv(wd / "resources" / "alleles" / "truth" / "variants.tsv", sep="\t")
    merged = truth.merge(variants, on="variant_id")
    assert len(merged) == 80 and np.corrcoef(merged["effect"], merged["true_effect"])[0, 1] > 0.8
    summary = pd.read_csv(res / "alleles" / "summary.tsv", sep="\t")
    assert set(summary["model"]) == {"kmer", "cnn"} and set(summary["subset"]) == {"all", "test"}
    kmer = summary[(summary["model"] == "kmer") & (summary["subset"] == "all")].iloc[0]
    assert kmer["n"] == 80 and kmer["spearman"] > 0.5 and kmer["sign_agreement"] > 0.8
    assert (res / "alleles" / "alleles.png").stat().st_size > 10_000
    qc = json.loads((res / "qc" / "sim" / "qc.json").read_text())
    assert qc["pearson_1_2"] > 0.8 and qc["median_barcodes_1"] > 5
    for name in ("reporter_experiment", "reporter_element", "reporter_variant"):
        assert (res / "igvf" / "sim" / f"{name}.tsv.gz").is_file()
    # ISM of every element (ref allele), one window each, every base scored.
    ism = pd.read_csv(res / "ism" / "cnn" / "scores.tsv.gz", sep="\t")
    tiles = pd.read_csv(res / "tiles.tsv.gz", sep="\t")
    assert ism["region_id"].nunique() == tiles["region_id"].nunique() == 103
    assert (ism["n_windows"] == 1).all() and ism["score"].notna().all()
    assert len(ism) == tiles.drop_duplicates("region_id")["sequence"].str.len().sum()
