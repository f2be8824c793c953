"""Bad IGVF inputs: one clear error naming the file, line or column; nothing written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mpralens.cli import main
from mpralens.data.igvf import model_sequences
from mpralens.io.errors import InputError
from mpralens.io.igvf import read_design

HEADER = "barcode\toligo_name\tdna_count_1\trna_count_1\tdna_count_2\trna_count_2\n"
GOOD = "AAAA\ta\t10\t30\t5\t4\nCCCC\ta\t10\t10\t3\t7\nGGGG\tb\t20\t40\t5\t5\n"
DESIGN = (
    "name\tsequence\tcategory\tclass\tvariant_class\tvariant_pos\tSPDI\tallele\n"
    "a\tACGTACGT\telement\ttest\tNA\tNA\tNA\tNA\n"
    "b\tACGTACGA\telement\ttest\tNA\tNA\tNA\tNA\n"
)


def run(tmp_path: Path, counts: str, design: str | None = None) -> tuple[int, str, Path]:
    path = tmp_path / "counts.tsv"
    path.write_text(counts)
    out = tmp_path / "out"
    argv = ["activity", str(path), "--format", "reporter_experiment_barcode", "--out", str(out)]
    argv += ["--min-barcodes", "1"]
    if design is not None:
        (tmp_path / "design.tsv").write_text(design)
        argv += ["--design", str(tmp_path / "design.tsv")]
    return main(argv), str(path), out


CASES = {
    "barcode mapped to two oligos": (
        HEADER + GOOD + "AAAA\tb\t1\t1\t1\t1\n",
        None,
        ["counts.tsv:5", "AAAA", "two oligos", "'a' (line 2)"],
    ),
    "replicate column without partner": (
        HEADER.rstrip("\n") + "\tdna_count_3\n" + "".join(r + "\t1\n" for r in GOOD.splitlines()),
        None,
        ["counts.tsv:1", "'dna_count_3'", "'rna_count_3'"],
    ),
    "negative count": (
        HEADER + GOOD + "TTTT\tb\t3\t-2\t1\t1\n",
        None,
        ["counts.tsv:5", "rna_count_1", "'-2' is negative"],
    ),
    "fractional count": (
        HEADER + GOOD + "TTTT\tb\t3\t2\t1.5\t1\n",
        None,
        ["counts.tsv:5", "dna_count_2", "'1.5' is fractional"],
    ),
    "bad barcode": (HEADER + GOOD + "TTNT\tb\t3\t2\t1\t1\n", None, ["counts.tsv:5", "barcode"]),
    "unknown column": (
        HEADER.rstrip("\n") + "\tnotes\n" + "".join(r + "\tx\n" for r in GOOD.splitlines()),
        None,
        ["counts.tsv:1", "column 'notes'"],
    ),
    "oligo missing from the design": (
        HEADER + GOOD + "TTTT\tc\t3\t2\t1\t1\n",
        DESIGN,
        ["counts.tsv:5", "oligo 'c' is not in the design"],
    ),
    "design sequence with non-ACGTN bases": (
        HEADER + GOOD,
        DESIGN.replace("ACGTACGA", "ACGUACGA"),
        ["design.tsv:3", "column 'sequence'", "'b'", "U"],
    ),
    "allelic group with no ref": (
        HEADER + GOOD,
        DESIGN.replace(
            "b\tACGTACGA\telement\ttest\tNA\tNA\tNA\tNA",
            "b\tACGTACGA\tvariant\ttest\t['SNV']\t[7]\t['chr1:8:T:A']\t['alt']",
        ),
        ["design.tsv:3", "chr1:8:T:A", "no ref oligo"],
    ),
    "design list column that is no list": (
        HEADER + GOOD,
        DESIGN.replace(
            "b\tACGTACGA\telement\ttest\tNA\tNA\tNA\tNA",
            "b\tACGTACGA\tvariant\ttest\tSNV\tNA\tNA\tNA",
        ),
        ["design.tsv:3", "column 'variant_class'"],
    ),
    "design class outside the schema": (
        HEADER + GOOD,
        DESIGN.replace("b\tACGTACGA\telement\ttest", "b\tACGTACGA\telement\tcontrol"),
        ["design.tsv:3", "column 'class'", "schema"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_igvf_input_is_one_clear_error(tmp_path, capsys, case):
    counts, design, expected = CASES[case]
    rc, _, out = run(tmp_path, counts, design)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("mpralens: error: ")
    for text in expected:
        assert text in err, (text, err)
    assert not out.exists()


def test_good_input_runs(tmp_path):
    rc, _, out = run(tmp_path, HEADER + GOOD, DESIGN)
    assert rc == 0 and (out / "activity.tsv.gz").is_file()


def test_mapping_file_giving_a_barcode_another_oligo(tmp_path, capsys):
    (tmp_path / "counts.tsv").write_text(HEADER + GOOD)
    (tmp_path / "map.tsv").write_text("barcode\toligoName\nAAAA\ta\nCCCC\tb\n")
    out = tmp_path / "out"
    rc = main(
        [
            "activity",
            str(tmp_path / "counts.tsv"),
            "--format",
            "reporter_experiment_barcode",
            "--out",
            str(out),
            "--mapping",
            str(tmp_path / "map.tsv"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "counts.tsv:3" in err and "CCCC" in err and "map.tsv" in err
    assert not out.exists()


def test_mixed_lengths_refused_where_the_models_need_one(tmp_path):
    path = tmp_path / "design.tsv"
    path.write_text(DESIGN + "c\tACGTACGTAAAA\telement\ttest\tNA\tNA\tNA\tNA\n")
    with pytest.raises(InputError) as exc:
        model_sequences(read_design(path), lengths="equal", path=path)
    msg = str(exc.value)
    assert "design.tsv:4" in msg and "'c' has 12 bp" in msg and "igvf.lengths" in msg


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("class", "control", "column 'class'"),
        ("allele", "['reference']", "column 'allele'"),
        ("SPDI", "['chr1 8 T A']", "column 'SPDI'"),
    ],
)
def test_design_error_far_down_a_large_design_is_found(tmp_path, column, value, expected):
    """Rows past the first SCHEMA_ROWS are screened too: a bad value on line 2502 is named."""
    header = "name\tsequence\tcategory\tclass\tvariant_class\tvariant_pos\tSPDI\tallele\n"
    rows = [f"e{i}\tACGT\telement\ttest\tNA\tNA\tNA\tNA" for i in range(3000)]
    fields = rows[2500].split("\t")
    cols = header.rstrip("\n").split("\t")
    fields[cols.index(column)] = value
    if column in ("allele", "SPDI"):
        fields[cols.index("variant_class")] = "['SNV']"
        fields[cols.index("variant_pos")] = "[1]"
        fields[cols.index("SPDI")] = (
            fields[cols.index("SPDI")] if column == "SPDI" else "['chr1:8:T:A']"
        )
        fields[cols.index("allele")] = (
            fields[cols.index("allele")] if column == "allele" else "['ref']"
        )
        fields[cols.index("category")] = "variant"
    rows[2500] = "\t".join(fields)
    path = tmp_path / "design.tsv"
    path.write_text(header + "\n".join(rows) + "\n")
    with pytest.raises(InputError) as exc:
        read_design(path)
    assert "design.tsv:2502" in str(exc.value) and expected in str(exc.value)


def test_import_for_the_models_refuses_mixed_lengths_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "counts.tsv").write_text(HEADER + GOOD)
    design = DESIGN.replace("b\tACGTACGA\t", "b\tACGTACGAAA\t")
    (tmp_path / "design.tsv").write_text(design)
    argv = ["import-igvf", "--design", str(tmp_path / "design.tsv")]
    argv += ["--counts", f"K562={tmp_path / 'counts.tsv'}", "--min-barcodes", "1"]
    argv += ["--out-tiles", str(tmp_path / "res" / "tiles.tsv.gz")]
    argv += ["--out-activity", str(tmp_path / "res" / "activity.tsv.gz")]
    argv += ["--outdir", str(tmp_path / "res" / "igvf")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "design.tsv:3" in err and "'b' has 10 bp" in err and "igvf.lengths" in err
    assert not (tmp_path / "res").exists()
    # With padding the same design imports: every model sequence has the longest length.
    assert main([*argv, "--lengths", "pad"]) == 0
    tiles = pd.read_csv(tmp_path / "res" / "tiles.tsv.gz", sep="\t")
    assert set(tiles["sequence"].str.len()) == {10} and tiles["sequence"][0] == "NACGTACGTN"
