"""Synthetic tiled MPRA (Sharpr-like), written in the real Ernst-site layout, with ground truth.

Model, per region of ``region_length`` bp on a synthetic genome:

* Background sequence is i.i.d. (GC ``gc``). Sites of the factors of
  :mod:`mpralens.simulate.catalog` (JASPAR 2024 matrices) are planted without overlap, each on a
  random strand, each base drawn from its matrix column sharpened by ``pwm_temperature``:
  ``Poisson(sites_per_region)`` sites of random planted factors (promoter-proximal regions, with a
  TSS just downstream, carry 1.5x as many), then ``Poisson(decoys_per_region)`` decoy sites
  (CEBPB, FOXA2, NRF1, YY1) that have no effect.
* Syntax: a fraction ``syntax_fraction`` of regions get a deliberately planted cooperative pair
  (:data:`mpralens.simulate.catalog.SYNTAX`: GATA1, then 4-8 bp later SP1, on the same strand),
  and a fraction ``syntax_control_fraction`` a control pair of the same factors: a wrong spacer
  (0-2 or 12-20 bp), opposite strands, or swapped order (SP1 then GATA1 along the strand). The
  pair is placed first and its two sites count towards the region's Poisson number of sites (so
  the site density, and replicate Pearson, stay as before). No other site is ever placed where it
  would complete the arrangement, so every cooperative pair in the truth is a deliberate one.
* A tile's true activity in a task (log2 units) is
  ``baseline + region_effect + S * tanh(raw / S) + syntax_bonus * n_pairs`` with ``baseline``
  -0.5 (minP) or 0 (SV40P), ``region_effect ~ N(0, region_sd)`` per region and ``S`` =
  ``saturation``. ``raw`` sums, over planted sites fully inside the tile, ``effect * (0.5 + x)``
  with ``x`` = (site centre - tile start) / ``tile_length`` (sites near the 3' promoter end count
  more), plus ``cooperativity`` for each activating site (effect > 0.3) beyond the first in the
  tile. ``n_pairs`` counts the cooperative pairs lying fully inside the tile, in the tasks where
  both partners activate (effect > 0), else 0. The bonus is added after the saturation so that
  its size is the same in every context: the known answer a syntax analysis is graded on.
  Position, saturation, cooperativity and syntax make the truth non-additive in k-mers, which
  sequence models must learn.
* Counts are gamma-Poisson (negative binomial): plasmid abundance
  ``a ~ LogNormal(0, abundance_sd)``;
  DNA ~ NB(``dna_depth * a``); RNA ~ NB(``rna_depth * a * 2^(activity + e)``) with per-replicate
  biological noise ``e ~ N(0, replicate_sd)``; ``n_replicates`` RNA replicates per task, or
  ``replicates[cell]`` for the cells listed there (real experiments often have 3 in one cell and
  2 in another). Barcodes split a tile's molecules by log-normal
  efficiencies spanning about two orders of magnitude.
* About ``conserved_fraction`` of planted sites are conserved (high conservation score) and
  random non-functional conserved elements are added. Each cell's TF-site BED lists most sites of
  factors active in that cell plus decoys: about half the sites of factors inactive there, and
  every planted decoy site.

Truth, in ``truth/``:

* ``sites.tsv``: one row per planted (non-decoy) site: ``region_id, chrom, start, end`` (genome,
  0-based, end exclusive), ``offset`` (in the region), ``tf``, ``strand``, ``conserved``,
  ``effect_<task>`` (log2 per site), then ``site_id`` (the key of ``base_sites.parquet``),
  ``pair`` (``none``, ``cooperative``, ``control_spacing``, ``control_orientation``,
  ``control_order``) and ``pair_id`` (shared by the two sites of a pair; -1 for none).
* ``base_sites.parquet``: one row per (region, base) covered by a planted or decoy site (sites
  never overlap, so one site per base): ``region_id, chrom, pos`` (genome, 0-based),
  ``offset`` (in the region), ``site_id``, ``factor``, ``strand``, ``kind`` (``planted`` or
  ``decoy``), ``motif_pos`` (column of the factor's matrix, 0-based, read along the site's
  strand) and ``effect_<task>`` (the site's log2 effect, 0 for decoys). Bases not listed are
  background.
* ``syntax.json``: the cooperative arrangement and its size: ``first, second, strand`` ("same"),
  ``spacing_bp`` ([min, max] spacer), ``bonus_log2``, ``tasks`` (where the bonus applies),
  ``n_pairs_planted``, ``n_control_pairs``, ``controls`` (count per kind) and
  ``n_tiles_with_pair``; every tile holding a pair is ``bonus_log2`` more active in each of
  ``tasks`` than without it.
* ``position.json``: the position weighting of site effects (``offset``, ``slope``: a site's
  effect is multiplied by ``offset + slope * x``; :data:`POSITION_OFFSET`,
  :data:`POSITION_SLOPE`).
* ``factors.tsv``: the catalogue: ``factor, matrix_id, kind, length, consensus, ic_bits`` (of the
  sharpened matrix) and ``effect_<task>``.
* ``tile_activity.parquet``: true activity per tile, one column per task; ``base_effect.parquet``:
  per task, each planted site's effect spread evenly over its bases (the syntax bonus is not
  included: it belongs to the pair, see ``syntax.json``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.config.datasets import DESIGN, simulated_paths  # noqa: F401  (simulated_paths: re-exported)
from mpralens.config.settings import TiledSimulation
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.tables import write_tsv
from mpralens.simulate.catalog import (
    CATALOG,
    DECOYS,
    SYNTAX,
    factor_index,
    information_content,
    sample_sites,
)

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
# Planted factors, then decoys: a site's ``tf`` indexes this tuple.
FACTORS = CATALOG + DECOYS
N_PLANTED = len(CATALOG)
# Spacers (bp) of wrong-spacing control pairs: clearly outside SYNTAX.spacing.
CONTROL_SPACERS = (0, 1, 2, *range(12, 21))
CONTROL_KINDS = ("control_spacing", "control_orientation", "control_order")
# Position weighting of a site's effect in a tile: POSITION_OFFSET + POSITION_SLOPE * x, x = site
# centre / tile length (3' promoter end counts more); written to truth/position.json.
POSITION_OFFSET = 0.5
POSITION_SLOPE = 1.0


def _layout_genome(s: TiledSimulation, rng: np.random.Generator):
    """Place regions on chromosomes; return region frame and chromosome lengths."""
    chrom_idx = np.arange(s.n_regions) % s.n_chromosomes
    gaps = rng.integers(300, 800, size=s.n_regions)
    rows: list[tuple[int, str, int]] = []
    lengths = {}
    for c in range(s.n_chromosomes):
        members = np.flatnonzero(chrom_idx == c)
        pos = 500
        starts = []
        for m in members:
            pos += gaps[m]
            starts.append(pos)
            pos += s.region_length
        lengths[f"chr{c + 1}"] = pos + 500
        rows.extend(zip(members, [f"chr{c + 1}"] * len(members), starts, strict=True))
    df = (
        pd.DataFrame(rows, columns=["idx", "chrom", "start"])
        .sort_values("idx")
        .reset_index(drop=True)
    )
    df["end"] = df["start"] + s.region_length
    center = (df["start"] + df["end"]) // 2
    df["region_id"] = [
        f"Sim_1_{i}_{c}_{m}" for i, c, m in zip(df["idx"], df["chrom"], center, strict=True)
    ]
    df["proximal"] = rng.random(s.n_regions) < 0.5
    return df, lengths


def _flip(strand: str) -> str:
    return "-" if strand == "+" else "+"


def _pair_layout(kind: str, rng: np.random.Generator) -> list[tuple[int, int, str]]:
    """Two sites ``(tf, offset from the pair's start, strand)`` of a cooperative or control pair."""
    first, second = factor_index(SYNTAX.first), factor_index(SYNTAX.second)
    strand = "+" if rng.random() < 0.5 else "-"
    lo, hi = SYNTAX.spacing
    if kind == "control_spacing":
        spacer = int(rng.choice(CONTROL_SPACERS))
    else:
        spacer = int(rng.integers(lo, hi + 1))
    # (x, y) in reading order along ``strand``, with their strands.
    x, y = (second, first) if kind == "control_order" else (first, second)
    sx, sy = strand, (_flip(strand) if kind == "control_orientation" else strand)
    len_x, len_y = FACTORS[x].length, FACTORS[y].length
    if strand == "+":
        return [(x, 0, sx), (y, len_x + spacer, sy)]
    return [(y, 0, sy), (x, len_y + spacer, sx)]


def _completes_pair(tf: int, off: int, strand: str, placed: list[tuple]) -> bool:
    """Whether a new site would form the cooperative arrangement with a placed one."""
    name = FACTORS[tf].name
    if name not in (SYNTAX.first, SYNTAX.second):
        return False
    new = (name, off, FACTORS[tf].length, strand)
    return any(
        SYNTAX.matches(new, (FACTORS[t].name, o, FACTORS[t].length, st)) for t, o, st, *_ in placed
    )


def _plant_sites(
    s: TiledSimulation, regions: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Choose non-overlapping sites per region: pairs, planted factors, then decoys.

    Returns one row per site: ``region, tf`` (index into :data:`FACTORS`), ``offset, length,
    strand, kind`` (planted or decoy), ``pair, pair_id, conserved``.
    """
    rate = np.where(regions["proximal"], 1.5, 1.0) * s.sites_per_region
    n_sites = rng.poisson(rate)
    n_decoys = rng.poisson(s.decoys_per_region, s.n_regions)
    arrangement = rng.random(s.n_regions)
    L = s.region_length
    rows: list[tuple] = []
    n_pairs = 0

    def place(r, k, tf_pool, placed, taken) -> None:
        for _ in range(int(k)):
            tf = int(rng.choice(tf_pool))
            strand = "+" if rng.random() < 0.5 else "-"
            length = FACTORS[tf].length
            for _attempt in range(10):
                off = int(rng.integers(0, L - length + 1))
                if not taken[off : off + length].any() and not _completes_pair(
                    tf, off, strand, placed
                ):
                    taken[off : off + length] = True
                    placed.append((tf, off, strand, "none", -1))
                    break

    for r in range(s.n_regions):
        taken = np.zeros(L, dtype=bool)
        placed: list[tuple] = []
        u = arrangement[r]
        kind = (
            "cooperative"
            if u < s.syntax_fraction
            else str(rng.choice(CONTROL_KINDS))
            if u < s.syntax_fraction + s.syntax_control_fraction
            else None
        )
        if kind is not None:
            layout = _pair_layout(kind, rng)
            span = max(o + FACTORS[t].length for t, o, _ in layout)
            if span <= L:
                base = int(rng.integers(0, L - span + 1))
                for t, o, st in layout:
                    taken[base + o : base + o + FACTORS[t].length] = True
                    placed.append((t, base + o, st, kind, n_pairs))
                n_pairs += 1
        place(r, max(int(n_sites[r]) - len(placed), 0), np.arange(N_PLANTED), placed, taken)
        place(r, n_decoys[r], np.arange(N_PLANTED, len(FACTORS)), placed, taken)
        rows.extend((r, t, o, FACTORS[t].length, st, k, p) for t, o, st, k, p in placed)
    sites = pd.DataFrame(
        rows, columns=["region", "tf", "offset", "length", "strand", "pair", "pair_id"]
    )
    sites["kind"] = np.where(sites["tf"] < N_PLANTED, "planted", "decoy")
    sites["conserved"] = (sites["kind"] == "planted").to_numpy() & (
        rng.random(len(sites)) < s.conserved_fraction
    )
    return sites


def cooperative_pairs(sites: pd.DataFrame) -> pd.DataFrame:
    """Find every cooperative arrangement among ``sites``.

    ``sites`` has columns ``region, tf, offset, length, strand`` (``tf`` indexes
    :data:`FACTORS`). Returns one row per pair: ``region, first, second`` (row labels of the two
    sites) and ``start, end`` (offsets spanning both).
    """
    names = np.array([FACTORS[t].name for t in sites["tf"]])
    cols = ["region", "offset", "length", "strand"]
    a = sites.loc[names == SYNTAX.first, cols].reset_index(names="first")
    b = sites.loc[names == SYNTAX.second, cols].reset_index(names="second")
    m = a.merge(b, on=["region", "strand"], suffixes=("_a", "_b"))
    plus = m["strand"] == "+"
    spacer = np.where(
        plus,
        m["offset_b"] - (m["offset_a"] + m["length_a"]),
        m["offset_a"] - (m["offset_b"] + m["length_b"]),
    )
    m = m[(spacer >= SYNTAX.spacing[0]) & (spacer <= SYNTAX.spacing[1])]
    start = np.minimum(m["offset_a"], m["offset_b"])
    end = np.maximum(m["offset_a"] + m["length_a"], m["offset_b"] + m["length_b"])
    return pd.DataFrame(
        {
            "region": m["region"].to_numpy(),
            "first": m["first"].to_numpy(),
            "second": m["second"].to_numpy(),
            "start": start.to_numpy(),
            "end": end.to_numpy(),
        }
    )


def _site_sequences(sites: pd.DataFrame, s: TiledSimulation, rng: np.random.Generator) -> list[str]:
    """Draw every site's sequence (as it reads on the genome's + strand), factor by factor."""
    out = [""] * len(sites)
    tf = sites["tf"].to_numpy()
    minus = sites["strand"].to_numpy() == "-"
    for t in range(len(FACTORS)):
        rows = np.flatnonzero(tf == t)
        if not len(rows):
            continue
        draws = sample_sites(FACTORS[t], s.pwm_temperature, rng, len(rows))
        draws[minus[rows]] = 3 - draws[minus[rows], ::-1]  # reverse complement (A,C,G,T = 0..3)
        for i, seq in zip(rows, BASES[draws], strict=True):
            out[i] = seq.tobytes().decode()
    return out


def syntax_tasks(s: TiledSimulation) -> list[tuple[str, str]]:
    """Tasks where the cooperative bonus applies: both partners activate (effect > 0)."""
    first, second = CATALOG[factor_index(SYNTAX.first)], CATALOG[factor_index(SYNTAX.second)]
    return [(c, p) for c, p in s.tasks if first.effect_in(c, p) > 0 and second.effect_in(c, p) > 0]


def _covering_tiles(
    s: TiledSimulation, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For intervals ``[start, end)`` of a region: (interval index, tile) per tile holding one."""
    n_t = s.n_tiles
    lo = np.maximum(0, -((s.tile_length - end) // s.tile_step))  # ceil((end - L) / step)
    hi = np.minimum(n_t - 1, start // s.tile_step)
    n_cover = np.maximum(hi - lo + 1, 0)
    rep = np.repeat(np.arange(len(start)), n_cover)
    tile = (
        np.concatenate([np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)])
        if len(start)
        else np.zeros(0, int)
    )
    return rep, tile.astype(np.int64)


def _tile_activity(s: TiledSimulation, sites: pd.DataFrame, pairs: pd.DataFrame, rng):
    """Compute true activity, ``shape=(n_regions * n_tiles, n_tasks)``, log2 units.

    ``sites``: planted sites only; ``pairs``: :func:`cooperative_pairs` of them.
    """
    n_t, tasks = s.n_tiles, s.tasks
    effects = np.array([[tf.effect_in(c, p) for c, p in tasks] for tf in CATALOG])  # (n_tf, n_task)
    off = sites["offset"].to_numpy()
    length = sites["length"].to_numpy()
    site_rep, tile = _covering_tiles(s, off, off + length)
    centre = off[site_rep] + length[site_rep] / 2 - tile * s.tile_step
    factor = POSITION_OFFSET + POSITION_SLOPE * (centre / s.tile_length)
    eff = effects[sites["tf"].to_numpy()[site_rep]]  # (n_pairs, n_task)
    row = sites["region"].to_numpy()[site_rep] * n_t + tile
    raw = np.zeros((s.n_regions * n_t, len(tasks)))
    np.add.at(raw, row, eff * factor[:, None])
    n_act = np.zeros_like(raw)
    np.add.at(n_act, row, (eff > 0.3).astype(float))
    raw += s.cooperativity * np.maximum(n_act - 1, 0)
    baseline = np.array([0.0 if p == "SV40P" else -0.5 for _, p in tasks])
    region_eff = np.repeat(rng.normal(0, s.region_sd, s.n_regions), n_t)
    n_pairs = np.zeros(s.n_regions * n_t)
    pair_rep, pair_tile = _covering_tiles(s, pairs["start"].to_numpy(), pairs["end"].to_numpy())
    np.add.at(n_pairs, pairs["region"].to_numpy()[pair_rep] * n_t + pair_tile, 1.0)
    bonus_tasks = np.array([t in syntax_tasks(s) for t in tasks], dtype=float)
    return (
        baseline
        + region_eff[:, None]
        + s.saturation * np.tanh(raw / s.saturation)
        + s.syntax_bonus * n_pairs[:, None] * bonus_tasks[None, :]
    )


def _counts(s: TiledSimulation, activity: np.ndarray, rng: np.random.Generator):
    """DNA per promoter and RNA per task and replicate, ``shape=(n_tiles, n_barcodes)`` each."""
    n: int = activity.shape[0]
    abundance = rng.lognormal(0.0, s.abundance_sd, n)
    abundance /= abundance.mean()
    eff = rng.lognormal(0.0, 1.2, (n, s.n_barcodes))
    eff /= eff.sum(axis=1, keepdims=True)

    def nb(mean: np.ndarray) -> np.ndarray:
        return rng.poisson(mean * rng.gamma(s.dispersion, 1.0 / s.dispersion, mean.shape))

    dna = {p: nb(s.dna_depth * abundance[:, None] * eff) for p in s.promoters}
    rna = {}
    for j, (c, p) in enumerate(s.tasks):
        for r in range(1, s.replicates_of(c) + 1):
            noise = rng.normal(0.0, s.replicate_sd, n)
            mean = s.rna_depth * abundance * 2.0 ** (activity[:, j] + noise)
            rna[(c, p, r)] = nb(mean[:, None] * eff)
    return dna, rna


def _write_counts(path: Path, ids: np.ndarray, counts: np.ndarray) -> None:
    header = "\t" + "\t".join(str(b) for b in range(1, counts.shape[1] + 1))
    body = pd.DataFrame(counts, columns=[str(b) for b in range(1, counts.shape[1] + 1)])
    body.insert(0, "id", ids)
    path.write_text(
        header + "\n" + body.to_csv(sep="\t", header=False, index=False, lineterminator="\n")
    )


def _write_fasta(path: Path, chroms: dict[str, np.ndarray]) -> None:
    import pyfaidx

    with path.open("wb") as fh:
        for name, seq in chroms.items():
            fh.write(f">{name}\n".encode())
            n_full = len(seq) // 60
            block = np.concatenate(
                [seq[: n_full * 60].reshape(n_full, 60), np.full((n_full, 1), ord("\n"), np.uint8)],
                axis=1,
            )
            fh.write(block.tobytes())
            if len(seq) % 60:
                fh.write(seq[n_full * 60 :].tobytes() + b"\n")
    pyfaidx.Faidx(str(path)).close()
    # pyfaidx stamps the index with the FASTA's mtime truncated to whole seconds, then warns that
    # the index is older than the FASTA on every read; stamp it with the current time instead.
    os.utime(f"{path}.fai")


def _write_bigwig(path: Path, tracks: dict[str, np.ndarray]) -> None:
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, len(v)) for c, v in tracks.items()], maxZooms=4)
    for c, v in tracks.items():
        bw.addEntries(c, 0, values=v.astype(np.float64), span=1, step=1)
    bw.close()


