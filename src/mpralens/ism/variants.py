"""Predicted effects of single-nucleotide variants from a VCF with any trained model.

For each SNV the model sees the window of its input length (the tile length, 145 bp) centred on
the variant (``(L - 1) / 2`` bases before it) with the reference and with the alternative base;
the effect per task is ``f(alt) - f(ref)``. CNNs trained on the positional frame see the window at
the frame's centre offset. Multi-allelic records give one row per alternative allele; indels,
symbolic and missing alleles are skipped (counted in the log). A variant whose window would leave
the chromosome gets NaN effects and a warning.
"""

from __future__ import annotations

import gzip
import logging
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError

log = logging.getLogger(__name__)


def read_vcf(path: str | PathLike[str]) -> pd.DataFrame:
    """SNVs of a VCF (plain or gzip/bgzip): ``chrom, pos (1-based), id, ref, alt, line``."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    rows, skipped, header_seen = [], 0, False
    try:
        with opener(path, "rt") as fh:
            for number, line in enumerate(fh, start=1):
                if line.startswith("##"):
                    continue
                if line.startswith("#CHROM"):
                    header_seen = True
                    continue
                if not line.strip():
                    continue
                if not header_seen:
                    raise InputError("data line before the #CHROM header", path=path, line=number)
                f = line.rstrip("\n").split("\t")
                if len(f) < 5:
                    raise InputError(
                        f"expected at least 5 tab-separated fields (CHROM POS ID REF ALT), "
                        f"got {len(f)}",
                        path=path,
                        line=number,
                    )
                if not f[1].isdigit() or int(f[1]) < 1:
                    raise InputError(
                        f"POS must be a positive integer, got {f[1]!r}", path=path, line=number
                    )
                ref = f[3].upper()
                for alt in f[4].split(","):
                    alt = alt.upper()
                    if len(ref) == 1 and len(alt) == 1 and ref in "ACGT" and alt in "ACGT":
                        rows.append((f[0], int(f[1]), f[2], ref, alt, number))
                    else:
                        skipped += 1
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable VCF ({exc})", path=path) from exc
    if not header_seen:
        raise InputError("no #CHROM header line: not a VCF", path=path)
    if skipped:
        log.warning("%s: skipped %d non-SNV alleles (indels, symbolic or missing)", path, skipped)
    return pd.DataFrame(rows, columns=["chrom", "pos", "id", "ref", "alt", "line"])


def score_variants(
    model: str | PathLike[str],
    vcf: str | PathLike[str],
    genome: str | PathLike[str],
    *,
    window_length: int | None = None,
) -> pd.DataFrame:
    """Effects ``f(alt) - f(ref)`` per task: ``chrom, pos, id, ref, alt`` then one column per task.

    For a CNN ensemble the effect is the members' mean, and each task's 95% interval over members
    follows in ``<task>_lo`` and ``<task>_hi`` (see
    :func:`mpralens.models.cnn.network.ensemble_summary`).

    Raises
    ------
    InputError
        If a record's REF differs from the genome or its chromosome is not in the genome (naming
        the VCF line).
    """
    from mpralens.io.sequences import read_fasta_index

    variants = read_vcf(vcf)
    fa = read_fasta_index(genome)
    predict, tasks, length = _predictor(model, window_length)
    before = (length - 1) // 2
    refs, alts, ok = [], [], []
    for chrom, pos, ref, alt, line in variants[["chrom", "pos", "ref", "alt", "line"]].itertuples(
        index=False
    ):
        if chrom not in fa:
            raise InputError(
                f"chromosome {chrom!r} is not in the genome {genome}", path=vcf, line=line
            )
        chrom_len = len(fa[chrom])
        if pos > chrom_len:
            raise InputError(
                f"POS {pos} is past the end of {chrom} ({chrom_len} bp)", path=vcf, line=line
            )
        base = str(fa[chrom][pos - 1 : pos]).upper()
        if base != ref:
            raise InputError(
                f"REF {ref} does not match the genome's {base} at {chrom}:{pos}; is the VCF on "
                f"the same assembly as {genome}?",
                path=vcf,
                line=line,
            )
        lo = pos - 1 - before
        if lo < 0 or lo + length > chrom_len:
            log.warning("%s:%d: the %d-bp window leaves %s; effect NaN", vcf, line, length, chrom)
            ok.append(False)
            continue
        window = str(fa[chrom][lo : lo + length]).upper()
        refs.append(window)
        alts.append(window[:before] + alt + window[before + 1 :])
        ok.append(True)
    members = predict([]).shape[0]
    effect = np.full((members, len(variants), len(tasks)), np.nan)
    if refs:
        effect[:, np.array(ok)] = predict(alts) - predict(refs)
    out = variants.drop(columns="line").copy()
    if members == 1:
        for j, task in enumerate(tasks):
            out[task] = effect[0, :, j]
        return out
    from mpralens.models.cnn.network import ensemble_summary

    summary = ensemble_summary(effect)
    for j, task in enumerate(tasks):
        out[task] = summary["mean"][:, j]
    for j, task in enumerate(tasks):
        out[f"{task}_lo"] = summary["lo"][:, j]
        out[f"{task}_hi"] = summary["hi"][:, j]
    return out


def _predictor(model, window_length):
    """``(predict(seqs) -> (k, n, n_tasks), tasks, input window length)`` for a saved model.

    ``k`` is the number of ensemble members (1 for a single model).
    """
    if str(model).endswith(".npz"):
        from mpralens.models.kmer import load_kmer_model

        km = load_kmer_model(model)

        def predict_kmer(seqs: list[str]) -> np.ndarray:
            if not seqs:
                return np.zeros((1, 0, len(km.tasks)))
            return km.predict(seqs)[None]

        return predict_kmer, km.tasks, int(window_length or 145)
    from mpralens.models.cnn.network import encode, load_network, members_of, predict_members

    net, spec = load_network(model)
    length = int(spec["tile_length"])
    if window_length is not None and window_length != length:
        raise InputError(f"the CNN reads {length}-bp windows, not {window_length}")

    def predict(seqs: list[str]) -> np.ndarray:
        if not seqs:
            return np.zeros((len(members_of(net)), 0, len(spec["tasks"])))
        offsets = None
        if spec["layout"] == "positional":
            offsets = np.full(len(seqs), (spec["frame_length"] - length) // 2, dtype=np.int64)
        return predict_members(net, encode(seqs, offsets, spec["layout"], spec["frame_length"]))

    return predict, list(spec["tasks"]), length
