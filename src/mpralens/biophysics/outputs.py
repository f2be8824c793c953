"""Writing a biophysical fit: parameters, energy matrices, logos, training curve, information.

Layout of ``results/biophysics/<dataset>/<model>/``: ``params.json`` (every scalar in kcal/mol,
the best restart's value with mean and standard deviation over restarts; kinetic log-rates in
natural-log units), ``<site>_matrix.tsv`` (``pos, A, C, G, T`` in kcal/mol, zero mean at every
position), ``logos.png`` (logomaker; y axis inverted so favourable, negative energies point up as
in Kinney et al.), ``training_curve.png`` and ``.tsv`` (validation NLL per epoch and restart) and
``info.json`` (test NLL, variational and predictive information, bits per read).
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
    return {
        "units": "kcal/mol (1 kT = 0.616 kcal/mol); log_k_* are natural-log rates",
        "best_restart_seed": best.seed,
        "restart_val_nll_nats_per_read": [r.val_nll for r in restarts],
        "restart_seconds": [r.seconds for r in restarts],
        "parameters": out,
    }


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
    fig, ax = plt.subplots(figsize=(5, 3.2))
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
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=110)
    plt.close(fig)
