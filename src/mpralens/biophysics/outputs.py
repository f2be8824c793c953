"""Writing a biophysical fit: parameters, energy matrices, logos, training curve, information.

Layout of ``results/biophysics/<dataset>/<model>/``: ``params.json`` (every scalar in kcal/mol,
the best restart's value with mean and standard deviation over restarts; kinetic log-rates in
natural-log units), ``<site>_matrix.tsv`` (``pos, A, C, G, T`` in kcal/mol, zero mean at every
position), ``logos.png`` (y axis inverted so favourable, negative energies point up as in
Kinney et al.), ``training_curve.png`` and ``.tsv`` (validation NLL per epoch, or every 25th
L-BFGS iteration, and restart; for interaction energies a second panel with the profile, also in
``profile.tsv``: with ``lbfgs`` the likelihood-ratio profile that gives the 95% interval in
``params.json``, with ``adam`` each restart's validation profile) and ``info.json`` (test NLL,
variational and predictive information, bits per read).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.biophysics.fit import Restart


def params_summary(restarts: list[Restart]) -> dict:
    """Scalars of the best restart with their spread over restarts (kcal/mol)."""
    best = restarts[0]
    values = [r.model.scalar_energies() for r in restarts]
    out = {}
    for name in values[0]:
        factor = 1.0 if name.startswith("log_k") else KCAL_PER_KT
        v = np.array([d[name] for d in values]) * factor
        out[name] = {
            "value": float(v[0]),
            "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        }
    summary = {
        "units": "kcal/mol (1 kT = 0.616 kcal/mol); log_k_* are natural-log rates",
        "best_restart_seed": best.seed,
        "restart_val_nll_nats_per_read": [r.val_nll for r in restarts],
        "restart_seconds": [r.seconds for r in restarts],
        "parameters": out,
    }
    if any(np.isfinite(r.objective) for r in restarts):  # lbfgs: did each restart converge?
        summary["restart_converged"] = [r.converged for r in restarts]
    if best.intervals:
        summary["interaction_profile"] = {
            "method": "maximum penalised likelihood, every parameter free (L-BFGS to a gradient "
            "tolerance); 95% profile-likelihood interval: refits with the interaction held at "
            "steps from the estimate, bound where 2 x log-likelihood ratio crosses 3.84 (null: "
            "not reached within the profiled steps)",
            "interval_95_kcal_per_mol": {
                f"dG_{n}": [None if b is None else b * KCAL_PER_KT for b in bounds]
                for n, bounds in best.intervals.items()
            },
        }
    elif best.profile:
        names = [k for k in best.profile[0] if k not in _PROFILE_SCORES]
        summary["interaction_profile"] = {
            "method": "interaction energies held at each grid point, the rest fitted; estimate = "
            "vertex of a quadratic fitted to the validation profile near its minimum",
            "grid_kcal_per_mol": sorted({p[n] * KCAL_PER_KT for p in best.profile for n in names}),
            "at_grid_edge": {
                f"dG_{n}": any(r.at_grid_edge[j] for r in restarts) for j, n in enumerate(names)
            },
        }
    return summary


_PROFILE_SCORES = ("val_nll", "objective", "lr_stat")


def profile_table(restarts: list[Restart]) -> pd.DataFrame:
    """Tabulate every restart's profile: ``seed``, ``dG_<name>`` (kcal/mol), ``val_nll``.

    Profiles of the lbfgs scheme add ``objective`` (penalised training NLL per read) and
    ``lr_stat`` (twice the log-likelihood ratio against the estimate).
    """
    rows = [
        {"seed": r.seed}
        | {f"dG_{k}": v * KCAL_PER_KT for k, v in p.items() if k not in _PROFILE_SCORES}
        | {k: p[k] for k in _PROFILE_SCORES if k in p}
        for r in restarts
        for p in r.profile
    ]
    return pd.DataFrame(rows)


def matrices(restart: Restart) -> dict[str, pd.DataFrame]:
    """Gauge-fixed energy matrices in kcal/mol, one ``pos, A, C, G, T`` frame per site."""
    thetas, _ = restart.model.energies.gauge_fixed()
    out = {}
    for site, th in zip(restart.model.spec.sites, thetas, strict=True):
        m = th.detach().numpy().T * KCAL_PER_KT
        df = pd.DataFrame(m, columns=list("ACGT"))
        df.insert(0, "pos", np.arange(site.start, site.start + site.length))
        out[site.name] = df
    return out


def training_curve(restarts: list[Restart]) -> pd.DataFrame:
    """Return the validation NLL per epoch of every restart (``restart`` 0 is the best)."""
    return pd.concat(
        [pd.DataFrame(r.curve).assign(restart=i, seed=r.seed) for i, r in enumerate(restarts)],
        ignore_index=True,
    )


def write_fit(restarts: list[Restart], info: dict, outdir: str | Path) -> None:
    """Write every table of a fit into ``outdir`` (caller makes it atomic; figures: plots)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "params.json").write_text(json.dumps(params_summary(restarts), indent=2) + "\n")
    (out / "info.json").write_text(
        json.dumps(
            {k: float(v) if isinstance(v, float | np.floating) else v for k, v in info.items()},
            indent=2,
        )
        + "\n"
    )
    for name, df in matrices(restarts[0]).items():
        df.to_csv(out / f"{name}_matrix.tsv", sep="\t", index=False, float_format="%.5g")
    training_curve(restarts).to_csv(
        out / "training_curve.tsv", sep="\t", index=False, float_format="%.6g"
    )
    profile = profile_table(restarts)
    if len(profile):
        profile.to_csv(out / "profile.tsv", sep="\t", index=False, float_format="%.7g")
