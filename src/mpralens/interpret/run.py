"""Attribution maps over many regions: the same windows and per-base table as tiled ISM.

Each region is cut into the ISM windows of :mod:`mpralens.ism.windows` (every base in
``tile_length / stride`` windows when the flanks are known); a method scores every base of every
window, and a base's score is the mean over the windows holding it, exactly as for ISM. The
per-base score of a 4 x L map is its value at the observed base (gradient-times-input convention,
:func:`mpralens.interpret.methods.observed`). The output is ISM's long table
(:data:`mpralens.ism.run.SCORE_COLUMNS`).

Methods: ``ism`` (fast ISM, the reference), the gradient methods of
:mod:`mpralens.interpret.methods` (CNNs) and ``kmer_weights`` (the k-mer model's exact
attribution, :mod:`mpralens.interpret.kmer`).
"""

from __future__ import annotations

import logging
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import torch

from mpralens.interpret.methods import attribute, check_method, observed
from mpralens.interpret.names import GRADIENT_METHODS, KMER_METHODS, METHODS
from mpralens.io.errors import InputError
from mpralens.io.sequences import _LOOKUP
from mpralens.ism.run import add_part, long_table
from mpralens.ism.scoring import average_windows, window_scores
from mpralens.ism.windows import RegionContext

log = logging.getLogger(__name__)


def _codes(seq: str) -> np.ndarray:
    return _LOOKUP[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)].astype(np.int64)


class ISMAttributor:
    """Fast ISM (the signed change of largest magnitude over the 3 substitutions)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.tasks = list(scorer.tasks)
        self.window_length = scorer.window_length
        self.frame_length = getattr(scorer, "frame_length", None)

    def batch_scores(self, contexts: list[RegionContext]) -> list[np.ndarray]:
        """Per-window base scores ``(K, window_length, T)`` of each region."""
        with torch.inference_mode():
            return [window_scores(self.scorer.window_deltas(c)) for c in contexts]


class KmerAttributor:
    """The k-mer model's exact attribution of each window."""

    def __init__(self, model: Any, window_length: int) -> None:
        self.model, self.window_length, self.frame_length = model, window_length, None
        self.tasks = list(model.tasks)
        self.coef = np.asarray(model.coef, dtype=np.float64)

    def batch_scores(self, contexts: list[RegionContext]) -> list[np.ndarray]:
        """Per-window base scores ``(K, window_length, T)`` of each region."""
        from mpralens.interpret.kmer import kmer_attribution

        length = self.window_length
        out = []
        for c in contexts:
            w = [
                kmer_attribution(c.ext[s : s + length], self.model.k, self.coef)
                for s in c.window_starts
            ]
            out.append(np.stack(w) if w else np.zeros((0, length, len(self.tasks))))
        return out


class CNNAttributor:
    """A gradient method or DeepSHAP on a trained CNN (either input layout)."""

    def __init__(self, net: torch.nn.Module, spec: dict[str, Any], method: str, **options) -> None:
        check_method(method, spec)
        self.net, self.spec, self.method = net.eval(), spec, method
        self.seed = int(options.pop("seed", 0))
        self.options = options
        self.tasks = list(spec["tasks"])
        self.window_length = int(spec["tile_length"])
        self.positional = spec["layout"] == "positional"
        self.frame_length = int(spec["frame_length"]) if self.positional else None
        self.dtype = next(net.parameters()).dtype
        self.calls = 0

    def encode(self, contexts: list[RegionContext]) -> tuple[torch.Tensor, np.ndarray]:
        """One-hot windows of all regions, ``(sum K, 4, width)``, and each window's offset."""
        length = self.window_length
        width = self.frame_length or length
        places = [
            c.frame_offsets if self.positional else np.zeros(len(c.window_starts), dtype=np.int64)
            for c in contexts
        ]
        n = sum(len(c.window_starts) for c in contexts)
        x = torch.zeros((n, 4, width), dtype=self.dtype)
        i = 0
        for c, place in zip(contexts, places, strict=True):
            codes = _codes(c.ext)
            for ws, o in zip(c.window_starts, place, strict=True):
                w = codes[ws : ws + length]
                ok = np.flatnonzero(w >= 0)
                x[i, torch.from_numpy(w[ok]), torch.from_numpy(ok + int(o))] = 1.0
                i += 1
        offsets = np.concatenate(places) if places else np.zeros(0, dtype=np.int64)
        return x, offsets.astype(np.int64)

    def batch_scores(self, contexts: list[RegionContext]) -> list[np.ndarray]:
        """Per-window base scores ``(K, window_length, T)`` of each region."""
        x, offsets = self.encode(contexts)
        length, n_tasks = self.window_length, len(self.tasks)
        if len(x) == 0:
            return [np.zeros((0, length, n_tasks)) for _ in contexts]
        # Each batch draws its own noise or shuffles, from the seed and the batch's number.
        maps = attribute(
            self.net, x, self.method, n_tasks=n_tasks, seed=self.seed + self.calls, **self.options
        )
        self.calls += 1
        per_base = observed(maps, x.double().numpy())  # (n, T, width)
        cols = offsets[:, None] + np.arange(length)[None, :]
        scores = np.take_along_axis(per_base, cols[:, None, :], axis=2).transpose(0, 2, 1)
        bounds = np.cumsum([0] + [len(c.window_starts) for c in contexts])
        return [scores[bounds[i] : bounds[i + 1]] for i in range(len(contexts))]


