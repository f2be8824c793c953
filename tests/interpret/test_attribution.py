"""Attribution methods vs hand-computed answers; grading; clear errors, nothing half-written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from mpralens.evaluate.attribution import CONTROL, grade
from mpralens.interpret.kmer import kmer_attribution
from mpralens.interpret.methods import attribute, observed, shuffled_references
from mpralens.io.errors import InputError
from tests.conftest import run_cli

L, T = 12, 2


def one_hot(seq: str) -> torch.Tensor:
    x = torch.zeros(4, len(seq), dtype=torch.float64)
    for i, b in enumerate(seq):
        x["ACGT".index(b), i] = 1.0
    return x


def linear_net() -> tuple[nn.Module, torch.Tensor]:
    """f_t(x) = sum W[t] * x + b_t with hand-set integer weights."""
    w = (torch.arange(T * 4 * L, dtype=torch.float64).reshape(T, 4, L) % 7) - 3.0
    net = nn.Sequential(nn.Flatten(), nn.Linear(4 * L, T)).double()
    with torch.no_grad():
        net[1].weight.copy_(w.reshape(T, -1))
        net[1].bias.copy_(torch.tensor([0.5, -1.0]))
    return net.eval(), w


X = torch.stack([one_hot("ACGTTGCAACGT"), one_hot("GGGGCCCCATAT")])


def test_saliency_of_a_linear_model_is_its_weights():
    net, w = linear_net()
    sal = attribute(net, X, "saliency", n_tasks=T)
    assert np.allclose(sal, np.broadcast_to(w.numpy(), sal.shape))
    # Corrected: the weights minus their per-position mean over the four bases.
    cor = attribute(net, X, "saliency", n_tasks=T, correction=True)
    assert np.allclose(cor[0], (w - w.mean(dim=1, keepdim=True)).numpy())
    # SmoothGrad of a linear model is its gradient whatever the noise.
    sg = attribute(net, X, "smoothgrad", n_tasks=T, smoothgrad_samples=3, smoothgrad_noise=0.5)
    assert np.allclose(sg, sal)


def test_integrated_gradients_of_a_linear_model_is_weight_times_input():
    net, w = linear_net()
    ig = attribute(net, X, "integrated_gradients", n_tasks=T, ig_steps=3)
    expected = w.numpy()[None] * X.numpy()[:, None]
    # Exact up to captum's quadrature weights, which are float32 (they sum to 1 within 3e-8).
    assert np.abs(ig - expected).max() < 1e-6
    assert (ig[expected == 0] == 0).all()
    gxi = attribute(net, X, "gradxinput", n_tasks=T)
    assert np.abs(gxi - expected).max() < 1e-12
    # The per-base score is the weight of the observed base; sums give f(x) - f(0).
    per_base = observed(ig, X.numpy())
    assert per_base[0, 1, 2] == pytest.approx(w[1, 2, 2].item())  # base 2 of sequence 0 is G
    with torch.no_grad():
        delta = net(X) - net(torch.zeros_like(X))
    assert np.allclose(per_base.sum(axis=2), delta.numpy())


def relu_pool_net() -> nn.Module:
    """A hand-set conv -> ReLU -> max-pool -> dense network (the Paggi shape, tiny)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv1d(4, 3, 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool1d(4),
        nn.Flatten(),
        nn.Linear(3 * (L // 4), T),
    ).double()
    with torch.no_grad():
        net[0].weight.copy_(
            torch.tensor(
                [[1.0, -1.0, 0.5], [0.0, 2.0, -1.0], [-0.5, 0.5, 1.0], [1.0, 0.0, -2.0]]
            ).repeat(3, 1, 1)
            * torch.tensor([1.0, -0.7, 0.4]).reshape(3, 1, 1)
        )
        net[0].bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
        net[4].weight.copy_(torch.linspace(-1, 1, T * 9).reshape(T, 9))
        net[4].bias.zero_()
    return net.eval()


@pytest.mark.parametrize("steps", [1, 7, 20])
def test_integrated_gradients_is_captums_on_a_relu_network(steps):
    """One forward pass shared by the tasks gives captum's per-task IG (Gauss-Legendre), 1e-6."""
    from captum.attr import IntegratedGradients

    net = relu_pool_net()
    x = torch.cat([X, torch.stack([one_hot("TTTTACGTACGT")])])
    ours = attribute(net, x, "integrated_gradients", n_tasks=T, ig_steps=steps)
    ig = IntegratedGradients(net, multiply_by_inputs=False)
    for t in range(T):
        theirs = ig.attribute(
            x, baselines=torch.zeros_like(x), target=t, n_steps=steps, method="gausslegendre"
        )
        want = (theirs * x).numpy()
        assert np.abs(want).max() > 0.1
        # captum's quadrature weights are float32; ours are float64.
        assert np.abs(ours[:, t] - want).max() < 1e-6 * np.abs(want).max()


@pytest.mark.parametrize("samples", [1, 5])
def test_smoothgrad_is_captums_on_a_relu_network(samples):
    """One forward pass over the noisy copies shared by the tasks gives captum's per-task
    NoiseTunnel(Saliency) maps, drawn with the same seed (1e-12 in float64)."""
    from captum.attr import NoiseTunnel, Saliency

    net = relu_pool_net()
    x = torch.cat([X, torch.stack([one_hot("TTTTACGTACGT")])])
    ours = attribute(
        net, x, "smoothgrad", n_tasks=T, smoothgrad_samples=samples, smoothgrad_noise=0.3, seed=4
    )
    nt = NoiseTunnel(Saliency(net))
    for t in range(T):
        torch.manual_seed(4)
        theirs = nt.attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=samples,
            nt_samples_batch_size=samples,
            stdevs=0.3,
            target=t,
            abs=False,
        ).numpy()
        assert np.abs(theirs).max() > 0.1
        assert np.abs(ours[:, t] - theirs).max() < 1e-12
    # The noise matters: another seed gives other maps, and no noise gives the saliency map.
    other = attribute(net, x, "smoothgrad", n_tasks=T, smoothgrad_samples=samples, seed=5)
    assert np.abs(other - ours).max() > 1e-3
    sal = attribute(net, x, "saliency", n_tasks=T)
    flat = attribute(
        net, x, "smoothgrad", n_tasks=T, smoothgrad_samples=samples, smoothgrad_noise=0
    )
    assert np.abs(flat - sal).max() < 1e-12


def test_deepshap_sums_to_delta_over_shuffled_references():
    """DeepLIFT's summation-to-delta: sum of attributions = f(x) - mean f(reference), 1e-4."""
    net = relu_pool_net()
    refs = shuffled_references(X, 6, seed=1)
    # GGGGCCCCATAT has few shuffles; a window with a single one (GGGGCCCC...) still gets refs.
    low = shuffled_references(torch.stack([one_hot("AAAAAAAAAAAA")]), 3, seed=0)
    assert low.shape == (1, 3, 4, L) and (low == one_hot("AAAAAAAAAAAA")).all()

    # Dinucleotide shuffles keep each sequence's dinucleotide counts.
    def pairs(z: torch.Tensor) -> list:
        b = z.argmax(0).tolist()
        return sorted(zip(b[:-1], b[1:], strict=True))

    for i in range(len(X)):
        for r in refs[i]:
            assert pairs(r) == pairs(X[i])
    # Lightning's deterministic training (run earlier in the same process) leaves deterministic
    # algorithms on: DeepSHAP must work, and leave the setting as it found it.
    torch.use_deterministic_algorithms(True)
    try:
        attr = attribute(net, X, "deepshap", n_tasks=T, references=refs)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(False)
    # Off (a new process), it stays off, and the same maps come out.
    again = attribute(net, X, "deepshap", n_tasks=T, references=refs)
    assert not torch.are_deterministic_algorithms_enabled()
    np.testing.assert_array_equal(again, attr)
    with torch.no_grad():
        fx = net(X)
        fr = net(refs.reshape(-1, 4, L)).reshape(len(X), 6, T).mean(dim=1)
    assert np.abs(attr.sum(axis=(2, 3)) - (fx - fr).numpy()).max() < 1e-4
    # Non-zero only at the observed bases (hypothetical contributions times the input).
    assert (attr * (1 - X.numpy()[:, None]) == 0).all()


def paggi_net() -> nn.Module:
    """Paggi et al.'s CNN, small (8 filters, widths 5 and 3, pool 4), seeded weights."""
    from mpralens.models.cnn.architectures import PaggiCNN

    torch.manual_seed(1)
    net = PaggiCNN(T, L, filters=8, widths=(5, 3), pool=4).double().eval()
    with torch.no_grad():
        net.head.weight.mul_(100)
    return net


@pytest.mark.parametrize("net", ["relu_pool", "paggi"])
@pytest.mark.parametrize(("n_refs", "pairs"), [(1, 100), (6, 13), (6, 1), (30, 100)])
def test_deepshap_is_tangermemes_for_every_task(net, n_refs, pairs, monkeypatch):
    """The tasks share each forward pass (and Paggi's convolutions skip the references' backward
    pass); every task's map is tangermeme's ``deep_lift_shap`` with that target (its max-pool
    rule included), to 1e-6. ``pairs`` caps the (input, reference) pairs of a pass: 4 inputs go
    in passes of 4, 2 + 2, 1 each, and 3 + 1."""
    from tangermeme.deep_lift_shap import deep_lift_shap

    from mpralens.interpret import methods

    monkeypatch.setattr(methods, "DEEPSHAP_PAIRS", pairs)
    net = relu_pool_net() if net == "relu_pool" else paggi_net()
    x = torch.cat([X, torch.stack([one_hot("TTTTACGTACGT"), one_hot("CATGCATGGTAC")])])
    refs = shuffled_references(x, n_refs, seed=3)
    ours = attribute(net, x, "deepshap", n_tasks=T, references=refs)
    for t in range(T):
        theirs = deep_lift_shap(
            net, x, target=t, references=refs, hypothetical=True, dtype=x.dtype, device="cpu"
        )
        want = (theirs * x).numpy()
        assert np.abs(want).max() > 0.1
        assert np.abs(ours[:, t] - want).max() < 1e-6 * np.abs(want).max()


def test_kmer_attribution_by_hand():
    coef = np.zeros((1, 16))
    coef[0, 0 * 4 + 1] = 1.0  # AC
    coef[0, 1 * 4 + 2] = 10.0  # CG
    coef[0, 3 * 4 + 3] = -2.0  # TT
    # ACGTTN: k-mers AC CG GT TT TN(skipped); base i sums the 2-mers covering it.
    a = kmer_attribution("ACGTTN", 2, coef)[:, 0]
    assert np.allclose(a[:5], [1.0, 11.0, 10.0, -2.0, -2.0]) and np.isnan(a[5])
    # Each k-mer counted at its k bases: the sum is k times the prediction minus the intercept.
    assert np.nansum(a) == 2 * (1.0 + 10.0 - 2.0)


def sites_and_table():
    sites = pd.DataFrame(
        {"chrom": ["c1", "c1"], "start": [2, 6], "end": [4, 8], "effect_t1": [1.0, 0.0]}
    )
    scores = [0.1, 0.2, 0.9, 0.8, 0.3, 0.0, 0.85, 0.4, np.nan, 0.05]
    table = pd.DataFrame(
        {
            "chrom": "c1",
            "pos": np.arange(10),
            "region_id": "r",
            "task": "t1",
            "score": -np.asarray(scores),  # |score| is graded
            "n_windows": 5,
        }
    )
    return sites, table


def test_grading_by_hand():
    """Positives: bases 2, 3 (site with an effect); base 6-7 (no effect) and the NaN are not."""
    sites, table = sites_and_table()
    g = grade({"m": table}, sites).set_index("method")
    row = g.loc["m"]
    assert row["n_positive_bases"] == 2 and row["n_bases"] == 9
    # Positives 0.9 and 0.8 beat 6 of 7 negatives each (0.85 beats 0.8): AUROC = 13/14.
    assert row["auroc"] == pytest.approx(13 / 14)
    # Ranks: 0.9 (pos), 0.85 (neg), 0.8 (pos): AP = (1/1 + 2/3) / 2.
    assert row["aupr"] == pytest.approx((1 + 2 / 3) / 2)
    assert CONTROL in g.index
    with pytest.raises(InputError, match="no column 'effect_t2'"):
        grade({"m": table.assign(task="t2")}, sites)


def test_unknown_method_and_models_that_cannot_give_one():
    net, _ = linear_net()
    with pytest.raises(InputError, match="unknown attribution method 'shap'"):
        attribute(net, X, "shap", n_tasks=T)
    from mpralens.interpret.methods import check_method

    with pytest.raises(InputError, match="residual CNN cannot give deepshap"):
        check_method("deepshap", {"arch": "residual"})


# ----------------------------------------------------------------------------- the command


def save_checkpoint(path, net: nn.Module, spec: dict) -> None:
    state = {f"network.{k}": v for k, v in net.state_dict().items()}
    torch.save({"mpralens": spec, "state_dict": state}, path)


def paggi_checkpoint(tmp_path, layout: str = "tile"):
    from mpralens.models.cnn.architectures import build_architecture

    torch.manual_seed(3)
    kwargs = {"filters": 4, "widths": [5, 3], "pool": 4}
    length = 40 if layout == "positional" else 20
    net = build_architecture("paggi", n_tasks=2, input_length=length, **kwargs)
    spec = {
        "arch": "paggi",
        "arch_kwargs": kwargs,
        "tasks": ["a", "b"],
        "input_length": length,
        "tile_length": 20,
        "layout": layout,
        "frame_length": 40,
    }
    path = tmp_path / f"{layout}.ckpt"
    save_checkpoint(path, net, spec)
    return path, net


def test_attribute_sequences_without_the_workflow(tmp_path):
    ckpt, net = paggi_checkpoint(tmp_path)
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(3)]
    fa = tmp_path / "s.fa"
    fa.write_text("".join(f">s{i} desc\n{s[:10]}\n{s[10:]}\n" for i, s in enumerate(seqs)))
    out = tmp_path / "out.tsv"
    proc = run_cli(
        "attribute",
        "--model",
        ckpt,
        "--method",
        "gradxinput",
        "--sequences",
        fa,
        "--out-tsv",
        out,
        "--no-correction",
    )
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out, sep="\t")
    assert len(table) == 3 * 20 * 2 and (table["n_windows"] == 1).all()
    # The score of s1's base 4 in task b is df_b/dx at the observed base.
    x = torch.stack([one_hot(s).float() for s in seqs]).requires_grad_(True)
    (g,) = torch.autograd.grad(net.eval()(x)[:, 1].sum(), x)
    want = g[1, "ACGT".index(seqs[1][4]), 4].item()
    got = table.query("region_id == 's1' and pos == 4 and task == 'b'")["score"].item()
    assert got == pytest.approx(want, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize(
    ("fasta", "extra", "message"),
    [
        (">s0\n" + "ACGT" * 4 + "ACNT\n", [], "sequence 's0' holds N at base 19"),
        (">s0\n" + "ACGT" * 6 + "\n", [], "sequence 's0' is 24 bp; the model takes 20-bp"),
        (">s0\n" + "ACGT" * 4 + "AC\n", [], "is 18 bp"),
        (">s0\n" + "ACGT" * 5 + "\n", ["--method", "shap"], "unknown attribution method 'shap'"),
        (">s0\n" + "ACGT" * 5 + "\n", ["--method", "kmer_weights"], "cannot give kmer_weights"),
        (">s0\n" + "ACGT" * 5 + "\n", ["positional"], "a bare sequence has no place in it"),
    ],
)
def test_bad_inputs_end_with_one_message_and_nothing_written(
    tmp_path, capsys, fasta, extra, message
):
    layout = "positional" if extra == ["positional"] else "tile"
    ckpt, _ = paggi_checkpoint(tmp_path, layout)
    fa = tmp_path / "s.fa"
    fa.write_text(fasta)
    method = extra if extra and extra[0] == "--method" else ["--method", "saliency"]
    out, tracks = tmp_path / "out.tsv", tmp_path / "tracks"
    from mpralens.cli import main

    argv = ["attribute", "--model", ckpt, *method, "--sequences", fa, "--out-tsv", out]
    argv += ["--out-tracks", tracks, "--out-figure", tmp_path / "f.png"]
    assert main([str(a) for a in argv]) == 2  # in-process: the subprocess costs ~10 s per case
    err = capsys.readouterr().err
    assert message in err and err.count("error") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["s.fa", ckpt.name])


