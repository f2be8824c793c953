"""IGVF formats: readers, element activity, the mpralm-style tests, recovery of simulator truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from mpralens.cli import main
from mpralens.config.settings import IGVFSettings, IGVFSimulation, validate_config
from mpralens.data.element_tests import fit_f_dist, moderated_wls, trigamma_inverse
from mpralens.data.elements import pooled_activity, replicate_activity
from mpralens.data.igvf import analyse_experiment, model_sequences
from mpralens.io.igvf import allelic_pairs, read_barcode_counts, read_design, schema
from mpralens.simulate.igvf import simulate_igvf, true_activity

DESIGN_HEADER = "name\tsequence\tcategory\tclass\tvariant_class\tvariant_pos\tSPDI\tallele\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_barcode_counts_hand_computed(tmp_path):
    # Two oligos, two replicates; empty = not seen. Replicate 1 totals: DNA 40, RNA 80.
    counts = write(
        tmp_path / "bc.tsv",
        "barcode\toligo_name\tdna_count_1\trna_count_1\tdna_count_2\trna_count_2\n"
        "AAAA\ta\t10\t30\t5\t\n"
        "CCCC\ta\t10\t10\t\t7\n"
        "GGGG\tb\t20\t40\t5\t5\n",
    )
    c = read_barcode_counts(counts)
    assert c.replicates == ["1", "2"]
    assert c.dna[:, 1].tolist() == [5, 0, 5] and c.rna[:, 1].tolist() == [0, 7, 5]
    s = IGVFSettings(pseudocount=1.0, min_barcodes=1, min_dna=0)
    per = replicate_activity(c, s).set_index(["oligo_name", "replicate"])
    # a, rep 1: log2((40 + 1) / (20 + 1)) + log2(40 / 80)
    assert per.loc[("a", "1"), "log2_ratio"] == pytest.approx(np.log2(41 / 21) - 1)
    assert per.loc[("a", "1"), "n_barcodes"] == 2
    # rep 2: CCCC has no DNA so it is not seen (its RNA is dropped); totals DNA 10, RNA 5.
    assert per.loc[("a", "2"), "n_barcodes"] == 1
    assert per.loc[("a", "2"), "log2_ratio"] == pytest.approx(np.log2(1 / 6) + np.log2(10 / 5))
    assert per.loc[("b", "2"), "rna_normalized"] == pytest.approx(1e6)
    strict = replicate_activity(c, IGVFSettings(min_barcodes=2, min_dna=0))
    assert set(zip(strict["oligo_name"], strict["replicate"], strict=True)) == {("a", "1")}
    assert replicate_activity(c, IGVFSettings(min_barcodes=1, min_dna=15))[
        "oligo_name"
    ].tolist() == [
        "a",
        "b",
    ]
    pooled = pooled_activity(replicate_activity(c, s), s).set_index("oligo_name")
    assert pooled.loc["a", "activity"] == pytest.approx(per.loc["a", "log2_ratio"].mean())
    assert pooled.loc["a", "n_replicates"] == 2 and pooled.loc["a", "n_barcodes"] == 3


def test_wls_matches_statsmodels_and_limma_prior():
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    y = rng.normal(0.3, 0.5, size=(400, 3))
    w = rng.uniform(0.5, 2.0, size=(400, 3))
    fit = moderated_wls(y, w)
    one = sm.WLS(y[7], np.ones((3, 1)), weights=w[7]).fit()
    assert fit["estimate"][7] == pytest.approx(one.params[0])
    assert fit["s2"][7] == pytest.approx(one.scale)
    # trigamma inverse inverts; fitFDist recovers a known scaled-chi-square prior.
    x = np.array([0.1, 1.0, 5.0])
    assert special.polygamma(1, trigamma_inverse(x)) == pytest.approx(x)
    d0, s0 = 6.0, 0.2
    s2 = s0 * d0 / rng.chisquare(d0, size=20000)  # inverse-chi-square prior variances
    obs = s2 * rng.chisquare(2, size=s2.size) / 2
    est_s0, est_d0 = fit_f_dist(obs, np.full(s2.size, 2.0))
    assert est_d0 == pytest.approx(d0, rel=0.25) and est_s0 == pytest.approx(s0, rel=0.1)


def _recover(tmp_path: Path, design: str) -> tuple[pd.DataFrame, object, Path]:
    out = tmp_path / design
    simulate_igvf(IGVFSimulation(design=design, seed=2), out)
    exp = analyse_experiment(
        out / "sim.barcodes.tsv.gz",
        fmt="reporter_experiment_barcode",
        settings=IGVFSettings(),
        design_path=out / "design.tsv",
        mapping=out / "mapping.tsv.gz",
    )
    truth = pd.read_csv(out / "truth" / "elements.tsv", sep="\t")
    return truth, exp, out


def test_elements_library_recovers_truth_and_controls_fdr(tmp_path):
    truth, exp, _ = _recover(tmp_path, "elements")
    t = truth.merge(exp.pooled, on="oligo_name")
    assert len(t) == len(truth)  # every oligo passes the default thresholds at this depth
    assert np.corrcoef(t["true_activity"], t["activity"])[0, 1] > 0.97
    offset = np.median(t["activity"] - t["true_activity"])  # library-size normalisation
    covered = (t["ci_low"] <= t["true_activity"] + offset) & (
        t["true_activity"] + offset <= t["ci_high"]
    )
    assert 0.9 <= covered.mean() <= 1.0
    e = truth.merge(exp.elements, on="oligo_name")
    test = e[e["class_x"] == "test"]
    sig = test["significant"]
    null = test["true_activity"] == 0
    assert sig.sum() > 50
    assert (sig & null).sum() / sig.sum() <= 0.1  # FDR 5 %: realised FDP well under 10 %
    assert (sig & ~null).sum() / (~null).sum() > 0.8
    # The positive controls are active; the negative controls are the null.
    pos = e[e["class_x"] == "element active control"]
    assert (pos["significant"] & (pos["effect"] > 0)).mean() > 0.9


def test_allelic_library_recovers_variant_effects(tmp_path):
    _, exp, out = _recover(tmp_path, "allelic")
    truth = pd.read_csv(out / "truth" / "variants.tsv", sep="\t")
    v = truth.merge(exp.variants, on=["variant_id", "ref", "alt"])
    assert len(v) == len(truth)
    assert np.corrcoef(v["true_effect"], v["effect"])[0, 1] > 0.9
    sig = v["significant"]
    assert (sig & v["null"]).sum() / sig.sum() <= 0.1
    assert (sig & ~v["null"]).sum() / (~v["null"]).sum() > 0.8
    assert (
        np.sign(v.loc[sig & ~v["null"], "effect"])
        == np.sign(v.loc[sig & ~v["null"], "true_effect"])
    ).all()
    assert (v["ci_low"] <= v["effect"]).all() and (v["effect"] <= v["ci_high"]).all()
    # postProbEffect (limma's B as a probability) separates real effects from the null.
    from sklearn.metrics import roc_auc_score

    assert v["post_prob"].between(0, 1).all()
    assert roc_auc_score(~v["null"], v["post_prob"]) > 0.9
    assert v.loc[v["null"], "post_prob"].median() < 0.5 < v.loc[sig, "post_prob"].median()


def test_tmixture_recovers_the_prior_variance_of_a_simulated_mixture():
    """limma's tmixture: 1% of t-statistics scaled by sqrt(1 + v0 / v1), the rest t(df)."""
    from scipy import stats

    from mpralens.data.element_tests import tmixture

    rng = np.random.default_rng(0)
    n, df = 200_000, 8
    for v0 in (1.0, 4.0, 16.0):
        effect = rng.random(n) < 0.01
        t = stats.t.rvs(df, size=n, random_state=rng) * np.where(effect, np.sqrt(1 + v0), 1)
        est = tmixture(t, np.ones(n), np.full(n, df), 0.01, (0.0, 1e9))
        assert abs(est - v0) / v0 < 0.25
    # Bounds clip it; too few tests for the top 0.5 % give NaN (limma's fallback is 1 / s0).
    assert tmixture(t, np.ones(n), np.full(n, df), 0.01, (0.0, 2.0)) <= 2.0
    assert np.isnan(tmixture(np.array([]), np.array([]), np.array([]), 0.01, (0, 1)))


