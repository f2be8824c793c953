"""Bad input at every other entry point: GEO counts, sort-seq tables, biophysical specs, FASTA,
BED, bigWig, VCF, checkpoints and saved models (config cases: test_import_and_config.py).

Each case builds a small valid input, breaks one thing, runs the command line, and checks: exit
status 2, exactly one line ``mpralens: error: ...`` naming the file and line (or the config key)
and what was expected, and no output left behind.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from mpralens.io.tables import write_tsv
from tests.conftest import REPO, error_lines, require_shared, run_cli, run_cli_process

LAC = REPO / "resources" / "lac_sortseq" / "sortseq_data.csv.gz"
THERMO = REPO / "config" / "biophysics" / "lac_thermo.yaml"
KINETIC = REPO / "config" / "biophysics" / "lac_kinetic.yaml"
RNG = np.random.default_rng(0)
CHROM = "".join(RNG.choice(list("ACGT"), 1000))

# name -> builder(tmp) returning (argv, where, words, outputs). ``where`` must occur in the
# message (``file:line:`` or ``config key '...'``), ``words`` too; ``outputs`` must not exist.
CASES: dict[str, Callable[[Path], tuple[list, str, str, list[Path]]]] = {}


def case(fn):
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


def _lines(path: Path, n: int = 60) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [next(fh).rstrip("\n") for _ in range(n)]


def _sortseq(tmp: Path, edit=None, name="data.csv") -> Path:
    lines = _lines(LAC)
    if edit:
        lines = edit(lines)
    path = tmp / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _fit(tmp: Path, data: Path, spec: Path = THERMO):
    out = tmp / "fit"
    argv = ["fit-biophysical", "--data", data, "--model-spec", spec, "--outdir", out]
    settings = '{"restarts": 1, "max_epochs": 1, "lbfgs_iterations": 20, "interval_points": 0}'
    return argv + ["--settings-json", settings], out


def _spec(tmp: Path, src: Path, old: str, new: str) -> Path:
    text = src.read_text()
    assert old in text
    path = tmp / "spec.yaml"
    path.write_text(text.replace(old, new))
    return path


def _set_field(lines: list[str], line: int, field: int, value: str, sep: str = ",") -> list[str]:
    parts = lines[line - 1].split(sep)
    parts[field] = value
    lines[line - 1] = sep.join(parts)
    return lines


@case
def case_sortseq_missing_column(tmp):
    data = _sortseq(tmp, lambda ls: [",".join(x.split(",")[:-1]) for x in ls])
    argv, out = _fit(tmp, data)
    return argv, "data.csv:1:", "missing column x", [out]


@case
def case_sortseq_bin_gap(tmp):
    data = _sortseq(tmp, lambda ls: [ls[0].replace("ct_3", "ct_33"), *ls[1:]])
    argv, out = _fit(tmp, data)
    return argv, "data.csv:1:", "ct_0, ct_1, ... without gaps", [out]


@case
def case_sortseq_bins_do_not_match_model(tmp):
    data = _sortseq(tmp, lambda ls: [",".join(x.split(",")[:10] + x.split(",")[11:]) for x in ls])
    argv, out = _fit(tmp, data)
    return argv, "data.csv:1:", "the file has 9 bins; the model expects 10", [out]


@case
def case_sortseq_negative_count(tmp):
    argv, out = _fit(tmp, _sortseq(tmp, lambda ls: _set_field(ls, 5, 2, "-1")))
    return argv, "data.csv:5:", "non-negative integers", [out]


@case
def case_sortseq_non_integer_count(tmp):
    argv, out = _fit(tmp, _sortseq(tmp, lambda ls: _set_field(ls, 7, 3, "1.5")))
    return argv, "data.csv:7:", "non-negative integers", [out]


@case
def case_sortseq_unknown_set(tmp):
    argv, out = _fit(tmp, _sortseq(tmp, lambda ls: _set_field(ls, 3, 0, "trainning")))
    return argv, "data.csv:3:", "set must be one of", [out]


@case
def case_sortseq_wrong_length(tmp):
    data = _sortseq(tmp, lambda ls: _set_field(ls, 4, 11, ls[3].split(",")[11][:-1]))
    argv, out = _fit(tmp, data)
    return argv, "data.csv:4:", "length 74, expected 75", [out]


@case
def case_sortseq_non_acgt_base(tmp):
    data = _sortseq(tmp, lambda ls: _set_field(ls, 6, 11, "X" + ls[5].split(",")[11][1:]))
    argv, out = _fit(tmp, data)
    return argv, "data.csv:6:", "other than A, C, G, T, N", [out]


@case
def case_sortseq_empty_file(tmp):
    (tmp / "data.csv").write_text("")
    argv, out = _fit(tmp, tmp / "data.csv")
    return argv, "data.csv", "cannot read as CSV", [out]


@case
def case_spec_undefined_site(tmp):
    spec = _spec(tmp, THERMO, "bound: [CRP, RNAP]", "bound: [CRP, RNAP2]")
    argv, out = _fit(tmp, _sortseq(tmp), spec)
    return (
        argv,
        "spec.yaml config key 'biophysics.models.spec.states.CRP_RNAP.bound'",
        "RNAP2",
        [out],
    )


@case
def case_spec_state_without_path(tmp):
    spec = _spec(tmp, KINETIC, "  - {from: open, to: unbound, rate: constant}\n", "")
    argv, out = _fit(tmp, _sortseq(tmp), spec)
    return argv, "config key 'biophysics.models.spec", "has no path", [out]


@case
def case_spec_unknown_key(tmp):
    spec = _spec(tmp, THERMO, "interactions:", "interaction:")
    argv, out = _fit(tmp, _sortseq(tmp), spec)
    return argv, "config key 'biophysics.models.spec.interaction'", "unknown key", [out]


@case
def case_spec_site_past_sequence_end(tmp):
    spec = _spec(tmp, THERMO, "RNAP: {start: 34, length: 41}", "RNAP: {start: 40, length: 41}")
    argv, out = _fit(tmp, _sortseq(tmp), spec)
    return argv, "config key 'biophysics.models.spec.sites.RNAP'", "past the sequence length", [out]


# FASTA, BED, tiles and saved models for `mpralens ism` and `mpralens score-variants`.


def _genome(tmp: Path, text: str | None = None) -> Path:
    path = tmp / "genome.fa"
    path.write_text(text if text is not None else f">chr1\n{CHROM}\n")
    return path


def _tiles(tmp: Path, start: int = 300, chrom: str = "chr1") -> Path:
    seq = CHROM[start : start + 295]
    rows = [
        (f"R_{i}", "R", i, chrom, start + 5 * i, start + 5 * i + 145, seq[5 * i : 5 * i + 145])
        for i in range(31)
    ]
    cols = ["tile_id", "region_id", "tile_pos", "chrom", "start", "end", "sequence"]
    path = tmp / "tiles.tsv.gz"
    write_tsv(pd.DataFrame(rows, columns=cols), path)
    return path


def _kmer(tmp: Path) -> Path:
    from mpralens.models.kmer import LoadedKmerModel

    path = tmp / "kmer.npz"
    LoadedKmerModel(2, ["a", "b"], "ridge", RNG.normal(size=(2, 16)), np.zeros(2)).save(path)
    return path


def _ism(tmp: Path, *, genome: Path | None = None, sites: Path | None = None, model=None):
    out = [tmp / "ism.tsv.gz", tmp / "tracks", tmp / "ism.png"]
    argv = [
        "ism",
        "--model",
        model or _kmer(tmp),
        "--tiles",
        _tiles(tmp),
        "--out-tsv",
        out[0],
        "--out-tracks",
        out[1],
        "--out-figure",
        out[2],
    ]
    if genome:
        argv += ["--genome", genome]
    if sites:
        argv += ["--sites", sites]
    return argv, out


@case
def case_genome_not_fasta(tmp):
    argv, out = _ism(tmp, genome=_genome(tmp, "chr1\tACGT\n"))
    return argv, "genome.fa", "not a valid FASTA", out


@case
def case_genome_index_older_than_fasta(tmp):
    genome = _genome(tmp)
    fai = Path(f"{genome}.fai")
    fai.write_text(f"chr1\t{len(CHROM)}\t6\t{len(CHROM)}\t{len(CHROM) + 1}\n")
    os.utime(fai, (genome.stat().st_mtime - 3600,) * 2)
    argv, out = _ism(tmp, genome=genome)
    return argv, "genome.fa", "is older than the FASTA", out


@case
def case_genome_of_another_assembly(tmp):
    other = CHROM[:400] + ("A" if CHROM[400] != "A" else "C") + CHROM[401:]
    argv, out = _ism(tmp, genome=_genome(tmp, f">chr1\n{other}\n"))
    return argv, "genome.fa", "differs from the tiles of region 'R'", out


@case
def case_region_outside_chromosome(tmp):
    argv, out = _ism(tmp, genome=_genome(tmp, f">chr1\n{CHROM[:500]}\n"))
    return argv, "genome.fa", "lies past the end of chr1 (500 bp)", out


@case
def case_chromosome_missing_from_genome(tmp):
    argv, out = _ism(tmp, genome=_genome(tmp, f">chr2\n{CHROM}\n"))
    return argv, "genome.fa", "chromosome 'chr1' of region 'R' is not in the genome", out


@case
def case_bed_end_before_start(tmp):
    bed = tmp / "sites.bed"
    bed.write_text("chr1\t310\t320\tGATA1\nchr1\t330\t325\tHNF4A\n")
    argv, out = _ism(tmp, genome=_genome(tmp), sites=bed)
    return argv, "sites.bed:2:", "end must be greater than start", out


@case
def case_bed_non_integer_start(tmp):
    bed = tmp / "sites.bed"
    bed.write_text("chr1\t310\t320\tGATA1\nchr1\tabc\t325\tHNF4A\n")
    argv, out = _ism(tmp, genome=_genome(tmp), sites=bed)
    return argv, "sites.bed:2:", "integer", out


def _evaluate(tmp: Path, conservation: Path):
    scores = tmp / "scores.tsv.gz"
    write_tsv(
        pd.DataFrame(
            {
                "chrom": "chr1",
                "pos": np.arange(300, 595),
                "region_id": "R",
                "task": "a",
                "score": RNG.normal(size=295),
                "n_windows": 5,
            }
        ),
        scores,
    )
    out = tmp / "eval"
    argv = ["evaluate-ism", "--scores", scores, "--conservation", conservation, "--outdir", out]
    return argv, [out / "summary.json", out / "fig8_quantiles.png"]


@case
def case_bigwig_shorter_than_the_regions(tmp):
    import pyBigWig

    path = tmp / "cons.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr1", 400)])
    bw.addEntries("chr1", 0, values=[1.0] * 400, span=1, step=1)
    bw.close()
    argv, out = _evaluate(tmp, path)
    return argv, "cons.bw", "lie past the bigWig's chr1 (400 bp)", out


@case
def case_conservation_bed_with_text_coordinates(tmp):
    path = tmp / "cons.bed"
    path.write_text("chr1\t300\t320\nchr1\tstart\t340\n")
    argv, out = _evaluate(tmp, path)
    return argv, "cons.bed:2:", "BED start must be an integer", out


@case
def case_checkpoint_garbage(tmp):
    bad = tmp / "model.ckpt"
    bad.write_bytes(b"not a checkpoint at all")
    argv, out = _ism(tmp, model=bad)
    return argv, "model.ckpt", "not a loadable mpralens checkpoint", out


@case
def case_checkpoint_without_spec(tmp):
    bad = tmp / "model.ckpt"
    torch.save({"state_dict": {}}, bad)
    argv, out = _ism(tmp, model=bad)
    return argv, "model.ckpt", "carries no mpralens spec", out


class _RunsCode:
    """Unpickling this runs a command: a checkpoint carrying it must be refused, not executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@case
