"""Where tiled ISM windows lie: regions from the tiles table, their flanks from the genome.

Paggi et al. §4.3.1: a region of 295 bp is scored through 15 windows of the model's tile length
(145 bp) at stride 29, the first starting 116 bp before the region, so every base of the region lies
in exactly ``tile_length / stride = 5`` windows. In general window ``k`` starts at
``(k - (c - 1)) * stride`` (region coordinates, ``c = tile_length / stride``) for every ``k`` whose
window overlaps the region.

Flanks are read from the genome FASTA. A window that would need bases outside the chromosome (a
region near a chromosome end) is dropped, never padded; when no genome is given the region's own
sequence (rebuilt from its tiles) is the only sequence available, so only the windows inside the
region are used. Either way the bases of such regions are averaged over fewer windows, and the
per-base output says over how many (``n_windows``; 0 means the base was not scored).

For CNNs trained on the positional frame (the tile placed at its offset in a zero-padded
``frame_length`` input), each window is placed at its offset from the region start, clipped to the
frame: windows reaching outside the region sit at the frame's first or last tile position.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError


@dataclass(frozen=True)
class WindowScheme:
    """Window length and stride; ``coverage`` windows hold each base of a region."""

    length: int = 145
    stride: int = 29

    def __post_init__(self) -> None:
        if self.stride <= 0 or self.length % self.stride:
            raise InputError(
                f"the ISM stride ({self.stride}) must divide the model's tile length "
                f"({self.length})",
                key="ism.stride",
            )

    @property
    def coverage(self) -> int:
        """Windows per base when all flanks are available."""
        return self.length // self.stride

    def starts(self, region_length: int) -> np.ndarray:
        """Window starts relative to the region start (all windows overlapping the region)."""
        first = -(self.coverage - 1) * self.stride
        return np.arange(first, region_length, self.stride)


def window_scheme(
    length: int, stride: int, regions: pd.DataFrame, genome: object | None = None
) -> WindowScheme:
    """Return the windows ISM and attribution use on ``regions`` (:func:`region_table`).

    ``stride`` for tiled libraries. A library of single elements (IGVF designs: every region is one
    window long and there is no genome to read flanks from) has one window per element, the
    element itself, whatever the stride, so the stride need not divide the element length.
    """
    lengths = regions["end"] - regions["start"]
    if genome is None and len(regions) and bool((lengths == length).all()):
        return WindowScheme(length, length)
    return WindowScheme(length, stride)


@dataclass
class RegionContext:
    """One region, the sequence around it that can be read, and its windows.

    Attributes
    ----------
    ext
        The available sequence (upper case), starting at genome position ``ext_start``.
    offset
        The region's start within ``ext``.
    window_starts
        Starts of the usable windows within ``ext``.
    frame_offsets
        Positional-frame offset of each window (region coordinates clipped to the frame).
    """

    region_id: str
    chrom: str
    start: int
    length: int
    ext: str
    ext_start: int
    offset: int
    window_starts: np.ndarray
    frame_offsets: np.ndarray


def region_table(tiles: pd.DataFrame) -> pd.DataFrame:
    """One row per region: ``region_id, chrom, start, end, sequence`` (rebuilt from its tiles).

    Where tiles overlap, the first in table order holds: tiled libraries' overlapping tiles agree
    (checked on import), and in allelic libraries (IGVF designs) the reference tile comes first,
    so a variant's region is its reference sequence.
    """
    rows = []
    for rid, g in tiles.groupby("region_id", sort=True):
        start, end = int(g["start"].min()), int(g["end"].max())
        seq = np.full(end - start, ord("N"), dtype=np.uint8)
        # Written last to first, so that the first tile's bases are the ones left.
        for s, t in zip(g["start"].to_numpy()[::-1], g["sequence"].iloc[::-1], strict=True):
            seq[s - start : s - start + len(t)] = np.frombuffer(t.upper().encode(), dtype=np.uint8)
        rows.append((rid, g["chrom"].iloc[0], start, end, seq.tobytes().decode()))
    return pd.DataFrame(rows, columns=["region_id", "chrom", "start", "end", "sequence"])


def build_contexts(
    regions: pd.DataFrame,
    scheme: WindowScheme,
    *,
    frame_length: int | None = None,
    genome: str | PathLike[str] | None = None,
) -> list[RegionContext]:
    """Find the usable windows of every region of :func:`region_table`.

    Raises
    ------
    InputError
        If the genome lacks a region's chromosome, or its sequence disagrees with the tiles (a
        different assembly), naming the region.
    """
    fasta = None
    if genome is not None:
        from mpralens.io.sequences import read_fasta_index

        fasta = read_fasta_index(genome)
    frame_max = None if frame_length is None else frame_length - scheme.length
    out = []
    for rid, chrom, start, end, seq in regions[
        ["region_id", "chrom", "start", "end", "sequence"]
    ].itertuples(index=False):
        length = end - start
        rel = scheme.starts(length)
        if fasta is None:
            ext, ext_start = seq, start
        else:
            if chrom not in fasta:
                raise InputError(
                    f"chromosome {chrom!r} of region {rid!r} is not in the genome", path=genome
                )
            chrom_len = len(fasta[chrom])
            lo = max(0, start + int(rel[0]))
            hi = min(chrom_len, start + int(rel[-1]) + scheme.length)
            if end > chrom_len:
                raise InputError(
                    f"region {rid!r} ({chrom}:{start}-{end}) lies past the end of {chrom} "
                    f"({chrom_len} bp)",
                    path=genome,
                )
            ext, ext_start = str(fasta[chrom][lo:hi]).upper(), lo
            inner = ext[start - lo : end - lo]
            known = np.frombuffer(seq.encode(), dtype=np.uint8) != ord("N")
            if (
                np.frombuffer(inner.encode(), dtype=np.uint8)
                != np.frombuffer(seq.encode(), dtype=np.uint8)
            )[known].any():
                raise InputError(
                    f"the genome's sequence at {chrom}:{start}-{end} differs from the tiles of "
                    f"region {rid!r}: is it the assembly the coordinates refer to?",
                    path=genome,
                )
        offset = start - ext_start
        ws = offset + rel
        keep = (ws >= 0) & (ws + scheme.length <= len(ext))
        frame = rel[keep] if frame_max is None else np.clip(rel[keep], 0, frame_max)
        out.append(
            RegionContext(rid, chrom, start, length, ext, ext_start, offset, ws[keep], frame)
        )
    return out
