"""Synthetic tiled MPRA (Sharpr-like), written in the real Ernst-site layout, with ground truth.

Model, per region of ``region_length`` bp on a synthetic genome:

* Background sequence is i.i.d. (GC ``gc``). ``Poisson(sites_per_region)`` non-overlapping sites of
  TFs from :mod:`mpralens.simulate.catalog` are planted (a random strand; each base matches the
  consensus with probability ``site_fidelity``). Promoter-proximal regions (a TSS just downstream)
  carry 1.5x as many sites.
* A tile's true activity in a task (log2 units) is
  ``baseline + region_effect + S * tanh(raw / S)`` where ``raw`` sums, over sites fully inside the
  tile, ``effect * (0.5 + x)`` with ``x`` in [0, 1] the site centre's relative position in the tile
  (sites near the 3' promoter end count more), plus ``cooperativity`` for each activating site
  beyond the first in the tile. Position, saturation and cooperativity make the truth non-additive
  in k-mers, which sequence models must learn.
* Counts are gamma-Poisson (negative binomial): plasmid abundance
  ``a ~ LogNormal(0, abundance_sd)``;
  DNA ~ NB(``dna_depth * a``); RNA ~ NB(``rna_depth * a * 2^(activity + e)``) with per-replicate
  biological noise ``e ~ N(0, replicate_sd)``; ``n_replicates`` RNA replicates per task, or
  ``replicates[cell]`` for the cells listed there (real experiments often have 3 in one cell and
  2 in another). Barcodes split a tile's molecules by log-normal
  efficiencies spanning about two orders of magnitude.
* Per-base true effect of a task: each planted site spreads its effect evenly over its bases.
  About ``conserved_fraction`` of functional sites are conserved (high conservation score) and
  random non-functional conserved elements are added. Each cell's TF-site BED lists most sites of
  TFs active in that cell plus decoys: sites of unplanted motifs and of inactive TFs.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.config.datasets import DESIGN, simulated_paths  # noqa: F401  (simulated_paths: re-exported)
from mpralens.config.settings import TiledSimulation
from mpralens.io.atomic import Folder, atomic_outputs, check_folder
from mpralens.io.sequences import reverse_complement
from mpralens.io.tables import write_tsv
from mpralens.simulate.catalog import CATALOG, DECOY_NAMES

BASES = np.frombuffer(b"ACGT", dtype=np.uint8)


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


def _plant_sites(
    s: TiledSimulation, regions: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Choose non-overlapping site positions per region (offsets within the region)."""
    rate = np.where(regions["proximal"], 1.5, 1.0) * s.sites_per_region
    n_sites = rng.poisson(rate)
    rows = []
    for r, k in enumerate(n_sites):
        taken = np.zeros(s.region_length, dtype=bool)
        for _ in range(int(k)):
            tf = int(rng.integers(len(CATALOG)))
            length = len(CATALOG[tf].consensus)
            for _attempt in range(10):
                off = int(rng.integers(0, s.region_length - length + 1))
                if not taken[off : off + length].any():
                    taken[off : off + length] = True
                    rows.append((r, tf, off, length))
                    break
    sites = pd.DataFrame(rows, columns=["region", "tf", "offset", "length"])
    sites["strand"] = np.where(rng.random(len(sites)) < 0.5, "+", "-")
    sites["conserved"] = rng.random(len(sites)) < s.conserved_fraction
    return sites


def _site_sequences(sites: pd.DataFrame, s: TiledSimulation, rng: np.random.Generator) -> list[str]:
    out = []
    for tf, strand in zip(sites["tf"], sites["strand"], strict=True):
        cons = np.frombuffer(CATALOG[tf].consensus.encode(), dtype=np.uint8).copy()
        flip = rng.random(len(cons)) > s.site_fidelity
        cons[flip] = BASES[rng.integers(0, 4, size=int(flip.sum()))]
        seq = cons.tobytes().decode()
        out.append(seq if strand == "+" else reverse_complement(seq))
    return out