def case_checkpoint_with_code(tmp):
    bad = tmp / "model.ckpt"
    torch.save({"state_dict": {}, "mpralens": {}, "x": _RunsCode(tmp / "pwned")}, bad)
    argv, out = _ism(tmp, model=bad)
    return argv, "model.ckpt", "not a loadable mpralens checkpoint", [*out, tmp / "pwned"]


@case
def case_kmer_model_garbage(tmp):
    bad = tmp / "model.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    argv, out = _ism(tmp, model=bad)
    return argv, "model.npz", "not a saved mpralens k-mer model", out


def _vcf(tmp: Path, body: str, header: bool = True):
    vcf = tmp / "v.vcf"
    head = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" if header else ""
    vcf.write_text(head + body)
    out = tmp / "effects.tsv"
    argv = [
        "score-variants",
        "--model",
        _kmer(tmp),
        "--vcf",
        vcf,
        "--genome",
        _genome(tmp),
        "--out",
        out,
    ]
    return argv, [out]


def _snv(pos: int, ref: str | None = None, chrom: str = "chr1") -> str:
    ref = ref or CHROM[pos - 1]
    alt = "A" if ref != "A" else "C"
    return f"{chrom}\t{pos}\tv{pos}\t{ref}\t{alt}\t.\t.\t.\n"