def test_simulated_truth_counts_planted_sites():
    from mpralens.simulate.catalog import CATALOG
    from mpralens.simulate.igvf import EFFECTS

    site = CATALOG[0].consensus
    seq = "T" * 20 + site + "T" * 20
    assert true_activity(seq) == pytest.approx(EFFECTS[0])


def test_activity_command_writes_schema_valid_igvf_outputs(tmp_path):
    from jsonschema import Draft202012Validator

    out = tmp_path / "sim"
    simulate_igvf(IGVFSimulation(design="allelic", n_elements=40, n_negative=10, n_positive=5), out)
    dest = tmp_path / "act"
    rc = main(
        [
            "activity",
            str(out / "sim.barcodes.tsv.gz"),
            "--format",
            "reporter_experiment_barcode",
            "--out",
            str(dest),
            "--design",
            str(out / "design.tsv"),
            "--min-barcodes",
            "2",
        ]
    )
    assert rc == 0
    act = pd.read_csv(dest / "activity.tsv.gz", sep="\t")
    assert list(act.columns[:4]) == ["oligo_name", "replicate", "log2_ratio", "n_barcodes"]
    assert {"activity", "ci_low", "ci_high"} <= set(act.columns)
    for name in ("reporter_experiment", "reporter_element", "reporter_variant"):
        table = pd.read_csv(dest / f"{name}.tsv.gz", sep="\t", keep_default_na=False)
        validator = Draft202012Validator(schema(name))
        for record in json.loads(table.to_json(orient="records")):
            if name == "reporter_experiment":
                record["replicate"] = str(record["replicate"])
            assert not list(validator.iter_errors(record)), (name, record)
    # oligo-level input gives the same replicate ratios
    dest2 = tmp_path / "act2"
    assert (
        main(
            [
                "activity",
                str(dest / "reporter_experiment.tsv.gz"),
                "--format",
                "reporter_experiment",
                "--out",
                str(dest2),
                "--min-barcodes",
                "2",
            ]
        )
        == 0
    )
    a2 = pd.read_csv(dest2 / "activity.tsv.gz", sep="\t")
    merged = act.merge(a2, on=["oligo_name", "replicate"])
    assert len(merged) == len(act)
    assert np.allclose(merged["log2_ratio_x"], merged["log2_ratio_y"], atol=1e-3)


