"""ISM outputs a genome browser and a reader can use: bigWig tracks, site intervals, a figure."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.errors import InputError


def chrom_sizes(genome: str | PathLike[str] | None, table: pd.DataFrame) -> dict[str, int]:
    """Chromosome lengths: from the genome's index, else the last scored base of each chromosome."""
    if genome is not None:
        from mpralens.sequences import read_fasta_index

        fa = read_fasta_index(genome)
        return {name: len(fa[name]) for name in fa.keys()}
    last = table.groupby("chrom", sort=False)["pos"].max()
    return {str(c): int(p) + 1 for c, p in last.items()}


def write_bigwigs(
    table: pd.DataFrame, sizes: dict[str, int], outdir: str | PathLike[str]
) -> list[Path]:
    """One bigWig per task (``<task>.bw``) of the per-base scores, 1-bp steps.

    Scored bases only (NaN scores are left out). Where regions overlap, a base's score is the mean
    of its regions' scores (a bigWig holds one value per base).
    """
    import pyBigWig

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    order = {c: i for i, c in enumerate(sizes)}
    missing = sorted(set(table["chrom"]) - set(order))
    if missing:
        raise InputError(f"chromosome {missing[0]!r} of the ISM scores is not in the genome")
    written = []
    for task, t in table[table["score"].notna()].groupby("task", sort=True):
        per_base = t.groupby(["chrom", "pos"], sort=False)["score"].mean().reset_index()
        per_base["rank"] = per_base["chrom"].map(order)
        per_base = per_base.sort_values(["rank", "pos"], kind="stable")
        path = outdir / f"{task}.bw"
        bw = pyBigWig.open(str(path), "w")
        bw.addHeader(list(sizes.items()), maxZooms=4)
        for chrom, c in per_base.groupby("chrom", sort=False):
            starts = c["pos"].to_numpy(dtype=np.int64)
            bw.addEntries(
                [str(chrom)] * len(c),
                starts.tolist(),
                ends=(starts + 1).tolist(),
                values=c["score"].to_numpy(dtype=np.float64).tolist(),
            )
        bw.close()
        written.append(path)
    return written


def read_intervals(path: str | PathLike[str]) -> pd.DataFrame:
    """Read site intervals ``chrom, start, end, name``.

    From a BED file (no header, name optional) or a headed TSV with those columns (the
    simulator's ``truth/sites.tsv``, name = ``tf``).
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    try:
        head = pd.read_csv(path, sep="\t", nrows=1, header=None, dtype=str)
    except pd.errors.EmptyDataError:
        raise InputError("file is empty; expected intervals chrom start end", path=path) from None
    if str(head.iloc[0, 0]) in ("chrom", "region_id"):
        # Chromosome names stay text ("1", not the integer 1), as in the BED branch.
        df = pd.read_csv(path, sep="\t", dtype={"chrom": str})
        if not {"chrom", "start", "end"} <= set(df.columns):
            raise InputError("a headed sites table needs columns chrom, start, end", path=path)
        name = df["tf"] if "tf" in df.columns else df.get("name", pd.Series([""] * len(df)))
        return pd.DataFrame(
            {"chrom": df["chrom"], "start": df["start"], "end": df["end"], "name": name}
        )
    from mpralens.tables import read_tsv, to_int

    df = read_tsv(path, columns=["chrom", "start", "end"], header=False)
    starts = to_int(df, "start", what="BED start")
    ends = to_int(df, "end", what="BED end")
    bad = np.flatnonzero(ends <= starts)
    if bad.size:
        raise InputError(
            "BED end must be greater than start", path=path, line=df.attrs["first_line"] + bad[0]
        )
    return pd.DataFrame(
        {
            "chrom": df["chrom"].astype(str),
            "start": starts,
            "end": ends,
            "name": df["3"].astype(str) if "3" in df.columns else "",
        }
    )


def plot_top_regions(
    table: pd.DataFrame,
    path: str | PathLike[str],
    *,
    sites: pd.DataFrame | None = None,
    top: int = 6,
) -> list[str]:
    """Score tracks of the ``top`` regions with the largest mean |score|, sites shaded.

    Returns the plotted region IDs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    strength = table.assign(a=table["score"].abs()).groupby("region_id")["a"].mean()
    chosen = list(strength.sort_values(ascending=False, kind="stable").index[:top])
    fig, axes = plt.subplots(max(len(chosen), 1), 1, figsize=(10, 1.9 * max(len(chosen), 1)))
    axes = np.atleast_1d(axes)
    for ax, rid in zip(axes, chosen, strict=False):
        r = table[table["region_id"] == rid]
        chrom = r["chrom"].iloc[0]
        lo, hi = int(r["pos"].min()), int(r["pos"].max()) + 1
        if sites is not None:
            s = sites[(sites["chrom"] == chrom) & (sites["end"] > lo) & (sites["start"] < hi)]
            for st, en, name in zip(s["start"], s["end"], s["name"], strict=True):
                ax.axvspan(st, en, color="0.85", lw=0)
                ax.text(
                    (st + en) / 2,
                    1.0,
                    str(name),
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=6,
                )
        for task, t in r.groupby("task", sort=True):
            ax.plot(t["pos"], t["score"], lw=0.8, label=task)
        ax.axhline(0, color="0.5", lw=0.5)
        ax.set_xlim(lo, hi)
        ax.set_ylabel("ISM score")
        ax.set_title(f"{rid} ({chrom}:{lo}-{hi})", fontsize=8, loc="left")
    axes[0].legend(fontsize=6, ncol=4, loc="upper right")
    axes[-1].set_xlabel("genome position (0-based)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return chosen
