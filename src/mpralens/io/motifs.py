"""Motif files: MEME minimal format, JASPAR's ``.jaspar`` format, and JASPAR 2024 itself.

A motif is a named position probability matrix ``probs`` of ``shape=(length, 4)`` (columns
A, C, G, T; each row sums to 1). Two file formats are read:

* **MEME minimal** (``MEME version 4`` ... ``MOTIF id [name]`` then
  ``letter-probability matrix: alength= 4 w= W ...`` and ``W`` rows of 4 probabilities);
* **JASPAR** (``>ID NAME`` then four rows ``A [ c1 c2 ... ]`` for A, C, G, T: counts or
  frequencies, normalised per column).

A file that is neither, or a matrix that is malformed (wrong number of rows or columns, a negative
or non-numeric entry, an all-zero column), is one :class:`~mpralens.io.errors.InputError` naming
the file and line. :func:`write_meme` writes MEME minimal format that :func:`read_motifs` reads
back.

:func:`jaspar_core_vertebrates` loads JASPAR 2024 CORE vertebrates from pyjaspar's bundled
database (no network): 879 matrices, about 2.5 s per process (measured), so it is cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from os import PathLike
from pathlib import Path

import numpy as np

from mpralens.io.errors import InputError

JASPAR_RELEASE = "JASPAR2024"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Motif:
    """A named position probability matrix.

    Attributes
    ----------
    motif_id
        Identifier (JASPAR matrix ID, MEME motif name, or a filter/pattern label).
    name
        Display name (the factor; the ID when the file gives none).
    probs
        ``shape=(length, 4)``, columns A, C, G, T, rows summing to 1.
    """

    motif_id: str
    name: str
    probs: np.ndarray

    @property
    def length(self) -> int:
        """Motif length (columns)."""
        return int(self.probs.shape[0])


def _normalise(rows: list[list[float]], path: Path, line: int, what: str) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float64)
    if (m < 0).any() or not np.isfinite(m).all():
        raise InputError(f"{what} holds a negative or non-finite entry", path=path, line=line)
    sums = m.sum(axis=1, keepdims=True)
    if (sums <= 0).any():
        raise InputError(f"{what} has an all-zero position", path=path, line=line)
    return m / sums


def _numbers(tokens: list[str], path: Path, line: int) -> list[float]:
    bad = [t for t in tokens if not _NUMBER.match(t)]
    if bad:
        raise InputError(f"expected numbers, found {bad[0]!r}", path=path, line=line)
    return [float(t) for t in tokens]


def _read_meme(lines: list[str], path: Path) -> list[Motif]:
    motifs: list[Motif] = []
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if not text.startswith("MOTIF"):
            i += 1
            continue
        fields = text.split()
        if len(fields) < 2:
            raise InputError("a MOTIF line names no motif", path=path, line=i + 1)
        motif_id = fields[1]
        name = fields[2] if len(fields) > 2 else motif_id
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("letter-probability"):
            if lines[i].strip().startswith("MOTIF"):
                break
            i += 1
        if i >= len(lines) or not lines[i].strip().startswith("letter-probability"):
            raise InputError(
                f"motif {motif_id!r} has no 'letter-probability matrix:' line",
                path=path,
                line=start,
            )
        header = lines[i]
        w = re.search(r"\bw=\s*(\d+)", header)
        alength = re.search(r"\balength=\s*(\d+)", header)
        if alength is not None and int(alength.group(1)) != 4:
            raise InputError(
                f"motif {motif_id!r} has alength= {alength.group(1)}; only DNA (4 letters) is read",
                path=path,
                line=i + 1,
            )
        header_line = i + 1
        rows: list[list[float]] = []
        i += 1
        while i < len(lines):
            t = lines[i].split()
            if not t:
                if rows:
                    break
                i += 1
                continue
            if not _NUMBER.match(t[0]):
                break
            if len(t) != 4:
                raise InputError(
                    f"motif {motif_id!r}: a matrix row needs 4 probabilities, found {len(t)}",
                    path=path,
                    line=i + 1,
                )
            rows.append(_numbers(t, path, i + 1))
            i += 1
            if w is not None and len(rows) == int(w.group(1)):
                break
        if not rows:
            raise InputError(f"motif {motif_id!r} has no matrix rows", path=path, line=header_line)
        if w is not None and len(rows) != int(w.group(1)):
            raise InputError(
                f"motif {motif_id!r} declares w= {w.group(1)} but has {len(rows)} rows",
                path=path,
                line=header_line,
            )
        motifs.append(
            Motif(motif_id, name, _normalise(rows, path, header_line, f"motif {motif_id!r}"))
        )
    if not motifs:
        raise InputError("a MEME file with no MOTIF", path=path)
    return motifs


_JASPAR_ROW = re.compile(r"^([ACGT])\s*\[?([^\[\]]*)\]?\s*$")


def _read_jaspar(lines: list[str], path: Path) -> list[Motif]:
    motifs: list[Motif] = []
    i = 0
    while i < len(lines):
        text = lines[i].strip()
        if not text:
            i += 1
            continue
        if not text.startswith(">"):
            raise InputError(
                "expected a '>ID NAME' header line (JASPAR format)", path=path, line=i + 1
            )
        fields = text[1:].split()
        if not fields:
            raise InputError("a JASPAR header names no matrix", path=path, line=i + 1)
        motif_id = fields[0]
        name = fields[1] if len(fields) > 1 else motif_id
        header_line = i + 1
        counts: dict[str, list[float]] = {}
        i += 1
        while i < len(lines) and len(counts) < 4:
            t = lines[i].strip()
            if not t:
                i += 1
                continue
            m = _JASPAR_ROW.match(t)
            if m is None:
                raise InputError(
                    f"matrix {motif_id!r}: expected a row 'A [ counts ]' (A, C, G, T)",
                    path=path,
                    line=i + 1,
                )
            base = m.group(1)
            expected = "ACGT"[len(counts)]
            if base != expected:
                raise InputError(
                    f"matrix {motif_id!r}: expected row {expected}, found {base}",
                    path=path,
                    line=i + 1,
                )
            counts[base] = _numbers(m.group(2).split(), path, i + 1)
            i += 1
        if len(counts) < 4:
            raise InputError(
                f"matrix {motif_id!r} has {len(counts)} of the 4 rows A, C, G, T",
                path=path,
                line=header_line,
            )
        lengths = {len(v) for v in counts.values()}
        if len(lengths) != 1 or 0 in lengths:
            raise InputError(
                f"matrix {motif_id!r}: rows A, C, G, T differ in length or are empty",
                path=path,
                line=header_line,
            )
        rows = np.array([counts[b] for b in "ACGT"]).T.tolist()
        motifs.append(
            Motif(motif_id, name, _normalise(rows, path, header_line, f"matrix {motif_id!r}"))
        )
    if not motifs:
        raise InputError("a JASPAR file with no matrix", path=path)
    return motifs


def read_motifs(path: str | PathLike[str]) -> list[Motif]:
    """Read every motif of a MEME minimal or JASPAR file (told apart by their first line).

    Raises
    ------
    InputError
        The file is missing, is in neither format, or holds a malformed matrix (naming the file
        and line); motif IDs repeat.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise InputError("not a text file: expected MEME or JASPAR motifs", path=path) from None
    first = next(((n, t.strip()) for n, t in enumerate(lines, 1) if t.strip()), None)
    if first is None:
        raise InputError("empty file: expected MEME or JASPAR motifs", path=path)
    if first[1].startswith("MEME version"):
        motifs = _read_meme(lines, path)
    elif first[1].startswith(">"):
        motifs = _read_jaspar(lines, path)
    else:
        raise InputError(
            "neither MEME minimal format (first line 'MEME version ...') nor JASPAR format "
            "(first line '>ID NAME')",
            path=path,
            line=first[0],
        )
    seen: set[str] = set()
    for m in motifs:
        if m.motif_id in seen:
            raise InputError(f"motif ID {m.motif_id!r} repeats", path=path)
        seen.add(m.motif_id)
    return motifs


