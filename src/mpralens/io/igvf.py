"""Readers of the IGVF MPRA formats (as MPRAsnakeflow writes them), checked against their schemas.

Formats (one TSV row = one JSON object of the schema in ``igvf_schemas/``):

* ``reporter_experiment_barcode``: ``barcode``, ``oligo_name`` and ``dna_count_<rep>`` /
  ``rna_count_<rep>`` per replicate; an empty cell is a barcode not seen (count 0).
* ``reporter_experiment``: one row per oligo and replicate (counts, normalised counts, log2 ratio,
  barcodes).
* ``reporter_sequence_design``: one row per designed oligo; the variant columns hold ``NA`` or a
  Python-style list (``['SNV']``, ``[12]``, ``['chr1:100:A:G']``, ``['ref']``), as MPRAlib reads
  them.
* ``reporter_barcode_to_element_mapping``: ``barcode``, ``oligoName``.

The schemas (``igvf_schemas/``, see its NOTICE.md) are checked with ``jsonschema``: the header
against the schema's columns, every row of a design and a mapping, and the first
:data:`SCHEMA_ROWS` rows of count files, whose every cell is also checked vectorised (the same
rules: non-negative integers or empty). Each problem is one :class:`InputError` naming the
file, line and column.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError
from mpralens.io.tables import read_tsv

SCHEMA_DIR = Path(__file__).parent / "igvf_schemas"
FORMATS = (
    "reporter_experiment_barcode",
    "reporter_experiment",
    "reporter_sequence_design",
    "reporter_barcode_to_element_mapping",
    "reporter_element",
    "reporter_variant",
)
# Rows of a count file validated by jsonschema itself (every cell is checked vectorised).
SCHEMA_ROWS = 1000
LIST_COLUMNS = ("variant_class", "variant_pos", "SPDI", "allele")
_COUNT = re.compile(r"^(dna|rna)_count_(.+)$")


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """Return the JSON schema of IGVF format ``name``."""
    if name not in FORMATS:
        raise InputError(f"unknown IGVF format {name!r}; one of {', '.join(FORMATS)}")
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{name}.json").read_text())
    return data


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(schema(name))


def validate_record(
    name: str, record: dict[str, Any], *, path: Any = None, line: int | None = None
) -> None:
    """Validate one row (a JSON object) against format ``name``; raise naming its column."""
    error = next(iter(_validator(name).iter_errors(record)), None)
    if error is None:
        return
    column = next((str(p) for p in error.absolute_path), None)
    where = f"column '{column}': " if column else ""
    raise InputError(f"{where}{error.message} (IGVF {name} schema)", path=path, line=line)


def validate_table(
    name: str, df: pd.DataFrame, *, path: Any = None, first_line: int = 2, rows: int | None = None
) -> None:
    """Validate the rows of ``df`` (written values) against format ``name``.

    ``rows``: only the first so many (tables mpralens writes itself, whose every row has the same
    columns and types; the full check is in the tests); None: every row.
    """
    head = df if rows is None else df.iloc[:rows]
    for i, record in enumerate(head.to_dict(orient="records")):
        clean = {k: _json_value(v) for k, v in record.items()}
        validate_record(name, clean, path=path, line=first_line + i)


def _json_value(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _check_header(name: str, columns: list[str], path: Path) -> None:
    """Refuse a column the schema does not define, naming it."""
    sch = schema(name)
    known = set(sch.get("properties", {}))
    patterns = [re.compile(p) for p in sch.get("patternProperties", {})]
    for col in columns:
        if col not in known and not any(p.search(col) for p in patterns):
            raise InputError(
                f"column '{col}' is not a column of the IGVF {name} format (allowed: "
                f"{', '.join(sorted(known))}"
                + (", dna_count_<replicate>, rna_count_<replicate>" if patterns else "")
                + ")",
                path=path,
                line=1,
            )


# ----------------------------------------------------------------------------- counts


@dataclass
class BarcodeCounts:
    """Counts of one ``reporter_experiment_barcode`` file.

    Attributes
    ----------
    barcodes, oligos
        One entry per row (barcode), as strings.
    replicates
        Replicate names (the ``<rep>`` of ``dna_count_<rep>``), in file order.
    dna, rna
        ``(n_barcodes, n_replicates)`` int64 counts; an empty cell is 0.
    path
        The file read.
    """

    barcodes: np.ndarray
    oligos: np.ndarray
    replicates: list[str]
    dna: np.ndarray
    rna: np.ndarray
    path: str


def count_columns(columns: list[str], path: Path) -> list[str]:
    """Return the count columns' replicates; one missing its DNA or RNA partner is an error."""
    reps: dict[str, set[str]] = {}
    order: list[str] = []
    for col in columns:
        m = _COUNT.match(col)
        if m:
            if m.group(2) not in reps:
                order.append(m.group(2))
            reps.setdefault(m.group(2), set()).add(m.group(1))
    for rep in order:
        missing = {"dna", "rna"} - reps[rep]
        if missing:
            have = (reps[rep] - missing).pop()
            raise InputError(
                f"column '{have}_count_{rep}' has no partner '{missing.pop()}_count_{rep}': "
                "every replicate needs a DNA and an RNA count column",
                path=path,
                line=1,
            )
    if not order:
        raise InputError(
            "no count columns: expected dna_count_<replicate> and rna_count_<replicate>",
            path=path,
            line=1,
        )
    return order


