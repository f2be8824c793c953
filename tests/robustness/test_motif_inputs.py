"""Bad inputs of the motif commands (``mpralens filters``, ``mpralens patterns``): one message
naming the file, line or key, exit status 2, nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mpralens.io.errors import InputError

BASES = "ACGT"


def _tiles(tmp_path, n_regions: int = 3, region: int = 40, tile: int = 20):
    rng = np.random.default_rng(0)
    rows, splits = [], []
    for r in range(n_regions):
        seq = "".join(rng.choice(list(BASES), region))
        for k, start in enumerate(range(0, region - tile + 1, 10)):
            tid = f"r{r}_{k}"
            rows.append((tid, f"r{r}", "chr1", 1000 * r + start, 1000 * r + start + tile))
            rows[-1] += (seq[start : start + tile],)
            splits.append((tid, f"r{r}", "test"))
    tiles = pd.DataFrame(
        rows, columns=["tile_id", "region_id", "chrom", "start", "end", "sequence"]
    )
    tiles.to_csv(tmp_path / "tiles.tsv.gz", sep="\t", index=False)
    pd.DataFrame(splits, columns=["tile_id", "region_id", "split"]).to_csv(
        tmp_path / "splits.tsv", sep="\t", index=False
    )
    return tiles


def _checkpoint(tmp_path):
    from mpralens.models.cnn.architectures import build_architecture

    torch.manual_seed(0)
    kwargs = {"filters": 4, "widths": [5, 3], "pool": 4}
    net = build_architecture("paggi", n_tasks=1, input_length=20, **kwargs)
    spec = {
        "arch": "paggi",
        "arch_kwargs": kwargs,
        "tasks": ["a"],
        "input_length": 20,
        "tile_length": 20,
        "layout": "tile",
        "frame_length": 40,
    }
    state = {f"network.{k}": v for k, v in net.state_dict().items()}
    path = tmp_path / "model.ckpt"
    torch.save({"mpralens": spec, "state_dict": state}, path)
    return path


def _run(argv, capsys) -> str:
    from mpralens.cli import main

    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("mpralens: error:") == 1, err
    return err


def test_filters_of_a_kmer_model_is_one_error(tmp_path, capsys):
    _tiles(tmp_path)
    kmer = tmp_path / "model.npz"
    kmer.write_bytes(b"not read")
    out = tmp_path / "out"
    err = _run(
        ["filters", "--model", kmer, "--tiles", tmp_path / "tiles.tsv.gz", "--splits"]
        + [tmp_path / "splits.tsv", "--out-tsv", out / "f.tsv", "--out-meme", out / "f.meme"],
        capsys,
    )
    assert f"{kmer}: the k-mer model has no first-layer convolution" in err
    assert not out.exists()


def test_filters_with_a_motif_file_in_neither_format_names_file_and_line(tmp_path, capsys):
    _tiles(tmp_path)
    ckpt = _checkpoint(tmp_path)
    bad = tmp_path / "db.txt"
    bad.write_text("\n# my motifs\n>M1\n")
    out = tmp_path / "out"
    err = _run(
        ["filters", "--model", ckpt, "--tiles", tmp_path / "tiles.tsv.gz", "--splits"]
        + [tmp_path / "splits.tsv", "--out-tsv", out / "f.tsv", "--out-meme", out / "f.meme"]
        + ["--motifs", bad],
        capsys,
    )
    assert f"{bad}:2: neither MEME minimal format" in err
    assert not out.exists()


def test_filters_with_a_truncated_jaspar_file_names_the_matrix(tmp_path, capsys):
    _tiles(tmp_path)
    ckpt = _checkpoint(tmp_path)
    bad = tmp_path / "db.jaspar"
    bad.write_text(">MA1 X\nA [ 1 2 ]\nC [ 1 2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n>MA2 Y\nA [ 1 ]\n")
    err = _run(
        ["filters", "--model", ckpt, "--tiles", tmp_path / "tiles.tsv.gz", "--splits"]
        + [tmp_path / "splits.tsv", "--out-tsv", tmp_path / "f.tsv", "--out-meme"]
        + [tmp_path / "f.meme", "--motifs", bad],
        capsys,
    )
    assert f"{bad}:6: matrix 'MA2' has 1 of the 4 rows" in err
    assert not (tmp_path / "f.tsv").exists() and not (tmp_path / "f.meme").exists()


def _scores(tmp_path, tiles: pd.DataFrame, columns=("chrom", "pos", "region_id", "task", "score")):
    rows = []
    for rid, g in tiles.groupby("region_id"):
        start, end = int(g["start"].min()), int(g["end"].max())
        rows += [("chr1", p, rid, "a", 0.1) for p in range(start, end)]
    table = pd.DataFrame(rows, columns=["chrom", "pos", "region_id", "task", "score"])
    path = tmp_path / "scores.tsv.gz"
    table[list(columns)].to_csv(path, sep="\t", index=False)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("columns", "a per-base score table needs columns ['score']"),
        ("source", "config key 'motifs.sources': source 'deepshap' has no attribution maps"),
        ("window", "config key 'motifs.window_size': the regions (40 bp) are shorter"),
        ("motifs", "neither MEME minimal format"),
    ],
)
def test_patterns_bad_inputs_end_with_one_message_and_nothing_written(
    tmp_path, capsys, case, message
):
    tiles = _tiles(tmp_path)
    columns = ("chrom", "pos", "region_id", "task") if case == "columns" else None
    scores = _scores(tmp_path, tiles, *([columns] if columns else []))
    out = tmp_path / "out"
    argv = ["patterns", "--scores", f"ism={scores}", "--tiles", tmp_path / "tiles.tsv.gz"]
    argv += ["--splits", tmp_path / "splits.tsv", "--out-tsv", out / "p.tsv"]
    argv += ["--out-meme", out / "p.meme", "--out-figure", out / "p.png"]
    if case == "source":
        argv += ["--sources", "deepshap"]
    if case == "window":
        argv += ["--window-size", "31", "--flank-size", "5"]
    if case == "motifs":
        (tmp_path / "m.txt").write_text("motif\n")
        argv += ["--motifs", tmp_path / "m.txt"]
    err = _run(argv, capsys)
    assert message in err, err
    assert not out.exists()


def test_config_naming_a_source_without_maps_is_refused():
    from mpralens.workflow import load_config

    config = {
        "datasets": {"d": {"type": "tiled_mpra", "source": "simulate"}},
        "interpret": {"methods": ["ism"]},
        "motifs": {"enabled": True, "sources": ["deepshap"]},
    }
    with pytest.raises(InputError, match="names 'deepshap' but the cnn model has no") as e:
        load_config(config)
    assert e.value.key == "motifs.sources"
    with pytest.raises(InputError, match="unknown source 'gradients'"):
        load_config({**config, "motifs": {"sources": ["gradients"]}})
