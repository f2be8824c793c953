"""Design geometry is checked, not guessed; annotations that match nothing are refused.

Issue 14, items 4 and 5 (and the evaluation step's share of item 3). Import cases build a small
Ernst-layout design by hand from one random chromosome, so every coordinate, region and tile
position below is known; evaluation cases build an ISM scores table by hand. Each refusal checks:
exit status 2, exactly one ``mpralens: error:`` line naming the file (and line) or config key and
the problem, and no output.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mpralens.data.splits import make_splits, split_by_region
from mpralens.io.tables import write_tsv
from tests.conftest import (
    REPO,
    dry_run_jobs,
    error_lines,
    run_cli,
    run_snakemake,
    workflow_copy,
)

L = 145
RNG = np.random.default_rng(14)
GENOME = "".join(RNG.choice(list("ACGT"), 3000))
# Three regions of 5 tiles at 5-bp steps (165 bp): B and C overlap (1200-1365, 1300-1465).
REGIONS = {"A": 200, "B": 1200, "C": 1300}


def _tiles(step: int = 5, n: int = 5) -> pd.DataFrame:
    rows = [
        (r, t, "chr1", s + t * step, s + t * step + L) for r, s in REGIONS.items() for t in range(n)
    ]
    df = pd.DataFrame(rows, columns=["region", "pos", "chrom", "start", "end"])
    df["sequence"] = [GENOME[s:e] for s, e in zip(df["start"], df["end"], strict=True)]
    return df


def _write_design(tmp: Path, ids, tiles: pd.DataFrame, coords: pd.DataFrame) -> dict[str, Path]:
    """Sequences, coords, one DNA and one RNA counts file and the sheet of an Ernst design."""
    tmp.mkdir(parents=True, exist_ok=True)
    paths = {k: tmp / f for k, f in [("seq", "design.sequences.txt"), ("coords", "coords.txt")]}
    paths["seq"].write_text(
        "".join(f"{i}\t{s}\n" for i, s in zip(ids, tiles["sequence"], strict=True))
    )
    coords.to_csv(paths["coords"], sep="\t", header=False, index=False)
    for name, base in (("dna", 100), ("rna", 7)):
        (tmp / f"{name}.counts").write_text(
            "\t1\n" + "".join(f"{i}\t{base + k}\n" for k, i in enumerate(ids))
        )
    paths["sheet"] = tmp / "libraries.tsv"
    paths["sheet"].write_text(
        "library\tmolecule\tcell\tpromoter\treplicate\tpath\n"
        "P\tDNA\t\tminP\t1\tdna.counts\nR\tRNA\tHepG2\tminP\t1\trna.counts\n"
    )
    return paths


def _per_tile(tiles: pd.DataFrame, ids) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": ids, "chrom": tiles["chrom"], "s": tiles["start"], "e": tiles["end"]}
    )


def _import(paths: dict[str, Path], out: Path, *extra, coords=None) -> tuple:
    argv = [
        "import-counts",
        "--layout",
        "ernst",
        "--libraries",
        paths["sheet"],
        "--sequences",
        paths["seq"],
        "--coords",
        paths["coords"] if coords is None else coords,
        "--out-counts",
        out / "counts.parquet",
        "--out-tiles",
        out / "tiles.tsv.gz",
        *extra,
    ]
    return run_cli(*argv), [out / "counts.parquet", out / "tiles.tsv.gz"]


def _refused(proc, outputs, *needles) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    errors = error_lines(proc)
    assert len(errors) == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    for out in outputs:
        assert not out.exists(), out
    return errors[0]


# --- 4. design geometry -------------------------------------------------------------------------


def _coordinate_ids(tmp):
    """Tile IDs ``chr1_START_END`` (not Sharpr IDs) with one coords row per tile."""
    t = _tiles()
    ids = [f"chr1_{s}_{e}" for s, e in zip(t["start"], t["end"], strict=True)]
    return _write_design(tmp, ids, t, _per_tile(t, ids)), t


def test_coordinate_ids_do_not_pass_as_pilot_ids(tmp_path):
    paths, _ = _coordinate_ids(tmp_path / "d")
    proc, outs = _import(paths, tmp_path / "out")
    # chr1_200_345 parses as GROUP chr1, REGIONID 200, TILEPOS 345: 345 x 5 bp after itself.
    _refused(
        proc,
        outs,
        "coords.txt:1 config key 'datasets.<name>.tile_ids'",
        "tile 'chr1_200_345' (TILEPOS 345) starts 0 bp after its region's first tile",
        "no tile_step fits",
        "set tile_ids: coords",
    )


def test_tile_ids_coords_declares_regions_from_coordinates(tmp_path):
    paths, t = _coordinate_ids(tmp_path / "d")
    out = tmp_path / "out"
    proc, outs = _import(paths, out, "--tile-ids", "coords")
    assert proc.returncode == 0, proc.stderr
    tiles = pd.read_csv(outs[1], sep="\t").set_index("tile_id")
    # A alone (200-365); B and C overlap, so one region 1200-1465 of 10 tiles ranked by start.
    assert sorted(tiles["region_id"].unique()) == ["chr1:1200-1465", "chr1:200-365"]
    c = tiles.loc["chr1_1300_1445"]
    assert (c["region_id"], c["tile_pos"]) == ("chr1:1200-1465", 5)
    assert tiles.loc["chr1_1220_1365", "tile_pos"] == 4
    assert tiles.loc["chr1_1320_1465", "tile_pos"] == 9
    assert tiles.loc["chr1_200_345", ["region_id", "tile_pos", "start", "end"]].tolist() == [
        "chr1:200-365",
        0,
        200,
        345,
    ]
    counts = pd.read_parquet(outs[0]).set_index("tile_id")
    assert counts.loc["chr1_1300_1445", "P"] == 100 + 10  # 11th line of dna.counts


def _shifted_tile(tmp):
    """Tile 3 of region A listed 2 bp right of where its sequence lies."""
    t = _tiles()
    ids = [f"t{k}" for k in range(len(t))]
    coords = _per_tile(t, ids)
    coords.loc[3, ["s", "e"]] += 2
    return _write_design(tmp, ids, t, coords)


def test_coordinates_that_contradict_the_sequences_are_refused(tmp_path):
    proc, outs = _import(_shifted_tile(tmp_path / "d"), tmp_path / "out", "--tile-ids", "coords")
    _refused(
        proc,
        outs,
        "design.sequences.txt:4 config key 'datasets.<name>.coords'",
        "tiles 't2' (line 3) and 't3' of region 'chr1:200-365' overlap on 138 bp",
        "puts them 7 bp apart, their sequences agree 5 bp apart",
    )


def _pilot_ids(t):
    return [f"high_{r}_{p}" for r, p in zip(t["region"], t["pos"], strict=True)]


def test_wrong_tile_step_with_per_tile_coordinates(tmp_path):
    t = _tiles(step=30)
    paths = _write_design(tmp_path / "d", _pilot_ids(t), t, _per_tile(t, _pilot_ids(t)))
    proc, outs = _import(paths, tmp_path / "out", "--tile-step", "5")
    _refused(
        proc,
        outs,
        "coords.txt:2 config key 'datasets.<name>.tile_step'",
        "tile 'high_A_1' (TILEPOS 1) starts 30 bp after its region's first tile (chr1:200)",
        "fit tile_step 30",
    )
    proc, outs = _import(paths, tmp_path / "ok", "--tile-step", "30")
    assert proc.returncode == 0, proc.stderr


def _scaleup(tmp, step=5):
    """Scale-up IDs, one coords row per region (tiles placed at start + TILEPOS x tile_step)."""
    t = _tiles(step=step)
    ids = [
        f"X_1_{r}_{p}_chr1_{REGIONS[r] + 82}" for r, p in zip(t["region"], t["pos"], strict=True)
    ]
    regions = pd.DataFrame(
        {
            "id": [f"X_1_{r}_chr1_{s + 82}" for r, s in REGIONS.items()],
            "chrom": "chr1",
            "s": list(REGIONS.values()),
            "e": [s + 4 * step + L for s in REGIONS.values()],
        }
    )
    return _write_design(tmp, ids, t, regions), ids


@pytest.mark.parametrize("given", [3, 4])
def test_wrong_tile_step_with_region_coordinates(given, tmp_path):
    paths, _ = _scaleup(tmp_path / "d")
    proc, outs = _import(paths, tmp_path / "out", "--tile-step", str(given))
    _refused(
        proc,
        outs,
        "design.sequences.txt:2 config key 'datasets.<name>.tile_step'",
        f"tiles 'X_1_A_0_chr1_282' (line 1) and 'X_1_A_1_chr1_282' of region 'X_1_A_chr1_282' "
        f"overlap on {L - given} bp",
        f"placed at their region's start + TILEPOS x tile_step {given}",
        "agree with tile_step 5",
    )


def test_right_tile_step_imports_and_from_ids_agrees(tmp_path):
    paths, _ = _scaleup(tmp_path / "d")
    proc, outs = _import(paths, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    tiles = pd.read_csv(outs[1], sep="\t").set_index("tile_id")
    assert tiles.loc["X_1_B_3_chr1_1282", ["start", "end", "tile_pos"]].tolist() == [1215, 1360, 3]
    # CENTER 282 = 200 + 165 // 2: from_ids gives the same regions, then the same tiles.
    proc, outs2 = _import(paths, tmp_path / "out2", coords="from_ids")
    assert proc.returncode == 0, proc.stderr
    assert outs2[1].read_bytes() == outs[1].read_bytes()
    proc, outs3 = _import(paths, tmp_path / "out3", "--tile-step", "4", coords="from_ids")
    _refused(proc, outs3, "config key 'datasets.<name>.tile_step'", "(coords: from_ids)")


def test_scaleup_id_naming_another_chromosome(tmp_path):
    paths, _ = _scaleup(tmp_path / "d")
    rows = paths["coords"].read_text().splitlines()
    rows[1] = rows[1].replace("\tchr1\t", "\tchr2\t")  # region B's row
    paths["coords"].write_text("\n".join(rows) + "\n")
    proc, outs = _import(paths, tmp_path / "out")
    _refused(
        proc,
        outs,
        "design.sequences.txt:6 config key 'datasets.<name>.coords'",
        "tile 'X_1_B_0_chr1_1282' names chromosome chr1 but the coords file (its region's row, "
        "line 2) puts it on chr2",
    )


@pytest.mark.parametrize(
    "bad, words",
    [
        ("tileA", "does not fit the tile_ids scheme sharpr"),
        ("high__3", "does not fit the tile_ids scheme sharpr"),
        ("X_1_A_0_chr1_centre", "does not fit the tile_ids scheme sharpr"),
    ],
)
def test_ids_that_fit_no_sharpr_form(bad, words, tmp_path):
    t = _tiles()
    ids = _pilot_ids(t)
    ids[6] = bad
    paths = _write_design(tmp_path / "d", ids, t, _per_tile(t, ids))
    proc, outs = _import(paths, tmp_path / "out", "--tile-step", "5")
    _refused(proc, outs, "design.sequences.txt:7 config key 'datasets.<name>.tile_ids'", words)


def test_tile_ids_coords_needs_a_row_per_tile(tmp_path):
    t = _tiles()
    ids = [f"t{k}" for k in range(len(t))]
    coords = _per_tile(t, ids).drop(index=8)
    paths = _write_design(tmp_path / "d", ids, t, coords)
    proc, outs = _import(paths, tmp_path / "out", "--tile-ids", "coords")
    _refused(proc, outs, "design.sequences.txt:9 config key 'datasets.<name>.coords'", "'t8'")
    proc, outs = _import(paths, tmp_path / "o2", "--tile-ids", "coords", coords="from_ids")
    _refused(proc, outs, "config key 'datasets.<name>.coords'", "one row per tile")


def test_tile_coordinates_must_span_the_sequence(tmp_path):
    t = _tiles()
    ids = [f"t{k}" for k in range(len(t))]
    coords = _per_tile(t, ids)
    coords.loc[4, "e"] += 1
    paths = _write_design(tmp_path / "d", ids, t, coords)
    proc, outs = _import(paths, tmp_path / "out", "--tile-ids", "coords")
    _refused(proc, outs, "coords.txt:5", "tile 't4' spans 146 bp", "its sequence has 145")


def test_real_pilot_excerpt_geometry(shared, tmp_path):
    """The real pilot: refused with the default tile_step 5, the same regions with coords."""
    from mpralens.data.counts import import_counts
    from mpralens.io.errors import InputError

    ernst = shared / "data" / "sharpr_format" / "ernst_site"
    kw = {
        "layout": "ernst",
        "libraries": REPO / "tests" / "configs" / "pilot_ernst_libraries.tsv",
        "coords": ernst / "coords_PilotDesign_hg19.txt",
        "sequences": ernst / "PilotDesign.sequences.txt",
    }
    with pytest.raises(InputError, match="fit tile_step 30") as err:
        import_counts(tile_step=5, **kw)
    assert err.value.key == "datasets.<name>.tile_step" and err.value.line == 2
    sharpr = import_counts(tile_step=30, **kw).tiles
    coords = import_counts(tile_ids="coords", **kw).tiles.set_index("tile_id")
    coords = coords.loc[sharpr["tile_id"]]
    # Same grouping and positions; region high_0 is chr6:155649778 + 8 x 30 + 145.
    assert (coords["tile_pos"].to_numpy() == sharpr["tile_pos"].to_numpy()).all()
    pairs = set(zip(sharpr["region_id"], coords["region_id"], strict=True))
    assert pairs == {("high_0", "chr6:155649778-155650163"), ("high_1", "chr20:52749263-52749648")}


def test_real_scaleup_excerpt_with_coords_from_ids(shared, tmp_path):
    """The GEO scale-up excerpt imports with from_ids; its overlaps refuse a wrong tile_step."""
    src = shared / "data/sharpr_format/scaleup/GSM1831765_K562_ScaleUpDesign1_minP_mRNA_Rep1"
    src = src.with_name(src.name + ".counts.txt.gz")
    for name in ("dna.txt.gz", "rna.txt.gz"):
        shutil.copy(src, tmp_path / name)
    (tmp_path / "libraries.tsv").write_text(
        "library\tmolecule\tcell\tpromoter\treplicate\tpath\n"
        "P\tDNA\t\tminP\t1\tdna.txt.gz\nR\tRNA\tK562\tminP\t1\trna.txt.gz\n"
    )

    def run(out, step):
        return run_cli(
            "import-counts", "--layout", "geo", "--libraries", tmp_path / "libraries.tsv",
            "--coords", "from_ids", "--tile-step", step, "--out-counts", out / "c.parquet",
            "--out-tiles", out / "t.tsv.gz",
        ), [out / "c.parquet", out / "t.tsv.gz"]  # fmt: skip

    proc, outs = run(tmp_path / "ok", 5)
    assert proc.returncode == 0, proc.stderr
    tiles = pd.read_csv(outs[1], sep="\t").set_index("tile_id")
    # coords_ScaleUpDesign1_hg19.txt: H1hesc_1_0_chr20_30310735 spans chr20:30310588-30310883.
    t30 = tiles.loc["H1hesc_1_0_30_chr20_30310735"]
    assert (t30["chrom"], t30["start"], t30["end"]) == ("chr20", 30310588 + 150, 30310883)
    proc, outs = run(tmp_path / "bad", 4)
    _refused(
        proc,
        outs,
        "dna.txt.gz:3 config key 'datasets.<name>.tile_step'",
        "'H1hesc_1_0_1_chr20_30310735' of region 'H1hesc_1_0_chr20_30310735'",
        "agree with tile_step 5",
    )


# --- leakage: overlapping regions are never split apart --------------------------------------


def _overlapping_pairs(n_pairs=100):
    """Pairs of regions overlapping by 100 bp, pairs 5 kb apart, and 50 lone regions."""
    rows = []
    for k in range(n_pairs):
        for j, off in enumerate((0, 65)):
            for t in range(5):
                s = 5000 * k + off + 5 * t
                rows.append((f"P{k}_{j}_{t}", f"P{k}_{j}", "chr1", s, s + L))
    for k in range(50):
        rows.append((f"S{k}_0", f"S{k}", "chr2", 5000 * k, 5000 * k + L))
    return pd.DataFrame(rows, columns=["tile_id", "region_id", "chrom", "start", "end"])


def test_overlapping_regions_share_a_split_and_lone_regions_keep_theirs():
    tiles = _overlapping_pairs()
    kw = {"valid_fraction": 0.2, "test_fraction": 0.2, "seed": 7}
    s = make_splits(tiles, by="region", **kw).set_index("region_id")["split"]
    s = s[~s.index.duplicated()]
    for k in range(100):
        assert s[f"P{k}_0"] == s[f"P{k}_1"], k
    # Each pair takes the split its first region draws alone; lone regions keep theirs.
    alone = split_by_region(tiles["region_id"], **kw)
    for k in range(100):
        assert s[f"P{k}_1"] == alone[f"P{k}_0"]
    lone = [f"S{k}" for k in range(50)]
    assert (s[lone] == alone[lone]).all()
    # Drawn alone, some pairs would straddle (the leak this prevents).
    assert sum(alone[f"P{k}_0"] != alone[f"P{k}_1"] for k in range(100)) > 20


def test_touching_regions_are_not_grouped():
    """Half-open spans: a region ending where the next starts shares no base with it."""
    from mpralens.data.splits import overlap_groups

    tiles = pd.DataFrame(
        {
            "tile_id": ["a", "b", "c", "d"],
            "region_id": ["A", "B", "C", "D"],
            "chrom": ["chr1", "chr1", "chr1", "chr2"],
            "start": [0, 145, 289, 0],
            "end": [145, 290, 434, 145],
        }
    )
    assert overlap_groups(tiles).to_dict() == {"A": "A", "B": "B", "C": "B", "D": "D"}


def test_simulated_splits_equal_the_split_drawn_per_region(small_sim):
    """Simulated regions never overlap: the default split is today's, region by region."""
    from mpralens.data.counts import import_counts
    from mpralens.simulate.tiled import simulated_paths

    p = simulated_paths(str(small_sim))
    tiles = import_counts(
        layout="ernst", libraries=p["libraries"], sequences=p["sequences"], coords=p["coords"]
    ).tiles
    kw = {"valid_fraction": 0.1, "test_fraction": 0.1, "seed": 0}
    s = make_splits(tiles, by="region", **kw)
    alone = split_by_region(tiles["region_id"], **kw)
    assert (s["split"].to_numpy() == alone.loc[s["region_id"]].to_numpy()).all()
    assert s.drop_duplicates("region_id")["split"].value_counts().to_dict() == {
        "train": 240,
        "valid": 30,
        "test": 30,
    }


