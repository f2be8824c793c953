"""Downloads: checked against SHA-256 (a mismatch stops and leaves nothing), a missing checksum is
printed, and the workflow fetches a data set's file through the fetch rule (file:// URLs)."""

import gzip
import hashlib
import json

import pytest

from mpralens.simulate.tiled import TiledSimulation, simulate_tiled
from tests.conftest import run_cli, run_snakemake, workflow_copy

PAYLOAD = b">chr1\nACGTACGTAC\n"
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "remote" / "genome.fa"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


def test_checked_download(source, tmp_path):
    out = tmp_path / "got" / "genome.fa"
    proc = run_cli("fetch", "--url", source.as_uri(), "--sha256", DIGEST, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == PAYLOAD
    assert json.loads(proc.stdout) == {"url": source.as_uri(), "sha256": DIGEST, "checked": True}


def test_wrong_checksum_stops_and_leaves_nothing(source, tmp_path):
    out = tmp_path / "got" / "genome.fa"
    wrong = "0" * 64
    proc = run_cli(
        "fetch",
        "--url",
        source.as_uri(),
        "--sha256",
        wrong,
        "--out",
        out,
        "--key",
        "datasets.x.genome",
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("mpralens: error: config key 'datasets.x.genome': checksum mismatch")
    assert f"expected sha256 {wrong}, got {DIGEST}" in line
    assert not out.parent.exists()  # not even the folder it created


def test_missing_checksum_is_printed(source, tmp_path):
    out = tmp_path / "genome.fa"
    proc = run_cli("fetch", "--url", source.as_uri(), "--out", out, "--key", "datasets.x.genome")
    assert proc.returncode == 0
    assert f"datasets.x.genome; the download has sha256 {DIGEST}: add it" in proc.stderr
    assert json.loads(proc.stdout)["checked"] is False


def test_gunzip_after_checking(tmp_path):
    packed = tmp_path / "genome.fa.gz"
    packed.write_bytes(gzip.compress(PAYLOAD, mtime=0))
    out = tmp_path / "genome.fa"
    digest = hashlib.sha256(packed.read_bytes()).hexdigest()
    proc = run_cli("fetch", "--url", packed.as_uri(), "--sha256", digest, "--gunzip", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == PAYLOAD


def test_unreadable_url_is_one_error(tmp_path):
    out = tmp_path / "x"
    proc = run_cli("fetch", "--url", (tmp_path / "nothing").as_uri(), "--out", out)
    assert proc.returncode == 2 and "cannot download" in proc.stderr and not out.exists()


@pytest.mark.slow
def test_workflow_downloads_a_configured_file(tmp_path):
    """A files data set whose genome is a checked download: the download rule fetches it into
    resources/downloads/<url digest>/ and the ISM rule reads it from there."""
    wd = workflow_copy(tmp_path / "wf")
    data = tmp_path / "data"
    simulate_tiled(TiledSimulation(n_regions=4, seed=2), data)
    genome = data / "genome.fa"
    checksum = hashlib.sha256(genome.read_bytes()).hexdigest()
    (wd / "dl.yaml").write_text(
        f"""datasets:
  dl:
    type: tiled_mpra
    sequences: {data}/SimDesign.sequences.txt
    coords: {data}/coords_SimDesign_hg19.txt
    libraries: {data}/libraries.tsv
    genome: {{url: "{genome.as_uri()}", sha256: {checksum}}}
"""
    )
    from mpralens.config.datasets import url_digest

    digest = url_digest({"url": genome.as_uri()})
    target = f"resources/downloads/{digest}/genome.fa"
    plan = run_snakemake(wd, "-n", "results/dl/ism/cnn/scores.tsv.gz", "--configfile", "dl.yaml")
    assert "rule fetch:" in plan.stdout and target in plan.stdout
    run_snakemake(wd, target, "--configfile", "dl.yaml")
    assert (wd / target).read_bytes() == genome.read_bytes()
    # A changed checksum stops the run with the key named, and no file.
    (wd / target).unlink()
    (wd / "dl.yaml").write_text((wd / "dl.yaml").read_text().replace(checksum, "f" * 64))
    proc = run_snakemake(wd, target, "--configfile", "dl.yaml", check=False)
    assert proc.returncode != 0 and not (wd / target).exists()
    log = (wd / f"logs/downloads/{digest}_genome.fa.log").read_text()
    assert "config key 'datasets.dl.genome': checksum mismatch" in log


@pytest.mark.slow
def test_count_files_given_as_urls_in_the_library_sheet(tmp_path):
    """Library-sheet paths may be URLs (with a sha256 column): rule fetch_counts fetches each into
    resources/<ds>/downloads/counts/ and the import reads them from there."""
    import pandas as pd

    wd = workflow_copy(tmp_path / "wf")
    data = tmp_path / "data"
    simulate_tiled(TiledSimulation(n_regions=4, seed=2), data)
    sheet = pd.read_csv(data / "libraries.tsv", sep="\t", keep_default_na=False)
    sheet["sha256"] = [hashlib.sha256((data / p).read_bytes()).hexdigest() for p in sheet["path"]]
    sheet["path"] = [(data / p).as_uri() for p in sheet["path"]]
    sheet.to_csv(tmp_path / "urls.tsv", sep="\t", index=False)
    (wd / "urls.yaml").write_text(
        f"""datasets:
  web:
    type: tiled_mpra
    sequences: {data}/SimDesign.sequences.txt
    coords: {data}/coords_SimDesign_hg19.txt
    libraries: {tmp_path}/urls.tsv
"""
    )
    run_snakemake(wd, "results/web/counts.parquet", "--configfile", "urls.yaml")
    got = sorted(p.name for p in (wd / "resources/web/downloads/counts").iterdir())
    assert got == sorted(p.rsplit("/", 1)[-1] for p in sheet["path"])
    counts = pd.read_parquet(wd / "results/web/counts.parquet")
    assert len(counts) == 4 * 31
