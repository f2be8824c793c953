"""Fit the lac thermodynamic model to the real sort-seq data; print JSON.

Measured: wall time of one fit (one restart, dG_I fitted freely like every other parameter), and
of the workflow's fit (all restarts, dG_I profiled over the interaction grid: restarts x 8 fits),
test predictive and variational information (bits), dG_I (kcal/mol, best restart and spread over
restarts) of each. Baseline, same run: the same single fit done the plain way (a DataLoader that
collates one row at a time, Adam only, no L-BFGS polish). For reference, DATA.md: MAVE-NN 1.1.4 on
a 2-core machine took 386 s to a test predictive information of 0.713 bits.

Usage: python bench/biophysics_lac.py [--restarts 2]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings
from pathlib import Path

import torch
import yaml
from torch.utils.data import DataLoader, TensorDataset

from mpralens.biophysics import fit as fit_module
from mpralens.biophysics.data import read_sortseq
from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.biophysics.fit import FitSettings, fit_sortseq, information
from mpralens.biophysics.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]


def plain_loader(d, batch, shuffle, seed):
    ds = TensorDataset(torch.from_numpy(d.x), torch.from_numpy(d.counts))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=batch, shuffle=shuffle, generator=gen if shuffle else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--restarts", type=int, default=2)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    spec = parse_spec(
        "lac", yaml.safe_load((ROOT / "config/biophysics/lac_thermo.yaml").read_text())
    )
    data = read_sortseq(ROOT / "resources/lac_sortseq/sortseq_data.csv.gz", n_bins=10, length=75)
    test = data.subset("test")

    t0 = time.perf_counter()
    one = fit_sortseq(spec, data, FitSettings(restarts=1, interaction_grid=[]))[0]
    t_one = time.perf_counter() - t0
    one_info = information(one, test)
    t0 = time.perf_counter()
    allr = fit_sortseq(spec, data, FitSettings(restarts=args.restarts))
    t_all = time.perf_counter() - t0
    info = information(allr[0], test)
    dg = [float(r.model.dG_int.detach()[0]) * KCAL_PER_KT for r in allr]

    fast_loader = fit_module._loader
    fit_module._loader = plain_loader
    try:
        t0 = time.perf_counter()
        base = fit_sortseq(
            spec, data, FitSettings(restarts=1, polish_steps=0, interaction_grid=[])
        )[0]
        t_base = time.perf_counter() - t0
    finally:
        fit_module._loader = fast_loader
    base_info = information(base, test)
    print(
        json.dumps(
            {
                "threads": torch.get_num_threads(),
                "one_fit_s": round(t_one, 1),
                "one_fit_epochs": one.epochs,
                "one_fit_predictive_information_bits": round(
                    one_info["predictive_information_bits"], 4
                ),
                "one_fit_dG_I_kcal_per_mol": round(
                    float(one.model.dG_int.detach()[0]) * KCAL_PER_KT, 3
                ),
                "restarts": args.restarts,
                "profile_grid_kT": FitSettings().interaction_grid,
                "all_restarts_s": round(t_all, 1),
                "test_predictive_information_bits": round(info["predictive_information_bits"], 4),
                "test_variational_information_bits": round(info["variational_information_bits"], 4),
                "dG_I_kcal_per_mol_best": round(dg[0], 3),
                "dG_I_kcal_per_mol_per_restart": [round(d, 3) for d in dg],
                "dG_I_kcal_per_mol_sd_over_restarts": round(float(torch.tensor(dg).std()), 3),
                "baseline_plain_fit_s": round(t_base, 1),
                "baseline_plain_predictive_information_bits": round(
                    base_info["predictive_information_bits"], 4
                ),
                "speedup_one_fit_over_plain": round(t_base / t_one, 2),
                "reference_mavenn_2core_s": 386,
                "reference_mavenn_2core_bits": 0.713,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
