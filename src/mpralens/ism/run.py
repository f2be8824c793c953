"""Run tiled ISM over many regions with any trained model; the per-base long table."""

from __future__ import annotations

import logging
from os import PathLike

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.ism.scoring import CNNScorer, EnsembleScorer, KmerScorer, region_scores
from mpralens.ism.windows import RegionContext

log = logging.getLogger(__name__)
SCORE_COLUMNS = ["chrom", "pos", "region_id", "task", "score", "n_windows"]


def load_scorer(
    model: str | PathLike[str],
    *,
    method: str = "fast",
    window_length: int | None = None,
    batch_size: int = 1024,
):
    """Load a scorer for a saved CNN checkpoint (``.ckpt``) or k-mer model (``.npz``).

    ``window_length`` is needed for k-mer models (they accept any length; ISM windows are the data
    set's tile length); CNNs use the tile length they were trained on.
    """
    if str(model).endswith(".npz"):
        from mpralens.models.kmer import load_kmer_model

        if window_length is None:
            raise ValueError("k-mer models need the ISM window length (the tile length)")
        return KmerScorer(load_kmer_model(model), window_length, method=method)
    from mpralens.models.cnn.network import load_network, members_of

    net, spec = load_network(model)
    members = members_of(net)
    if len(members) > 1:
        return EnsembleScorer(
            [CNNScorer(m, spec, method=method, batch_size=batch_size) for m in members]
        )
    return CNNScorer(net, spec, method=method, batch_size=batch_size)


def ism_table(scorer, contexts: list[RegionContext], *, progress: bool = True) -> pd.DataFrame:
    """Per-base scores of every region and task (columns :data:`SCORE_COLUMNS`).

    ``pos`` is the 0-based genome position; rows are ordered by region, position and task. For an
    :class:`~mpralens.ism.scoring.EnsembleScorer`, ``score`` is the mean of the members' scores
    and ``score_lo``, ``score_hi`` their 95% interval
    (:func:`mpralens.models.cnn.network.ensemble_summary`).
    """
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs installed (types-tqdm)

    tasks = list(scorer.tasks)
    parts: list[tuple[RegionContext, np.ndarray, np.ndarray]] = []
    intervals: list[tuple[np.ndarray, np.ndarray]] = []
    for ctx in tqdm(contexts, desc="ISM", unit="region", disable=not progress, mininterval=5):
        if len(ctx.window_starts) == 0:
            log.warning(
                "region %s has no usable ISM window; its bases are not scored", ctx.region_id
            )
        if isinstance(scorer, EnsembleScorer):
            per = [region_scores(ctx, d) for d in scorer.member_deltas(ctx)]
        else:
            per = [region_scores(ctx, scorer.window_deltas(ctx))]
        add_part(parts, intervals, ctx, per)
    return long_table(parts, tasks, intervals)


def add_part(
    parts: list[tuple[RegionContext, np.ndarray, np.ndarray]],
    intervals: list[tuple[np.ndarray, np.ndarray]],
    ctx: RegionContext,
    members: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    """Append one region's part of :func:`long_table` from its members' (mean, count) maps.

    One member: its map. Several (an ensemble): their mean, and their 95% interval appended to
    ``intervals`` (:func:`mpralens.models.cnn.network.ensemble_summary`).
    """
    count = members[0][1]
    if len(members) == 1:
        parts.append((ctx, members[0][0], count))
        return
    from mpralens.models.cnn.network import ensemble_summary

    summary = ensemble_summary(np.stack([m for m, _ in members]))
    parts.append((ctx, summary["mean"], count))
    intervals.append((summary["lo"].reshape(-1), summary["hi"].reshape(-1)))


def long_table(
    parts: list[tuple[RegionContext, np.ndarray, np.ndarray]],
    tasks: list[str],
    intervals: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Build the long table of (region, mean ``(length, T)``, windows per base) parts.

    ``intervals``: per part, an ensemble's 95% interval (low, high), flattened like the mean; the
    table then has ``score_lo`` and ``score_hi``.
    """
    n_tasks = len(tasks)
    if not parts:
        return pd.DataFrame({c: [] for c in SCORE_COLUMNS})
    lengths = np.array([c.length for c, _, _ in parts])
    pos = np.concatenate([c.start + np.arange(c.length) for c, _, _ in parts])
    table = pd.DataFrame(
        {
            "chrom": np.repeat(np.repeat([c.chrom for c, _, _ in parts], lengths), n_tasks),
            "pos": np.repeat(pos, n_tasks),
            "region_id": np.repeat(np.repeat([c.region_id for c, _, _ in parts], lengths), n_tasks),
            "task": np.tile(tasks, int(lengths.sum())),
            "score": np.concatenate([m.reshape(-1) for _, m, _ in parts]),
            "n_windows": np.repeat(np.concatenate([n for _, _, n in parts]), n_tasks),
        }
    )
    if intervals:
        table["score_lo"] = np.concatenate([lo for lo, _ in intervals])
        table["score_hi"] = np.concatenate([hi for _, hi in intervals])
    return table


def select_regions(
    regions: pd.DataFrame,
    *,
    splits: str | PathLike[str] | None = None,
    which: str = "all",
    max_regions: int | None = None,
) -> pd.DataFrame:
    """Choose the regions to score.

    All, or those of one split (``train``/``valid``/``test``), at most ``max_regions`` (the first
    in region order).

    Raises
    ------
    InputError
        The selection is empty: there is nothing to score (key ``ism.regions``, or
        ``ism.max_regions`` when that is below 1).
    """
    if max_regions is not None and max_regions < 1:
        raise InputError(
            f"max_regions {max_regions} selects no region to score; give 1 or more (or null for "
            "all)",
            key="ism.max_regions",
        )
    if not len(regions):
        raise InputError("the tiles table has no region to score", key="ism.regions")
    if which != "all":
        if splits is None:
            raise InputError(
                f"choosing the {which!r} regions needs the splits table", key="ism.regions"
            )
        sp = pd.read_csv(splits, sep="\t")
        keep = set(sp.loc[sp["split"] == which, "region_id"])
        regions = regions[regions["region_id"].isin(keep)]
        if regions.empty:
            why = (
                f"the {which} split has no region"
                if not keep
                else f"none of the {len(keep)} regions of the {which} split is in the tiles table"
            )
            raise InputError(
                f"{why}, so there is nothing to score; choose another split or all",
                path=splits,
                key="ism.regions",
            )
    if max_regions is not None:
        regions = regions.head(max_regions)
    return regions.reset_index(drop=True)


def chunk_of(regions: pd.DataFrame, chunk: int, chunks: int) -> pd.DataFrame:
    """Chunk ``chunk`` of ``chunks`` contiguous, near-equal blocks of regions (in region order).

    Concatenating the chunks' score tables in chunk order gives the unsharded table.
    """
    if chunks < 1 or not 0 <= chunk < chunks:
        raise InputError(f"chunk {chunk} of {chunks}: need 0 <= chunk < chunks", key="ism.chunks")
    bounds = np.linspace(0, len(regions), chunks + 1).round().astype(int)
    return regions.iloc[bounds[chunk] : bounds[chunk + 1]].reset_index(drop=True)