def test_kmer_model_cannot_give_a_gradient(tmp_path):
    from mpralens.interpret.run import load_attributor
    from mpralens.models.kmer import LoadedKmerModel

    path = tmp_path / "k.npz"
    LoadedKmerModel(2, ["a"], "ridge", np.zeros((1, 16)), np.zeros(1)).save(path)
    with pytest.raises(
        InputError, match="the k-mer model cannot give saliency: it has no gradient"
    ):
        load_attributor(path, "saliency", window_length=20)


@pytest.mark.parametrize(
    ("interpret", "message"),
    [
        ({"methods": ["ism", "saliency"], "models": ["kmer"]}, "k-mer model cannot give saliency"),
        ({"methods": ["kmer_weights"], "models": ["cnn"]}, "CNN cannot give kmer_weights"),
        ({"methods": ["shap"]}, "got 'shap'; input should be 'ism', 'saliency'"),
    ],
)
def test_config_that_asks_a_model_for_a_method_it_cannot_give(interpret, message):
    from mpralens.workflow import load_config

    config = {
        "datasets": {"d": {"type": "tiled_mpra", "source": "simulate"}},
        "interpret": interpret,
    }
    with pytest.raises(InputError, match=message) as exc:
        load_config(config)
    assert exc.value.key.startswith("interpret.methods")


