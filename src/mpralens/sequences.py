"""DNA sequences: validation, one-hot encoding, reverse complement and FASTA access.

One-hot arrays are ``float32`` with ``shape=(n, 4, length)`` in ACGT order; ``N`` encodes as all
zeros (no base is favoured), which is also how positions outside a genome are represented.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.errors import InputError

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


def read_fasta_index(path: str | PathLike[str]):
    """Open an indexed FASTA with pyfaidx (the index is built if missing).

    Returns
    -------
    pyfaidx.Fasta
        Upper-case sequences, read lazily.
    """
    import pyfaidx

    path = Path(path)
    if not path.exists():
        raise InputError("genome FASTA not found", path=path)
    fai = Path(f"{path}.fai")
    # An index older than its FASTA may describe another sequence. Allow a minute: pyfaidx stamps
    # indexes with the FASTA's mtime in whole seconds and workflow engines touch outputs after a
    # job, so a fresh pair can differ by a fraction of a second either way.
    if fai.exists() and fai.stat().st_mtime < path.stat().st_mtime - 60:
        raise InputError(
            f"the index {fai} is older than the FASTA; delete it (it is rebuilt) or re-run "
            "samtools faidx",
            path=path,
        )
    try:
        return pyfaidx.Fasta(str(path), sequence_always_upper=True, rebuild=False)
    except (pyfaidx.FastaIndexingError, ValueError) as exc:
        raise InputError(f"not a valid FASTA file ({exc})", path=path) from exc
