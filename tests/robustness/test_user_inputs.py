"""Inputs real users bring (issue 14): files from spreadsheets and other platforms, copy-paste
slips, huge counts, odd sort-seq tables and genomes, paths with spaces, YAML with repeated keys
and ``--config`` overrides of nested values.

Accepted inputs must give exactly the table the plain file gives. Refusals exit with status 2 (or
stop ``snakemake`` before any job), print one ``mpralens: error:`` line naming the file and line
(or the config key) and what is wrong, and leave no output behind.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpralens.io.errors import InputError
from mpralens.simulate.tiled import TiledSimulation, simulate_tiled
from tests.conftest import (
    REPO,
    dry_run_jobs,
    error_lines,
    run_cli,
    run_snakemake,
    workflow_copy,
)

RNA1 = "HEPG2/HepG2_SimDesign_minP_mRNA_Rep1.counts"
RNA2 = "HEPG2/HepG2_SimDesign_minP_mRNA_Rep2.counts"
SEQ = "SimDesign.sequences.txt"
COORDS = "coords_SimDesign_hg19.txt"
LAC = REPO / "resources" / "lac_sortseq" / "sortseq_data.csv.gz"
THERMO = REPO / "config" / "biophysics" / "lac_thermo.yaml"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("inputs") / "sim"
    simulate_tiled(TiledSimulation(n_regions=3, seed=3), out)
    return out


@pytest.fixture
def data(pristine, tmp_path) -> Path:
    """A private copy of the simulated Ernst-layout data set."""
    return Path(shutil.copytree(pristine, tmp_path / "data"))


def _import(data: Path, out: Path, layout: str = "ernst"):
    argv = ["import-counts", "--layout", layout, "--libraries", data / "libraries.tsv"]
    argv += ["--coords", data / COORDS, "--out-counts", out / "counts.parquet"]
    argv += ["--out-tiles", out / "tiles.tsv.gz"]
    if layout == "ernst":
        argv += ["--sequences", data / SEQ]
    return run_cli(*argv)


def _one_error(proc) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    errors = error_lines(proc)
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return errors[0]


def _count_in_file(path: Path, tile: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(tile + "\t"):
            return int(line.split("\t")[1])
    raise AssertionError(tile)


# 1. Library sheets (and every other table read_tsv reads) as spreadsheets and old Macs write them.


def _bom(b: bytes) -> bytes:
    return b"\xef\xbb\xbf" + b


def _cr_only(b: bytes) -> bytes:
    return b.replace(b"\n", b"\r")


def _crlf(b: bytes) -> bytes:
    return b.replace(b"\n", b"\r\n")


def _tab_every_line(b: bytes) -> bytes:
    return b"\n".join(ln + b"\t" if ln else ln for ln in b.split(b"\n"))


def _tab_header_only(b: bytes) -> bytes:
    head, rest = b.split(b"\n", 1)
    return head + b"\t\n" + rest


def _tab_some_rows(b: bytes) -> bytes:
    lines = b.split(b"\n")
    return b"\n".join(ln + b"\t" if i % 2 and ln else ln for i, ln in enumerate(lines))


SAME_TABLE = {
    "sheet_bom": (["libraries.tsv"], _bom),
    "sheet_cr_only": (["libraries.tsv"], _cr_only),
    "sheet_crlf": (["libraries.tsv"], _crlf),
    "sheet_trailing_tab": (["libraries.tsv"], _tab_every_line),
    "sheet_trailing_tab_header_only": (["libraries.tsv"], _tab_header_only),
    "sheet_trailing_tab_some_rows": (["libraries.tsv"], _tab_some_rows),
    # headerless files: a BOM would otherwise glue itself to the first tile ID
    "sequences_bom_cr_only": ([SEQ], lambda b: _cr_only(_bom(b))),
    "coords_and_counts_trailing_tab_crlf": ([COORDS, RNA1], lambda b: _crlf(_tab_every_line(b))),
}


@pytest.fixture(scope="module")
def reference_import(pristine, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    proc = _import(pristine, out)
    assert proc.returncode == 0, proc.stderr
    return pd.read_parquet(out / "counts.parquet"), pd.read_csv(out / "tiles.tsv.gz", sep="\t")


@pytest.mark.parametrize("name", sorted(SAME_TABLE))
def test_spreadsheet_variants_are_the_same_table(name, data, pristine, tmp_path, reference_import):
    files, edit = SAME_TABLE[name]
    for f in files:
        (data / f).write_bytes(edit((data / f).read_bytes()))
    out = tmp_path / "out"
    proc = _import(data, out)
    assert proc.returncode == 0, proc.stderr
    counts = pd.read_parquet(out / "counts.parquet")
    tiles = pd.read_csv(out / "tiles.tsv.gz", sep="\t")
    pd.testing.assert_frame_equal(counts, reference_import[0])
    pd.testing.assert_frame_equal(tiles, reference_import[1])
    # and that table holds the file's numbers (not, say, a shifted column)
    tile = counts["tile_id"].iloc[4]
    assert counts.loc[4, "HepG2_minP_mRNA_Rep1"] == _count_in_file(pristine / RNA1, tile)
    assert (
        tiles.loc[4, "sequence"]
        == dict(ln.split("\t") for ln in (pristine / SEQ).read_text().splitlines())[tile]
    )


def test_empty_last_field_a_column_claims_is_kept(data, tmp_path):
    # A `sha256` column left empty for local files ends every row in a tab: that field is the
    # column's (empty) value, not a trailing tab to drop.
    sheet = data / "libraries.tsv"
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join([lines[0] + "\tsha256"] + [ln + "\t" for ln in lines[1:]]) + "\n")
    proc = _import(data, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr


def test_extra_field_that_is_not_empty_is_an_error(data, tmp_path):
    sheet = data / "libraries.tsv"
    lines = sheet.read_text().splitlines()
    lines[3] += "\tnote"
    sheet.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    error = _one_error(_import(data, out))
    assert "libraries.tsv:4:" in error and "expected 6 tab-separated fields, found 7" in error
    assert not out.exists() or not any(out.iterdir())


# 2. One count file listed for two libraries: allowed, but said out loud.


def test_same_count_file_twice_warns_once(data, tmp_path):
    sheet = data / "libraries.tsv"
    sheet.write_text(sheet.read_text().replace(RNA2, RNA1))
    proc = _import(data, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    warnings = [ln for ln in proc.stderr.splitlines() if "same count file" in ln]
    assert len(warnings) == 1, proc.stderr
    assert "libraries.tsv:7:" in warnings[0] and "replicate Pearson will be 1.0" in warnings[0]
    assert "'HepG2_minP_mRNA_Rep1' (line 6) and 'HepG2_minP_mRNA_Rep2' (line 7)" in warnings[0]
    counts = pd.read_parquet(tmp_path / "out" / "counts.parquet")
    assert (counts["HepG2_minP_mRNA_Rep1"] == counts["HepG2_minP_mRNA_Rep2"]).all()


def test_distinct_count_files_do_not_warn(pristine, tmp_path):
    proc = _import(pristine, tmp_path / "out")
    assert proc.returncode == 0 and "same count file" not in proc.stderr, proc.stderr


# 3. Counts past int64.


def _set_count(path: Path, lineno: int, value: str) -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = lines[lineno - 1].split("\t")[0] + "\t" + value
    path.write_text("\n".join(lines) + "\n")


def test_count_too_large_for_int64(data, tmp_path):
    _set_count(data / RNA1, 3, "99999999999999999999")
    out = tmp_path / "out"
    error = _one_error(_import(data, out))
    assert "HepG2_SimDesign_minP_mRNA_Rep1.counts:3:" in error
    assert "99999999999999999999 is outside the 64-bit integer range" in error
    assert not out.exists() or not any(out.iterdir())


def test_largest_int64_count_is_read_exactly(data, tmp_path):
    lines = (data / RNA1).read_text().splitlines()
    zeros = [ln.split("\t")[0] + "\t0" for ln in lines[1:]]  # so that the total still fits
    (data / RNA1).write_text("\n".join(lines[:1] + zeros) + "\n")
    _set_count(data / RNA1, 3, str(2**63 - 1))
    proc = _import(data, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    counts = pd.read_parquet(tmp_path / "out" / "counts.parquet")
    assert counts["HepG2_minP_mRNA_Rep1"].max() == 2**63 - 1


def test_counts_summing_past_int64(data, tmp_path):
    _set_count(data / RNA1, 3, str(2**62))
    _set_count(data / RNA1, 4, str(2**62))
    _set_count(data / RNA1, 5, str(2**62))
    out = tmp_path / "out"
    error = _one_error(_import(data, out))
    # lines 2-4 sum to 2^63 + (line 2's count): the total first passes 2^63 - 1 at line 4
    assert "HepG2_SimDesign_minP_mRNA_Rep1.counts:4:" in error
    assert "sum past the 64-bit integer range" in error


def _to_geo(data: Path) -> None:
    """Rewrite the simulated Ernst-layout count files in the GEO layout (one barcode each)."""
    seqs = dict(ln.split("\t") for ln in (data / SEQ).read_text().splitlines())
    sheet = pd.read_csv(data / "libraries.tsv", sep="\t", keep_default_na=False)
    for path in sheet["path"]:
        rows = [ln.split("\t") for ln in (data / path).read_text().splitlines()[1:]]
        body = "".join(f"{t}\t{seqs[t]}\tAAAA\t{c}\n" for t, c in rows)
        with gzip.open(data / f"{path}.gz", "wt") as fh:
            fh.write("ID\tSequence\tTags\tCounts\n" + body)
    sheet["path"] = sheet["path"] + ".gz"
    sheet.to_csv(data / "libraries.tsv", sep="\t", index=False)


def test_geo_count_too_large_for_int64(data, tmp_path):
    _to_geo(data)
    assert _import(data, tmp_path / "ok", layout="geo").returncode == 0
    path = data / f"{RNA1}.gz"
    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    parts = lines[5].split("\t")
    parts[2], parts[3] = "AAAA,CCCC", "3,18446744073709551616"
    lines[5] = "\t".join(parts)
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    out = tmp_path / "out"
    error = _one_error(_import(data, out, layout="geo"))
    assert "HepG2_SimDesign_minP_mRNA_Rep1.counts.gz:6:" in error
    assert "18446744073709551616 is outside the 64-bit integer range" in error
    assert not out.exists() or not any(out.iterdir())


# 4. Sort-seq tables.


def _sortseq_lines(n_per_set: int = 40) -> list[str]:
    with gzip.open(LAC, "rt") as fh:
        lines = fh.read().splitlines()
    keep = [lines[0]]
    for s in ("training", "validation", "test"):
        keep += [ln for ln in lines[1:] if ln.startswith(s + ",")][:n_per_set]
    return keep


def _fit(tmp: Path, lines: list[str]):
    data = tmp / "data.csv"
    data.write_text("\n".join(lines) + "\n")
    out = tmp / "fit"
    argv = ["fit-biophysical", "--data", data, "--model-spec", THERMO, "--outdir", out]
    settings = '{"restarts": 1, "max_epochs": 1, "lbfgs_iterations": 20, "interval_points": 0}'
    return run_cli(*argv, "--settings-json", settings), out


def test_sortseq_extra_columns_are_ignored(tmp_path):
    from mpralens.biophysics.data import read_sortseq

    lines = _sortseq_lines()
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(lines) + "\n")
    extra = tmp_path / "extra.csv"
    head = "id," + lines[0] + ",note"
    extra.write_text(
        "\n".join([head] + [f"v{i},{ln},seen twice" for i, ln in enumerate(lines[1:])]) + "\n"
    )
    a, b = read_sortseq(plain, n_bins=10, length=75), read_sortseq(extra, n_bins=10, length=75)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.split, b.split)
    assert a.counts[0].tolist() == [float(v) for v in lines[1].split(",")[1:11]]


SORTSEQ_REFUSALS = {
    # name: (edit of the lines, expected "file:line" or file, words)
    "column_named_like_a_bin": (
        lambda ls: [ls[0] + ",ct_total"] + [ln + ",5" for ln in ls[1:]],
        "data.csv:1:",
        "column 'ct_total' is named like a bin",
    ),
    "text_in_a_count_column": (
        lambda ls: (
            ls[:7] + [",".join(["training", "1", "2", "lots", *ls[7].split(",")[4:]])] + ls[8:]
        ),
        "data.csv:8:",
        "column ct_2 has 'lots'",
    ),
    "no_validation_rows": (
        lambda ls: [ln for ln in ls if not ln.startswith("validation,")],
        "data.csv:",
        "no validation rows",
    ),
    "no_test_rows": (
        lambda ls: [ln for ln in ls if not ln.startswith("test,")],
        "data.csv:",
        "no test rows",
    ),
    "training_only": (
        lambda ls: [ln for ln in ls if not ln.startswith(("test,", "validation,"))],
        "data.csv:",
        "no validation and no test rows",
    ),
}


@pytest.mark.parametrize("name", sorted(SORTSEQ_REFUSALS))
def test_sortseq_refused_before_fitting(name, tmp_path):
    edit, where, words = SORTSEQ_REFUSALS[name]
    proc, out = _fit(tmp_path, edit(_sortseq_lines()))
    error = _one_error(proc)
    assert where in error and words in error, error
    assert not out.exists()
    assert "Epoch" not in proc.stderr  # refused before the first epoch, not after


# 5. Genomes: checked when the config is read, before anything trains.

RNG = np.random.default_rng(7)
CHROM = "".join(RNG.choice(list("ACGT"), 1000))


def _record(name: str, seq: str, width: int = 60) -> str:
    return f">{name} some description\n" + "".join(
        seq[i : i + width] + "\n" for i in range(0, len(seq), width)
    )


def _uneven(text: str) -> str:
    lines = text.splitlines()
    lines[5] += "ACG"
    return "\n".join(lines) + "\n"


GENOMES = {
    # name: (FASTA text, line in the message, words)
    "duplicate_name": (_record("chr1", CHROM) + _record("chr1", CHROM[:300]), 19, "used twice"),
    "uneven_line_widths": (
        _uneven(_record("chr1", CHROM)),
        6,
        "a line of 63 bases where the record's first line has 60",
    ),
    "short_line_inside_a_record": (
        ">chr1\n" + CHROM[:60] + "\n" + CHROM[60:100] + "\n" + CHROM[100:160] + "\n",
        3,
        "a line of 40 bases where the record's first line has 60",
    ),
    "blank_line_inside_a_record": (
        _record("chr1", CHROM).replace("\n", "\n\n", 2).replace("\n\n", "\n", 1),
        3,
        "a blank line in record 'chr1'",
    ),
    "empty_record": (">chrE\n" + _record("chr1", CHROM), 1, "record 'chrE' has no sequence"),
    "empty_last_record": (_record("chr1", CHROM) + ">chrE\n", 19, "record 'chrE' has no sequence"),
    "sequence_before_header": (CHROM[:60] + "\n" + _record("chr1", CHROM), 1, "before the first"),
}


@pytest.mark.parametrize("name", sorted(GENOMES))
def test_bad_genome_refused_by_ism(name, tmp_path):
    from tests.robustness.test_entry_points import _ism

    text, line, words = GENOMES[name]
    genome = tmp_path / "genome.fa"
    genome.write_text(text)
    argv, outputs = _ism(tmp_path, genome=genome)
    error = _one_error(run_cli(*argv))
    assert f"genome.fa:{line}:" in error and words in error, error
    for out in outputs:
        assert not out.exists()
    assert not Path(f"{genome}.fai").exists()  # no index for a bad genome


def test_bad_bed_and_genome_are_refused_before_the_model_loads(tmp_path):
    """The sites and the genome are checked before the model is read: with an unreadable model,
    the error names the bad BED, then (BED fixed) the bad genome."""
    from tests.robustness.test_entry_points import _ism

    model = tmp_path / "model.ckpt"
    model.write_bytes(b"not a checkpoint")
    text, line, words = GENOMES["duplicate_name"]
    genome = tmp_path / "genome.fa"
    genome.write_text(text)
    bed = tmp_path / "sites.bed"
    bed.write_text("chr1\tten\t20\n")
    argv = _ism(tmp_path, genome=genome, sites=bed, model=model)[0]
    error = _one_error(run_cli(*argv))
    assert "sites.bed:1" in error, error
    bed.write_text("chr1\t10\t20\n")
    error = _one_error(run_cli(*argv))
    assert f"genome.fa:{line}:" in error and words in error, error
    genome.write_text(_record("chr1", CHROM))
    error = _one_error(run_cli(*argv))
    assert "model.ckpt" in error, error


def test_gzipped_genome_refused(tmp_path):
    from tests.robustness.test_entry_points import _ism

    genome = tmp_path / "genome.fa.gz"
    with gzip.open(genome, "wt") as fh:
        fh.write(_record("chr1", CHROM))
    argv, outputs = _ism(tmp_path, genome=genome)
    error = _one_error(run_cli(*argv))
    assert "genome.fa.gz:" in error and "gzip-compressed" in error and "gunzip" in error
    for out in outputs:
        assert not out.exists()


def test_genome_index_matches_pyfaidx_and_reads_the_bases(tmp_path):
    import pyfaidx

    from mpralens.io.sequences import index_fasta, read_fasta_index

    # chr1 with CRLF line ends, chr2 with LF and another width: each record is consistent
    text = _record("chr1", CHROM).replace("\n", "\r\n") + _record("chr2", CHROM[:301], width=70)
    for name, body in (("lf.fa", text.replace("\r\n", "\n")), ("crlf.fa", text)):
        genome = tmp_path / name
        genome.write_bytes(body.encode())
        ours = index_fasta(genome).read_text()
        os.remove(f"{genome}.fai")
        pyfaidx.Faidx(str(genome)).close()
        assert ours == Path(f"{genome}.fai").read_text()
        fa = read_fasta_index(genome)
        assert str(fa["chr1"][55:65]) == CHROM[55:65] and len(fa["chr2"]) == 301


def test_genome_index_that_does_not_fit_its_fasta(tmp_path):
    from mpralens.io.sequences import index_fasta

    genome = tmp_path / "genome.fa"
    genome.write_text(_record("chr1", CHROM))
    # chr1's bases start after its 23-byte header; chr2 is not in the FASTA at all
    Path(f"{genome}.fai").write_text("chr1\t1000\t23\t60\t61\nchr2\t5000\t1100\t60\t61\n")
    with pytest.raises(InputError, match=r"genome.fa.fai:2: the index does not describe"):
        index_fasta(genome)


def test_genome_on_read_only_storage_without_index(tmp_path, monkeypatch):
    import mpralens.io.sequences as sequences

    folder = tmp_path / "ro"
    folder.mkdir()
    genome = folder / "genome.fa"
    genome.write_text(_record("chr1", CHROM))
    real_access = os.access
    # Root ignores permission bits, so read-only storage is what os.access reports for it.
    monkeypatch.setattr(
        sequences.os,
        "access",
        lambda p, mode: False if Path(p) == folder and mode == os.W_OK else real_access(p, mode),
    )
    with pytest.raises(InputError, match=r"genome.fa: the genome has no index .* read-only"):
        sequences.index_fasta(genome)
    # With an index beside it, read-only storage is fine.
    Path(f"{genome}.fai").write_text("chr1\t1000\t23\t60\t61\n")
    assert sequences.index_fasta(genome) == Path(f"{genome}.fai")


def _files_config(wd: Path, data: Path, name: str = "x", extra: str = "") -> Path:
    cfg = wd / f"{name}.yaml"
    cfg.write_text(
        f"datasets:\n  {name}:\n    type: tiled_mpra\n    source: files\n"
        f"    sequences: '{data / SEQ}'\n    coords: '{data / COORDS}'\n"
        f"    libraries: '{data / 'libraries.tsv'}'\n    genome: '{data / 'genome.fa'}'\n" + extra
    )
    return cfg


@pytest.mark.parametrize("name", ["duplicate_name", "uneven_line_widths", "empty_record"])
def test_bad_genome_stops_the_workflow_at_config_time(name, data, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    text, line, words = GENOMES[name]
    (data / "genome.fa").write_text(text)
    os.remove(data / "genome.fa.fai")
    cfg = _files_config(wd, data)
    proc = run_snakemake(wd, "-n", "--configfile", cfg.name, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"genome.fa:{line} config key 'datasets.x.genome': " in out and words in out, out[-3000:]
    assert not (wd / "results").exists() and not (data / "genome.fa.fai").exists()


def test_unindexed_genome_is_indexed_at_config_time(data, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    fai = data / "genome.fa.fai"
    expected = fai.read_text()  # the simulator's index, written by pyfaidx
    os.remove(fai)
    run_snakemake(wd, "-n", "--configfile", _files_config(wd, data).name)
    assert fai.read_text() == expected


# 6. Paths with spaces.


@pytest.mark.slow
def test_data_under_a_folder_with_a_space(pristine, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    data = Path(shutil.copytree(pristine, tmp_path / "my data" / "sim set"))
    cfg = _files_config(wd, data)
    run_snakemake(wd, "results/x/activity.tsv.gz", "--configfile", cfg.name)
    act = pd.read_csv(wd / "results" / "x" / "activity.tsv.gz", sep="\t")
    assert len(act) == 3 * 31 * 4 and act["activity"].notna().any()


# 7. YAML: repeated keys and syntax errors name the file and line.

SIM = "datasets:\n  d:\n    type: tiled_mpra\n    source: simulate\n"
YAML_CASES = {
    # name: (config text, the text the error must contain)
    "repeated_top_level_section": (
        SIM + "models:\n  cnn:\n    max_epochs: 3\nmodels:\n  kmer:\n    k: 4\n",
        "bad.yaml:8: key 'models' appears twice in one mapping (first on line 5)",
    ),
    "repeated_data_set": (
        SIM + "  d:\n    type: tiled_mpra\n    source: simulate\n",
        "bad.yaml:5: key 'd' appears twice in one mapping (first on line 2)",
    ),
    "repeated_key_in_flow_mapping": (
        SIM + "ism: {models: [cnn], models: [kmer]}\n",
        "bad.yaml:5: key 'models' appears twice",
    ),
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_config_yaml_rejects(case, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    text, needle = YAML_CASES[case]
    (wd / "bad.yaml").write_text(text)
    proc = run_snakemake(wd, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    assert not (wd / "results").exists() and not (wd / "resources" / "d").exists()


def test_malformed_default_config_names_its_line(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    cfg = wd / "config" / "config.yaml"
    cfg.write_text(cfg.read_text().replace("    source: simulate\n", "   source: simulate\n", 1))
    proc = run_snakemake(wd, "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config/config.yaml:7: config file is not valid YAML" in out, out[-3000:]


def test_model_spec_with_repeated_key(tmp_path):
    spec = tmp_path / "spec.yaml"
    text = THERMO.read_text()
    spec.write_text(text + "sites:\n  CRP: {start: 1, length: 26}\n")
    site_line = text.splitlines().index("sites:") + 1
    proc, out = _fit(tmp_path, _sortseq_lines())  # a valid call first: the spec is the only fault
    assert proc.returncode == 0, proc.stderr[-2000:]
    shutil.rmtree(out)
    argv = ["fit-biophysical", "--data", tmp_path / "data.csv", "--model-spec", spec]
    error = _one_error(run_cli(*argv, "--outdir", out))
    n = len(text.splitlines()) + 1
    where = f"spec.yaml:{n}: key 'sites' appears twice in one mapping"
    assert where in error and f"(first on line {site_line})" in error, error
    assert not out.exists()


def test_malformed_model_spec_stops_the_workflow(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    spec = wd / "spec.yaml"
    spec.write_text(
        THERMO.read_text().replace("RNAP: {start: 34, length: 41}", "RNAP: {start: 34, length: 41")
    )
    (wd / "bio.yaml").write_text(
        "biophysics:\n  datasets:\n    lac: {path: resources/lac_sortseq/sortseq_data.csv.gz}\n"
        "  models:\n    m: spec.yaml\n  fits:\n    - [lac, m]\n"
    )
    proc = run_snakemake(wd, "-n", "--configfile", "bio.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "spec.yaml:9: model spec is not valid YAML" in out and "started on line 8" in out, out
    assert not (wd / "results").exists()


# 8. --config overrides of nested values merge into the config and keep their types.


def _shell(jobs, rule: str) -> str:
    (shell,) = [j.shell for j in jobs if j.rule == rule]
    return shell


def test_nested_override_merges_and_is_typed(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    jobs = dry_run_jobs(wd, "--config", "models={cnn: {max_epochs: 3, rc_augment: true}}")
    cnn = _shell(jobs, "train_cnn")
    # the rule hands the command its section as --settings JSON (compact, sorted keys)
    assert '"max_epochs":3' in cnn and '"rc_augment":true' in cnn
    # siblings from tests/configs/tiny.yaml and from the defaults are kept
    assert '"arch_kwargs":{"filters":16}' in cnn and '"patience":4' in cnn
    assert '"k":6' in _shell(jobs, "train_kmer")


def test_override_of_a_list_replaces_it(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    jobs = dry_run_jobs(wd, "--config", "ism={models: [kmer], max_regions: 5}")
    ism = [j for j in jobs if j.rule == "ism_chunk"]
    assert [j.fields["wildcards"] for j in ism] == ["ds=tiny, ism_model=kmer, chunk=0"]
    assert '"max_regions":5' in ism[0].shell and '"method":"fast"' in ism[0].shell


def test_override_without_configfile_keeps_the_default_config(tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    proc = run_snakemake(
        wd, "-n", "-p", "--forceall", "--config", "models={cnn: {max_epochs: 3}}", check=True
    )
    assert "results/demo/activity.tsv.gz" in proc.stdout  # config/config.yaml's data set
    assert '"max_epochs":3' in proc.stdout


OVERRIDE_REFUSALS = {
    "no_space_after_colon": (
        "models={cnn:{max_epochs:3}}",
        "config key 'models.cnn.max_epochs:3': --config gives the key 'max_epochs:3'",
    ),
    "section_given_a_value": ("models=3", "config key 'models': is a section of settings"),
}


@pytest.mark.parametrize("case", sorted(OVERRIDE_REFUSALS))
def test_override_refusals_name_the_key(case, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    value, needle = OVERRIDE_REFUSALS[case]
    proc = run_snakemake(
        wd, "-n", "--configfile", "tests/configs/tiny.yaml", "--config", value, check=False
    )
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    assert not (wd / "results").exists() and not (wd / "resources" / "tiny").exists()