def parse_counts(values: pd.Series, *, column: str, path: Any, first_line: int) -> np.ndarray:
    """Parse count strings (empty = 0) to int64; negative, fractional or other values are errors."""
    ok = values.str.fullmatch(r"\d*").to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        bad = values.iloc[i]
        if re.fullmatch(r"\s*-\d+(\.\d*)?\s*", bad):
            why = "is negative"
        elif re.fullmatch(r"\s*\d*\.\d*\s*|\s*\d+(\.\d*)?[eE][+-]?\d+\s*", bad):
            why = "is fractional" if float(bad) != int(float(bad)) else "is written as a decimal"
        else:
            why = "is not a number"
        raise InputError(
            f"column '{column}': count {bad!r} {why}; counts are non-negative integers "
            "(empty = not seen)",
            path=path,
            line=first_line + i,
        )
    digits = values.str.len().to_numpy()
    if (digits > 18).any():
        i = int(np.flatnonzero(digits > 18)[0])
        raise InputError(
            f"column '{column}': count {values.iloc[i]} is too large",
            path=path,
            line=first_line + i,
        )
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values, type=pa.string())
    return pc.cast(pc.if_else(pc.equal(arr, ""), "0", arr), pa.int64()).to_numpy()


def read_barcode_counts(path: str | PathLike[str]) -> BarcodeCounts:
    """Read and check a ``reporter_experiment_barcode`` file."""
    path = Path(path)
    df = read_tsv(path, columns=["barcode", "oligo_name"], header=True)
    columns = list(df.columns)
    _check_header("reporter_experiment_barcode", columns, path)
    reps = count_columns(columns, path)
    first = int(df.attrs["first_line"])
    barcodes = df["barcode"].to_numpy(dtype=object)
    bad = ~df["barcode"].str.fullmatch(r"[ACGT]+").to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"column 'barcode': {barcodes[i]!r} is not a barcode of A, C, G, T",
            path=path,
            line=first + i,
        )
    oligos = df["oligo_name"].to_numpy(dtype=object)
    check_barcode_map(barcodes, oligos, path=path, first_line=first, column="oligo_name")
    dna = np.column_stack(
        [
            parse_counts(df[f"dna_count_{r}"], column=f"dna_count_{r}", path=path, first_line=first)
            for r in reps
        ]
    )
    rna = np.column_stack(
        [
            parse_counts(df[f"rna_count_{r}"], column=f"rna_count_{r}", path=path, first_line=first)
            for r in reps
        ]
    )
    head = df.iloc[:SCHEMA_ROWS]
    for i, record in enumerate(head.to_dict(orient="records")):
        rec = {
            k: (int(v) if k != "barcode" and k != "oligo_name" and v != "" else v)
            for k, v in record.items()
        }
        validate_record("reporter_experiment_barcode", rec, path=path, line=first + i)
    return BarcodeCounts(barcodes, oligos, reps, dna, rna, str(path))


def check_barcode_map(
    barcodes: np.ndarray, oligos: np.ndarray, *, path: Any, first_line: int, column: str
) -> None:
    """Refuse a barcode listed twice (for two oligos, or twice for one), naming both lines."""
    s = pd.Series(barcodes)
    dup = s.duplicated(keep=False).to_numpy()
    if not dup.any():
        return
    idx = np.flatnonzero(dup)
    first_dup = idx[np.flatnonzero(s.iloc[idx].duplicated().to_numpy())[0]]
    earlier = int(idx[np.flatnonzero(barcodes[idx] == barcodes[first_dup])[0]])
    bc = barcodes[first_dup]
    if oligos[earlier] != oligos[first_dup]:
        msg = (
            f"barcode {bc} is mapped to two oligos: {oligos[earlier]!r} (line "
            f"{first_line + earlier}) and {oligos[first_dup]!r}; a barcode must tag one oligo"
        )
    else:
        msg = f"barcode {bc} is listed twice (line {first_line + earlier} too) in column '{column}'"
    raise InputError(msg, path=path, line=first_line + int(first_dup))


