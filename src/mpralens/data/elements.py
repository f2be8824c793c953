"""Element activity from barcode counts: log2 RNA/DNA per replicate, pooled with a CI.

Per replicate ``r`` and element ``e`` (its barcodes seen in the DNA, ``dna > 0``):

* ``log2_ratio = log2((RNA_e + pc) / R_r) - log2((DNA_e + pc) / D_r)``: counts summed over the
  element's barcodes, pseudocount ``pc``, library sizes ``R_r``, ``D_r`` (the replicate's reads
  of all seen barcodes); ``dna_normalized`` / ``rna_normalized`` are CPM.
* Invalid (left out) with fewer than ``min_barcodes`` barcodes or ``min_dna`` DNA reads.
* ``se2``: the variance of that ratio across barcodes, ``var_b(ratio of barcode b) / n_bc``
  (per-barcode ratios with the same pseudocount and library sizes).

Pooled over the valid replicates (``n``): ``activity`` = mean of the replicate ratios. Its variance
has a barcode part and a replicate part. The same plasmids (barcodes) are measured in every
replicate, so barcode effects do not average out over replicates: the barcode part is
``se2_pooled = var_b(mean_r ratio_rb) / n_bc`` (each barcode's ratio averaged over replicates).
The replicate part is ``var_r(log2_ratio) / n``, the replicate variance shrunk towards the
experiment's mean with :data:`PRIOR_DF` degrees of freedom (three replicates estimate it poorly).
The CI is ``activity +- z * sqrt(barcode part + replicate part)``. Counting noise enters both
parts, so the interval is somewhat conservative (docs/igvf.md gives its measured coverage).
Oligo-level input (``reporter_experiment``) has no barcodes: the replicate part alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mpralens.config.settings import IGVFSettings
from mpralens.io.igvf import BarcodeCounts, OligoCounts

PER_REPLICATE = [
    "oligo_name",
    "replicate",
    "dna_counts",
    "rna_counts",
    "dna_normalized",
    "rna_normalized",
    "log2_ratio",
    "n_barcodes",
    "se2",
    "se2_pooled",
]
PRIOR_DF = 4.0


def replicate_activity(counts: BarcodeCounts, settings: IGVFSettings) -> pd.DataFrame:
    """Per element and replicate: counts, CPM, log2 ratio, barcodes and barcode variance.

    Rows of invalid element-replicates (too few barcodes or DNA reads) are left out.
    """
    codes, names = pd.factorize(pd.Series(counts.oligos), sort=True)
    n = len(names)
    pc = settings.pseudocount
    frames = []
    bsum = np.zeros(len(codes))
    bn = np.zeros(len(codes))
    for j, rep in enumerate(counts.replicates):
        dna = counts.dna[:, j].astype(np.float64)
        rna = counts.rna[:, j].astype(np.float64)
        seen = dna > 0
        dna_total, rna_total = dna[seen].sum(), rna[seen].sum()
        if dna_total == 0 or rna_total == 0:
            continue
        c = codes[seen]
        d, r = dna[seen], rna[seen]
        n_bc = np.bincount(c, minlength=n)
        dna_e = np.bincount(c, weights=d, minlength=n)
        rna_e = np.bincount(c, weights=r, minlength=n)
        offset = np.log2(dna_total / rna_total)
        ratio = np.log2((rna_e + pc) / (dna_e + pc)) + offset
        b = np.log2((r + pc) / (d + pc)) + offset
        bsum[seen] += b
        bn[seen] += 1
        s1 = np.bincount(c, weights=b, minlength=n)
        s2 = np.bincount(c, weights=b * b, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            var_b = (s2 - s1 * s1 / n_bc) / (n_bc - 1)
            se2 = np.maximum(var_b, 0) / n_bc
        valid = (n_bc >= settings.min_barcodes) & (dna_e >= settings.min_dna) & (n_bc > 0)
        # One barcode gives no spread: its variance is unknown (NaN), filled below by the median.
        frame = pd.DataFrame(
            {
                "oligo_name": np.asarray(names)[valid],
                "replicate": rep,
                "dna_counts": dna_e[valid].astype(np.int64),
                "rna_counts": rna_e[valid].astype(np.int64),
                "dna_normalized": dna_e[valid] / dna_total * 1e6,
                "rna_normalized": rna_e[valid] / rna_total * 1e6,
                "log2_ratio": ratio[valid],
                "n_barcodes": n_bc[valid].astype(np.int64),
                "se2": se2[valid],
            }
        )
        if frame["se2"].notna().any():
            frame["se2"] = frame["se2"].fillna(frame["se2"].median())
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=PER_REPLICATE)
    # Barcode effects persist across replicates (the same plasmids): the spread of each barcode's
    # replicate-averaged ratio, over the element's barcodes, is the barcode part of the pooled CI.
    has = bn > 0
    bbar = bsum[has] / bn[has]
    c = codes[has]
    k = np.bincount(c, minlength=n).astype(np.float64)
    s1 = np.bincount(c, weights=bbar, minlength=n)
    s2 = np.bincount(c, weights=bbar * bbar, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.maximum((s2 - s1 * s1 / k) / (k - 1), 0) / k
    out = pd.concat(frames, ignore_index=True)
    out["se2_pooled"] = (
        pd.Series(pooled, index=np.asarray(names)).reindex(out["oligo_name"]).to_numpy()
    )
    return out[PER_REPLICATE]


def replicate_activity_from_oligos(counts: OligoCounts, settings: IGVFSettings) -> pd.DataFrame:
    """Build the same table from oligo-level counts (``reporter_experiment``): no barcodes."""
    t = counts.table
    pc = settings.pseudocount
    frames = []
    for rep, g in t.groupby("replicate", sort=False):
        dna_total, rna_total = g["dna_counts"].sum(), g["rna_counts"].sum()
        if dna_total == 0 or rna_total == 0:
            continue
        keep = (g["n_bc"] >= settings.min_barcodes) & (g["dna_counts"] >= settings.min_dna)
        g = g[keep]
        frames.append(
            pd.DataFrame(
                {
                    "oligo_name": g["oligo_name"].to_numpy(),
                    "replicate": str(rep),
                    "dna_counts": g["dna_counts"].to_numpy(),
                    "rna_counts": g["rna_counts"].to_numpy(),
                    "dna_normalized": g["dna_counts"].to_numpy() / dna_total * 1e6,
                    "rna_normalized": g["rna_counts"].to_numpy() / rna_total * 1e6,
                    "log2_ratio": np.log2(
                        (g["rna_counts"].to_numpy() + pc) / (g["dna_counts"].to_numpy() + pc)
                    )
                    + np.log2(dna_total / rna_total),
                    "n_barcodes": g["n_bc"].to_numpy(),
                    "se2": np.nan,
                    "se2_pooled": np.nan,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=PER_REPLICATE)
    return pd.concat(frames, ignore_index=True)[PER_REPLICATE]


def pooled_activity(per_rep: pd.DataFrame, settings: IGVFSettings) -> pd.DataFrame:
    """Pool the replicates of each element: activity, CI, barcodes, replicates, mean CPM."""
    g = per_rep.groupby("oligo_name", sort=True)
    n = g["log2_ratio"].count().astype(np.float64)
    mean = g["log2_ratio"].mean()
    var_rep = g["log2_ratio"].var(ddof=1)
    # Replicate variance shrunk towards the experiment's (3 replicates estimate it poorly).
    prior = float(var_rep.mean()) if var_rep.notna().any() else 0.0
    dfr = n - 1
    var_rep_s = ((dfr * var_rep.fillna(0) + PRIOR_DF * prior) / (dfr + PRIOR_DF)).fillna(prior)
    if "se2_pooled" in per_rep.columns:
        bc = g["se2_pooled"].first()
    else:
        bc = pd.Series(np.nan, index=mean.index)
    variance = bc.fillna(0) + var_rep_s / n
    z = stats.norm.ppf(0.5 + settings.ci_level / 2)
    half = z * np.sqrt(variance)
    out = pd.DataFrame(
        {
            "oligo_name": mean.index.to_numpy(),
            "activity": mean.to_numpy(),
            "ci_low": (mean - half).to_numpy(),
            "ci_high": (mean + half).to_numpy(),
            "se": np.sqrt(variance).to_numpy(),
            "n_replicates": n.to_numpy().astype(np.int64),
            "n_barcodes": g["n_barcodes"].sum().to_numpy(),
            "dna_normalized": g["dna_normalized"].mean().to_numpy(),
            "rna_normalized": g["rna_normalized"].mean().to_numpy(),
        }
    )
    return out


def activity_long(per_rep: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """Return the command's long table: per element and replicate, plus the pooled activity."""
    cols = ["oligo_name", "activity", "ci_low", "ci_high", "n_replicates"]
    out = per_rep[["oligo_name", "replicate", "log2_ratio", "n_barcodes"]].merge(
        pooled[cols], on="oligo_name", how="left"
    )
    return out.sort_values(["oligo_name", "replicate"], kind="stable").reset_index(drop=True)