def simulate_tiled(settings: TiledSimulation, outdir: str | Path) -> None:
    """Write a synthetic tiled-MPRA data set and its ground truth to ``outdir`` (all or nothing).

    ``outdir`` is new, empty or an earlier simulation's (:class:`mpralens.io.atomic.Folder`).

    Layout written (Ernst site): ``SimDesign.sequences.txt``, ``coords_SimDesign_hg19.txt``,
    ``DNACOUNTS/``, ``HEPG2/``, ``K562/`` (one folder per cell), ``libraries.tsv``, ``genome.fa``
    (+ ``.fai``), ``conservation.bw``, ``tf_sites/<cell>.bed``, ``tss.bed``, ``settings.json`` and
    ``truth/`` (``sites.tsv``, ``base_sites.parquet``, ``syntax.json``, ``factors.tsv``;
    ``tile_activity.parquet`` and ``base_effect.parquet``, one column per task; see the module
    docstring).
    """
    import json

    folder = Folder(Path(outdir), "simulate-tiled")
    check_folder(folder)
    s = settings
    rng = np.random.default_rng(s.seed)
    regions, lengths = _layout_genome(s, rng)
    p_gc = s.gc / 2
    probs = [0.5 - p_gc, p_gc, p_gc, 0.5 - p_gc]
    genome = {c: BASES[rng.choice(4, size=n, p=probs)] for c, n in lengths.items()}
    sites = _plant_sites(s, regions, rng)
    site_seqs = _site_sequences(sites, s, rng)
    sites["chrom"] = regions["chrom"].to_numpy()[sites["region"]]
    sites["start"] = regions["start"].to_numpy()[sites["region"]] + sites["offset"]
    sites["end"] = sites["start"] + sites["length"]
    for c, st, seq in zip(sites["chrom"], sites["start"], site_seqs, strict=True):
        genome[c][st : st + len(seq)] = np.frombuffer(seq.encode(), dtype=np.uint8)

    planted = sites[sites["kind"] == "planted"]
    pairs = cooperative_pairs(planted)
    activity = _tile_activity(s, planted, pairs, rng)
    dna, rna = _counts(s, activity, rng)

    n_t = s.n_tiles
    reg_rep = np.repeat(np.arange(s.n_regions), n_t)
    tpos = np.tile(np.arange(n_t), s.n_regions)
    ids = np.array(
        [
            f"Sim_1_{i}_{t}_{c}_{rid.rsplit('_', 1)[1]}"
            for i, t, c, rid in zip(
                regions["idx"].to_numpy()[reg_rep],
                tpos,
                regions["chrom"].to_numpy()[reg_rep],
                regions["region_id"].to_numpy()[reg_rep],
                strict=True,
            )
        ]
    )
    tile_start = regions["start"].to_numpy()[reg_rep] + tpos * s.tile_step
    tile_seqs = [
        genome[c][st : st + s.tile_length].tobytes().decode()
        for c, st in zip(regions["chrom"].to_numpy()[reg_rep], tile_start, strict=True)
    ]

    with atomic_outputs(folder) as (tmp,):
        (tmp / "truth").mkdir()
        (tmp / "tf_sites").mkdir()
        (tmp / "DNACOUNTS").mkdir()
        pd.DataFrame({"id": ids, "seq": tile_seqs}).to_csv(
            tmp / f"{DESIGN}.sequences.txt", sep="\t", header=False, index=False
        )
        regions[["region_id", "chrom", "start", "end"]].to_csv(
            tmp / f"coords_{DESIGN}_hg19.txt", sep="\t", header=False, index=False
        )
        sheet = []
        for p in s.promoters:
            name = f"{DESIGN}_{p}_Plasmid.counts"
            _write_counts(tmp / "DNACOUNTS" / name, ids, dna[p])
            sheet.append((f"{p}_Plasmid", "DNA", "", p, 1, f"DNACOUNTS/{name}"))
        for (c, p, r), counts in rna.items():
            folder = tmp / c.upper()
            folder.mkdir(exist_ok=True)
            name = f"{c}_{DESIGN}_{p}_mRNA_Rep{r}.counts"
            _write_counts(folder / name, ids, counts)
            sheet.append((f"{c}_{p}_mRNA_Rep{r}", "RNA", c, p, r, f"{c.upper()}/{name}"))
        pd.DataFrame(
            sheet, columns=["library", "molecule", "cell", "promoter", "replicate", "path"]
        ).to_csv(tmp / "libraries.tsv", sep="\t", index=False)
        _write_fasta(tmp / "genome.fa", genome)
        _write_bigwig(tmp / "conservation.bw", _conservation(s, sites, lengths, regions, rng))
        _write_tf_beds(tmp / "tf_sites", s, sites, regions, rng)
        _write_tss(tmp / "tss.bed", regions, lengths, rng)
        _write_truth(tmp / "truth", s, sites, pairs, regions, ids, activity)
        recorded = s.model_dump(mode="json")
        (tmp / "settings.json").write_text(json.dumps(recorded, indent=2) + "\n")