class EnsembleAttributor:
    """Each member of a CNN ensemble attributed on its own (one attributor each).

    :func:`attribution_table` writes the members' mean and their 95% interval
    (:func:`mpralens.models.cnn.network.ensemble_summary`), as ISM does for ensembles.
    """

    def __init__(self, members: list[Any]) -> None:
        self.members = members
        self.tasks = members[0].tasks
        self.window_length = members[0].window_length
        self.frame_length = members[0].frame_length

    def member_scores(self, contexts: list[RegionContext]) -> list[list[np.ndarray]]:
        """Every member's :meth:`batch_scores` of ``contexts`` (member-major)."""
        return [m.batch_scores(contexts) for m in self.members]

    def batch_scores(self, contexts: list[RegionContext]) -> list[np.ndarray]:
        """Return the members' mean per-window scores (the ensemble's map)."""
        per = self.member_scores(contexts)
        return [np.mean([p[i] for p in per], axis=0) for i in range(len(contexts))]


def load_attributor(
    model: str | PathLike[str],
    method: str,
    *,
    window_length: int | None = None,
    options: dict[str, Any] | None = None,
    batch_size: int = 1024,
):
    """Load the attributor of ``method`` for a CNN checkpoint (``.ckpt``) or k-mer model (``.npz``).

    Raises
    ------
    InputError
        The method does not exist, or the model cannot give it (naming both).
    """
    if method not in METHODS:
        raise InputError(
            f"unknown attribution method {method!r}; expected one of {', '.join(METHODS)}",
            key="interpret.methods",
        )
    if method == "ism":
        from mpralens.ism.run import load_scorer
        from mpralens.ism.scoring import EnsembleScorer

        scorer = load_scorer(model, window_length=window_length, batch_size=batch_size)
        if isinstance(scorer, EnsembleScorer):
            return EnsembleAttributor([ISMAttributor(m) for m in scorer.scorers])
        return ISMAttributor(scorer)
    if str(model).endswith(".npz"):
        from mpralens.models.kmer import load_kmer_model

        if method not in KMER_METHODS:
            raise InputError(
                f"the k-mer model cannot give {method}: it has no gradient; it gives its exact "
                f"attribution kmer_weights, or ism",
                path=model,
                key="interpret.methods",
            )
        if window_length is None:
            raise ValueError("k-mer models need the window length (the tile length)")
        return KmerAttributor(load_kmer_model(model), window_length)
    from mpralens.models.cnn.network import load_network

    net, spec = load_network(model)
    if method == "kmer_weights":
        raise InputError(
            f"the {spec.get('arch', '?')} CNN cannot give kmer_weights (the k-mer model's exact "
            f"attribution); it gives {', '.join(('ism',) + GRADIENT_METHODS)}",
            path=model,
            key="interpret.methods",
        )
    check_method(method, spec)
    from mpralens.models.cnn.network import members_of

    members = members_of(net)
    if len(members) > 1:
        return EnsembleAttributor(
            [CNNAttributor(m, spec, method, **dict(options or {})) for m in members]
        )
    return CNNAttributor(net, spec, method, **(options or {}))


