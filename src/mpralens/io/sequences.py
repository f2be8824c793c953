"""DNA sequences: validation, one-hot encoding, reverse complement and FASTA access.

One-hot arrays are ``float32`` with ``shape=(n, 4, length)`` in ACGT order; ``N`` encodes as all
zeros (no base is favoured), which is also how positions outside a genome are represented.
"""

from __future__ import annotations

import os
import re
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError

if TYPE_CHECKING:
    import pyfaidx

ALPHABET = "ACGT"
_VALID = re.compile(r"^[ACGTN]+$")
_LOOKUP = np.full(256, -1, dtype=np.int8)
for _i, _b in enumerate(ALPHABET):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i
_COMPLEMENT = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def reverse_complement(seq: str) -> str:
    """Return the reverse complement of ``seq`` (N stays N)."""
    return seq.translate(_COMPLEMENT)[::-1]


def check_bases(
    seqs: pd.Series, *, path: str | PathLike[str], first_line: int = 1, length: int | None = None
) -> None:
    """Raise :class:`InputError` at the first sequence that is not ACGTN or has the wrong length.

    Parameters
    ----------
    seqs
        Upper-case sequences, in file order.
    path
        File the sequences came from, for the message.
    first_line
        Line number of ``seqs.iloc[0]`` in ``path``.
    length
        Required length of every sequence, if any.
    """
    ok = seqs.str.fullmatch(_VALID.pattern).fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        bad = sorted(set(str(seqs.iloc[i])) - set("ACGTN"))
        raise InputError(
            f"sequence contains characters other than A, C, G, T, N: {''.join(bad)!r}",
            path=path,
            line=first_line + i,
        )
    if length is not None:
        lens = seqs.str.len().to_numpy()
        wrong = np.flatnonzero(lens != length)
        if wrong.size:
            i = int(wrong[0])
            raise InputError(
                f"sequence has length {int(lens[i])}, expected {length} (tile_length)",
                path=path,
                line=first_line + i,
            )


def one_hot(seqs: list[str] | np.ndarray, length: int | None = None) -> np.ndarray:
    """One-hot encode equal-length sequences.

    Parameters
    ----------
    seqs
        Sequences over ACGTN (either case); all of length ``length``.
    length
        Expected length; defaults to the first sequence's.

    Returns
    -------
    numpy.ndarray
        ``shape=(n, 4, length)``, ``float32``; N is all zeros.
    """
    seqs = list(seqs)
    if not seqs:
        return np.zeros((0, 4, length or 0), dtype=np.float32)
    length = len(seqs[0]) if length is None else length
    if any(len(s) != length for s in seqs):
        raise ValueError(f"one_hot needs sequences of equal length {length}")
    codes = _LOOKUP[np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)]
    codes = codes.reshape(len(seqs), length)
    out = np.zeros((len(seqs), 4, length), dtype=np.float32)
    n_idx, pos_idx = np.nonzero(codes >= 0)
    out[n_idx, codes[n_idx, pos_idx], pos_idx] = 1.0
    return out


def read_fasta_index(path: str | PathLike[str]) -> pyfaidx.Fasta:
    """Open an indexed FASTA with pyfaidx, after :func:`index_fasta` (checked, indexed if needed).

    Returns
    -------
    pyfaidx.Fasta
        Upper-case sequences, read lazily.
    """
    import pyfaidx

    index_fasta(path)
    try:
        return pyfaidx.Fasta(str(path), sequence_always_upper=True, rebuild=False)
    except (pyfaidx.FastaIndexingError, ValueError) as exc:
        raise InputError(f"not a valid FASTA file ({exc})", path=path) from exc


# FASTA bytes read per step while indexing: bounds memory whatever the genome's size.
_FASTA_BLOCK = 1 << 26
_GZIP_MAGIC = b"\x1f\x8b"


