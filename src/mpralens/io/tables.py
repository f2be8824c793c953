"""Reading the plain-text tables users bring, with errors that name the file and line.

One reader for headerless and headed TSV files keeps every parser's checks alike: the expected
columns, no empty file, no missing fields, integers where integers are expected, no duplicate IDs.

What spreadsheets and other platforms add to a table is read as the same table: a UTF-8 byte-order
mark, CRLF or CR-only (old Mac) line endings, and a tab at the end of a line (an empty last field
that no column claims: exported sheets often end every line with one). An empty last field is
kept when a column does claim it (a library sheet's empty ``sha256`` or ``cell``).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from mpralens.io.errors import InputError


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
    data = _read_bytes(path)
    widths, trailing, ends = _field_counts(data)
    if widths.size <= skip_lines:
        raise InputError("file is empty" if not skip_lines else "file has no data rows", path=path)
    first_line = skip_lines + (2 if header else 1)
    first_body = first_line - 1  # 0-based index of the first data line
    if header:
        head = data.split(b"\n", skip_lines + 1)[skip_lines].decode().split("\t")
        if len(head) > 1 and head[-1] == "":  # a trailing tab names no column
            head = head[:-1]
        missing = [c for c in columns if c not in head]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}; header has {', '.join(head)}",
                path=path,
                line=skip_lines + 1,
            )
        need = len(head)
        if widths.size <= first_body:
            raise InputError("file has a header but no data rows", path=path)
    else:
        first = int(widths[first_body] - trailing[first_body])
        need = max(first, len(columns) if min_columns is None else min_columns)
    body, trailing, ends = widths[first_body:], trailing[first_body:], ends[first_body:]
    # A line one field too long whose extra last field is empty ends in a tab: drop that tab.
    strip = trailing & (body == need + 1)
    if strip.any():
        keep = np.ones(len(data), dtype=bool)
        keep[ends[strip] - 1] = False
        data = np.frombuffer(data, dtype=np.uint8)[keep].tobytes()
        body = body - strip
    bad = np.flatnonzero(body != need)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"expected {need} tab-separated fields, found {int(body[i])}",
            path=path,
            line=first_line + i,
        )
    df = pd.read_csv(
        io.BytesIO(data),
        sep="\t",
        header=None,
        names=head if header else list(columns) + [str(j) for j in range(len(columns), need)],
        dtype=str,
        keep_default_na=False,
        na_values=[],
        quoting=csv.QUOTE_NONE,
        skiprows=first_line - 1,
        nrows=len(body),
        engine="c",
    )
    empty = (df[list(columns)] == "").to_numpy()
    if empty.any():
        i, j = (int(v) for v in np.argwhere(empty)[0])
        raise InputError(f"empty value in column '{columns[j]}'", path=path, line=first_line + i)
    df.attrs["first_line"] = first_line
    df.attrs["path"] = str(path)
    return df


def _read_bytes(path: Path) -> bytes:
    """Return the file's bytes, gunzipped for ``.gz``; unreadable or truncated files are errors."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
        data.decode("utf-8")
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(
            f"cannot read file ({exc}); is it a complete, valid file?", path=path
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError("file is not text (UTF-8)", path=path) from exc
    return normalize_text(data)


def normalize_text(data: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark and turn CRLF and CR-only line ends into LF.

    Line numbers stay those an editor shows: each CR-only line end still ends one line.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _field_counts(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line of LF-ended ``data``: tab-separated fields, whether it ends in a tab, its end.

    Vectorised; a blank line counts as 1 field. Trailing blank lines are dropped; blank lines
    inside stay, to be reported with their number. ``end`` is the byte offset of the line's LF
    (or of the end of the data).
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if buf.size and buf[-1] != 10:
        ends = np.append(ends, buf.size)
    starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
    tab_pos = np.flatnonzero(buf == 9)
    widths = np.searchsorted(tab_pos, ends) - np.searchsorted(tab_pos, starts) + 1
    trailing = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 9)
    blank = ends == starts
    n = len(widths)
    while n and blank[n - 1]:
        n -= 1
    return widths[:n], trailing[:n], ends[:n]


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
    check_int64(values, what=what, path=df.attrs.get("path"), lines=df.attrs.get("first_line", 1))
    out = values.astype(np.int64).to_numpy()
    if nonnegative and (out < 0).any():
        i = int(np.flatnonzero(out < 0)[0])
        raise InputError(
            f"{what} must be non-negative, found {out[i]}",
            path=df.attrs.get("path"),
            line=df.attrs.get("first_line", 1) + i,
        )
    return out


INT64_MAX = int(np.iinfo(np.int64).max)


def check_int64(
    values: pd.Series, *, what: str, path: str | PathLike[str] | None, lines: int | np.ndarray
) -> None:
    """Raise at the first integer string outside the 64-bit range (more than 9.2e18 in size).

    Parameters
    ----------
    values
        Strings already known to be optionally signed runs of digits.
    what
        What the values are, for the message.
    path
        File they came from.
    lines
        File line of ``values.iloc[0]`` (consecutive lines), or the line of every value.
    """
    digits = values.str.lstrip("+-").str.lstrip("0").str.len().to_numpy()
    # 19 digits may or may not fit (INT64_MAX has 19); only those few are parsed in Python.
    suspect = np.flatnonzero(digits >= 19)
    for i in suspect:
        if abs(int(values.iloc[i])) > INT64_MAX:
            line = int(lines[i]) if isinstance(lines, np.ndarray) else lines + int(i)
            raise InputError(
                f"{what} {values.iloc[i].strip()} is outside the 64-bit integer range "
                f"(at most {INT64_MAX:.2e} in size)",
                path=path,
                line=line,
            )


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

    The gzip header carries neither a timestamp nor a file name (outputs are written under
    temporary names first), so reruns give identical files.
    """
    if not str(path).endswith(".gz"):
        df.to_csv(path, sep="\t", index=False, float_format="%.8g")
        return
    import gzip

    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=5) as gz,
    ):
        df.to_csv(gz, sep="\t", index=False, float_format="%.8g", encoding="utf-8")


def member(values: npt.ArrayLike, reference: npt.ArrayLike) -> np.ndarray:
    """Boolean mask: which ``values`` occur in ``reference``.

    Hash-based on object arrays: pandas 3's ``Series.isin`` on Arrow-backed strings falls back to
    a Python loop that took minutes at the full Sharpr scale.
    """
    ref = pd.Index(np.asarray(reference, dtype=object)).unique()
    return ref.get_indexer(np.asarray(values, dtype=object)) >= 0
