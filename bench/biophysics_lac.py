"""Fit the lac thermodynamic model to the real sort-seq data; print JSON.

Measured: wall time of the workflow's fit (all restarts, dG_I profiled over the interaction grid),
its test predictive and variational information (bits) and dG_I of every restart (kcal/mol), and
``uptime``'s load average before and after (the machine is shared). With ``--peer mavenn``, the
same run then fits MAVE-NN 1.1.4's thermodynamic model (bench/peers/mavenn_lac.py: its tutorial's
custom G-P map and settings) on the same split, in its own virtual environment under
``bench/.peers/mavenn`` (built on first use with ``python3.11 -m venv`` and ``pip install
mavenn==1.1.4``, which pulls TensorFlow), and scores its test-set latent phi with the same
predictive-information estimator. ``ratio`` is MAVE-NN's fit time over ours. ``--optimizer``
picks our scheme (default: the settings' default, which the workflow runs); ``--baseline`` also
times the other one on the same restarts and grid.

With ``--peer-timeout S`` MAVE-NN is stopped after S seconds and the ratio is reported as a lower
bound (``ratio_mavenn_over_ours_at_least``, from its fit time so far: the peer script marks the
fit's start on stderr, after TensorFlow's import and the data's loading).

Usage: python bench/biophysics_lac.py [--restarts 2] [--optimizer adam|lbfgs] [--peer mavenn]
       [--peer-timeout S] [--baseline]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import yaml

from mpralens.biophysics.data import read_sortseq
from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.biophysics.fit import FitSettings, fit_sortseq, information
from mpralens.biophysics.information import predictive_information
from mpralens.biophysics.spec import parse_spec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "resources/lac_sortseq/sortseq_data.csv.gz"
PEER = ROOT / "bench/.peers/mavenn"


def load() -> str:
    """Return the 1-minute load average (``/proc/loadavg``): the machine is shared."""
    return Path("/proc/loadavg").read_text().split()[0]


def ours(spec, data, settings: FitSettings) -> dict:
    t0 = time.perf_counter()
    restarts = fit_sortseq(spec, data, settings)
    seconds = time.perf_counter() - t0
    info = information(restarts[0], data.subset("test"))
    dg = [float(r.model.dG_int.detach()[0]) * KCAL_PER_KT for r in restarts]
    if settings.optimizer == "adam":  # per restart: the grid's points and one more
        fits = sum(len(r.profile) + 1 for r in restarts)
    else:  # one per restart, then the held points of the best one's profile
        fits = len(restarts) + max(len(restarts[0].profile) - 1, 0)
    extra = {}
    if settings.optimizer == "lbfgs":
        extra = {
            "converged": [r.converged for r in restarts],
            "restart_objective": [round(r.objective, 7) for r in restarts],
            "dG_I_interval_95_kcal_per_mol": [
                None if b is None else round(b * KCAL_PER_KT, 3)
                for b in restarts[0].intervals.get("I", (None, None))
            ],
        }
    return {
        "fit_s": round(seconds, 1),
        "fits": fits,
        "test_predictive_information_bits": round(info["predictive_information_bits"], 4),
        "test_variational_information_bits": round(info["variational_information_bits"], 4),
        "dG_I_kcal_per_mol_per_restart": [round(d, 3) for d in dg],
        "dG_I_kcal_per_mol_spread": round(max(dg) - min(dg), 3),
        "restart_val_nll": [round(r.val_nll, 6) for r in restarts],
        **extra,
    }


def build_peer() -> Path:
    """MAVE-NN 1.1.4's virtual environment (made once; it needs Python 3.11 for TensorFlow)."""
    python = PEER / "bin/python"
    if not python.exists():
        subprocess.run(["python3.11", "-m", "venv", str(PEER)], check=True)
        subprocess.run([str(PEER / "bin/pip"), "install", "-q", "mavenn==1.1.4"], check=True)
    return python


