"""Simulated IGVF MPRA libraries (elements, or allelic ref/alt pairs) with their truth.

Sequences are random background (GC 42 %) with planted consensus sites of the simulator catalogue
(``CATALOG[i].consensus``, nothing else of it). The true activity of a sequence is exact:
``sum_k effect_k * (matches of motif k's consensus, either strand)`` in log2 units, with the
per-motif effects :data:`EFFECTS`; a variant's true effect is ``truth(alt) - truth(ref)``.

Counts follow an MPRA: each barcode has a plasmid abundance ``a ~ LogNormal(0, 0.5)`` and a
barcode effect ``~ N(0, barcode_sd)``; each element and replicate a noise ``~ N(0, replicate_sd)``;
DNA ~ Gamma-Poisson(mean ``dna_depth * a``), RNA ~ Gamma-Poisson(mean ``rna_depth * a *
2^(truth + barcode effect + noise)``), shape ``dispersion``. Written as MPRAsnakeflow writes them
(empty cell = not seen; a barcode seen in no replicate is not listed).

Files (``outdir``): ``design.tsv`` (reporter_sequence_design), ``sim.barcodes.tsv.gz``
(reporter_experiment_barcode, experiment ``sim``), ``mapping.tsv.gz``
(reporter_barcode_to_element_mapping), ``truth/elements.tsv`` (``oligo_name``, ``class``,
``true_activity``, ``null``), and for allelic designs ``truth/variants.tsv`` (``variant_id``,
``ref``, ``alt``, ``true_effect``, ``null``).
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.config.settings import IGVFSimulation
from mpralens.io.atomic import Folder, atomic_outputs
from mpralens.io.sequences import reverse_complement
from mpralens.io.tables import write_tsv
from mpralens.simulate.catalog import CATALOG

# log2 effect per site of CATALOG[i] (cycled): activators and one repressor.
EFFECTS = (1.2, 1.0, 0.8, -1.0, 0.9, 0.7)
CHROM = "chrSim"
BARCODE_LENGTH = 15


def motifs() -> list[tuple[str, float]]:
    """``(consensus, effect)`` of every motif the simulator plants."""
    return [(tf.consensus.upper(), EFFECTS[i % len(EFFECTS)]) for i, tf in enumerate(CATALOG)]


def true_activity(seq: str, table: list[tuple[str, float]] | None = None) -> float:
    """Exact true activity of ``seq``: effect x consensus matches (both strands, overlaps too)."""
    total = 0.0
    for cons, eff in table or motifs():
        forms = {cons, reverse_complement(cons)}
        for form in forms:
            total += eff * len(re.findall(f"(?={form})", seq))
    return total


def _background(rng: np.random.Generator, n: int) -> list[str]:
    p = np.array([0.29, 0.21, 0.21, 0.29])
    return list(rng.choice(np.array(list("ACGT")), size=n, p=p))


def _element(
    rng: np.random.Generator,
    length: int,
    n_sites: int,
    table: list[tuple[str, float]],
    only_pos: bool,
) -> tuple[str, list[tuple[int, int]]]:
    """Draw a sequence with ``n_sites`` planted sites; return it and the sites' (start, end)."""
    for _ in range(200):
        seq = _background(rng, length)
        sites: list[tuple[int, int]] = []
        choices = [i for i, (_, e) in enumerate(table) if e > 0 or not only_pos]
        for _ in range(n_sites):
            k = int(rng.choice(choices))
            cons = table[k][0] if rng.random() < 0.5 else reverse_complement(table[k][0])
            for _ in range(50):
                s = int(rng.integers(0, length - len(cons) + 1))
                if all(s + len(cons) <= a or s >= b for a, b in sites):
                    seq[s : s + len(cons)] = list(cons)
                    sites.append((s, s + len(cons)))
                    break
        text = "".join(seq)
        # The truth counts exactly the planted sites (no accidental match of a consensus).
        expected = sum(
            1 for a, b in sites if any(text[a:b] in (c, reverse_complement(c)) for c, _ in table)
        )
        if _n_matches(text, table) == expected:
            return text, sites
    raise RuntimeError("could not draw a sequence without accidental motif matches")


def _n_matches(seq: str, table: list[tuple[str, float]]) -> int:
    n = 0
    for cons, _ in table:
        for form in {cons, reverse_complement(cons)}:
            n += len(re.findall(f"(?={form})", seq))
    return n


def _design_row(name: str, seq: str, category: str, cls: str, start: int) -> dict[str, object]:
    return {
        "name": name,
        "sequence": seq,
        "category": category,
        "class": cls,
        "source": "mpralens simulator",
        "ref": "sim",
        "chr": CHROM,
        "start": start,
        "end": start + len(seq),
        "strand": "+",
        "variant_class": "NA",
        "variant_pos": "NA",
        "SPDI": "NA",
        "allele": "NA",
        "info": "",
    }


