"""Tiled ISM: fast equals plain, a hand-set model's map, window geometry, tracks and variants."""

import numpy as np
import pandas as pd
import pytest
import torch

from mpralens.io.errors import InputError
from mpralens.ism.scoring import CNNScorer, KmerScorer, region_scores
from mpralens.ism.windows import RegionContext, WindowScheme, build_contexts, region_table
from mpralens.models.cnn.architectures import PaggiCNN, build_architecture
from tests.conftest import run_cli

TASKS = ["t1", "t2", "t3"]


def random_context(seed: int, length: int = 295):
    """A region with full flanks and one N in it."""
    scheme = WindowScheme()
    rng = np.random.default_rng(seed)
    rel = scheme.starts(length)
    flank = -int(rel[0])
    ext = list(rng.choice(list("ACGT"), flank + int(rel[-1]) + scheme.length))
    ext[flank + 40] = "N"
    return RegionContext(
        "r",
        "chr1",
        1000,
        length,
        "".join(ext),
        1000 - flank,
        flank,
        flank + rel,
        np.clip(rel, 0, length - scheme.length),
    )


def random_net(arch: str, layout: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(7)
    small = {
        "paggi": {"filters": 8},
        "dragonn": {"filters": 8},
        "residual": {"channels": 8},
        "legnet": {"stages": [8, 8], "mapper": 8},
    }
    net = build_architecture(
        arch,
        n_tasks=len(TASKS),
        input_length=295 if layout == "positional" else 145,
        **{**small[arch], **kwargs},
    )
    for m in net.modules():  # batch norm with non-trivial statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def spec(layout: str, tile_length: int = 145) -> dict:
    return {"tasks": TASKS, "tile_length": tile_length, "layout": layout, "frame_length": 295}


CASES = [
    ("paggi", {}),
    ("paggi", {"pool": 4}),  # patches wider than a pooling bin
    ("dragonn", {}),
    ("residual", {}),
]


@pytest.mark.parametrize("layout", ["tile", "positional"])
@pytest.mark.parametrize(
    ("arch", "kwargs"), CASES, ids=["paggi", "paggi-pool4", "dragonn", "residual"]
)
def test_fast_equals_plain_on_random_models(arch, kwargs, layout):
    ctx = random_context(1)
    net = random_net(arch, layout, **kwargs)
    plain = CNNScorer(net, spec(layout), "plain").window_deltas(ctx)
    fast = CNNScorer(net, spec(layout), "fast").window_deltas(ctx)
    assert plain.shape == (15, 145, 3, len(TASKS))
    assert np.abs(plain).max() > 1e-3  # the model does respond to mutations
    np.testing.assert_allclose(fast, plain, atol=1e-5, rtol=0)
    # In float64 rounding cannot flip which of two near-equal substitutions is largest, so the
    # final per-base scores agree too (in float32 such ties make isolated bases differ).
    net64 = net.double()
    s_plain, n_plain = region_scores(
        ctx, CNNScorer(net64, spec(layout), "plain").window_deltas(ctx)
    )
    s_fast, n_fast = region_scores(ctx, CNNScorer(net64, spec(layout), "fast").window_deltas(ctx))
    np.testing.assert_allclose(s_fast, s_plain, atol=1e-5, rtol=0)
    assert (n_fast == 5).all() and (n_plain == 5).all()
    assert np.isnan(s_fast[40]).all() and np.isfinite(np.delete(s_fast, 40, axis=0)).all()


@pytest.mark.parametrize("arch", ["paggi", "dragonn", "residual"])
def test_fast_equals_plain_with_exponential_first_activation(arch):
    ctx = random_context(2)
    net = random_net(arch, "tile", first_activation="exp")
    plain = CNNScorer(net, spec("tile"), "plain").window_deltas(ctx)
    fast_scorer = CNNScorer(net, spec("tile"), "fast")
    assert fast_scorer.method == "fast"  # exp is pointwise: the incremental pass applies
    np.testing.assert_allclose(fast_scorer.window_deltas(ctx), plain, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize(
    ("arch", "options", "why"),
    [
        ("legnet", {}, "LegNet"),
        ("paggi", {"rc": "tied"}, "ReverseComplement"),
        ("residual", {"rc": "average"}, "ReverseComplement"),
    ],
)
def test_non_local_networks_fall_back_to_plain_ism_with_a_log_line(arch, options, why, caplog):
    net = random_net(arch, "tile", **options)
    with caplog.at_level("INFO", logger="mpralens.ism.scoring"):
        scorer = CNNScorer(net, spec("tile"), "fast")
    assert scorer.method == "plain"
    assert why in caplog.text and "plain ISM" in caplog.text
    ctx = random_context(3, length=145)
    np.testing.assert_array_equal(
        scorer.window_deltas(ctx), CNNScorer(net, spec("tile"), "plain").window_deltas(ctx)
    )


def test_ensemble_ism_writes_mean_and_interval_of_the_members():
    from mpralens.ism.run import ism_table
    from mpralens.ism.scoring import EnsembleScorer
    from mpralens.models.cnn.network import ensemble_summary

    ctx = random_context(4)
    nets = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        nets.append(build_architecture("paggi", n_tasks=3, input_length=145, filters=8).eval())
    members = [CNNScorer(n, spec("tile")) for n in nets]
    table = ism_table(EnsembleScorer(members), [ctx], progress=False)
    per = np.stack([ism_table(m, [ctx], progress=False)["score"].to_numpy() for m in members])
    expected = ensemble_summary(per)
    np.testing.assert_allclose(table["score"], per.mean(axis=0))
    np.testing.assert_allclose(table["score_lo"], expected["lo"])
    np.testing.assert_allclose(table["score_hi"], expected["hi"])
    ok = table["score"].notna()
    assert (table.loc[ok, "score_lo"] <= table.loc[ok, "score"]).all()
    assert (table.loc[ok, "score"] <= table.loc[ok, "score_hi"]).all()
    assert (table.loc[ok, "score_hi"] > table.loc[ok, "score_lo"]).mean() > 0.9


def test_hand_set_model_has_the_hand_computed_map():
    """f = 0.5 + sum_j j * 2 [base j is A]: mutating base p of a window changes f by 2p.

    A base that is A loses 2p whichever base replaces it (score +2p); any other base gains 2p
    only when it becomes A (score -2p). The region score is the mean over the base's windows.
    """
    scheme = WindowScheme(length=10, stride=5)
    ext = "CCCCAGTACAGATCAAGTCACTAGA"  # 25 bases: 5-bp flank, 15-bp region, 5-bp flank
    rel = scheme.starts(15)  # -5, 0, 5, 10
    ctx = RegionContext("r", "chr1", 100, 15, ext, 95, 5, 5 + rel, rel)
    net = PaggiCNN(n_tasks=1, input_length=10, filters=1, widths=(1, 1), pool=1)
    with torch.no_grad():
        net.body[0].weight.copy_(torch.tensor([[[2.0], [0.0], [0.0], [0.0]]]))
        net.body[0].bias.zero_()
        net.body[3].weight.fill_(1.0)
        net.body[3].bias.zero_()
        net.head.weight.copy_(torch.arange(10.0)[None, :])
        net.head.bias.fill_(0.5)
    net.eval()
    expected = []
    for g in range(15):
        e = 5 + g
        ps = [e - s for s in 5 + rel if s <= e < s + 10]
        sign = 1 if ext[e] == "A" else -1
        expected.append(sign * 2 * np.mean(ps))
    for method in ("plain", "fast"):
        scores, count = region_scores(
            ctx, CNNScorer(net, spec("tile", 10), method).window_deltas(ctx)
        )
        # By hand: base 0 (ext 5, 'G') lies at 5 of window 0 and 0 of window 1: -2 (5 + 0) / 2;
        # base 4 (ext 9, 'A') at 9 and 4 of its windows: +2 (9 + 4) / 2.
        assert scores[0, 0] == pytest.approx(-5.0) and scores[4, 0] == pytest.approx(13.0)
        np.testing.assert_allclose(scores[:, 0], expected, atol=1e-6)
        assert (count == 2).all()


def _kmer_model(k: int, seed: int = 0):
    from mpralens.models.kmer import LoadedKmerModel

    rng = np.random.default_rng(seed)
    return LoadedKmerModel(k, ["a", "b"], "ridge", rng.normal(size=(2, 4**k)), rng.normal(size=2))


@pytest.mark.parametrize("k", [1, 3, 6])
def test_kmer_fast_equals_plain(k):
    ctx = random_context(2)
    model = _kmer_model(k)
    plain = KmerScorer(model, 145, "plain").window_deltas(ctx)
    fast = KmerScorer(model, 145, "fast").window_deltas(ctx)
    np.testing.assert_allclose(fast, plain, atol=1e-9, rtol=0)


def test_kmer_of_length_one_by_hand():
    """k = 1: mutating b to a changes f by c[a] - c[b]; the largest |c[b] - c[a]| is kept."""
    from mpralens.models.kmer import LoadedKmerModel

    coef = np.array([[1.0, 0.0, -0.5, 3.0]])  # A C G T
    model = LoadedKmerModel(1, ["a"], "ridge", coef, np.zeros(1))
    scheme = WindowScheme(length=4, stride=2)
    ctx = RegionContext("r", "c", 0, 4, "GGACGTGG", 0, 2, np.array([0, 2, 4]), np.zeros(3))
    scores, _ = region_scores(ctx, KmerScorer(model, scheme.length, "fast").window_deltas(ctx))
    # A: 1 - 3 = -2 (to T) beats 1 - (-0.5) = 1.5; C: 0 - 3 = -3; G: -0.5 - 3 = -3.5; T: 3 - (-0.5).
    np.testing.assert_allclose(scores[:, 0], [-2.0, -3.0, -3.5, 3.5])


def _genome(tmp_path, seq_by_chrom, name="g.fa"):
    path = tmp_path / name
    path.write_text("".join(f">{c}\n{s}\n" for c, s in seq_by_chrom.items()))
    return path


def _tiles(chrom: str, start: int, seq: str, tile=145, step=5):
    rows = [
        (
            f"R_{i}",
            "R",
            i,
            chrom,
            start + i * step,
            start + i * step + tile,
            seq[i * step : i * step + tile],
        )
        for i in range((len(seq) - tile) // step + 1)
    ]
    return pd.DataFrame(
        rows, columns=["tile_id", "region_id", "tile_pos", "chrom", "start", "end", "sequence"]
    )


def test_windows_near_a_chromosome_end_and_without_genome(tmp_path):
    rng = np.random.default_rng(3)
    chrom = "".join(rng.choice(list("ACGT"), 600))
    genome = _genome(tmp_path, {"chr1": chrom})
    regions = region_table(_tiles("chr1", 10, chrom[10:305]))
    assert regions.loc[0, "sequence"] == chrom[10:305]
    scheme = WindowScheme()
    (ctx,) = build_contexts(regions, scheme, genome=genome)
    # Only 10 bp of left flank: windows starting before the chromosome are dropped, not padded.
    assert ctx.ext == chrom[0:445] and ctx.offset == 10
    assert list(ctx.window_starts) == list(10 + np.arange(0, 291, 29))
    model = _kmer_model(2)
    _, count = region_scores(ctx, KmerScorer(model, 145).window_deltas(ctx))
    assert list(count[:120:29]) == [1, 2, 3, 4, 5] and (count[116:] == 5).all()
    # No genome: only windows inside the region; its last 5 bases lie in none (NaN scores).
    (bare,) = build_contexts(regions, scheme)
    scores, count = region_scores(bare, KmerScorer(model, 145).window_deltas(bare))
    assert len(bare.window_starts) == 6 and (count[290:] == 0).all()
    assert np.isnan(scores[290:]).all() and np.isfinite(scores[:290]).all()
    # Positional frame: windows outside the region sit at the frame's ends.
    (pos_ctx,) = build_contexts(regions, scheme, frame_length=295, genome=genome)
    assert list(pos_ctx.frame_offsets) == [0, 29, 58, 87, 116, 145, 150, 150, 150, 150, 150]


def test_genome_of_another_assembly_is_refused(tmp_path):
    rng = np.random.default_rng(4)
    chrom = "".join(rng.choice(list("ACGT"), 600))
    other = chrom[:200] + ("A" if chrom[200] != "A" else "C") + chrom[201:]
    regions = region_table(_tiles("chr1", 150, chrom[150:445]))
    with pytest.raises(InputError, match="differs from the tiles of region 'R'"):
        build_contexts(regions, WindowScheme(), genome=_genome(tmp_path, {"chr1": other}))
    with pytest.raises(InputError, match="chromosome 'chr1' of region 'R' is not in the genome"):
        build_contexts(regions, WindowScheme(), genome=_genome(tmp_path, {"chr2": chrom}, "g2.fa"))


def test_bigwig_tracks_hold_the_scores(tmp_path):
    import pyBigWig

    from mpralens.ism.tracks import write_bigwigs

    table = pd.DataFrame(
        {
            "chrom": ["chr2", "chr2", "chr1", "chr1", "chr1"],
            "pos": [5, 6, 10, 11, 10],
            "region_id": ["b", "b", "a", "a", "c"],
            "task": ["t"] * 5,
            "score": [0.5, np.nan, -1.0, 2.0, 3.0],
        }
    )
    (path,) = write_bigwigs(table, {"chr1": 100, "chr2": 50}, tmp_path)
    bw = pyBigWig.open(str(path))
    assert bw.chroms() == {"chr1": 100, "chr2": 50}
    assert bw.values("chr1", 10, 12) == pytest.approx([1.0, 2.0])  # overlapping regions: mean
    assert bw.values("chr2", 5, 6) == pytest.approx([0.5])
    assert np.isnan(bw.values("chr2", 6, 7)[0])  # unscored bases hold no value


def _save_kmer(path, coef):
    from mpralens.models.kmer import LoadedKmerModel

    LoadedKmerModel(1, ["a"], "ridge", np.array([coef]), np.zeros(1)).save(path)


def test_score_variants_with_a_hand_set_model(tmp_path):
    rng = np.random.default_rng(5)
    chrom = "".join(rng.choice(list("ACGT"), 400))
    genome = _genome(tmp_path, {"chr1": chrom})
    model = tmp_path / "k1.npz"
    _save_kmer(model, [1.0, 0.0, -0.5, 3.0])
    c = dict(zip("ACGT", [1.0, 0.0, -0.5, 3.0], strict=True))
    p = 200
    alts = [b for b in "ACGT" if b != chrom[p - 1]]
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{p}\trs1\t{chrom[p - 1]}\t{','.join(alts[:2])}\t.\t.\t.\n"
        f"chr1\t{p}\tindel\t{chrom[p - 1]}\t{chrom[p - 1]}A\t.\t.\t.\n"
        f"chr1\t10\tnear_end\t{chrom[9]}\t{alts[0] if chrom[9] != alts[0] else 'A'}\t.\t.\t.\n"
    )
    out = tmp_path / "effects.tsv"
    proc = run_cli(
        "score-variants", "--model", model, "--vcf", vcf, "--genome", genome, "--out", out
    )
    assert proc.returncode == 0, proc.stderr
    eff = pd.read_csv(out, sep="\t")
    assert list(eff.columns) == ["chrom", "pos", "id", "ref", "alt", "a"]
    assert list(eff["id"]) == ["rs1", "rs1", "near_end"]  # the indel is skipped
    assert eff["a"].iloc[0] == pytest.approx(c[alts[0]] - c[chrom[p - 1]])
    assert eff["a"].iloc[1] == pytest.approx(c[alts[1]] - c[chrom[p - 1]])
    assert np.isnan(eff["a"].iloc[2])  # its window would leave the chromosome


def test_score_variants_refuses_a_ref_mismatch(tmp_path):
    chrom = "ACGT" * 100
    genome = _genome(tmp_path, {"chr1": chrom})
    model = tmp_path / "k1.npz"
    _save_kmer(model, [1.0, 0.0, -0.5, 3.0])
    vcf = tmp_path / "v.vcf"
    vcf.write_text("#CHROM\tPOS\tID\tREF\tALT\nchr1\t200\tok\tT\tA\nchr1\t201\tbad\tC\tG\n")
    out = tmp_path / "effects.tsv"
    proc = run_cli(
        "score-variants", "--model", model, "--vcf", vcf, "--genome", genome, "--out", out
    )
    assert proc.returncode == 2
    assert f"{vcf}:3: REF C does not match the genome's A at chr1:201" in proc.stderr
    assert not out.exists()


def test_sharded_ism_equals_one_pass(small_sim, tmp_path):
    """Scoring regions in 3 contiguous chunks and merging gives the one-pass table byte for byte."""
    from mpralens.data.counts import import_counts, write_imported
    from mpralens.simulate.tiled import simulated_paths

    p = simulated_paths(str(small_sim))
    r = import_counts(
        layout="ernst", libraries=p["libraries"], coords=p["coords"], sequences=p["sequences"]
    )
    tiles = tmp_path / "tiles.tsv.gz"
    write_imported(r, counts_path=tmp_path / "counts.parquet", tiles_path=tiles)
    model = tmp_path / "k3.npz"
    _kmer_model(3, seed=1).save(model)
    common = ["--model", model, "--tiles", tiles, "--genome", p["genome"], "--max-regions", "20"]
    one = run_cli(
        "ism",
        *common,
        "--out-tsv",
        tmp_path / "one.tsv.gz",
        "--out-tracks",
        tmp_path / "one_tracks",
        "--out-figure",
        tmp_path / "one.png",
    )
    assert one.returncode == 0, one.stderr
    chunks = []
    for i in range(3):
        out = tmp_path / f"chunk{i}.tsv.gz"
        proc = run_cli("ism", *common, "--chunk", i, "--chunks", 3, "--out-tsv", out)
        assert proc.returncode == 0, proc.stderr
        assert not (tmp_path / f"chunk{i}_tracks").exists()
        chunks.append(out)
    merged = run_cli(
        "ism-merge",
        "--scores",
        *chunks,
        "--genome",
        p["genome"],
        "--out-tsv",
        tmp_path / "merged.tsv.gz",
        "--out-tracks",
        tmp_path / "merged_tracks",
        "--out-figure",
        tmp_path / "m.png",
    )
    assert merged.returncode == 0, merged.stderr
    # 20 regions in 3 contiguous chunks: bounds round(20 * [0, 1/3, 2/3, 1]) = 0, 7, 13, 20.
    regions = [pd.read_csv(c, sep="\t")["region_id"].unique().tolist() for c in chunks]
    assert [len(r) for r in regions] == [7, 6, 7]
    one_pass = pd.read_csv(tmp_path / "one.tsv.gz", sep="\t")["region_id"].unique().tolist()
    assert regions[0] + regions[1] + regions[2] == one_pass
    assert (tmp_path / "merged.tsv.gz").read_bytes() == (tmp_path / "one.tsv.gz").read_bytes()
    for bw in (tmp_path / "one_tracks").iterdir():
        assert bw.read_bytes() == (tmp_path / "merged_tracks" / bw.name).read_bytes()


def _ensemble_checkpoint(tmp_path, nets, length=145):
    """An ensemble checkpoint of hand-initialised nets, as save_ensemble writes it."""
    spec_ = {
        "arch": "paggi",
        "arch_kwargs": {"filters": 8},
        "tasks": TASKS,
        "layout": "tile",
        "input_length": length,
        "frame_length": 295,
        "tile_length": length,
        "ensemble": len(nets),
    }
    state = {f"members.{i}.{k}": v for i, n in enumerate(nets) for k, v in n.state_dict().items()}
    path = tmp_path / "ensemble.ckpt"
    torch.save({"mpralens": spec_, "state_dict": state}, path)
    return path


def test_variant_scores_of_an_ensemble_carry_mean_and_interval(tmp_path):
    from mpralens.ism.variants import score_variants
    from mpralens.models.cnn.network import Ensemble, load_network

    nets = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        nets.append(build_architecture("paggi", n_tasks=3, input_length=145, filters=8).eval())
    model = _ensemble_checkpoint(tmp_path, nets)
    loaded, _ = load_network(model)
    assert isinstance(loaded, Ensemble) and len(loaded.members) == 3
    rng = np.random.default_rng(9)
    chrom = "".join(rng.choice(list("ACGT"), 400))
    genome = _genome(tmp_path, {"chr1": chrom})
    p = 200
    alt = "A" if chrom[p - 1] != "A" else "C"
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{p}\trs1\t{chrom[p - 1]}\t{alt}\t.\t.\t.\n"
    )
    eff = score_variants(model, vcf, genome)
    assert list(eff.columns[5:]) == TASKS + [f"{t}_{s}" for t in TASKS for s in ("lo", "hi")]
    # By hand: each member's effect on the 145-bp window centred on the variant.
    ref = chrom[p - 1 - 72 : p - 1 + 73]
    mut = ref[:72] + alt + ref[73:]
    from mpralens.io.sequences import one_hot

    x = torch.from_numpy(one_hot([ref, mut]).astype(np.float32))
    with torch.no_grad():
        per = np.stack([(n(x)[1] - n(x)[0]).numpy() for n in nets])  # (3 members, 3 tasks)
    from scipy import stats

    half = stats.t.ppf(0.975, 2) * per.std(axis=0, ddof=1) * np.sqrt(4 / 3)
    for j, t in enumerate(TASKS):
        assert eff[t].iloc[0] == pytest.approx(per[:, j].mean(), abs=1e-5)
        assert eff[f"{t}_lo"].iloc[0] == pytest.approx(per[:, j].mean() - half[j], abs=1e-5)
        assert eff[f"{t}_hi"].iloc[0] == pytest.approx(per[:, j].mean() + half[j], abs=1e-5)