@case
def case_vcf_ref_mismatch(tmp):
    wrong = "A" if CHROM[499] != "A" else "C"
    argv, out = _vcf(tmp, _snv(400) + _snv(500, wrong))
    return argv, "v.vcf:4:", f"REF {wrong} does not match the genome's {CHROM[499]}", out


@case
def case_vcf_without_header(tmp):
    argv, out = _vcf(tmp, _snv(400), header=False)
    return argv, "v.vcf:1:", "data line before the #CHROM header", out


@case
def case_vcf_pos_not_integer(tmp):
    argv, out = _vcf(tmp, _snv(400).replace("\t400\t", "\t4x0\t"))
    return argv, "v.vcf:3:", "POS must be a positive integer", out


@case
def case_vcf_unknown_chromosome(tmp):
    argv, out = _vcf(tmp, _snv(400) + _snv(450, "A", chrom="chrUn"))
    return argv, "v.vcf:4:", "chromosome 'chrUn' is not in the genome", out


@case
def case_vcf_too_few_fields(tmp):
    argv, out = _vcf(tmp, "chr1\t400\tv1\n")
    return argv, "v.vcf:3:", "at least 5 tab-separated fields", out


@case
def case_vcf_pos_past_chromosome_end(tmp):
    argv, out = _vcf(tmp, "chr1\t5000\tv1\tA\tC\t.\t.\t.\n")
    return argv, "v.vcf:3:", "past the end of chr1", out


