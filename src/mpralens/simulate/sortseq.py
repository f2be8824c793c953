"""Synthetic sort-seq data from a known lac-like thermodynamic model, so recovery is testable.

The wild type is the lac promoter (Kinney et al. 2010); each variant mutates every base with
probability ``mutation_rate`` (12%). Activity is the 4-state CRP/RNAP thermodynamic model with
known energy matrices and interaction ``dG_I``. Each variant is seen in
``Poisson(cells_per_variant)`` cells whose expression is ``t * LogNormal(0, noise_sd)``; cells
are sorted into ``n_bins`` equal-population bins by expression. Output: the MAVE-NN CSV layout
(``set, ct_0.., x``) and ``truth.json`` (matrices in a zero-mean gauge, ``mu``, ``dG_I``; kT and
kcal/mol).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.config.settings import SortSeqSimulation
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.sequences import one_hot

LAC_WT = "AATTAATGTGAGTTAGCTCACTCATTAGGCACCCCAGGCTTTACACTTTATGCTTCCGGCTCGTATGTTGTGTGG"
CRP, RNAP = (1, 26), (34, 41)  # (start, length), 0-based, DATA.md section 2


def _mutagenise(n: int, rate: float, rng: np.random.Generator) -> list[str]:
    wt = np.frombuffer(LAC_WT.encode(), dtype=np.uint8)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    seqs = np.tile(wt, (n, 1))
    mutate = rng.random(seqs.shape) < rate
    code = np.searchsorted(bases, seqs)
    shift = rng.integers(1, 4, size=seqs.shape)
    seqs[mutate] = bases[(code[mutate] + shift[mutate]) % 4]
    return [row.tobytes().decode() for row in seqs]


def true_parameters(s: SortSeqSimulation, rng: np.random.Generator) -> dict:
    """Zero-mean-gauge matrices ``(4, length)`` and ``mu`` placing the WT at the set energies."""
    wt = one_hot([LAC_WT])[0]
    out = {}
    for name, (start, length), sd, e_wt in (
        ("CRP", CRP, s.crp_sd, s.wt_crp_energy),
        ("RNAP", RNAP, s.rnap_sd, s.wt_rnap_energy),
    ):
        theta = rng.normal(0.0, sd, (4, length))
        theta -= theta.mean(axis=0, keepdims=True)
        mu = e_wt - float((theta * wt[:, start : start + length]).sum())
        out[name] = {"theta": theta, "mu": mu, "start": start, "length": length}
    return out


def thermodynamic_activity(x: np.ndarray, params: dict, dG_I: float) -> np.ndarray:
    """4-state model activity ``P(RNAP bound)`` for one-hot ``x`` (``(n, 4, 75)``)."""
    e = {
        k: (x[:, :, p["start"] : p["start"] + p["length"]] * p["theta"]).sum(axis=(1, 2)) + p["mu"]
        for k, p in params.items()
    }
    w = np.stack(
        [np.zeros_like(e["CRP"]), -e["CRP"], -e["RNAP"], -e["CRP"] - e["RNAP"] - dG_I], axis=1
    )
    w -= w.max(axis=1, keepdims=True)
    p = np.exp(w) / np.exp(w).sum(axis=1, keepdims=True)
    return p[:, 2] + p[:, 3]


def simulate_sortseq(s: SortSeqSimulation, outdir: str | Path) -> None:
    """Write ``sortseq_data.csv.gz`` and ``truth.json`` to ``outdir`` (all or nothing).

    ``outdir`` is new, empty or an earlier sort-seq simulation's
    (:class:`mpralens.io.atomic.Folder`).
    """
    folder = Folder(Path(outdir), "simulate-sortseq")
    check_folder(folder)
    rng = np.random.default_rng(s.seed)
    params = true_parameters(s, rng)
    seqs = _mutagenise(s.n_variants, s.mutation_rate, rng)
    t = thermodynamic_activity(one_hot(seqs), params, s.dG_I)
    cells = rng.poisson(s.cells_per_variant, s.n_variants)
    owner = np.repeat(np.arange(s.n_variants), cells)
    expression = t[owner] * rng.lognormal(0.0, s.noise_sd, owner.size)
    edges = np.quantile(expression, np.linspace(0, 1, s.n_bins + 1)[1:-1])
    bins = np.searchsorted(edges, expression)
    counts = np.zeros((s.n_variants, s.n_bins), dtype=np.int64)
    np.add.at(counts, (owner, bins), 1)
    keep = counts.sum(axis=1) > 0
    split = rng.choice(["training", "validation", "test"], size=s.n_variants, p=[0.6, 0.2, 0.2])
    df = pd.DataFrame(counts[keep], columns=[f"ct_{i}" for i in range(s.n_bins)])
    df.insert(0, "set", split[keep])
    df["x"] = np.array(seqs)[keep]
    truth = {
        "settings": s.model_dump(mode="json"),
        "dG_I_kT": s.dG_I,
        "dG_I_kcal_per_mol": s.dG_I * KCAL_PER_KT,
        "sites": {
            k: {
                "start": p["start"],
                "length": p["length"],
                "mu_kT": p["mu"],
                "theta_kT": p["theta"].tolist(),
            }
            for k, p in params.items()
        },
    }
    with atomic_outputs(folder) as (tmp,):
        df.to_csv(
            tmp / "sortseq_data.csv.gz", index=False, compression={"method": "gzip", "mtime": 0}
        )
        (tmp / "truth.json").write_text(json.dumps(truth, indent=1) + "\n")
