"""Sort-seq data sets (Kinney et al. 2010 layout, as shipped with MAVE-NN).

CSV (optionally gzipped) with columns ``set`` (training / validation / test), ``ct_0 .. ct_{B-1}``
(reads per FACS bin, bin 0 lowest fluorescence) and ``x`` (the sequence, all of one length).
Other columns (an ID, a note) are ignored, as MAVE-NN does; a column named like a bin
(``ct_total``) is an error, since a misnamed bin would otherwise drop out of the fit. Every set
must have rows: training to fit, validation for early stopping and the profile, test for the
reported information.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.sequences import check_bases, one_hot

SETS = ("training", "validation", "test")


@dataclass
class SortSeqData:
    """Sequences (one-hot ``(n, 4, L)``), bin counts ``(n, n_bins)`` and the split of each row."""

    x: np.ndarray
    counts: np.ndarray
    split: np.ndarray
    sequences: list[str]

    def subset(self, name: str) -> SortSeqData:
        """Rows of one split."""
        m = self.split == name
        return SortSeqData(
            self.x[m],
            self.counts[m],
            self.split[m],
            [s for s, k in zip(self.sequences, m, strict=True) if k],
        )

    @property
    def n_bins(self) -> int:
        """Number of bins."""
        return self.counts.shape[1]


def read_sortseq(
    path: str | PathLike[str], *, n_bins: int | None = None, length: int | None = None
) -> SortSeqData:
    """Read and check a sort-seq table.

    Parameters
    ----------
    n_bins
        Bins the model expects (error if the file has another number).
    length
        Sequence length the model expects.
    """
    try:
        df = pd.read_csv(path, dtype={"set": str, "x": str})
    except FileNotFoundError as exc:
        raise InputError("file not found", path=path) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError("cannot read as CSV: the file is empty", path=path) from exc
    except (OSError, EOFError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read as CSV ({exc})", path=path) from exc
    named_bin = [c for c in df.columns if c.startswith("ct_")]
    odd = [c for c in named_bin if not c[3:].isdigit()]
    if odd:
        raise InputError(
            f"column {odd[0]!r} is named like a bin; bin columns are ct_0, ct_1, ... (rename "
            "or drop it)",
            path=path,
            line=1,
        )
    bins = sorted(named_bin, key=lambda c: int(c[3:]))
    for col in ("set", "x"):
        if col not in df.columns:
            raise InputError(
                f"missing column {col}; columns are {', '.join(df.columns)}", path=path, line=1
            )
    if not bins or bins != [f"ct_{i}" for i in range(len(bins))]:
        raise InputError("bin columns must be ct_0, ct_1, ... without gaps", path=path, line=1)
    if n_bins is not None and len(bins) != n_bins:
        raise InputError(
            f"the file has {len(bins)} bins; the model expects {n_bins}", path=path, line=1
        )
    bad_set = ~df["set"].isin(SETS).to_numpy()
    if bad_set.any():
        i = int(np.flatnonzero(bad_set)[0])
        raise InputError(
            f"set must be one of {SETS}, found {df['set'].iloc[i]!r}", path=path, line=i + 2
        )
    counts = np.column_stack([_bin_counts(df[b], b, path) for b in bins])
    empty = [s for s in SETS if not (df["set"] == s).any()]
    if empty:
        raise InputError(
            f"no {' and no '.join(empty)} rows (column set); a fit needs all of {', '.join(SETS)}"
            ": training to fit, validation for early stopping, test for the information",
            path=path,
        )
    seqs = df["x"].fillna("").str.upper()
    check_bases(seqs, path=path, first_line=2, length=length or int(seqs.str.len().iloc[0]))
    return SortSeqData(
        one_hot(list(seqs)), counts.astype(np.float32), df["set"].to_numpy(), list(seqs)
    )


def _bin_counts(column: pd.Series, name: str, path) -> np.ndarray:
    """One bin's reads as float64, or an error naming the first line that is no count."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(values) & (values >= 0) & (values == np.round(values))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"counts must be non-negative integers; column {name} has {column.iloc[i]!r}",
            path=path,
            line=i + 2,
        )
    return values
