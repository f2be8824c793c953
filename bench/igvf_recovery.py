"""Recovery of simulator truth by the IGVF activity and tests; print a table and JSON.

Per library (elements, allelic) and seed: activity Pearson / Spearman against the truth, 95 % CI
coverage (after the one global offset of library-size normalisation), the control test's false
discovery proportion and power at FDR 5 %, and for allelic libraries the variant test's Pearson,
FDP, power, CI coverage and sign agreement. The figures of docs/igvf.md.

Usage: python bench/igvf_recovery.py [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from mpralens.config.settings import IGVFSettings, IGVFSimulation
from mpralens.data.igvf import analyse_experiment
from mpralens.simulate.igvf import simulate_igvf


def recover(design: str, seed: int, tmp: Path) -> dict[str, float]:
    out = tmp / f"{design}_{seed}"
    simulate_igvf(IGVFSimulation(design=design, seed=seed), out)
    exp = analyse_experiment(
        out / "sim.barcodes.tsv.gz",
        fmt="reporter_experiment_barcode",
        settings=IGVFSettings(),
        design_path=out / "design.tsv",
    )
    truth = pd.read_csv(out / "truth" / "elements.tsv", sep="\t")
    t = truth.merge(exp.pooled, on="oligo_name")
    off = np.median(t["activity"] - t["true_activity"])
    inside = (t["ci_low"] <= t["true_activity"] + off) & (t["true_activity"] + off <= t["ci_high"])
    r: dict[str, float] = {
        "design": design,  # type: ignore[dict-item]
        "seed": seed,
        "oligos": len(t),
        "pearson": float(np.corrcoef(t["true_activity"], t["activity"])[0, 1]),
        "spearman": float(stats.spearmanr(t["true_activity"], t["activity"])[0]),
        "ci_coverage": float(inside.mean()),
    }
    e = truth.merge(exp.elements, on="oligo_name")
    test = e[e["class_x"] == "test"]
    null, sig = test["true_activity"] == 0, test["significant"]
    r["control_test_fdp"] = float((sig & null).sum() / max(sig.sum(), 1))
    r["control_test_power"] = float((sig & ~null).sum() / max((~null).sum(), 1))
    if design == "allelic":
        v = pd.read_csv(out / "truth" / "variants.tsv", sep="\t")
        v = v.merge(exp.variants, on=["variant_id", "ref", "alt"])
        s, vnull = v["significant"], v["null"]
        hit = s & ~vnull
        r["variant_pearson"] = float(np.corrcoef(v["effect"], v["true_effect"])[0, 1])
        r["variant_fdp"] = float((s & vnull).sum() / max(s.sum(), 1))
        r["variant_power"] = float(hit.sum() / (~vnull).sum())
        covered = (v["ci_low"] <= v["true_effect"]) & (v["true_effect"] <= v["ci_high"])
        r["variant_ci_coverage"] = float(covered.mean())
        signs = np.sign(v.loc[hit, "effect"]) == np.sign(v.loc[hit, "true_effect"])
        r["variant_sign_agreement"] = float(signs.mean())
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [recover(d, s, Path(tmp)) for d in ("elements", "allelic") for s in args.seeds]
    print(pd.DataFrame(rows).round(3).to_string())
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
