"""One IGVF experiment from files to tables: read and check, activity, tests, IGVF outputs.

:func:`analyse_experiment` is what ``mpralens activity`` and the workflow's ``import-igvf`` run.
Every output table in an IGVF format is validated against its schema before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.config.settings import IGVFSettings
from mpralens.data.element_tests import element_test, variant_test
from mpralens.data.elements import (
    activity_long,
    pooled_activity,
    replicate_activity,
    replicate_activity_from_oligos,
)
from mpralens.io.errors import InputError
from mpralens.io.igvf import (
    SCHEMA_ROWS,
    allelic_pairs,
    check_oligos_in_design,
    read_barcode_counts,
    read_design,
    read_mapping,
    read_oligo_counts,
    validate_table,
)

COUNT_FORMATS = ("reporter_experiment_barcode", "reporter_experiment")
VARIANT_COLUMNS = [
    "variant_id",
    "ref",
    "alt",
    "variant_pos",
    "ref_allele",
    "alt_allele",
    "effect",
    "se",
    "ci_low",
    "ci_high",
    "t",
    "df",
    "p_value",
    "ci_low_95",
    "ci_high_95",
    "q_value",
    "significant",
    "n_replicates",
]


@dataclass
class Experiment:
    """Everything computed for one experiment."""

    per_replicate: pd.DataFrame
    pooled: pd.DataFrame
    activity: pd.DataFrame  # the command's long table
    reporter_experiment: pd.DataFrame
    elements: pd.DataFrame | None = None
    reporter_element: pd.DataFrame | None = None
    variants: pd.DataFrame | None = None
    reporter_variant: pd.DataFrame | None = None
    barcodes_per_oligo: pd.DataFrame = field(default_factory=pd.DataFrame)


def analyse_experiment(
    counts: str | PathLike[str],
    *,
    fmt: str,
    settings: IGVFSettings,
    design: pd.DataFrame | None = None,
    design_path: str | PathLike[str] | None = None,
    mapping: str | PathLike[str] | None = None,
) -> Experiment:
    """Read one experiment's counts and compute its activities (and tests, given a design)."""
    if fmt not in COUNT_FORMATS:
        raise InputError(f"--format must be one of {', '.join(COUNT_FORMATS)}, got {fmt!r}")
    if design is None and design_path is not None:
        design = read_design(design_path)
    pairs = allelic_pairs(design, path=design_path) if design is not None else None
    if fmt == "reporter_experiment_barcode":
        bc = read_barcode_counts(counts)
        if design is not None:
            check_oligos_in_design(bc.oligos, design, path=counts, first_line=2)
        if mapping is not None:
            check_mapping(
                bc.barcodes, bc.oligos, read_mapping(mapping), counts=counts, mapping_path=mapping
            )
        per_rep = replicate_activity(bc, settings)
        seen = pd.DataFrame(
            {"oligo_name": bc.oligos, **{r: bc.dna[:, j] > 0 for j, r in enumerate(bc.replicates)}}
        )
        per_oligo = seen.groupby("oligo_name").sum().reset_index()
    else:
        oc = read_oligo_counts(counts)
        if design is not None:
            check_oligos_in_design(
                oc.table["oligo_name"].to_numpy(dtype=object), design, path=counts, first_line=2
            )
        per_rep = replicate_activity_from_oligos(oc, settings)
        per_oligo = oc.table.pivot(
            index="oligo_name", columns="replicate", values="n_bc"
        ).reset_index()
    if per_rep.empty:
        raise InputError(
            "no element passes igvf.min_barcodes and igvf.min_dna in any replicate: nothing to "
            "measure; lower them",
            path=counts,
            key="igvf.min_barcodes",
        )
    pooled = pooled_activity(per_rep, settings)
    exp = Experiment(
        per_replicate=per_rep,
        pooled=pooled,
        activity=activity_long(per_rep, pooled),
        reporter_experiment=reporter_experiment_table(per_rep),
        barcodes_per_oligo=per_oligo,
    )
    if design is not None:
        exp.elements = element_test(per_rep, design, settings).merge(
            pooled[
                ["oligo_name", "activity", "ci_low", "ci_high", "dna_normalized", "rna_normalized"]
            ].rename(columns={"ci_low": "activity_ci_low", "ci_high": "activity_ci_high"}),
            on="oligo_name",
        )
        exp.reporter_element = reporter_element_table(exp.elements)
        if pairs is not None and not pairs.empty:
            exp.variants = variant_test(per_rep, pairs, settings)
            exp.reporter_variant = reporter_variant_table(exp.variants, pooled)
    for name in ("reporter_experiment", "reporter_element", "reporter_variant"):
        table = getattr(exp, name)
        if table is not None:
            validate_table(name, table, rows=SCHEMA_ROWS)
    return exp