def mavenn(data, timeout: float | None) -> dict:
    """MAVE-NN's fit; past ``timeout`` seconds it is stopped and only its time so far returned."""
    python = build_peer()
    with tempfile.TemporaryDirectory() as tmp:
        phi_file = Path(tmp) / "phi.npy"
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [str(python), str(ROOT / "bench/peers/mavenn_lac.py"), str(DATA), str(phi_file)],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": ""},
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            # Its fit so far: from the moment the script says the fit starts (after TensorFlow's
            # import and the data's loading) to now.
            err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
            marks = [ln.split()[1] for ln in err.splitlines() if ln.startswith("FIT_START ")]
            fit_s = time.time() - float(marks[0]) if marks else float("nan")
            return {
                "finished": False,
                "stopped_after_s": round(time.perf_counter() - t0, 1),
                "fit_s_at_least": round(fit_s, 1),
            }
        if proc.returncode != 0:
            sys.exit(f"MAVE-NN failed:\n{proc.stderr[-3000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        phi = np.load(phi_file)
    test = data.subset("test")
    out["test_predictive_information_bits"] = round(predictive_information(phi, test.counts), 4)
    return {"finished": True, **out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workflow_fit = yaml.safe_load((ROOT / "config/config.yaml").read_text())["biophysics"]["fit"]
    ap.add_argument("--restarts", type=int, default=workflow_fit.get("restarts", 2))
    ap.add_argument(
        "--workers",
        type=int,
        default=workflow_fit.get("workers", 1),
        help="processes for the restarts and the interval (default: config/config.yaml's)",
    )
    ap.add_argument("--peer", choices=["mavenn"], default=None)
    ap.add_argument("--optimizer", choices=["adam", "lbfgs"], default="lbfgs")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument(
        "--peer-timeout",
        type=float,
        default=None,
        help="stop MAVE-NN after this many seconds and report the ratio as a lower bound",
    )
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    spec = parse_spec(
        "lac", yaml.safe_load((ROOT / "config/biophysics/lac_thermo.yaml").read_text())
    )
    data = read_sortseq(DATA, n_bins=10, length=75)
    settings = FitSettings(restarts=args.restarts, optimizer=args.optimizer, workers=args.workers)
    other = "lbfgs" if args.optimizer == "adam" else "adam"
    result: dict = {
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_1min_start": load(),
        "restarts": args.restarts,
        "workers": args.workers,
        "optimizer": args.optimizer,
        "measurement_hidden_units": settings.hidden,
        "ours": ours(spec, data, settings),
    }
    if args.optimizer == "adam":  # the grid applies to adam's profile only
        result["profile_grid_kT"] = settings.interaction_grid
    result["load_1min_after_ours"] = load()
    print(json.dumps({"ours": result["ours"]}), file=sys.stderr, flush=True)  # kept if a peer fails
    if args.baseline:
        result[f"baseline_{other}"] = ours(
            spec, data, settings.model_copy(update={"optimizer": other})
        )
        result[f"ours_speedup_over_{other}"] = round(
            result[f"baseline_{other}"]["fit_s"] / result["ours"]["fit_s"], 2
        )
        result["load_1min_after_baseline"] = load()
    if args.peer == "mavenn":
        peer = result["mavenn"] = mavenn(data, args.peer_timeout)
        result["load_1min_after_mavenn"] = load()
        if peer["finished"]:
            result["ratio_mavenn_over_ours"] = round(peer["fit_s"] / result["ours"]["fit_s"], 2)
            result["information_ours_minus_mavenn_bits"] = round(
                result["ours"]["test_predictive_information_bits"]
                - peer["test_predictive_information_bits"],
                4,
            )
        else:  # stopped: its time so far bounds the ratio from below
            result["ratio_mavenn_over_ours_at_least"] = round(
                peer["fit_s_at_least"] / result["ours"]["fit_s"], 2
            )
    result["reference_mavenn_2core_idle_s"] = 386
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