def _conservation(s, sites, lengths, regions, rng) -> dict[str, np.ndarray]:
    tracks = {c: rng.exponential(0.3, n).astype(np.float32) for c, n in lengths.items()}
    functional = sites[sites["conserved"]]
    for c, st, en in zip(functional["chrom"], functional["start"], functional["end"], strict=True):
        tracks[c][st:en] += rng.normal(4.0, 1.0, en - st).clip(1.0)
    # Conserved elements with no planted effect: conservation is not function.
    n_extra = rng.poisson(0.3 * s.n_regions)
    pick = rng.integers(0, len(regions), n_extra)
    for c, st in zip(
        regions["chrom"].to_numpy()[pick], regions["start"].to_numpy()[pick], strict=True
    ):
        length = int(rng.integers(8, 25))
        off = int(rng.integers(0, s.region_length - length))
        tracks[c][st + off : st + off + length] += rng.normal(4.0, 1.0, length).clip(1.0)
    return tracks


def _write_tf_beds(folder: Path, s, sites, regions, rng) -> None:
    planted = sites[sites["kind"] == "planted"]
    decoys = sites[sites["kind"] == "decoy"]
    tf = planted["tf"].to_numpy()
    for cell in s.cells:
        active = np.array([any(f.effect_in(cell, p) != 0 for p in s.promoters) for f in CATALOG])
        listed = active[tf] & (rng.random(len(planted)) < s.bed_recall)
        # Decoys: sites of factors inactive in this cell, and every planted decoy site.
        inactive_listed = ~active[tf] & (rng.random(len(planted)) < 0.5)
        out = pd.concat(
            [planted[listed | inactive_listed].assign(score=1000), decoys.assign(score=500)]
        ).sort_values(["chrom", "start"], kind="stable")
        bed = pd.DataFrame(
            {
                "chrom": out["chrom"],
                "start": out["start"],
                "end": out["end"],
                "name": [FACTORS[t].name for t in out["tf"]],
                "score": out["score"],
                "strand": out["strand"],
            }
        )
        bed.to_csv(folder / f"{cell}.bed", sep="\t", header=False, index=False)