@case
def case_predict_wrong_length_for_cnn(tmp):
    from mpralens.models.cnn.architectures import build_architecture

    net = build_architecture("paggi", n_tasks=1, input_length=145, filters=4)
    spec = {
        "arch": "paggi",
        "arch_kwargs": {"filters": 4},
        "tasks": ["a"],
        "input_length": 145,
        "tile_length": 145,
        "frame_length": 295,
        "layout": "tile",
    }
    ckpt = tmp / "model.ckpt"
    torch.save(
        {"state_dict": {f"network.{k}": v for k, v in net.state_dict().items()}, "mpralens": spec},
        ckpt,
    )
    fa = tmp / "seqs.fa"
    fa.write_text(f">s1\n{CHROM[:145]}\n>s2\n{CHROM[:140]}\n")
    out = tmp / "pred.tsv"
    argv = ["predict", "--model", ckpt, "--sequences", fa, "--out", out]
    return argv, "seqs.fa", "sequence 's2' has length 140", [out]


@pytest.mark.parametrize(
    "name", ["sortseq_missing_column", "checkpoint_without_spec", "vcf_ref_mismatch"]
)
def test_a_new_process_answers_as_the_tests_see_it(name, tmp_path):
    """The tests run the command line in their own process (``run_cli``); ``python -m mpralens``
    in a new process gives the same exit status and error, and writes nothing either."""
    argv, _, _, outputs = CASES[name](tmp_path)
    here, new = run_cli(*argv), run_cli_process(*argv)
    assert (here.returncode, new.returncode) == (2, 2)
    errors = [error_lines(here), error_lines(new)]
    assert len(errors[0]) == 1 and errors[0] == errors[1], (here.stderr, new.stderr)
    assert not any(out.exists() for out in outputs)