def _tile_activity(s: TiledSimulation, sites: pd.DataFrame, regions: pd.DataFrame, rng):
    """Compute true activity, ``shape=(n_regions * n_tiles, n_tasks)``, log2 units."""
    n_t, tasks = s.n_tiles, s.tasks
    effects = np.array([[tf.effect_in(c, p) for c, p in tasks] for tf in CATALOG])  # (n_tf, n_task)
    off = sites["offset"].to_numpy()
    end = off + sites["length"].to_numpy()
    lo = np.maximum(0, -((s.tile_length - end) // s.tile_step))  # ceil((end - L) / step)
    hi = np.minimum(n_t - 1, off // s.tile_step)
    n_cover = np.maximum(hi - lo + 1, 0)
    site_rep = np.repeat(np.arange(len(sites)), n_cover)
    tile = (
        np.concatenate([np.arange(a, b + 1) for a, b in zip(lo, hi, strict=True)])
        if len(sites)
        else np.zeros(0, int)
    )
    tile = tile.astype(np.int64)
    centre = off[site_rep] + sites["length"].to_numpy()[site_rep] / 2 - tile * s.tile_step
    factor = 0.5 + centre / s.tile_length
    eff = effects[sites["tf"].to_numpy()[site_rep]]  # (n_pairs, n_task)
    row = sites["region"].to_numpy()[site_rep] * n_t + tile
    raw = np.zeros((s.n_regions * n_t, len(tasks)))
    np.add.at(raw, row, eff * factor[:, None])
    n_act = np.zeros_like(raw)
    np.add.at(n_act, row, (eff > 0.3).astype(float))
    raw += s.cooperativity * np.maximum(n_act - 1, 0)
    baseline = np.array([0.0 if p == "SV40P" else -0.5 for _, p in tasks])
    region_eff = np.repeat(rng.normal(0, s.region_sd, s.n_regions), n_t)
    return baseline + region_eff[:, None] + s.saturation * np.tanh(raw / s.saturation)


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
    ``truth/`` (``sites.tsv``; ``tile_activity.parquet`` and ``base_effect.parquet``, one column
    per task).
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

    activity = _tile_activity(s, sites, regions, rng)
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
        _write_truth(tmp / "truth", s, sites, regions, ids, activity)
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
    for cell in s.cells:
        active = np.array([any(tf.effect_in(cell, p) != 0 for p in s.promoters) for tf in CATALOG])
        listed = active[sites["tf"].to_numpy()] & (rng.random(len(sites)) < s.bed_recall)
        # Decoys: sites of TFs inactive in this cell, and predicted sites of unplanted motifs.
        inactive_listed = ~active[sites["tf"].to_numpy()] & (rng.random(len(sites)) < 0.5)
        real = sites[listed | inactive_listed]
        bed = pd.DataFrame(
            {
                "chrom": real["chrom"],
                "start": real["start"],
                "end": real["end"],
                "name": [CATALOG[t].name for t in real["tf"]],
                "score": 1000,
                "strand": real["strand"],
            }
        )
        n_decoy = rng.poisson(s.decoys_per_region * s.n_regions)
        pick = rng.integers(0, len(regions), n_decoy)
        off = rng.integers(0, s.region_length - 12, n_decoy)
        decoys = pd.DataFrame(
            {
                "chrom": regions["chrom"].to_numpy()[pick],
                "start": regions["start"].to_numpy()[pick] + off,
                "end": regions["start"].to_numpy()[pick] + off + 12,
                "name": np.array(DECOY_NAMES)[rng.integers(0, len(DECOY_NAMES), n_decoy)],
                "score": 500,
                "strand": np.where(rng.random(n_decoy) < 0.5, "+", "-"),
            }
        )
        out = pd.concat([bed, decoys], ignore_index=True).sort_values(
            ["chrom", "start"], kind="stable"
        )
        out.to_csv(folder / f"{cell}.bed", sep="\t", header=False, index=False)


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


def _write_truth(folder: Path, s, sites, regions, ids, activity) -> None:
    task_names = [f"{c}_{p}" for c, p in s.tasks]
    out_sites = pd.DataFrame(
        {
            "region_id": regions["region_id"].to_numpy()[sites["region"]],
            "chrom": sites["chrom"],
            "start": sites["start"],
            "end": sites["end"],
            "offset": sites["offset"],
            "tf": [CATALOG[t].name for t in sites["tf"]],
            "strand": sites["strand"],
            "conserved": sites["conserved"],
        }
    )
    for c, p in s.tasks:
        out_sites[f"effect_{c}_{p}"] = [CATALOG[t].effect_in(c, p) for t in sites["tf"]]
    write_tsv(out_sites, folder / "sites.tsv")
    n_t = s.n_tiles
    tiles = pd.DataFrame(
        {
            "tile_id": ids,
            "region_id": np.repeat(regions["region_id"].to_numpy(), n_t),
            "tile_pos": np.tile(np.arange(n_t), s.n_regions),
        }
    )
    for j, name in enumerate(task_names):
        tiles[name] = activity[:, j]
    tiles.to_parquet(folder / "tile_activity.parquet", index=False)
    # Per-base effect: each site spreads its effect evenly over its bases.
    L = s.region_length
    base = np.zeros((s.n_regions, L, len(task_names)), dtype=np.float32)
    for j, (c, p) in enumerate(s.tasks):
        per_base = (
            np.array([CATALOG[t].effect_in(c, p) for t in sites["tf"]]) / sites["length"].to_numpy()
        )
        idx_r = np.repeat(sites["region"].to_numpy(), sites["length"].to_numpy())
        idx_p = (
            np.concatenate(
                [np.arange(o, o + n) for o, n in zip(sites["offset"], sites["length"], strict=True)]
            )
            if len(sites)
            else np.zeros(0, int)
        )
        np.add.at(
            base[:, :, j],
            (idx_r, idx_p.astype(np.int64)),
            np.repeat(per_base, sites["length"].to_numpy()),
        )
    pos = np.tile(np.arange(L), s.n_regions)
    table = pd.DataFrame(
        {
            "region_id": np.repeat(regions["region_id"].to_numpy(), L),
            "chrom": np.repeat(regions["chrom"].to_numpy(), L),
            "pos": pos,
            "genome_pos": np.repeat(regions["start"].to_numpy(), L) + pos,
        }
    )
    for j, name in enumerate(task_names):
        table[name] = base[:, :, j].reshape(-1)
    table.to_parquet(folder / "base_effect.parquet", index=False)
