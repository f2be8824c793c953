"""Reading the plain-text tables users bring, with errors that name the file and line.

One reader for headerless and headed TSV files keeps every parser's checks alike: the expected
columns, no empty file, no missing fields, integers where integers are expected, no duplicate IDs.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.errors import InputError


def read_tsv(
    path: str | PathLike[str],
    *,
    columns: Sequence[str],
    header: bool,
    min_columns: int | None = None,
    skip_lines: int = 0,
) -> pd.DataFrame:
    """Read a tab-separated file as strings, checking its shape.

    Parameters
    ----------
    path
        File to read; ``.gz`` files are decompressed (a truncated archive is an error).
    columns
        Column names (headed files: the required columns; headerless files: the names given to
        the first ``len(columns)`` fields).
    header
        Whether the first line is a header.
    min_columns
        Headerless files only: minimum number of fields per line (default ``len(columns)``);
        extra fields are kept under integer-like names ``"4"``, ``"5"``...
    skip_lines
        Lines to skip before the header or data (counted in reported line numbers).

    Returns
    -------
    pandas.DataFrame
        All values as ``str``; ``df.attrs["first_line"]`` is the file line of row 0.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    text = _read_text(path)
    lines = text.splitlines()[skip_lines:]
    if not lines or all(not ln.strip() for ln in lines):
        raise InputError("file is empty" if not skip_lines else "file has no data rows", path=path)
    first_line = skip_lines + (2 if header else 1)
    if header:
        head = lines[0].rstrip("\r").split("\t")
        missing = [c for c in columns if c not in head]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}; header has {', '.join(head)}",
                path=path,
                line=1,
            )
        names = head
        body = lines[1:]
    else:
        names = None
        body = lines
    rows = [ln.rstrip("\r").split("\t") for ln in body]
    # A trailing blank line is common and harmless; blank lines inside are not.
    while rows and rows[-1] == [""]:
        rows.pop()
    widths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    if names is not None:
        bad = np.flatnonzero(widths != len(names))
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"expected {len(names)} tab-separated fields, found {widths[i]}",
                path=path,
                line=first_line + i,
            )
    else:
        need = len(columns) if min_columns is None else min_columns
        bad = np.flatnonzero(widths < need)
        if bad.size == 0 and widths.size and (widths != widths[0]).any():
            bad = np.flatnonzero(widths != widths[0])
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"expected {need if widths[i] < need else widths[0]} tab-separated fields, "
                f"found {widths[i]}",
                path=path,
                line=first_line + i,
            )
        width = int(widths[0]) if widths.size else len(columns)
        names = list(columns) + [str(j) for j in range(len(columns), width)]
    if not rows:
        raise InputError("file has a header but no data rows", path=path)
    df = pd.DataFrame(rows, columns=names, dtype=str)
    empty = (df[list(columns)] == "").to_numpy()
    if empty.any():
        i, j = (int(v) for v in np.argwhere(empty)[0])
        raise InputError(f"empty value in column '{columns[j]}'", path=path, line=first_line + i)
    df.attrs["first_line"] = first_line
    df.attrs["path"] = str(path)
    return df


def _read_text(path: Path) -> str:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt") as fh:
                return fh.read()
        return path.read_text()
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(
            f"cannot read file ({exc}); is it a complete, valid file?", path=path
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError("file is not text (UTF-8)", path=path) from exc


def to_int(df: pd.DataFrame, column: str, *, what: str, nonnegative: bool = True) -> np.ndarray:
    """Parse a string column as integers, naming the first bad line.

    Parameters
    ----------
    df
        Frame from :func:`read_tsv`.
    column
        Column to parse.
    what
        What the values are, for the message (``"count"``, ``"start"``).
    nonnegative
        Whether negative values are errors.

    Returns
    -------
    numpy.ndarray
        ``int64`` values.
    """
    values = df[column].str.strip()
    ok = values.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"{what} must be an integer, found {df[column].iloc[i]!r}",
            path=df.attrs.get("path"),
            line=df.attrs.get("first_line", 1) + i,
        )
    out = values.astype(np.int64).to_numpy()
    if nonnegative and (out < 0).any():
        i = int(np.flatnonzero(out < 0)[0])
        raise InputError(
            f"{what} must be non-negative, found {out[i]}",
            path=df.attrs.get("path"),
            line=df.attrs.get("first_line", 1) + i,
        )
    return out


def check_unique(df: pd.DataFrame, column: str, *, what: str) -> None:
    """Raise at the first repeated value of ``column``."""
    dup = df[column].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"duplicate {what} {df[column].iloc[i]!r}",
            path=df.attrs.get("path"),
            line=df.attrs.get("first_line", 1) + i,
        )


def write_tsv(df: pd.DataFrame, path: str | PathLike[str]) -> None:
    """Write a TSV (gzipped when ``path`` ends in ``.gz``) byte-identically for equal input.

    The gzip header's timestamp is fixed at 0 so that reruns give identical files.
    """
    compression = (
        {"method": "gzip", "mtime": 0, "compresslevel": 5} if str(path).endswith(".gz") else None
    )
    df.to_csv(path, sep="\t", index=False, compression=compression, float_format="%.8g")


def member(values, reference) -> np.ndarray:
    """Boolean mask: which ``values`` occur in ``reference``.

    Hash-based on object arrays: pandas 3's ``Series.isin`` on Arrow-backed strings falls back to
    a Python loop that took minutes at the full Sharpr scale.
    """
    ref = pd.Index(np.asarray(reference, dtype=object)).unique()
    return ref.get_indexer(np.asarray(values, dtype=object)) >= 0