def _write_tss(path: Path, regions, lengths, rng) -> None:
    prox = regions[regions["proximal"]]
    dist = rng.integers(50, 2000, len(prox))
    tss = np.minimum(
        prox["end"].to_numpy() + dist, np.array([lengths[c] - 1 for c in prox["chrom"]])
    )
    pd.DataFrame(
        {
            "chrom": prox["chrom"],
            "start": tss,
            "end": tss + 1,
            "name": [f"TSS_{i}" for i in range(len(prox))],
            "score": 0,
            "strand": "+",
        }
    ).to_csv(path, sep="\t", header=False, index=False)


def _write_truth(folder: Path, s, sites, pairs, regions, ids, activity) -> None:
    import json

    task_names = [f"{c}_{p}" for c, p in s.tasks]
    region_ids = regions["region_id"].to_numpy()
    effects = np.array([[f.effect_in(c, p) for c, p in s.tasks] for f in FACTORS])
    site_id = np.arange(len(sites))
    planted = (sites["kind"] == "planted").to_numpy()
    tf = sites["tf"].to_numpy()
    out_sites = pd.DataFrame(
        {
            "region_id": region_ids[sites["region"]],
            "chrom": sites["chrom"],
            "start": sites["start"],
            "end": sites["end"],
            "offset": sites["offset"],
            "tf": [FACTORS[t].name for t in tf],
            "strand": sites["strand"],
            "conserved": sites["conserved"],
        }
    )
    for j, name in enumerate(task_names):
        out_sites[f"effect_{name}"] = effects[tf, j]
    out_sites["site_id"] = site_id
    out_sites["pair"] = sites["pair"].to_numpy()
    out_sites["pair_id"] = sites["pair_id"].to_numpy()
    write_tsv(out_sites[planted], folder / "sites.tsv")

    # One row per base of every site (planted and decoy); sites never overlap.
    length = sites["length"].to_numpy()
    rep = np.repeat(np.arange(len(sites)), length)
    within = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    minus = sites["strand"].to_numpy()[rep] == "-"
    base_sites = pd.DataFrame(
        {
            "region_id": region_ids[sites["region"].to_numpy()[rep]],
            "chrom": sites["chrom"].to_numpy()[rep],
            "pos": sites["start"].to_numpy()[rep] + within,
            "offset": sites["offset"].to_numpy()[rep] + within,
            "site_id": site_id[rep],
            "factor": out_sites["tf"].to_numpy()[rep],
            "strand": sites["strand"].to_numpy()[rep],
            "kind": sites["kind"].to_numpy()[rep],
            "motif_pos": np.where(minus, length[rep] - 1 - within, within),
        }
    )
    for j, name in enumerate(task_names):
        base_sites[f"effect_{name}"] = effects[tf[rep], j]
    base_sites.to_parquet(folder / "base_sites.parquet", index=False)

    # The cooperative arrangement, its size and where it was planted.
    pair_kinds = sites.loc[sites["pair_id"] >= 0].drop_duplicates("pair_id")["pair"]
    bonus_tasks = syntax_tasks(s)
    n_t = s.n_tiles
    rep_p, tile_p = _covering_tiles(s, pairs["start"].to_numpy(), pairs["end"].to_numpy())
    with_pair = np.unique(pairs["region"].to_numpy()[rep_p] * n_t + tile_p)
    syntax = {
        "first": SYNTAX.first,
        "second": SYNTAX.second,
        "first_matrix_id": CATALOG[factor_index(SYNTAX.first)].matrix_id,
        "second_matrix_id": CATALOG[factor_index(SYNTAX.second)].matrix_id,
        "strand": "same",
        "spacing_bp": list(SYNTAX.spacing),
        "bonus_log2": s.syntax_bonus,
        "tasks": [f"{c}_{p}" for c, p in bonus_tasks],
        "n_pairs_planted": int((pair_kinds == "cooperative").sum()),
        "n_control_pairs": int(pair_kinds.str.startswith("control").sum()),
        "controls": {k: int((pair_kinds == k).sum()) for k in CONTROL_KINDS},
        "n_tiles_with_pair": len(with_pair),
    }
    (folder / "syntax.json").write_text(json.dumps(syntax, indent=2) + "\n")
    position = {
        "weight": "offset + slope * x",
        "x": "(site centre - tile start) / tile_length",
        "offset": POSITION_OFFSET,
        "slope": POSITION_SLOPE,
        "tile_length": s.tile_length,
    }
    (folder / "position.json").write_text(json.dumps(position, indent=2) + "\n")

    factors = pd.DataFrame(
        {
            "factor": [f.name for f in FACTORS],
            "matrix_id": [f.matrix_id for f in FACTORS],
            "kind": ["planted"] * N_PLANTED + ["decoy"] * len(DECOYS),
            "length": [f.length for f in FACTORS],
            "consensus": [f.consensus for f in FACTORS],
            "ic_bits": [round(information_content(f, s.pwm_temperature), 3) for f in FACTORS],
        }
    )
    for j, name in enumerate(task_names):
        factors[f"effect_{name}"] = effects[:, j]
    write_tsv(factors, folder / "factors.tsv")

    tiles = pd.DataFrame(
        {
            "tile_id": ids,
            "region_id": np.repeat(region_ids, n_t),
            "tile_pos": np.tile(np.arange(n_t), s.n_regions),
        }
    )
    for j, name in enumerate(task_names):
        tiles[name] = activity[:, j]
    tiles.to_parquet(folder / "tile_activity.parquet", index=False)
    # Per-base effect: each planted site spreads its effect evenly over its bases.
    L = s.region_length
    base = np.zeros((s.n_regions, L, len(task_names)), dtype=np.float32)
    in_planted = planted[rep]
    idx = (sites["region"].to_numpy()[rep][in_planted], base_sites["offset"].to_numpy()[in_planted])
    for j in range(len(task_names)):
        np.add.at(base[:, :, j], idx, (effects[tf, j] / length)[rep][in_planted])
    pos = np.tile(np.arange(L), s.n_regions)
    table = pd.DataFrame(
        {
            "region_id": np.repeat(region_ids, L),
            "chrom": np.repeat(regions["chrom"].to_numpy(), L),
            "pos": pos,
            "genome_pos": np.repeat(regions["start"].to_numpy(), L) + pos,
        }
    )
    for j, name in enumerate(task_names):
        table[name] = base[:, :, j].reshape(-1)
    table.to_parquet(folder / "base_effect.parquet", index=False)