# --- workflow config: tile_ids and tf_sites keys ----------------------------------------------

SIM = "datasets:\n  d:\n    type: tiled_mpra\n    source: simulate\n"
PILOT = (
    "datasets:\n  p:\n    type: tiled_mpra\n    layout: ernst\n"
    "    sequences: ../shared/data/sharpr_format/ernst_site/PilotDesign.sequences.txt\n"
    "    coords: ../shared/data/sharpr_format/ernst_site/coords_PilotDesign_hg19.txt\n"
    "    libraries: tests/configs/pilot_ernst_libraries.tsv\n    tile_step: 30\n"
)
CONFIG_CASES = {
    "tf_sites_typo_simulated": (
        SIM + "    tf_sites: {HepG3: x.bed}\n",
        "config key 'datasets.d.tf_sites.HepG3'",
        "cell 'HepG3' names no task's cell; the data set's cells are HepG2, K562 "
        "(the simulator's cells setting)",
    ),
    "tf_sites_typo_files": (
        PILOT + "    tf_sites: {K652: tests/configs/tiny.yaml}\n",
        "config key 'datasets.p.tf_sites.K652'",
        "the data set's cells are HepG2, K562 (the cell column of "
        "tests/configs/pilot_ernst_libraries.tsv)",
    ),
    "coords_scheme_with_from_ids": (
        PILOT.replace(
            "coords: ../shared/data/sharpr_format/ernst_site/coords_PilotDesign_hg19.txt",
            "coords: from_ids",
        )
        + "    tile_ids: coords\n",
        "config key 'datasets.p.coords'",
        "one row per tile",
    ),
    "coords_scheme_simulated": (
        SIM + "    tile_ids: coords\n",
        "config key 'datasets.d.tile_ids'",
        "simulated data sets use Sharpr IDs",
    ),
    "unknown_scheme": (SIM + "    tile_ids: bed\n", "tile_ids", "bed"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_config_refuses(case, shared, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    text, where, words = CONFIG_CASES[case]
    (wd / "bad.yaml").write_text(text)
    proc = run_snakemake(wd, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert where in out and words in out, out[-3000:]
    assert not (wd / "results").exists()
    assert sorted(p.name for p in (wd / "resources").iterdir()) == ["lac_sortseq"]


def test_workflow_passes_tile_ids(shared, tmp_path):
    wd = workflow_copy(tmp_path / "wf")
    (wd / "coords.yaml").write_text(PILOT.replace("tile_step: 30", "tile_ids: coords"))
    jobs = dry_run_jobs(wd, config="coords.yaml")
    shell = next(j.shell for j in jobs if j.rule == "import_counts")
    assert "--tile-ids coords" in shell, shell
    jobs = dry_run_jobs(wd, config="tests/configs/tiny.yaml")
    shell = next(j.shell for j in jobs if j.rule == "import_counts")
    assert "--tile-ids sharpr" in shell, shell


# --- 5. annotations that match nothing ----------------------------------------------------------


def _scores(tmp: Path, tasks=("HepG2_minP", "K562_minP"), chrom="chr1", n_windows=5) -> Path:
    """100 scored bases chr1:100-199 per task; the score is 1 on 100-109, -1 on 150-159."""
    score = np.zeros(100)
    score[:10], score[50:60] = 1.0, -1.0
    rows = [
        pd.DataFrame(
            {
                "chrom": chrom,
                "pos": 100 + np.arange(100),
                "region_id": "R",
                "task": task,
                "score": score * (1 if k % 2 == 0 else -1),
                "n_windows": n_windows,
            }
        )
        for k, task in enumerate(tasks)
    ]
    path = tmp / "scores.tsv.gz"
    write_tsv(pd.concat(rows, ignore_index=True), path)
    return path


def _evaluate(tmp: Path, scores: Path, *extra):
    out = tmp / "eval"
    proc = run_cli(
        "evaluate-ism", "--scores", scores, "--bins", "10", "--outdir", out, *map(str, extra)
    )
    return proc, [out / "summary.json", out / "fig8_quantiles.png"]


def _bed(tmp: Path, name: str, rows) -> Path:
    path = tmp / name
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def _bigwig(tmp: Path, chroms: dict[str, int], hot=(100, 110)) -> Path:
    import pyBigWig

    path = tmp / "cons.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms.items()))
    for c, n in chroms.items():
        vals = np.full(n, 0.5)
        vals[hot[0] : hot[1]] = 3.0
        bw.addEntries(c, 0, values=vals.tolist(), span=1, step=1)
    bw.close()
    return path


def _summary(outputs) -> dict:
    def no_constants(name):
        raise AssertionError(f"summary.json holds {name}, which is not JSON")

    return json.loads(outputs[0].read_text(), parse_constant=no_constants)


def test_tf_sites_key_naming_no_task_cell(tmp_path):
    bed = _bed(tmp_path, "hepg3.bed", [("chr1", 100, 110, "HNF4A")])
    proc, outs = _evaluate(tmp_path, _scores(tmp_path), "--tf-sites", f"HepG3={bed}")
    _refused(
        proc,
        outs,
        "hepg3.bed config key 'datasets.<name>.tf_sites.HepG3'",
        "names no task's cell: the ISM scores' tasks are HepG2_minP, K562_minP",
    )


def test_cell_names_with_underscores(tmp_path):
    """Hep_G2_minP belongs to Hep_G2 (longest match), not to a cell 'Hep'."""
    scores = _scores(tmp_path, tasks=("Hep_G2_minP", "K_562_minP"))
    hep = _bed(tmp_path, "hep.bed", [("chr1", 100, 110, "HNF4A")])
    k = _bed(tmp_path, "k.bed", [("chr1", 150, 160, "GATA1")])
    proc, outs = _evaluate(tmp_path, scores, "--tf-sites", f"Hep_G2={hep}", f"K_562={k}")
    assert proc.returncode == 0, proc.stderr
    tasks = _summary(outs)["tasks"]
    # Hep_G2_minP scores 1 at its own sites (100-109); K_562_minP scores -(-1) at 150-159.
    assert tasks["Hep_G2_minP"]["tf_sites"]["positive_fraction"] == 0.1
    assert tasks["Hep_G2_minP"]["tf_sites"]["auroc"] == 1.0
    assert tasks["K_562_minP"]["tf_sites"]["auroc"] == 1.0
    from mpralens.evaluate.labels import cell_of

    assert cell_of("Hep_G2_minP", ["Hep", "Hep_G2"]) == "Hep_G2"
    assert cell_of("Hep_minP", ["Hep", "Hep_G2"]) == "Hep"
    assert cell_of("HepG2_minP", ["Hep"]) is None


def test_chr_prefix_aliases_are_mapped_with_one_warning(tmp_path):
    scores = _scores(tmp_path)
    named = _bed(tmp_path, "chr.bed", [("chr1", 100, 110, "HNF4A"), ("chr2", 5, 9, "X")])
    bare = _bed(tmp_path, "bare.bed", [("1", 100, 110, "HNF4A"), ("2", 5, 9, "X")])
    tss = _bed(tmp_path, "tss.bed", [("1", 400, 401, "T", 0, "+")])
    proc_a, outs_a = _evaluate(tmp_path / "a", scores, "--conservation", named)
    proc_b, outs_b = _evaluate(
        tmp_path / "b", scores, "--conservation", bare, "--tf-sites", f"HepG2={bare}"
    )
    proc_c, outs_c = _evaluate(tmp_path / "c", scores, "--tss", tss)
    for proc in (proc_a, proc_b, proc_c):
        assert proc.returncode == 0, proc.stderr
    a, b = _summary(outs_a), _summary(outs_b)
    assert a["tasks"]["HepG2_minP"]["conservation"]["positive_fraction"] == 0.1
    assert b["tasks"]["HepG2_minP"]["conservation"] == a["tasks"]["HepG2_minP"]["conservation"]
    assert b["tasks"]["HepG2_minP"]["tf_sites"]["auroc"] == 1.0
    assert _summary(outs_c)["tss"]["bases_near_tss"] == 100  # TSS at 400: all 100 bases upstream
    # One warning per file read (the BED twice: conservation and HepG2 sites); chr2 has no '2'.
    warnings = [ln for ln in proc_b.stderr.splitlines() if "'chr' prefix" in ln]
    assert len(warnings) == 2 and all(w.endswith("mapped 1 -> chr1") for w in warnings), warnings
    assert sum("'chr' prefix" in ln for ln in proc_a.stderr.splitlines()) == 0


def test_bigwig_with_bare_chromosome_names_is_mapped(tmp_path):
    scores = _scores(tmp_path)
    proc_a, outs_a = _evaluate(
        tmp_path / "a", scores, "--conservation", _bigwig(tmp_path, {"chr1": 500})
    )
    (tmp_path / "b").mkdir()
    proc_b, outs_b = _evaluate(
        tmp_path / "b", scores, "--conservation", _bigwig(tmp_path / "b", {"1": 500})
    )
    assert proc_a.returncode == 0 and proc_b.returncode == 0, proc_b.stderr
    cons = _summary(outs_b)["tasks"]["HepG2_minP"]["conservation"]
    assert cons == _summary(outs_a)["tasks"]["HepG2_minP"]["conservation"]
    assert cons["positive_fraction"] == 0.1 and cons["auroc"] == 1.0
    assert "mapped 1 -> chr1" in proc_b.stderr


@pytest.mark.parametrize(
    "option, make, words",
    [
        (
            "--conservation",
            lambda t: _bed(t, "cons.bed", [("scaffold_7", 100, 200), ("chrUn_1", 0, 50)]),
            "the conservation element BED (--conservation) overlaps no scored base: its "
            "chromosomes are chrUn_1, scaffold_7; the scores' are chr1",
        ),
        (
            "--conservation",
            lambda t: _bed(t, "cons.bed", [("chr1", 5000, 5100)]),
            "shares chromosome(s) chr1 with the scores but none of its entries there covers",
        ),
        (
            "--conservation",
            lambda t: _bigwig(t, {"chr2": 500, "chrX": 500}),
            "the conservation bigWig (--conservation) overlaps no scored base: its chromosomes "
            "are chr2, chrX; the scores' are chr1",
        ),
        (
            "--tf-sites",
            lambda t: f"HepG2={_bed(t, 'sites.bed', [('chr2', 100, 110, 'HNF4A')])}",
            "the TF-site BED of cell HepG2 (--tf-sites HepG2=) overlaps no scored base: its "
            "chromosomes are chr2",
        ),
        (
            "--tss",
            lambda t: _bed(t, "tss.bed", [("chrX", 400, 401, "T", 0, "+")]),
            "the TSS BED (--tss) has a TSS on the chromosome of no scored base: its chromosomes "
            "are chrX; the scores' are chr1",
        ),
    ],
)
def test_annotation_matching_no_scored_base(option, make, words, tmp_path):
    arg = make(tmp_path)
    proc, outs = _evaluate(tmp_path, _scores(tmp_path), option, arg)
    key = {"--conservation": "conservation", "--tss": "tss", "--tf-sites": "tf_sites.HepG2"}
    name = Path(str(arg).split("=")[-1]).name
    _refused(proc, outs, f"{name} config key 'datasets.<name>.{key[option]}'", words)


def test_summary_json_holds_null_not_nan(tmp_path):
    """Three bins, two with mean score >= 0: that Spearman is undefined, written as null."""
    bed = _bed(tmp_path, "cons.bed", [("chr1", 100, 110)])
    out = tmp_path / "eval"
    proc = run_cli(
        "evaluate-ism", "--scores", _scores(tmp_path), "--bins", "3", "--conservation", bed,
        "--outdir", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = (out / "summary.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    cons = _summary([out / "summary.json"])["tasks"]["HepG2_minP"]["conservation"]
    # Bins of sorted scores: [-1 x10, 0 x24] [0 x33] [0 x23, 1 x10], labels 0, 0, 10/33.
    assert cons["binned_spearman_score_ge_0"] is None
    assert cons["binned_spearman"] == pytest.approx(0.8660254)


def test_scores_with_no_scored_base_are_refused(tmp_path):
    scores = _scores(tmp_path, n_windows=0)
    proc, outs = _evaluate(tmp_path, scores)
    _refused(proc, outs, "scores.tsv.gz:", "the scores have no scored base (200 rows")


def test_a_task_with_no_scored_base_is_refused(tmp_path):
    table = pd.read_csv(_scores(tmp_path), sep="\t")
    table.loc[table["task"] == "K562_minP", "score"] = np.nan
    write_tsv(table, tmp_path / "scores.tsv.gz")
    proc, outs = _evaluate(tmp_path, tmp_path / "scores.tsv.gz")
    _refused(proc, outs, "scores.tsv.gz:", "task(s) K562_minP have no scored base")


def test_empty_annotation_file(tmp_path):
    empty = tmp_path / "sites.bed"
    empty.write_text("")
    proc, outs = _evaluate(tmp_path, _scores(tmp_path), "--tf-sites", f"HepG2={empty}")
    _refused(proc, outs, "sites.bed:", "file is empty")


def test_refused_evaluation_leaves_its_inputs_alone(tmp_path):
    """A refused evaluation leaves the user's inputs as they were, byte for byte."""
    scores = _scores(tmp_path)
    before = scores.read_bytes()
    bed = _bed(tmp_path, "cons.bed", [("chr9", 0, 10)])
    proc, _ = _evaluate(tmp_path, scores, "--conservation", bed)
    assert proc.returncode == 2
    assert scores.read_bytes() == before
    with gzip.open(scores, "rt") as fh:
        assert fh.readline().startswith("chrom\tpos")