def test_design_variants_and_model_sequences(tmp_path):
    design = write(
        tmp_path / "design.tsv",
        DESIGN_HEADER
        + "e1\tACGTN\telement\ttest\tNA\tNA\tNA\tNA\n"
        + "v_ref\tACGTA\tvariant\ttest\t['SNV']\t[2]\t['chr1:101:G:T']\t['ref']\n"
        + "v_alt\tACTTA\tvariant\ttest\t['SNV']\t[2]\t['chr1:101:G:T']\t['alt']\n"
        + "long\tACGTACG\telement\ttest\tNA\tNA\tNA\tNA\n",
    )
    d = read_design(design)
    pairs = allelic_pairs(d)
    assert pairs.to_dict(orient="records") == [
        {
            "variant_id": "chr1:101:G:T",
            "ref": "v_ref",
            "alt": "v_alt",
            "variant_pos": 2,
            "ref_allele": "G",
            "alt_allele": "T",
        }
    ]
    padded = model_sequences(d, lengths="pad")
    assert (
        padded["sequence"].tolist()[0] == "NACGTNN" and padded["sequence"].str.len().nunique() == 1
    )


def test_igvf_dataset_in_config_keeps_tiled_configs_valid():
    cfg = validate_config(
        {
            "datasets": {
                "t": {"type": "tiled_mpra", "source": "simulate"},
                "i": {"format": "igvf", "source": "simulate", "simulate": {"design": "allelic"}},
            }
        }
    )
    assert type(cfg.datasets["i"]).__name__ == "IGVFDataset"
    assert type(cfg.datasets["t"]).__name__ == "TiledDataset"


