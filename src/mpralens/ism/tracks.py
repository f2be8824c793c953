"""ISM outputs a genome browser and a reader can use: bigWig tracks, site intervals, a figure."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError


def chrom_sizes(genome: str | PathLike[str] | None, table: pd.DataFrame) -> dict[str, int]:
    """Chromosome lengths: from the genome's index, else the last scored base of each chromosome."""
    if genome is not None:
        from mpralens.io.sequences import read_fasta_index

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
