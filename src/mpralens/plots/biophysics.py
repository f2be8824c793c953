"""Figures of a biophysical fit: energy-matrix logos, training curves and the dG_I profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.biophysics.energies import KCAL_PER_KT
from mpralens.biophysics.fit import Restart
from mpralens.biophysics.outputs import matrices, profile_table, training_curve
from mpralens.plots.letters import draw_logo
from mpralens.plots.style import pyplot


def plot_fit(restarts: list[Restart], outdir: str | Path) -> None:
    """Write ``logos.png`` and ``training_curve.png`` of a fit into ``outdir``."""
    plt = pyplot()
    out = Path(outdir)
    mats = matrices(restarts[0])
    fig, axes = plt.subplots(
        len(mats),
        1,
        figsize=(max(6, 0.22 * max(len(d) for d in mats.values())), 2.2 * len(mats)),
        squeeze=False,
    )
    for ax, (name, df) in zip(axes[:, 0], mats.items(), strict=True):
        draw_logo(ax, df[list("ACGT")].to_numpy(), start=int(df["pos"].iloc[0]), flip_below=False)
        ax.invert_yaxis()
        ax.set_ylabel(f"{name}\n(kcal/mol)")
    fig.tight_layout()
    fig.savefig(out / "logos.png", dpi=110)
    plt.close(fig)
    curve = training_curve(restarts)
    profile = profile_table(restarts)
    fig, axes = plt.subplots(1, 2 if len(profile) else 1, figsize=(10 if len(profile) else 5, 3.2))
    ax = np.atleast_1d(axes)[0]
    for i, g in curve.groupby("restart"):
        ax.plot(
            g["epoch"],
            g["val_nll"],
            lw=2 if i == 0 else 0.8,
            label=f"seed {g['seed'].iloc[0]}" + (" (best)" if i == 0 else ""),
        )
    ax.set_xlabel("epoch (adam) or L-BFGS iteration")
    ax.set_ylabel("validation NLL (nats/read)")
    ax.legend(fontsize=7)
    if len(profile):
        _plot_profile(np.atleast_1d(axes)[1], profile, restarts)
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=110)
    plt.close(fig)


def _plot_profile(ax, profile: pd.DataFrame, restarts: list[Restart]) -> None:
    """Plot the profile of the first interaction energy, estimates dashed.

    lbfgs: twice the log-likelihood ratio against the estimate, with the 95% threshold; adam: the
    validation NLL of every restart.
    """
    name = next(c for c in profile.columns if c.startswith("dG_"))
    score = "lr_stat" if "lr_stat" in profile.columns else "val_nll"
    for i, r in enumerate(restarts):
        g = profile[profile["seed"] == r.seed].groupby(name)[score].min()
        est = r.model.scalar_energies()[name] * KCAL_PER_KT
        (line,) = ax.plot(g.index, g.to_numpy(), "o-", lw=2 if i == 0 else 0.8, ms=3)
        ax.axvline(est, color=line.get_color(), ls="--", lw=0.8)
        ax.plot([], [], color=line.get_color(), label=f"seed {r.seed}: {est:.2f} kcal/mol")
    ax.set_xlabel(f"{name} held at (kcal/mol)")
    if score == "lr_stat":
        ax.axhline(3.84, color="grey", lw=0.8, ls=":")
        ax.set_ylabel("2 x log-likelihood ratio")
        ax.set_title("profile likelihood (dotted: 95% threshold)", fontsize=9)
    else:
        ax.set_ylabel("validation NLL (nats/read)")
        ax.set_title("interaction energy profile (dashed: estimate)", fontsize=9)
    ax.legend(fontsize=7)