def simulate_library(settings: IGVFSimulation) -> dict[str, pd.DataFrame]:
    """Draw the design, counts and truth of one library (tables, not yet written)."""
    rng = np.random.default_rng(settings.seed)
    table = motifs()
    rows: list[dict[str, object]] = []
    truth: list[dict[str, object]] = []
    variants: list[dict[str, object]] = []
    start = 10_000

    def length() -> int:
        j = settings.length_jitter
        return settings.length + (int(rng.integers(-j, j + 1)) if j else 0)

    def add(name: str, seq: str, category: str, cls: str, null: bool) -> None:
        nonlocal start
        rows.append(_design_row(name, seq, category, cls, start))
        truth.append(
            {
                "oligo_name": name,
                "class": cls,
                "true_activity": true_activity(seq, table),
                "null": null,
            }
        )
        start += len(seq) + 1000

    for i in range(settings.n_negative):
        seq, _ = _element(rng, length(), 0, table, False)
        add(f"neg_{i:04d}", seq, "element", "element inactive control", True)
    for i in range(settings.n_positive):
        seq, _ = _element(rng, length(), 4, table, True)
        add(f"pos_{i:04d}", seq, "element", "element active control", False)
    for i in range(settings.n_elements):
        null = rng.random() < settings.null_fraction
        n_sites = 0 if null else max(1, int(rng.poisson(settings.sites_per_element)))
        seq, sites = _element(
            rng,
            length(),
            n_sites if settings.design == "elements" else max(n_sites, 1),
            table,
            False,
        )
        if settings.design == "elements":
            add(f"elem_{i:04d}", seq, "element", "test", null)
            continue
        # Allelic: an SNV inside a site (an effect) or, for a null variant, outside every site.
        ref_truth = true_activity(seq, table)
        for _ in range(200):
            if null:
                pos = int(rng.integers(0, len(seq)))
                if any(a <= pos < b for a, b in sites):
                    continue
            else:
                a, b = sites[int(rng.integers(0, len(sites)))]
                pos = int(rng.integers(a, b))
            alt_base = str(rng.choice([c for c in "ACGT" if c != seq[pos]]))
            alt = seq[:pos] + alt_base + seq[pos + 1 :]
            effect = true_activity(alt, table) - ref_truth
            if (effect == 0) == null:
                break
        spdi = f"{CHROM}:{start + pos}:{seq[pos]}:{alt_base}"
        for allele, s in (("ref", seq), ("alt", alt)):
            name = f"var_{i:04d}_{allele}"
            row = _design_row(name, s, "variant", "test", start)
            row.update(
                {
                    "variant_class": "['SNV']",
                    "variant_pos": f"[{pos}]",
                    "SPDI": f"['{spdi}']",
                    "allele": f"['{allele}']",
                }
            )
            rows.append(row)
            truth.append(
                {
                    "oligo_name": name,
                    "class": "test",
                    "true_activity": true_activity(s, table),
                    "null": False,
                }
            )
        variants.append(
            {
                "variant_id": spdi,
                "ref": f"var_{i:04d}_ref",
                "alt": f"var_{i:04d}_alt",
                "true_effect": effect,
                "null": null,
            }
        )
        start += len(seq) + 1000
    design = pd.DataFrame(rows)
    truth_df = pd.DataFrame(truth)
    counts = _counts(rng, truth_df, settings)
    out = {"design": design, "truth": truth_df, "counts": counts}
    if variants:
        out["variants"] = pd.DataFrame(variants)
    return out


def _barcodes(rng: np.random.Generator, n: int) -> np.ndarray:
    seen: set[str] = set()
    out: list[str] = []
    alphabet = np.array(list("ACGT"))
    while len(out) < n:
        draw = rng.choice(alphabet, size=(n - len(out), BARCODE_LENGTH))
        for row in draw:
            bc = "".join(row)
            if bc not in seen:
                seen.add(bc)
                out.append(bc)
    return np.array(out, dtype=object)


def _counts(rng: np.random.Generator, truth: pd.DataFrame, s: IGVFSimulation) -> pd.DataFrame:
    n_el, n_bc = len(truth), s.barcodes
    oligo = np.repeat(truth["oligo_name"].to_numpy(), n_bc)
    act = np.repeat(truth["true_activity"].to_numpy(dtype=np.float64), n_bc)
    el = np.repeat(np.arange(n_el), n_bc)
    abundance = rng.lognormal(0.0, 0.5, size=oligo.size)
    bc_effect = rng.normal(0.0, s.barcode_sd, size=oligo.size)
    table = {"barcode": _barcodes(rng, oligo.size), "oligo_name": oligo}
    dna_cols, rna_cols = [], []
    for r in range(1, s.n_replicates + 1):
        noise = rng.normal(0.0, s.replicate_sd, size=n_el)[el]
        mu_d = s.dna_depth * abundance
        mu_r = s.rna_depth * abundance * 2.0 ** (act + bc_effect + noise)
        dna = rng.poisson(rng.gamma(s.dispersion, mu_d / s.dispersion))
        rna = rng.poisson(rng.gamma(s.dispersion, mu_r / s.dispersion))
        table[f"dna_count_{r}"] = dna
        table[f"rna_count_{r}"] = rna
        dna_cols.append(dna)
        rna_cols.append(rna)
    df = pd.DataFrame(table)
    seen = np.column_stack(dna_cols + rna_cols).sum(axis=1) > 0
    df = df[seen].reset_index(drop=True)
    for col in df.columns[2:]:
        values = df[col].to_numpy()
        df[col] = np.where(values > 0, values.astype(str), "")
    return df


def simulate_igvf(settings: IGVFSimulation, outdir: str | PathLike[str]) -> None:
    """Write one simulated library and its truth into ``outdir`` (all-or-nothing)."""
    tables = simulate_library(settings)
    with atomic_outputs(Folder(Path(outdir), "simulate-igvf")) as (tmp,):
        write_tsv(tables["design"], tmp / "design.tsv")
        write_tsv(tables["counts"], tmp / "sim.barcodes.tsv.gz")
        mapping = tables["counts"][["barcode", "oligo_name"]].rename(
            columns={"oligo_name": "oligoName"}
        )
        write_tsv(mapping, tmp / "mapping.tsv.gz")
        (tmp / "truth").mkdir()
        write_tsv(tables["truth"], tmp / "truth" / "elements.tsv")
        if "variants" in tables:
            write_tsv(tables["variants"], tmp / "truth" / "variants.tsv")