def test_igvf_files_and_downloads_in_the_workflow_config(tmp_path):
    from mpralens import workflow as wf
    from mpralens.config.datasets import download_path, igvf_paths
    from mpralens.io.errors import InputError

    design = write(tmp_path / "design.tsv", DESIGN_HEADER)
    remote = {"url": "https://example.org/HepG2.tsv.gz", "sha256": "a" * 64}
    config = {
        "datasets": {
            "lib": {
                "format": "igvf",
                "design": str(design),
                "experiments": {"HepG2": {"counts": remote}, "K562": {"counts": str(design)}},
            }
        }
    }
    _, plain = wf.load_config(config)
    paths = igvf_paths(plain, "lib")
    assert paths["experiments"] == {"HepG2": download_path(remote), "K562": str(design)}
    assert wf.datasets(plain) == [] and wf.igvf_datasets(plain) == ["lib"]
    digest = download_path(remote).split("/")[2]
    entry, key = wf.download_entry(plain, digest)
    assert entry["url"] == remote["url"] and key == "datasets.lib.experiments.HepG2.counts"
    assert "HepG2=resources/downloads/" in wf.igvf_import_args(plain, "lib")
    assert "results/lib/alleles/summary.tsv" in wf.all_outputs(plain)
    config["datasets"]["lib"]["experiments"]["K562"]["counts"] = str(tmp_path / "missing.tsv")
    with pytest.raises(InputError) as exc:
        wf.load_config(config)
    assert exc.value.key == "datasets.lib.experiments.K562.counts"


def test_qc_page_of_an_experiment(tmp_path):
    out = tmp_path / "sim"
    simulate_igvf(IGVFSimulation(n_elements=60, n_negative=15, n_positive=8, barcodes=8), out)
    dest = tmp_path / "qc"
    argv = ["igvf-qc", str(out / "sim.barcodes.tsv.gz"), "--design", str(out / "design.tsv")]
    assert main([*argv, "--out", str(dest)]) == 0
    qc = json.loads((dest / "qc.json").read_text())
    assert qc["pearson_1_2"] > 0.8 and qc["pearson_2_3"] > 0.8
    # every oligo has 8 barcodes; a few are lost where a barcode's DNA count is 0
    assert 6 <= qc["median_barcodes_1"] <= 8
    active = qc["median_activity_element_active_control"]
    assert active - qc["median_activity_element_inactive_control"] > 2  # four activating sites
    assert (dest / "qc.png").stat().st_size > 10_000


@pytest.mark.parametrize("method", ["plain", "fast"])
def test_ism_of_an_allelic_element_gives_the_alt_allele_effect_exactly(method):
    """IGVF elements are scored through one window each (the element), on the reference allele:
    the ISM delta of the variant's base to the alt base is f(ref) - f(alt) of the model."""
    import torch

    from mpralens.io.sequences import one_hot
    from mpralens.ism.scoring import ALTERNATIVES, CNNScorer
    from mpralens.ism.windows import build_contexts, region_table, window_scheme
    from mpralens.models.cnn.architectures import build_architecture

    rng = np.random.default_rng(3)
    ref = "".join(rng.choice(list("ACGT"), 60))
    pos = 10
    alt_base = next(b for b in "ACGT" if b != ref[pos])
    alt = ref[:pos] + alt_base + ref[pos + 1 :]
    # Ref first, as model_tables writes them; the alt row shares the region and coordinates.
    tiles = pd.DataFrame(
        {
            "tile_id": ["v_ref", "v_alt", "e"],
            "region_id": ["v_ref", "v_ref", "e"],
            "tile_pos": [0, 1, 0],
            "chrom": ["chrSim"] * 3,
            "start": [100, 100, 500],
            "end": [160, 160, 560],
            "sequence": [ref, alt, "".join(rng.choice(list("ACGT"), 60))],
        }
    )
    regions = region_table(tiles)
    assert regions.set_index("region_id").loc["v_ref", "sequence"] == ref
    scheme = window_scheme(60, 29, regions)  # 29 does not divide 60: one window per element
    assert (scheme.length, scheme.stride) == (60, 60)
    torch.manual_seed(0)
    net = build_architecture("paggi", n_tasks=2, input_length=60, filters=8).eval()
    spec = {"tasks": ["a", "b"], "tile_length": 60, "layout": "tile", "frame_length": 60}
    ctx = next(c for c in build_contexts(regions, scheme) if c.region_id == "v_ref")
    assert list(ctx.window_starts) == [0]
    delta = CNNScorer(net, spec, method).window_deltas(ctx)
    j = list(ALTERNATIVES["ACGT".index(ref[pos])]).index("ACGT".index(alt_base))
    with torch.no_grad():
        f = net(torch.from_numpy(one_hot([ref, alt]))).numpy()
    assert np.abs(f[0] - f[1]).max() > 1e-3  # the variant changes the prediction
    np.testing.assert_allclose(delta[0, pos, j], f[0] - f[1], atol=1e-5)
    # A tiled library keeps its stride: regions longer than a window.
    assert window_scheme(30, 10, regions).stride == 10