@dataclass
class OligoCounts:
    """Counts of one ``reporter_experiment`` file: one row per oligo and replicate."""

    table: pd.DataFrame  # replicate, oligo_name, dna_counts, rna_counts, n_bc
    path: str


def read_oligo_counts(path: str | PathLike[str]) -> OligoCounts:
    """Read and check a ``reporter_experiment`` file (oligo-level counts per replicate)."""
    path = Path(path)
    sch = schema("reporter_experiment")
    df = read_tsv(path, columns=list(sch["required"]), header=True)
    _check_header("reporter_experiment", list(df.columns), path)
    first = int(df.attrs["first_line"])
    out = df[["replicate", "oligo_name"]].copy()
    for col in ("dna_counts", "rna_counts", "n_bc"):
        out[col] = parse_counts(df[col], column=col, path=path, first_line=first)
    dup = out.duplicated(subset=["replicate", "oligo_name"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"oligo {out['oligo_name'].iloc[i]!r} is listed twice for replicate "
            f"{out['replicate'].iloc[i]!r}",
            path=path,
            line=first + i,
        )
    return OligoCounts(out, str(path))


# ----------------------------------------------------------------------------- design, mapping


def read_mapping(path: str | PathLike[str]) -> pd.DataFrame:
    """Read a ``reporter_barcode_to_element_mapping`` file: ``barcode``, ``oligo_name``."""
    path = Path(path)
    df = read_tsv(path, columns=["barcode", "oligoName"], header=True)
    _check_header("reporter_barcode_to_element_mapping", list(df.columns), path)
    first = int(df.attrs["first_line"])
    bad = ~df["barcode"].str.fullmatch(r"[ACGT]+").to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"column 'barcode': {df['barcode'].iloc[i]!r} is not a barcode of A, C, G, T",
            path=path,
            line=first + i,
        )
    check_barcode_map(
        df["barcode"].to_numpy(dtype=object),
        df["oligoName"].to_numpy(dtype=object),
        path=path,
        first_line=first,
        column="oligoName",
    )
    return pd.DataFrame({"barcode": df["barcode"], "oligo_name": df["oligoName"]})


def _parse_list(text: str, *, column: str, path: Path, line: int) -> Any:
    """``NA`` (or empty) -> ``"NA"``; ``['x', 'y']`` / ``[1]`` -> a list; else an error."""
    text = text.strip()
    if text in ("", "NA"):
        return "NA"
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = None
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise InputError(
            f"column '{column}': {text!r} is neither NA nor a list such as ['x'] or [3]",
            path=path,
            line=line,
        )
    return value


def _suspect_design_rows(df: pd.DataFrame, sch: dict[str, Any], ints: set[str]) -> np.ndarray:
    """Rows that may break the design schema (checked with jsonschema; the rest cannot)."""
    props = sch["properties"]
    bad = np.zeros(len(df), dtype=bool)
    for col in df.columns:
        spec = props.get(col, {})
        values = df[col]
        if "enum" in spec:
            allowed = set(spec["enum"]) | ({"", "NA"} if col not in sch["required"] else set())
            bad |= ~values.isin(allowed).to_numpy()
        elif col in ints:
            bad |= ~values.str.fullmatch(r"\d*|NA").to_numpy(dtype=bool)
        elif spec.get("type") == "string" and "minLength" in spec:
            bad |= (values.str.len() < spec["minLength"]).to_numpy()
    allowed_items = {"variant_class": {"SNV", "indel"}, "allele": {"ref", "alt"}}
    spdi = re.compile(props["SPDI"]["anyOf"][0]["items"]["pattern"])
    for i, row in enumerate(zip(*(df[c] for c in LIST_COLUMNS), strict=True)):
        for col, value in zip(LIST_COLUMNS, row, strict=True):
            if value == "NA":
                continue
            if not isinstance(value, list) or not value:
                bad[i] = True
            elif col in allowed_items:
                bad[i] |= not set(value) <= allowed_items[col]
            elif col == "variant_pos":
                bad[i] |= not all(isinstance(v, int) and v >= 0 for v in value)
            else:
                bad[i] |= not all(isinstance(v, str) and spdi.match(v) for v in value)
    return bad