def test_a_new_process_writes_what_the_tests_see(tmp_path):
    """The same command in this process and in a new one writes the same files, byte for byte,
    and a usage error is exit status 2 both ways."""
    settings = '{"n_regions": 3, "seed": 5}'
    runs = [
        run(*["simulate-tiled", "--outdir", tmp_path / name, "--settings-json", settings])
        for run, name in ((run_cli, "here"), (run_cli_process, "new"))
    ]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    files = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "new") for p in (tmp_path / "new").rglob("*"))
    for f in files:
        if (tmp_path / "here" / f).is_file() and f.name != ".mpralens-outputs.json":
            assert (tmp_path / "here" / f).read_bytes() == (tmp_path / "new" / f).read_bytes(), f
    usage = [run("simulate-tiled", "--no-such-option") for run in (run_cli, run_cli_process)]
    assert [u.returncode for u in usage] == [2, 2]
    assert usage[0].stderr.splitlines()[-1] == usage[1].stderr.splitlines()[-1]


@pytest.mark.parametrize("name", sorted(CASES))
def test_entry_point_rejects(name, tmp_path):
    argv, where, words, outputs = CASES[name](tmp_path)
    proc = run_cli(*argv)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    errors = error_lines(proc)
    assert len(errors) == 1, proc.stderr
    assert where in errors[0], errors[0]
    assert words in errors[0], errors[0]
    for out in outputs:
        assert not out.exists(), out
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers  # no temporary siblings either


# The GEO distribution of the Sharpr pilot (../shared): counts with barcodes in one file.
GEO = "data/sharpr_format/geo"


def _geo(tmp: Path, edit) -> tuple[list, list[Path]]:
    shared = require_shared()
    sheet = pd.read_csv(REPO / "tests" / "configs" / "pilot_geo_libraries.tsv", sep="\t")
    sheet["path"] = [Path(p).name for p in sheet["path"]]
    for name in sheet["path"]:
        shutil.copy(shared / GEO / name, tmp / name)
    target = tmp / sheet["path"].iloc[0]
    with gzip.open(target, "rt") as fh:
        lines = fh.read().splitlines()
    with gzip.open(target, "wt") as fh:
        fh.write("\n".join(edit(lines)) + "\n")
    sheet.to_csv(tmp / "libraries.tsv", sep="\t", index=False)
    out = [tmp / "counts.parquet", tmp / "tiles.tsv.gz"]
    argv = [
        "import-counts",
        "--layout",
        "geo",
        "--libraries",
        tmp / "libraries.tsv",
        "--coords",
        shared / "data/sharpr_format/ernst_site/coords_PilotDesign_hg19.txt",
        "--tile-step",
        "30",
        "--out-counts",
        out[0],
        "--out-tiles",
        out[1],
    ]
    return argv, out, target.name


GEO_CASES = {
    "missing_column": (
        lambda ls: [ls[0].replace("\tCounts", "\tCount"), *ls[1:]],
        1,
        "missing column(s) Counts",
    ),
    "tags_counts_mismatch": (
        lambda ls: _set_field(ls, 3, 3, "1,2", sep="\t"),
        3,
        "Tags and Counts list different numbers of barcodes",
    ),
    "negative_barcode_count": (
        lambda ls: _set_field(ls, 4, 3, _neg(ls[3].split("\t")[3]), sep="\t"),
        4,
        "count must be non-negative",
    ),
}


def _neg(counts: str) -> str:
    parts = counts.split(",")
    parts[0] = "-1"
    return ",".join(parts)


@pytest.mark.parametrize("name", sorted(GEO_CASES))
def test_geo_counts_rejects(name, tmp_path):
    edit, line, words = GEO_CASES[name]
    argv, outputs, target = _geo(tmp_path, edit)
    proc = run_cli(*argv)
    assert proc.returncode == 2, proc.stderr[-2000:]
    (error,) = error_lines(proc)
    assert f"{target}:{line}:" in error and words in error, error
    for out in outputs:
        assert not out.exists()