def test_residual_cnn_in_the_config_cannot_give_deepshap():
    from mpralens.workflow import load_config

    config = {
        "datasets": {"d": {"type": "tiled_mpra", "source": "simulate"}},
        "models": {"cnn": {"arch": "residual"}},
        "interpret": {"methods": ["deepshap"]},
    }
    with pytest.raises(InputError, match="residual CNN cannot give deepshap"):
        load_config(config)
    config["interpret"] = {"methods": ["integrated_gradients"]}
    assert load_config(config)[1]["interpret"]["methods"] == ["integrated_gradients"]


@pytest.mark.parametrize("layout", ["tile", "positional"])
def test_region_scores_average_the_windows_by_hand(layout):
    """A linear model's gradient x input, tiled: base i scores the mean of W[obs, column] over
    the windows holding it (the column is the base's place in the window, plus the window's
    frame offset in the positional layout)."""
    from mpralens.interpret.run import CNNAttributor, attribution_table
    from mpralens.ism.windows import WindowScheme, build_contexts

    length, stride, frame = 20, 5, 40
    width = frame if layout == "positional" else length
    rng = np.random.default_rng(4)
    w = torch.from_numpy(rng.integers(-4, 5, (1, 4, width)).astype(np.float64))
    net = nn.Sequential(nn.Flatten(), nn.Linear(4 * width, 1)).double()
    with torch.no_grad():
        net[1].weight.copy_(w.reshape(1, -1))
    seq = "".join(rng.choice(list("ACGT"), 30))
    regions = pd.DataFrame(
        {"region_id": ["r"], "chrom": ["c"], "start": [100], "end": [130], "sequence": [seq]}
    )
    ctx = build_contexts(
        regions,
        WindowScheme(length, stride),
        frame_length=frame if layout == "positional" else None,
    )
    spec = {"arch": "linear", "tasks": ["t"], "tile_length": length, "layout": layout}
    spec["frame_length"] = frame
    table = attribution_table(
        CNNAttributor(net, spec, "gradxinput", correction=False), ctx, progress=False
    )
    # No genome: windows start at 0, 5, 10 (inside the 30-bp region); frame offsets = starts.
    want = []
    for i, b in enumerate(seq):
        vals = [
            w[0, "ACGT".index(b), i - s + (s if layout == "positional" else 0)].item()
            for s in (0, 5, 10)
            if s <= i < s + length
        ]
        want.append(np.mean(vals))
    assert np.allclose(table["score"], want)
    assert table["n_windows"].tolist() == [min(i // 5 + 1, 3, (29 - i) // 5 + 1) for i in range(30)]


def test_logos_shade_the_sites_of_each_region(tmp_path):
    """Sites overlapping a region, in region coordinates clipped to it; the command draws them."""
    from mpralens.plots.interpret import site_spans

    sites = pd.DataFrame(
        {
            "chrom": ["chr1", "chr1", "chr1", "chr2"],
            "start": [95, 110, 140, 100],
            "end": [105, 118, 160, 108],
            "name": ["GATA1", "SP1", "HNF4A", "REST"],
        }
    )
    # Region chr1:100-145: the first site is clipped on the left, the third on the right.
    assert site_spans(sites, "chr1", 100, 45) == [
        (0, 5, "GATA1"),
        (10, 18, "SP1"),
        (40, 45, "HNF4A"),
    ]
    assert site_spans(sites, "chr3", 100, 45) == [] and site_spans(None, "chr1", 0, 9) == []

    ckpt, _ = paggi_checkpoint(tmp_path)
    rng = np.random.default_rng(1)
    fa = tmp_path / "s.fa"
    fa.write_text("".join(f">s{i}\n{''.join(rng.choice(list('ACGT'), 20))}\n" for i in range(2)))
    bed = tmp_path / "sites.bed"
    bed.write_text("s1\t4\t10\tGATA1\n")
    common = ["attribute", "--model", ckpt, "--method", "saliency", "--sequences", fa]
    outs = ["--out-tracks", tmp_path / "tracks", "--out-figure", tmp_path / "logos.png"]
    proc = run_cli(*common, "--out-tsv", tmp_path / "a.tsv", *outs, "--sites", bed)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "logos.png").stat().st_size > 5_000
    # A sites file that is not intervals fails before anything is written.
    bad = tmp_path / "bad.bed"
    bad.write_text("s1\tfour\t10\n")
    outs2 = ["--out-tracks", tmp_path / "t2", "--out-figure", tmp_path / "l2.png"]
    proc = run_cli(*common, "--out-tsv", tmp_path / "b.tsv", *outs2, "--sites", bad)
    assert proc.returncode == 2 and "bad.bed" in proc.stderr
    assert not (tmp_path / "b.tsv").exists() and not (tmp_path / "t2").exists()


@pytest.mark.parametrize("method", ["ism", "gradxinput"])
def test_ensemble_attribution_writes_mean_and_interval_of_the_members(tmp_path, method):
    """An ensemble checkpoint is attributed member by member: mean and 95% interval columns."""
    from mpralens.interpret.run import (
        EnsembleAttributor,
        attribution_table,
        load_attributor,
        read_sequences,
    )
    from mpralens.models.cnn.architectures import build_architecture
    from mpralens.models.cnn.network import ensemble_summary

    kwargs = {"filters": 4, "widths": [5, 3], "pool": 4}
    spec = {
        "arch": "paggi",
        "arch_kwargs": kwargs,
        "tasks": ["a", "b"],
        "input_length": 20,
        "tile_length": 20,
        "layout": "tile",
        "frame_length": 40,
    }
    nets = []
    for seed in (1, 2, 3):
        torch.manual_seed(seed)
        nets.append(build_architecture("paggi", n_tasks=2, input_length=20, **kwargs).eval())
    state = {f"members.{i}.{k}": v for i, n in enumerate(nets) for k, v in n.state_dict().items()}
    ens = tmp_path / "ens.ckpt"
    torch.save({"mpralens": {**spec, "ensemble": 3}, "state_dict": state}, ens)
    rng = np.random.default_rng(0)
    fa = tmp_path / "s.fa"
    fa.write_text("".join(f">s{i}\n{''.join(rng.choice(list('ACGT'), 20))}\n" for i in range(3)))
    contexts = read_sequences(fa, length=20)
    opts = {"correction": False}
    attributor = load_attributor(ens, method, window_length=20, options=opts)
    assert isinstance(attributor, EnsembleAttributor) and len(attributor.members) == 3
    table = attribution_table(attributor, contexts, progress=False)
    # Each member alone, from a single-network checkpoint of its weights.
    singles = []
    for i, net in enumerate(nets):
        path = tmp_path / f"m{i}.ckpt"
        save_checkpoint(path, net, spec)
        one = load_attributor(path, method, window_length=20, options=dict(opts))
        singles.append(attribution_table(one, contexts, progress=False)["score"].to_numpy())
    want = ensemble_summary(np.stack(singles))
    np.testing.assert_allclose(table["score"], want["mean"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(table["score_lo"], want["lo"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(table["score_hi"], want["hi"], rtol=1e-6, atol=1e-9)
    assert (table["score_lo"] < table["score_hi"]).mean() > 0.9  # the members disagree