def read_design(path: str | PathLike[str]) -> pd.DataFrame:
    """Read and check a ``reporter_sequence_design`` file.

    Returns
    -------
    pandas.DataFrame
        One row per oligo: ``name``, ``sequence`` (upper case), ``category``, ``class``, the
        optional coordinate columns, the list columns (``"NA"`` or a list), ``line`` (file line),
        plus ``variant_id`` (the SPDI strings joined by ``,``; empty for non-variant oligos) and
        ``allele_kind`` (``ref`` when every allele is ref, ``alt`` otherwise, empty for none).
    """
    path = Path(path)
    sch = schema("reporter_sequence_design")
    df = read_tsv(path, columns=["name", "sequence", "category", "class"], header=True)
    _check_header("reporter_sequence_design", list(df.columns), path)
    first = int(df.attrs["first_line"])
    for col in LIST_COLUMNS:  # optional in a file without variants: NA
        if col not in df.columns:
            df[col] = "NA"
    seq = df["sequence"].str.strip()
    bad = ~seq.str.fullmatch(r"[ACGTNacgtn]+").to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        odd = sorted(set(seq.iloc[i].upper()) - set("ACGTN")) or ["(empty)"]
        raise InputError(
            f"column 'sequence': oligo {df['name'].iloc[i]!r} has bases other than A, C, G, T, N: "
            f"{''.join(odd)}",
            path=path,
            line=first + i,
        )
    df["sequence"] = seq.str.upper()
    dup = df["name"].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"column 'name': oligo {df['name'].iloc[i]!r} is listed twice",
            path=path,
            line=first + i,
        )
    for col in LIST_COLUMNS:
        df[col] = [
            _parse_list(v, column=col, path=path, line=first + i) for i, v in enumerate(df[col])
        ]
    ints = {c for c, s in sch["properties"].items() if s.get("type") == "integer"}
    check = np.zeros(len(df), dtype=bool)
    check[:SCHEMA_ROWS] = True
    check |= _suspect_design_rows(df, sch, ints)
    records = df.iloc[np.flatnonzero(check)].to_dict(orient="records")
    for row, rec in zip(np.flatnonzero(check).tolist(), records, strict=True):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, str) and v in ("", "NA") and k not in LIST_COLUMNS:
                continue  # an optional column left empty
            if k in ints and isinstance(v, str) and re.fullmatch(r"\d+", v):
                v = int(v)
            clean[k] = v
        validate_record("reporter_sequence_design", clean, path=path, line=first + row)
    df["line"] = np.arange(first, first + len(df))
    df["variant_id"] = [",".join(v) if isinstance(v, list) else "" for v in df["SPDI"]]
    df["allele_kind"] = [
        ("ref" if all(a == "ref" for a in v) else "alt") if isinstance(v, list) else ""
        for v in df["allele"]
    ]
    return df


def allelic_pairs(design: pd.DataFrame, *, path: Any = None) -> pd.DataFrame:
    """Pair each alt oligo with the ref oligo of its variant group (same SPDI).

    Returns
    -------
    pandas.DataFrame
        ``variant_id``, ``ref``, ``alt`` (oligo names), ``variant_pos`` (first position, -1 when
        several), ``ref_allele``, ``alt_allele`` (from the SPDI; empty when several). A group with
        an alt and no ref oligo is an error naming the alt's line.
    """
    rows = []
    var = design[design["variant_id"] != ""]
    for vid, group in var.groupby("variant_id", sort=True):
        refs = group[group["allele_kind"] == "ref"]
        alts = group[group["allele_kind"] == "alt"]
        if refs.empty:
            raise InputError(
                f"variant {vid} has alt oligo {alts['name'].iloc[0]!r} but no ref oligo (allele "
                "['ref'] with the same SPDI): its effect cannot be measured",
                path=path,
                line=int(alts["line"].iloc[0]),
            )
        if len(refs) > 1:
            raise InputError(
                f"variant {vid} has {len(refs)} ref oligos ({', '.join(refs['name'])})",
                path=path,
                line=int(refs["line"].iloc[1]),
            )
        ref = refs.iloc[0]
        for _, alt in alts.iterrows():
            spdi = alt["SPDI"]
            pos = alt["variant_pos"]
            single = len(spdi) == 1
            parts = spdi[0].split(":") if single else ["", "", "", ""]
            rows.append(
                {
                    "variant_id": vid,
                    "ref": ref["name"],
                    "alt": alt["name"],
                    "variant_pos": int(pos[0]) if single and isinstance(pos, list) else -1,
                    "ref_allele": parts[2].upper() if single else "",
                    "alt_allele": parts[3].upper() if single else "",
                }
            )
    return pd.DataFrame(
        rows, columns=["variant_id", "ref", "alt", "variant_pos", "ref_allele", "alt_allele"]
    )


def check_oligos_in_design(
    oligos: np.ndarray, design: pd.DataFrame, *, path: Any, first_line: int
) -> None:
    """Refuse an oligo of the counts that the design does not list, naming its line."""
    known = pd.Index(design["name"])
    missing = ~pd.Index(oligos).isin(known)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"oligo {oligos[i]!r} is not in the design (reporter_sequence_design); "
            f"{int(pd.Series(oligos[missing]).nunique())} oligo name(s) are missing there",
            path=path,
            line=first_line + i,
        )
