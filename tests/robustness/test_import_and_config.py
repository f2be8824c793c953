"""Bad input to the import (Ernst layout) and to the workflow config: each case exits non-zero
with one message naming the file and line (or config key) and leaves no output behind. Config
cases run ``snakemake -n`` and check the key is named and nothing was written."""

import gzip
import shutil
from pathlib import Path

import pytest

from mpralens.simulate.tiled import TiledSimulation, simulate_tiled
from tests.conftest import run_cli, run_snakemake, workflow_copy

DNA = "DNACOUNTS/SimDesign_minP_Plasmid.counts"
RNA = "HEPG2/HepG2_SimDesign_minP_mRNA_Rep1.counts"
SEQ = "SimDesign.sequences.txt"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    out = tmp_path_factory.mktemp("bad") / "sim"
    simulate_tiled(TiledSimulation(n_regions=3, seed=3), out)
    return out


def _edit_line(path: Path, lineno: int, fn) -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = fn(lines[lineno - 1])
    path.write_text("\n".join(lines) + "\n")


def _set_count(value):
    return lambda line: "\t".join(line.split("\t")[:1] + [value])


def _import(data: Path, out: Path):
    """Run ``mpralens import-counts`` on a (possibly corrupted) copy of the simulated data."""
    return run_cli(
        "import-counts",
        "--layout",
        "ernst",
        "--libraries",
        data / "libraries.tsv",
        "--coords",
        data / "coords_SimDesign_hg19.txt",
        "--sequences",
        data / SEQ,
        "--out-counts",
        out / "counts.parquet",
        "--out-tiles",
        out / "tiles.tsv.gz",
    )


CASES = {
    # name: (file to corrupt, edit, expected file in message, expected line, expected words)
    "missing_column": (
        "libraries.tsv",
        lambda p: p.write_text(p.read_text().replace("\tpromoter", "", 1)),
        "libraries.tsv",
        1,
        "missing column(s) promoter",
    ),
    "non_acgtn_base": (
        SEQ,
        lambda p: _edit_line(p, 4, lambda s: s[:-3] + "AXA"),
        SEQ,
        4,
        "other than A, C, G, T, N",
    ),
    "wrong_length": (
        SEQ,
        lambda p: _edit_line(p, 2, lambda s: s[:-1]),
        SEQ,
        2,
        "length 144, expected 145",
    ),
    "negative_count": (DNA, lambda p: _edit_line(p, 3, _set_count("-4")), DNA, 3, "non-negative"),
    "non_integer_count": (RNA, lambda p: _edit_line(p, 5, _set_count("3.5")), RNA, 5, "integer"),
    "nan_count": (RNA, lambda p: _edit_line(p, 6, _set_count("NaN")), RNA, 6, "integer"),
    "duplicate_tile_id": (
        DNA,
        lambda p: _edit_line(
            p, 4, lambda s: p.read_text().splitlines()[2].split("\t")[0] + "\t" + s.split("\t")[1]
        ),
        DNA,
        4,
        "duplicate tile ID",
    ),
    "tile_not_in_design": (
        RNA,
        lambda p: _edit_line(p, 2, lambda s: "Sim_1_99_0_chr1_5\t" + s.split("\t")[1]),
        RNA,
        2,
        "not in the design",
    ),
    "missing_count_file": (
        "libraries.tsv",
        lambda p: p.write_text(p.read_text().replace("Rep2.counts", "Rep9.counts", 1)),
        "libraries.tsv",
        None,
        "does not exist",
    ),
    "empty_counts_file": (DNA, lambda p: p.write_text(""), DNA, None, "no data rows"),
    "extra_field": (DNA, lambda p: _edit_line(p, 7, lambda s: s + "\t5"), DNA, 7, "fields"),
    "blank_line_inside": (SEQ, lambda p: _edit_line(p, 3, lambda s: ""), SEQ, 3, "fields"),
    "short_row": (DNA, lambda p: _edit_line(p, 5, lambda s: s.split("\t")[0]), DNA, 5, "fields"),
    "bad_molecule": (
        "libraries.tsv",
        lambda p: p.write_text(p.read_text().replace("\tDNA\t", "\tPlasmid\t", 1)),
        "libraries.tsv",
        2,
        "molecule must be DNA or RNA",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_import_rejects(case, pristine, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    target, edit, name, line, words = CASES[case]
    edit(data / target)
    out = tmp_path / "out"
    proc = _import(data, out)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mpralens: error: "), proc.stderr
    assert Path(name).name in lines[0]
    if line is not None:
        assert f"{Path(name).name}:{line}:" in lines[0], lines[0]
    assert words in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_truncated_gzip(shared, tmp_path):
    src = (
        shared / "data/sharpr_format/geo/GSM1831777_HepG2_PilotDesign_SV40P_mRNA_Rep1.counts.txt.gz"
    )
    bad = tmp_path / "trunc.counts.txt.gz"
    bad.write_bytes(src.read_bytes()[:-40])
    from mpralens.data.counts import read_geo_counts
    from mpralens.io.errors import InputError

    with pytest.raises(InputError, match="trunc.counts.txt.gz: cannot read file"):
        read_geo_counts(bad)
    with gzip.open(src) as fh:
        assert fh.read()  # the original is fine


CONFIG_CASES = {
    "unknown_top_key": ("normalise:\n  pseudocount: 1\n", "normalise"),
    "unknown_dataset_key": (
        "datasets:\n  d:\n    type: tiled_mpra\n    source: simulate\n    layuot: ernst\n",
        "layuot",
    ),
    "wrong_type": (
        "datasets:\n  d:\n    type: tiled_mpra\n    source: simulate\n    tile_step: five\n",
        "five",
    ),
    "missing_file": (
        "datasets:\n  d:\n    type: tiled_mpra\n    coords: nowhere.txt\n"
        "    libraries: x.tsv\n    sequences: y.txt\n",
        "datasets.d.sequences",
    ),
    "unsafe_name": (
        "datasets:\n  ../escape:\n    type: tiled_mpra\n    source: simulate\n",
        "../escape",
    ),
    "ism_unknown_key": ("ism:\n  method: fast\n  strides: 29\n", "strides"),
    "ism_wrong_value": ("ism:\n  method: quick\n", "quick"),
    "ism_stride_not_dividing_tile": ("ism:\n  stride: 30\n", "ism.stride"),
    "seed_wrong_type": ("seed: abc\n", "abc"),
    "fit_names_undefined_model": (
        "biophysics:\n  datasets:\n    lac: {path: resources/lac_sortseq/sortseq_data.csv.gz}\n"
        "  fits:\n    - [lac, nothere]\n",
        "biophysics.fits[0]",
    ),
    "model_name_escapes_workdir": (
        "biophysics:\n  models:\n    ../../x: config/biophysics/lac_thermo.yaml\n",
        "../../x",
    ),
    "sortseq_name_escapes_workdir": (
        "biophysics:\n  datasets:\n    ../../tmp/x: {source: simulate}\n",
        "../../tmp/x",
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_rejects(case, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    text, needle = CONFIG_CASES[case]
    if "datasets:" not in text:
        text = "datasets:\n  d:\n    type: tiled_mpra\n    source: simulate\n" + text
    (wd / "bad.yaml").write_text(text)
    proc = run_snakemake(wd, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert needle in proc.stdout + proc.stderr
    assert not (wd / "results").exists() and not (wd / "resources" / "d").exists()


def test_trailing_blank_line_is_fine(pristine, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    (data / DNA).write_text((data / DNA).read_text() + "\n\n")
    out = tmp_path / "out"
    proc = _import(data, out)
    assert proc.returncode == 0, proc.stderr