def attribution_table(
    attributor: Any,
    contexts: list[RegionContext],
    *,
    windows_per_batch: int = 64,
    progress: bool = True,
    desc: str = "attribution",
) -> pd.DataFrame:
    """Per-base scores of every region and task (ISM's long table, same order).

    Regions are scored in groups of about ``windows_per_batch`` windows; a progress bar goes to
    stderr. For an :class:`EnsembleAttributor`, ``score`` is the members' mean and ``score_lo``,
    ``score_hi`` their 95% interval.
    """
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed (types-tqdm)

    parts: list[tuple[RegionContext, np.ndarray, np.ndarray]] = []
    intervals: list[tuple[np.ndarray, np.ndarray]] = []
    bar = tqdm(total=len(contexts), desc=desc, unit="region", disable=not progress, mininterval=5)
    i = 0
    while i < len(contexts):
        group: list[RegionContext] = []
        n = 0
        while i < len(contexts) and (
            not group or n + len(contexts[i].window_starts) <= windows_per_batch
        ):
            group.append(contexts[i])
            n += len(contexts[i].window_starts)
            i += 1
        if isinstance(attributor, EnsembleAttributor):
            per = attributor.member_scores(group)
            member_maps = [[p[j] for p in per] for j in range(len(group))]
        else:
            member_maps = [[s] for s in attributor.batch_scores(group)]
        for c, maps in zip(group, member_maps, strict=True):
            if len(c.window_starts) == 0:
                log.warning("region %s has no usable window; its bases are not scored", c.region_id)
            add_part(parts, intervals, c, [average_windows(c, m) for m in maps])
        bar.update(len(group))
    bar.close()
    return long_table(parts, list(attributor.tasks), intervals)


def read_sequences(
    path: str | PathLike[str],
    *,
    length: int,
    genome: str | PathLike[str] | None = None,
) -> list[RegionContext]:
    """One single-window context per sequence of a FASTA, or per interval of a BED (+ genome).

    FASTA sequences are placed at ``name:0``; BED intervals at their genome coordinates.

    Raises
    ------
    InputError
        A sequence holds a base other than A, C, G, T, is not ``length`` bases long (the model's
        input), names repeat, or the file holds none; naming the file and line.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    with open(path, "rb") as fh:
        first = fh.read(1)
    records: list[tuple[str, str, int, str, int]] = []  # name, chrom, start, sequence, line
    if first == b">":
        name: str | None = None
        chunks: list[str] = []
        line0 = 0
        with open(path) as fh:
            for n, line in enumerate(fh, start=1):
                line = line.strip()
                if line.startswith(">"):
                    if name is not None:
                        records.append((name, name, 0, "".join(chunks), line0))
                    name, chunks, line0 = line[1:].split()[0] if line[1:].split() else "", [], n
                    if not name:
                        raise InputError("a FASTA header names no sequence", path=path, line=n)
                elif line:
                    chunks.append(line)
        if name is not None:
            records.append((name, name, 0, "".join(chunks), line0))
    else:
        from mpralens.io.intervals import read_intervals
        from mpralens.io.sequences import read_fasta_index

        if genome is None:
            raise InputError(
                "a BED of intervals needs --genome to read their sequences (or give a FASTA)",
                path=path,
            )
        bed = read_intervals(path)
        fasta = read_fasta_index(genome)
        for i, (chrom, start, end, name) in enumerate(
            bed[["chrom", "start", "end", "name"]].itertuples(index=False), start=1
        ):
            if chrom not in fasta:
                raise InputError(f"chromosome {chrom!r} is not in the genome", path=path, line=i)
            if end > len(fasta[chrom]):
                raise InputError(
                    f"interval {chrom}:{start}-{end} lies past the end of {chrom}",
                    path=path,
                    line=i,
                )
            label = str(name) if str(name) and str(name) != "nan" else f"{chrom}:{start}-{end}"
            records.append((label, str(chrom), int(start), str(fasta[chrom][start:end]), i))
    if not records:
        raise InputError("no sequence to attribute", path=path)
    seen: set[str] = set()
    out = []
    for label, chrom, start, seq, lineno in records:
        seq = seq.upper()
        if label in seen:
            raise InputError(f"sequence label {label!r} repeats", path=path, line=lineno)
        seen.add(label)
        bad = set(seq) - set("ACGT")
        if bad:
            raise InputError(
                f"sequence {label!r} holds {', '.join(sorted(bad))} at base "
                f"{min(seq.index(b) for b in bad) + 1}; attribution needs A, C, G, T only",
                path=path,
                line=lineno,
            )
        if len(seq) != length:
            raise InputError(
                f"sequence {label!r} is {len(seq)} bp; the model takes {length}-bp sequences",
                path=path,
                line=lineno,
            )
        out.append(
            RegionContext(
                label,
                chrom,
                start,
                length,
                seq,
                start,
                0,
                np.zeros(1, dtype=np.int64),
                np.zeros(1, dtype=np.int64),
            )
        )
    return out
