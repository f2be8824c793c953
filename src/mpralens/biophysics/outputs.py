"""Writing a biophysical fit: parameters, energy matrices, logos, training curve, information.

Layout of ``results/biophysics/<dataset>/<model>/``: ``params.json`` (every scalar in kcal/mol,
the best restart's value with mean and standard deviation over restarts; kinetic log-rates in
natural-log units), ``<site>_matrix.tsv`` (``pos, A, C, G, T`` in kcal/mol, zero mean at every
position), ``logos.png`` (logomaker; y axis inverted so favourable, negative energies point up as
in Kinney et al.), ``training_curve.png`` and ``.tsv`` (validation NLL per epoch and restart; for
profiled interaction energies a second panel with each restart's validation profile, also in
``profile.tsv``) and ``info.json`` (test NLL, variational and predictive information, bits per
read).
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
    if best.profile:
        names = [k for k in best.profile[0] if k != "val_nll"]
        summary["interaction_profile"] = {
            "method": "interaction energies held at each grid point, the rest fitted; estimate = "
            "vertex of a quadratic fitted to the validation profile near its minimum",
            "grid_kcal_per_mol": sorted({p[n] * KCAL_PER_KT for p in best.profile for n in names}),
            "at_grid_edge": {
                f"dG_{n}": any(r.at_grid_edge[j] for r in restarts) for j, n in enumerate(names)
            },
        }
    return summary


def profile_table(restarts: list[Restart]) -> pd.DataFrame:
    """Tabulate every restart's profile: ``seed``, ``dG_<name>`` (kcal/mol), ``val_nll``."""
    rows = [
        {"seed": r.seed}
        | {f"dG_{k}": v * KCAL_PER_KT for k, v in p.items() if k != "val_nll"}
        | {"val_nll": p["val_nll"]}
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


def write_fit(restarts: list[Restart], info: dict, outdir: str | Path) -> None:
    """Write every output of a fit into ``outdir`` (caller makes it atomic)."""
    import logomaker
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    mats = matrices(restarts[0])
    for name, df in mats.items():
        df.to_csv(out / f"{name}_matrix.tsv", sep="\t", index=False, float_format="%.5g")
    fig, axes = plt.subplots(
        len(mats),
        1,
        figsize=(max(6, 0.22 * max(len(d) for d in mats.values())), 2.2 * len(mats)),
        squeeze=False,
    )
    for ax, (name, df) in zip(axes[:, 0], mats.items(), strict=True):
        logomaker.Logo(df.set_index("pos")[list("ACGT")], ax=ax, flip_below=False)
        ax.invert_yaxis()
        ax.set_ylabel(f"{name}\n(kcal/mol)")
    fig.tight_layout()
    fig.savefig(out / "logos.png", dpi=110)
    plt.close(fig)
    curve = pd.concat(
        [pd.DataFrame(r.curve).assign(restart=i, seed=r.seed) for i, r in enumerate(restarts)],
        ignore_index=True,
    )
    curve.to_csv(out / "training_curve.tsv", sep="\t", index=False, float_format="%.6g")
    profile = profile_table(restarts)
    if len(profile):
        profile.to_csv(out / "profile.tsv", sep="\t", index=False, float_format="%.7g")
    fig, axes = plt.subplots(1, 2 if len(profile) else 1, figsize=(10 if len(profile) else 5, 3.2))
    ax = np.atleast_1d(axes)[0]
    for i, g in curve.groupby("restart"):
        ax.plot(
            g["epoch"],
            g["val_nll"],
            lw=2 if i == 0 else 0.8,
            label=f"seed {g['seed'].iloc[0]}" + (" (best)" if i == 0 else ""),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation NLL (nats/read)")
    ax.legend(fontsize=7)
    if len(profile):
        _plot_profile(np.atleast_1d(axes)[1], profile, restarts)
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=110)
    plt.close(fig)


def _plot_profile(ax, profile: pd.DataFrame, restarts: list[Restart]) -> None:
    """Plot validation NLL against the first interaction energy per restart, estimates dashed."""
    name = next(c for c in profile.columns if c.startswith("dG_"))
    for i, r in enumerate(restarts):
        g = profile[profile["seed"] == r.seed].groupby(name)["val_nll"].min()
        est = r.model.scalar_energies()[name] * KCAL_PER_KT
        (line,) = ax.plot(g.index, g.to_numpy(), "o-", lw=2 if i == 0 else 0.8, ms=3)
        ax.axvline(est, color=line.get_color(), ls="--", lw=0.8)
        ax.plot([], [], color=line.get_color(), label=f"seed {r.seed}: {est:.2f} kcal/mol")
    ax.set_xlabel(f"{name} held at (kcal/mol)")
    ax.set_ylabel("validation NLL (nats/read)")
    ax.set_title("interaction energy profile (dashed: estimate)", fontsize=9)
    ax.legend(fontsize=7)