def check_mapping(
    barcodes: np.ndarray,
    oligos: np.ndarray,
    mapping: pd.DataFrame,
    *,
    counts: str | PathLike[str],
    mapping_path: str | PathLike[str],
) -> None:
    """Refuse a counted barcode that the mapping file gives to another oligo."""
    known = pd.Series(mapping["oligo_name"].to_numpy(), index=mapping["barcode"].to_numpy())
    mapped = known.reindex(barcodes).to_numpy()
    bad = pd.notna(mapped) & (mapped != oligos)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"barcode {barcodes[i]} is mapped to two oligos: {oligos[i]!r} here and "
            f"{mapped[i]!r} in {mapping_path}",
            path=counts,
            line=2 + i,
        )


def reporter_experiment_table(per_rep: pd.DataFrame) -> pd.DataFrame:
    """``reporter_experiment`` rows (per oligo and replicate), values rounded to 4 decimals."""
    return pd.DataFrame(
        {
            "replicate": per_rep["replicate"].astype(str),
            "oligo_name": per_rep["oligo_name"],
            "dna_counts": per_rep["dna_counts"].astype(np.int64),
            "rna_counts": per_rep["rna_counts"].astype(np.int64),
            "dna_normalized": per_rep["dna_normalized"].round(4),
            "rna_normalized": per_rep["rna_normalized"].round(4),
            "log2FoldChange": per_rep["log2_ratio"].round(4),
            "n_bc": per_rep["n_barcodes"].astype(np.int64),
        }
    )


def _minus_log10(p: pd.Series) -> np.ndarray:
    return -np.log10(np.clip(p.to_numpy(dtype=np.float64), 1e-300, 1.0))


def reporter_element_table(elements: pd.DataFrame) -> pd.DataFrame:
    """``reporter_element`` rows: pooled log2 ratio, mean CPM, the control test's p and q."""
    ok = elements["p_value"].notna()
    e = elements[ok]
    return pd.DataFrame(
        {
            "oligo_name": e["oligo_name"],
            "log2FoldChange": e["activity"].round(4),
            "inputCount": e["dna_normalized"].round(4),
            "outputCount": e["rna_normalized"].round(4),
            "minusLog10PValue": _minus_log10(e["p_value"]).round(4),
            "minusLog10QValue": _minus_log10(e["q_value"]).round(4),
        }
    )


def reporter_variant_table(variants: pd.DataFrame, pooled: pd.DataFrame) -> pd.DataFrame:
    """``reporter_variant`` rows (single-SNV/indel variants with a p-value)."""
    v = variants[variants["p_value"].notna() & ~variants["variant_id"].str.contains(",")]
    cpm = pooled.set_index("oligo_name")
    return pd.DataFrame(
        {
            "variant_id": v["variant_id"],
            "log2FoldChange": v["effect"].round(4),
            "inputCountRef": cpm["dna_normalized"].reindex(v["ref"]).round(4).to_numpy(),
            "outputCountRef": cpm["rna_normalized"].reindex(v["ref"]).round(4).to_numpy(),
            "inputCountAlt": cpm["dna_normalized"].reindex(v["alt"]).round(4).to_numpy(),
            "outputCountAlt": cpm["rna_normalized"].reindex(v["alt"]).round(4).to_numpy(),
            "minusLog10PValue": _minus_log10(v["p_value"]).round(4),
            "minusLog10QValue": _minus_log10(v["q_value"]).round(4),
            # limma's B statistic as a probability (data/element_tests.py, docs/igvf.md).
            "postProbEffect": v["post_prob"].round(4),
            "CI_lower_95": v["ci_low_95"].round(4),
            "CI_upper_95": v["ci_high_95"].round(4),
            "variantPos": v["variant_pos"].astype(np.int64),
            "refAllele": v["ref_allele"],
            "altAllele": v["alt_allele"],
        }
    )


