"""Genomic intervals from BED files or the simulator's site tables."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError


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
    from mpralens.io.tables import read_tsv, to_int

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


def read_site_files(paths: list[str | PathLike[str]] | None) -> pd.DataFrame | None:
    """Read and stack :func:`read_intervals` of every file; None when no file is given."""
    return pd.concat([read_intervals(p) for p in paths]) if paths else None