def write_meme(motifs: list[Motif], path: str | PathLike[str]) -> None:
    """Write ``motifs`` in MEME minimal format (uniform background, both strands)."""
    out = [
        "MEME version 4",
        "",
        "ALPHABET= ACGT",
        "",
        "strands: + -",
        "",
        "Background letter frequencies",
        "A 0.25 C 0.25 G 0.25 T 0.25",
        "",
    ]
    for m in motifs:
        name = f" {m.name}" if m.name != m.motif_id else ""
        out.append(f"MOTIF {m.motif_id}{name}")
        out.append(f"letter-probability matrix: alength= 4 w= {m.length} nsites= 20 E= 0")
        out += [" ".join(f"{v:.6f}" for v in row) for row in m.probs]
        out.append("")
    Path(path).write_text("\n".join(out))


@cache
def jaspar_core_vertebrates() -> tuple[Motif, ...]:
    """JASPAR 2024 CORE vertebrates from pyjaspar's bundled database (no network), once per process.

    Names are JASPAR's (e.g. ``GATA1``, ``FOS::JUN``); probabilities are the counts normalised per
    column.
    """
    from pyjaspar import jaspardb

    jdb = jaspardb(release=JASPAR_RELEASE)
    out = []
    for m in jdb.fetch_motifs(collection="CORE", tax_group=["vertebrates"]):
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64).T
        probs = counts / counts.sum(axis=1, keepdims=True)
        probs.setflags(write=False)
        out.append(Motif(str(m.matrix_id), str(m.name), probs))
    return tuple(out)


def information_content(probs: np.ndarray, background: float = 0.25) -> float:
    """Return the information content (bits) of a ``(length, 4)`` probability matrix.

    Against a uniform background: ``sum_i sum_b p_ib log2(p_ib / 0.25)``.
    """
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log2(p / background), 0.0)
    return float(terms.sum())