def model_sequences(
    design: pd.DataFrame, *, lengths: str, path: str | PathLike[str] | None = None
) -> pd.DataFrame:
    """Design sequences for the sequence models: one length, or padded (``igvf.lengths``)."""
    seqs = design["sequence"]
    n = seqs.str.len()
    if n.nunique() > 1:
        if lengths == "equal":
            common = int(n.mode().iloc[0])
            i = int(np.flatnonzero(n.to_numpy() != common)[0])
            raise InputError(
                f"mixed sequence lengths ({n.min()}-{n.max()} bp): oligo "
                f"{design['name'].iloc[i]!r} has {n.iloc[i]} bp, most have {common}; the sequence "
                "models need one length: set igvf.lengths: pad to centre them in N",
                path=path,
                line=int(design["line"].iloc[i]) if "line" in design else None,
                key="igvf.lengths",
            )
        width = int(n.max())
        seqs = pd.Series(
            [("N" * ((width - len(s)) // 2) + s).ljust(width, "N") for s in seqs], index=seqs.index
        )
    return pd.DataFrame({"oligo_name": design["name"], "sequence": seqs.to_numpy()})


def write_experiment(exp: Experiment, folder: Path) -> None:
    """Write an experiment's tables into ``folder`` (a temporary of an atomic output)."""
    from mpralens.io.tables import write_tsv

    write_tsv(exp.activity, folder / "activity.tsv.gz")
    write_tsv(exp.pooled, folder / "elements_pooled.tsv.gz")
    write_tsv(exp.reporter_experiment, folder / "reporter_experiment.tsv.gz")
    if exp.elements is not None:
        write_tsv(exp.elements, folder / "element_tests.tsv.gz")
        write_tsv(exp.reporter_element, folder / "reporter_element.tsv.gz")
    if exp.variants is not None:
        write_tsv(exp.variants, folder / "variant_tests.tsv.gz")
        write_tsv(exp.reporter_variant, folder / "reporter_variant.tsv.gz")
    elif exp.elements is not None:  # no variant in the design: an empty table, same columns
        write_tsv(pd.DataFrame(columns=VARIANT_COLUMNS), folder / "variant_tests.tsv.gz")


def model_tables(
    design: pd.DataFrame,
    experiments: dict[str, Experiment],
    *,
    lengths: str,
    design_path: str | PathLike[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the tiles and long activity tables the sequence models train on, from experiments.

    Each oligo is a "tile" (``tile_id`` = oligo name); ref and alt oligos of a variant share a
    ``region_id`` (the ref's name; ``tile_pos`` 0 ref, 1.. alt) so that a split never separates
    them; other oligos are their own region. Each experiment is a task. ``weight`` is the inverse
    variance of the pooled activity divided by its 90th percentile and capped at 1; replicate
    ratios go to ``log2_ratio_rep1..N`` in the experiment's replicate order.
    """
    seqs = model_sequences(design, lengths=lengths, path=design_path)
    region = pd.Series(design["name"].to_numpy(), index=design["name"].to_numpy())
    pos = pd.Series(0, index=design["name"].to_numpy())
    pairs = allelic_pairs(design, path=design_path)
    for ref, group in pairs.groupby("ref", sort=False):
        for k, alt in enumerate(group["alt"], start=1):
            region[alt] = ref
            pos[alt] = k
    names = design["name"].to_numpy()
    lens = seqs["sequence"].str.len().to_numpy()

    def column(col: str) -> pd.Series:
        if col not in design.columns:
            return pd.Series([""] * len(design))
        return design[col].astype(str).replace("NA", "")

    chrom = column("chr").replace("", "chrUn").to_numpy()
    start = pd.to_numeric(column("start"), errors="coerce").fillna(0).astype(np.int64).to_numpy()
    end = pd.to_numeric(column("end"), errors="coerce").fillna(0).astype(np.int64).to_numpy()
    end = np.where(end > start, end, start + lens)
    tiles = pd.DataFrame(
        {
            "tile_id": names,
            "region_id": region.loc[names].to_numpy(),
            "tile_pos": pos.loc[names].to_numpy(),
            "chrom": chrom,
            "start": start,
            "end": end,
            "sequence": seqs["sequence"].to_numpy(),
        }
    )
    rows = []
    for task, exp in sorted(experiments.items()):
        pooled = exp.pooled.set_index("oligo_name")
        inv = 1.0 / np.maximum(pooled["se"].to_numpy() ** 2, 1e-12)
        weight = np.minimum(inv / np.quantile(inv, 0.9), 1.0)
        a = pd.DataFrame(
            {
                "tile_id": pooled.index.to_numpy(),
                "region_id": region.loc[pooled.index].to_numpy(),
                "tile_pos": pos.loc[pooled.index].to_numpy(),
                "task": task,
                "activity": pooled["activity"].to_numpy(),
                "weight": weight,
            }
        )
        reps = list(dict.fromkeys(exp.per_replicate["replicate"]))
        wide = exp.per_replicate.pivot(index="oligo_name", columns="replicate", values="log2_ratio")
        for i, rep in enumerate(reps, start=1):
            a[f"log2_ratio_rep{i}"] = wide[rep].reindex(pooled.index).to_numpy()
        a["valid"] = True
        rows.append(a)
    activity = pd.concat(rows, ignore_index=True)
    first = ["tile_id", "region_id", "tile_pos", "task"]
    reps_cols = sorted(
        (c for c in activity.columns if c.startswith("log2_ratio_rep")),
        key=lambda c: int(c.removeprefix("log2_ratio_rep")),
    )
    return tiles, activity[first + reps_cols + ["activity", "valid", "weight"]]