def index_fasta(path: str | PathLike[str]) -> Path:
    """Check a genome FASTA and return its samtools-style index (``<path>.fai``), built if missing.

    Cheap when an index exists (only the index is read and checked against the FASTA's size);
    else one pass over the FASTA checks it, with the line of the first problem, and writes the
    index beside it:

    - a record name used twice (pyfaidx would refuse it only after training, at ISM);
    - uneven line widths (every line of a record but its last must have the same width, and the
      same line ending), or a blank line inside a record: the index could not address the bases;
    - a record without bases (a truncated or badly joined file);
    - gzip compression: plain gzip cannot be indexed, and bgzip needs Biopython, which this
      environment does not have;
    - no index and a folder where none can be written (read-only storage).

    Returns
    -------
    pathlib.Path
        The index.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("genome FASTA not found", path=path)
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == _GZIP_MAGIC:
        raise InputError(
            "the genome FASTA is gzip-compressed, which cannot be indexed here (plain gzip has no "
            "random access; bgzip needs Biopython, not installed): decompress it (gunzip -k)",
            path=path,
        )
    fai = Path(f"{path}.fai")
    if fai.exists():
        # An index older than its FASTA may describe another sequence. Allow a minute: pyfaidx
        # stamps indexes with the FASTA's mtime in whole seconds and workflow engines touch
        # outputs after a job, so a fresh pair can differ by a fraction of a second either way.
        if fai.stat().st_mtime < path.stat().st_mtime - 60:
            raise InputError(
                f"the index {fai} is older than the FASTA; delete it (it is rebuilt) or re-run "
                "samtools faidx",
                path=path,
            )
        _check_index(fai, path.stat().st_size)
        return fai
    if not os.access(path.parent, os.W_OK):
        raise InputError(
            f"the genome has no index ({fai.name}) and its folder is read-only, so none can be "
            f"built; run samtools faidx on a writable copy and put {fai.name} beside the FASTA",
            path=path,
        )
    records = _scan_fasta(path)
    from mpralens.io.atomic import atomic_outputs

    with atomic_outputs(fai) as (tmp,):
        tmp.write_text("".join("\t".join(map(str, r)) + "\n" for r in records))
    return fai


def _check_index(fai: Path, fasta_size: int) -> None:
    """Refuse an index whose records are malformed, repeated or lie past the FASTA's end."""
    from mpralens.io.tables import check_unique, read_tsv, to_int

    df = read_tsv(
        fai, columns=["name", "length", "offset", "line_bases", "line_bytes"], header=False
    )
    check_unique(df, "name", what="sequence name")
    length, offset, bases, width = (
        to_int(df, c, what=c) for c in ("length", "offset", "line_bases", "line_bytes")
    )
    safe = np.maximum(bases, 1)
    end = offset + (length // safe) * width + length % safe
    bad = np.flatnonzero((bases < 1) | (width < bases) | (end > fasta_size))
    if bad.size:
        raise InputError(
            "the index does not describe its FASTA (a record lies past the end of the file or "
            "has impossible line widths); delete it, it is rebuilt",
            path=fai,
            line=df.attrs["first_line"] + int(bad[0]),
        )


def _scan_fasta(path: Path) -> list[tuple[str, int, int, int, int]]:
    """Check a FASTA in one pass; return its index rows ``name, length, offset, bases, bytes``.

    Reads blocks of whole lines and measures them with numpy, so a 3-Gb genome takes seconds;
    only headers are handled one by one.
    """
    scan = _FastaScan(path)
    line0, pos, carry = 1, 0, b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(_FASTA_BLOCK)
            data = carry + chunk
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            block, carry = data[:cut], data[cut:]
            if block:
                line0 += scan.block(block, pos, line0)
                pos += len(block)
            if not chunk:
                break
    return scan.finish()


class _FastaScan:
    """State of :func:`_scan_fasta`: the records so far and the one being read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[tuple[str, int, int, int, int]] = []
        self.first_line_of: dict[str, int] = {}
        self.current: dict | None = None

    def block(self, block: bytes, pos: int, line0: int) -> int:
        """Read whole lines ``block`` (file offset ``pos``, first line ``line0``); return lines."""
        buf = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(buf == 10)
        if buf[-1] != 10:
            ends = np.append(ends, buf.size)
        starts = np.concatenate([[0], ends[:-1] + 1])
        bases = ends - starts - ((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13))
        nbytes = np.minimum(ends + 1, buf.size) - starts
        is_head = (ends > starts) & (buf[np.minimum(starts, buf.size - 1)] == ord(">"))
        cuts = [0, *np.flatnonzero(is_head).tolist(), len(starts)]
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            if is_head[lo] and lo < hi:
                name = block[starts[lo] + 1 : ends[lo]].decode(errors="replace").split()
                self.header(name[0] if name else "", line0 + lo, pos + starts[lo] + nbytes[lo])
                lo += 1
            if lo < hi:
                self.sequence(bases[lo:hi], nbytes[lo:hi], line0 + lo)
        return len(starts)

    def header(self, name: str, line: int, offset: int) -> None:
        """Start a record whose bases begin at byte ``offset``."""
        self.finish_record()
        if not name:
            raise InputError("a '>' header without a name", path=self.path, line=line)
        if name in self.first_line_of:
            raise InputError(
                f"sequence name {name!r} is used twice (first on line {self.first_line_of[name]})"
                "; every record needs its own name",
                path=self.path,
                line=line,
            )
        self.first_line_of[name] = line
        self.current = {"name": name, "line": line, "offset": int(offset), "bases": []}
        self.current.update(bytes=[], first_seq_line=line + 1)

    def sequence(self, bases: np.ndarray, nbytes: np.ndarray, line: int) -> None:
        """Add sequence lines (bases and bytes per line) starting at file line ``line``."""
        if self.current is None:
            if bases.any():
                raise InputError(
                    "not a valid FASTA file: sequence before the first '>' header",
                    path=self.path,
                    line=line + int(np.flatnonzero(bases)[0]),
                )
            return
        self.current["bases"].append(bases)
        self.current["bytes"].append(nbytes)

    def finish_record(self) -> None:
        """Check the current record's line widths and append its index row."""
        rec = self.current
        if rec is None:
            return
        bases = np.concatenate([np.zeros(0, np.int64), *rec["bases"]])
        nbytes = np.concatenate([np.zeros(0, np.int64), *rec["bytes"]])
        n = len(bases)
        while n and bases[n - 1] == 0:  # blank lines after the sequence are harmless
            n -= 1
        name = rec["name"]
        if n == 0:
            raise InputError(f"record {name!r} has no sequence", path=self.path, line=rec["line"])
        bases, nbytes = bases[:n], nbytes[:n]
        width, line_bytes = int(bases[0]), int(nbytes[0])
        uneven = np.flatnonzero(
            (bases[:-1] != width) | (nbytes[:-1] != line_bytes) | (bases[:-1] == 0)
        )
        if uneven.size:
            i = int(uneven[0])
            if bases[i] == 0:
                what = "a blank line"
            elif bases[i] != width:
                what = f"a line of {int(bases[i])} bases where the record's first line has {width}"
            else:
                what = "a line ending unlike the record's other lines"
            raise InputError(
                f"{what} in record {name!r}: every line of a record but its last must have the "
                "same width; rewrap it (e.g. seqkit seq -w 60)",
                path=self.path,
                line=rec["first_seq_line"] + i,
            )
        if bases[-1] > width:
            raise InputError(
                f"the last line of record {name!r} has {int(bases[-1])} bases, more than its "
                f"other lines ({width}); rewrap it (e.g. seqkit seq -w 60)",
                path=self.path,
                line=rec["first_seq_line"] + n - 1,
            )
        self.records.append((name, int(bases.sum()), rec["offset"], width, line_bytes))
        self.current = None

    def finish(self) -> list[tuple[str, int, int, int, int]]:
        """Close the last record; return every index row."""
        if self.current is None and not self.records:
            raise InputError("not a valid FASTA file: no '>' header", path=self.path, line=1)
        self.finish_record()
        return self.records
