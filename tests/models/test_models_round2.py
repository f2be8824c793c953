"""Sequence models round 2: LegNet, reverse-complement options, exponential first activation,
input-length limits, ensembles (mean, spread, interval) and the noise ceiling."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from mpralens.io.errors import InputError
from mpralens.models.cnn.architectures import (
    ARCHITECTURES,
    Exp,
    LegNet,
    ReverseComplement,
    build_architecture,
    n_parameters,
    reverse_complement,
)
from mpralens.models.cnn.network import Ensemble, ensemble_summary, load_network
from mpralens.models.cnn.train import TrainSettings, predict_tiles, train_cnn, train_ensemble
from tests.models.test_cnn import SMALL, _tiny_data


def _random_onehot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 4, length), dtype=np.float32)
    x[np.arange(n)[:, None], rng.integers(0, 4, (n, length)), np.arange(length)[None, :]] = 1
    return torch.from_numpy(x)


def _randomize_bn(net: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(3)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_reverse_complement_of_onehot_is_the_reverse_complement_sequence():
    from mpralens.io.sequences import one_hot

    x = torch.from_numpy(one_hot(["AACGTTG"]).astype(np.float32))
    assert torch.equal(reverse_complement(x), torch.from_numpy(one_hot(["CAACGTT"])).float())


@pytest.mark.parametrize("rc", ["tied", "average"])
@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("length", [145, 295])
def test_rc_options_predict_the_same_on_both_strands(arch, rc, length):
    torch.manual_seed(0)
    net = build_architecture(arch, n_tasks=3, input_length=length, rc=rc, **SMALL[arch])
    net = _randomize_bn(net)
    x = _random_onehot(5, length)
    with torch.no_grad():
        fwd, rev = net(x), net(reverse_complement(x))
        plain, plain_rc = net.net(x), net.net(reverse_complement(x))
    np.testing.assert_allclose(fwd.numpy(), rev.numpy(), atol=1e-5, rtol=0)
    # ... while the network inside is not strand-symmetric by itself (the test could fail).
    assert (plain - plain_rc).abs().max() > 1e-3
    np.testing.assert_allclose(fwd.numpy(), ((plain + plain_rc) / 2).numpy(), atol=1e-6)


def test_rc_average_trains_on_one_strand_and_tied_on_both():
    torch.manual_seed(0)
    inner = build_architecture("residual", n_tasks=2, input_length=50, channels=8)
    x = _random_onehot(3, 50)
    avg, tied = ReverseComplement(inner, "average").train(), ReverseComplement(inner, "tied")
    inner.eval()  # no dropout noise, and batch norm on running statistics in both calls
    avg.training = tied.training = True  # the wrappers' own modes only
    with torch.no_grad():
        assert torch.equal(avg(x), inner(x))
        both = (inner(x) + inner(reverse_complement(x))) / 2
        torch.testing.assert_close(tied(x), both)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_exp_activation_replaces_the_first_activation_only(arch):
    torch.manual_seed(0)
    relu = build_architecture(arch, n_tasks=2, input_length=145, **SMALL[arch])
    torch.manual_seed(0)
    exp = build_architecture(
        arch, n_tasks=2, input_length=145, first_activation="exp", **SMALL[arch]
    )
    names = [n for n, m in exp.named_modules() if isinstance(m, Exp)]
    assert len(names) == 1
    first_conv = next(n for n, m in exp.named_modules() if isinstance(m, torch.nn.Conv1d))
    acts = (torch.nn.ReLU, torch.nn.SiLU, Exp)
    # The Exp is the first activation after the first convolution; all later ones are unchanged.
    order = [n for n, m in exp.named_modules() if isinstance(m, (*acts, torch.nn.Conv1d))]
    assert order.index(names[0]) == order.index(first_conv) + 1
    before = {n: type(m) for n, m in relu.named_modules() if isinstance(m, acts)}
    after = {n: type(m) for n, m in exp.named_modules() if isinstance(m, acts)}
    assert {n for n in before if before[n] is not after[n]} == set(names)
    # Numerically: the stem's output is exp of what precedes it.
    parent = exp.get_submodule(names[0].rpartition(".")[0])
    seq = list(parent.children())
    i = [type(m) for m in seq].index(Exp)
    x = _random_onehot(2, 145)
    h = torch.nn.Sequential(*seq[:i]).eval()(x)
    torch.testing.assert_close(torch.nn.Sequential(*seq[: i + 1]).eval()(x), torch.exp(h))


@pytest.mark.parametrize("length", [145, 295])
def test_legnet_forward_shape_and_parameters(length):
    paper = build_architecture("legnet", n_tasks=4, input_length=length)
    x = _random_onehot(2, length)
    assert paper.eval()(x).shape == (2, 4)

    # Hand count of the paper-size network (stages 256, 128, 128, 64, 64, 64, 64; width 7).
    def block(a, b):  # expansion, grouped conv, SE, projection (+ BN), resize conv (+ BN)
        w = 4 * b
        return (
            a * w + 2 * w + w * 2 * 7 + 2 * w  # grouped: w filters, 2 channels
            + (w * (a // 4) + a // 4 + (a // 4) * w + w)
            + w * a + 2 * a + 2 * a * b * 7 + 2 * b
        )  # fmt: skip

    stages = (256, 128, 128, 64, 64, 64, 64)
    pairs = zip(stages, stages[1:], strict=False)
    expected = 4 * 256 * 7 + 2 * 256 + sum(block(a, b) for a, b in pairs)
    expected += 64 * 64 + 64 + 64 * 4 + 4
    assert n_parameters(paper) == expected
    print(f"LegNet paper size: {n_parameters(paper):,} parameters")
    assert isinstance(paper, LegNet)


@pytest.mark.parametrize(
    ("arch", "kwargs", "need"),
    [("paggi", {}, 44), ("legnet", {}, 7), ("residual", {}, 11), ("dragonn", {"width": 9}, 9)],
)
def test_too_short_input_names_the_architecture(arch, kwargs, need):
    with pytest.raises(InputError, match=f"architecture '{arch}' cannot take 5-bp.*{need} bp"):
        build_architecture(arch, n_tasks=1, input_length=5, **kwargs)
    build_architecture(arch, n_tasks=1, input_length=need, **kwargs)  # the limit itself is fine


def test_legnet_recipe_trains_with_onecycle_adamw(tmp_path):
    s = TrainSettings(
        arch="legnet",
        arch_kwargs=SMALL["legnet"],
        batch_size=16,
        max_epochs=2,
        optimizer="adamw",
        weight_decay=0.01,
        schedule="onecycle",
        rc="tied",
        first_activation="exp",
    )
    best, net, spec = train_cnn(_tiny_data(), s, tmp_path)
    assert spec["rc"] == "tied" and spec["first_activation"] == "exp"
    net2, _ = load_network(best)
    assert isinstance(net2, ReverseComplement)
    x = _random_onehot(4, 45)
    torch.testing.assert_close(net2(x), net2(reverse_complement(x)), atol=1e-5, rtol=0)
    curve = pd.read_csv(tmp_path / "metrics.csv")
    assert curve["train_loss"].notna().sum() == 2


def test_ensemble_of_one_is_the_single_model(tmp_path):
    data = _tiny_data()
    s = TrainSettings(arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=2)
    _, single, spec = train_cnn(data, s, tmp_path / "single")
    bests, one, spec1 = train_ensemble(data, s.model_copy(update={"ensemble": 1}), tmp_path / "e")
    assert len(bests) == 1 and not isinstance(one, Ensemble) and "ensemble" not in spec1
    np.testing.assert_array_equal(
        predict_tiles(single, spec, data), predict_tiles(one, spec1, data)
    )


def test_ensemble_members_differ_by_seed_and_mean_is_predicted(tmp_path):
    data = _tiny_data()
    s = TrainSettings(
        arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=2, ensemble=3, seed=5
    )
    bests, ens, spec = train_ensemble(data, s, tmp_path)
    assert [p.parent.parent.name for p in bests] == ["0", "1", "2"] and spec["ensemble"] == 3
    _, m1, _ = train_cnn(data, s.model_copy(update={"seed": 6, "ensemble": 1}), tmp_path / "m1")
    assert isinstance(ens, Ensemble) and len(ens.members) == 3
    for p, q in zip(ens.members[1].state_dict().values(), m1.state_dict().values(), strict=True):
        assert torch.equal(p, q)  # member 1 is the model of seed + 1
    x = _random_onehot(4, 45)
    with torch.no_grad():
        torch.testing.assert_close(ens(x), torch.stack([m(x) for m in ens.members]).mean(0))


def test_fold_ensemble_leaves_out_each_fold_once():
    from mpralens.models.cnn.train import fold_data

    data = _tiny_data()
    train_regions = set(data.tiles.loc[data.tiles["split"] == "train", "region_id"])
    left_out = []
    for i in range(3):
        part = fold_data(data, i, 3)
        kept = set(part.tiles.loc[part.tiles["split"] == "train", "region_id"])
        left_out.append(train_regions - kept)
        assert (part.tiles["split"] != "train").sum() == (data.tiles["split"] != "train").sum()
    assert set().union(*left_out) == train_regions
    assert sum(len(s) for s in left_out) == len(train_regions)  # disjoint folds
    assert fold_data(data, 0, 1) is data


def test_ensemble_summary_by_hand():
    members = np.array([[1.0, 5.0], [2.0, 5.0], [6.0, 5.0]])  # 3 members, 2 values
    s = ensemble_summary(members)
    assert s["mean"].tolist() == [3.0, 5.0]
    sd = np.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2)  # sqrt(7)
    assert s["sd"][0] == pytest.approx(sd) and s["sd"][1] == 0
    half = stats.t.ppf(0.975, 2) * sd * np.sqrt(1 + 1 / 3)  # 4.3027 * 2.6458 * 1.1547
    assert half == pytest.approx(13.1448, abs=1e-4)
    assert s["lo"][0] == pytest.approx(3 - half) and s["hi"][0] == pytest.approx(3 + half)
    assert s["lo"][1] == s["hi"][1] == 5.0
    one = ensemble_summary(members[:1])
    assert one["mean"].tolist() == [1.0, 5.0] and np.isnan(one["lo"]).all()


def test_noise_ceiling_by_hand():
    from mpralens.models.metrics import replicate_ceiling, truth_ceiling

    # Deviations from the mean 2.5: truth (-1.5, -0.5, 0.5, 1.5), measured (-1.5, 0.5, -0.5, 1.5):
    # products sum to 2.25 - 0.25 - 0.25 + 2.25 = 4, squares to 5 each: r = 4 / 5.
    assert truth_ceiling(np.array([1.0, 3, 2, 4]), np.array([1.0, 2, 3, 4])) == pytest.approx(0.8)
    # Two replicates with r = 0.8: their mean's reliability is 2 * 0.8 / 1.8 = 8/9 (Spearman-Brown)
    # and its correlation with the truth sqrt(8/9); an all-NaN third replicate is ignored.
    reps = np.array([[1.0, 1, np.nan], [2, 3, np.nan], [3, 2, np.nan], [4, 4, np.nan]])
    assert replicate_ceiling(reps) == pytest.approx(np.sqrt(8 / 9))
    assert np.isnan(replicate_ceiling(reps[:, :1]))  # one replicate: no estimate


def test_replicate_ceiling_matches_the_truth_ceiling_on_simulated_noise():
    from mpralens.models.metrics import replicate_ceiling, truth_ceiling

    rng = np.random.default_rng(0)
    truth = rng.normal(size=20000)
    reps = truth[:, None] + rng.normal(scale=0.8, size=(20000, 3))
    measured = reps.mean(axis=1)
    # Expected: var(truth) / var(mean) = 1 / (1 + 0.64 / 3), square-rooted = 0.9077.
    expected = np.sqrt(1 / (1 + 0.64 / 3))
    assert truth_ceiling(measured, truth) == pytest.approx(expected, abs=0.005)
    assert replicate_ceiling(reps) == pytest.approx(expected, abs=0.005)


def test_models_table_one_row_per_model_and_task_with_ceiling():
    from mpralens.models.compare import COLUMNS, compare

    pred = pd.DataFrame(
        {
            "tile_id": ["a", "b", "c", "d", "e"],
            "task": "T",
            "activity": [1.0, 3, 2, 4, np.nan],  # e is invalid: left out everywhere
            "weight": 1.0,
            "prediction": [1.0, 2, 3, 4, 100],
        }
    )
    truth = pd.DataFrame({"tile_id": list("abcde"), "T": [1.0, 2, 3, 4, 5]})
    activity = pd.DataFrame(
        {
            "tile_id": list("abcde"),
            "task": "T",
            "log2_ratio_rep1": [1.0, 2, 3, 4, np.nan],
            "log2_ratio_rep2": [1.0, 3, 2, 4, np.nan],
        }
    )
    perfect = pred.assign(prediction=[1.0, 3, 2, 4, 0])  # predicts the measured activity
    out = compare(
        {"truthlike": pred, "overfit": perfect},
        truth,
        activity=activity,
        info={"truthlike": {"parameters": 7}},
    )
    assert list(out.columns) == COLUMNS and len(out) == 2
    row = out.set_index("model").loc["truthlike"]
    assert row["pearson"] == pytest.approx(0.8) and row["pearson_truth"] == pytest.approx(1.0)
    assert row["ceiling"] == pytest.approx(0.8) and row["fraction_of_ceiling"] == pytest.approx(1)
    assert row["ceiling_replicates"] == pytest.approx(np.sqrt(8 / 9))
    assert row["parameters"] == 7 and row["n"] == 4
    over = out.set_index("model").loc["overfit"]
    assert over["fraction_of_ceiling"] == pytest.approx(1 / 0.8)  # above 1: fits the noise
    assert np.isnan(over["parameters"])
    real = compare({"m": pred}, activity=activity)  # real data: no truth
    assert real[["pearson_truth", "ceiling"]].isna().all().all()
    assert real["fraction_of_ceiling"].iloc[0] == pytest.approx(0.8 / np.sqrt(8 / 9))


def test_train_cnn_outputs_of_an_ensemble_carry_the_spread(tmp_path):
    from mpralens.cli.models import _write_model_outputs
    from mpralens.io.atomic import Folder

    data = _tiny_data()
    test = data.subset("test")
    members = np.stack([np.full((len(test.tiles), 2), v) for v in (1.0, 2.0, 6.0)])
    out = Folder(tmp_path / "out", "train-cnn")
    cost = {"parameters": 10, "seconds_per_epoch": float("nan")}
    _write_model_outputs(out, test, members, "model.ckpt", lambda p: p.write_text("x"), cost)
    table = pd.read_csv(tmp_path / "out" / "predictions.tsv.gz", sep="\t")
    assert (table["prediction"] == 3.0).all()
    assert np.allclose(table["prediction_sd"], np.sqrt(7))
    assert np.allclose(table["prediction_hi"] - table["prediction"], 13.1448, atol=1e-4)
    import json

    assert json.loads((tmp_path / "out" / "training.json").read_text()) == {
        "parameters": 10,
        "seconds_per_epoch": None,
    }
    single = Folder(tmp_path / "single", "train-cnn")
    _write_model_outputs(single, test, members[:1], "model.ckpt", lambda p: p.write_text(""), cost)
    table1 = pd.read_csv(tmp_path / "single" / "predictions.tsv.gz", sep="\t")
    assert "prediction_sd" not in table1.columns and (table1["prediction"] == 1.0).all()


def test_predict_with_an_ensemble_checkpoint_is_the_members_mean(tmp_path):
    from mpralens.models.predict import predict_file
    from tests.ism.test_ism import TASKS, _ensemble_checkpoint

    nets = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        nets.append(build_architecture("paggi", n_tasks=3, input_length=145, filters=8).eval())
    model = _ensemble_checkpoint(tmp_path, nets)
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 145)) for _ in range(3)]
    (tmp_path / "in.fa").write_text("".join(f">s{i}\n{q}\n" for i, q in enumerate(seqs)))
    out = predict_file(model, tmp_path / "in.fa")
    from mpralens.io.sequences import one_hot

    x = torch.from_numpy(one_hot(seqs).astype(np.float32))
    with torch.no_grad():
        expected = (nets[0](x) + nets[1](x)).numpy() / 2
    np.testing.assert_allclose(out[TASKS].to_numpy(), expected, atol=1e-6)


@pytest.mark.slow
def test_ensemble_through_the_workflow_gives_intervals_downstream(tmp_path):
    """models.cnn.ensemble: 2 through Snakemake: training, ISM and attribution of the ensemble
    each write the members' mean and a 95% interval."""
    from tests.conftest import run_snakemake, workflow_copy

    wd = workflow_copy(tmp_path / "wf")
    overrides = (
        "models={cnn: {ensemble: 2, max_epochs: 1, arch_kwargs: {filters: 8}}}",
        "ism={models: [cnn], max_regions: 2}",
        "interpret={methods: [saliency], max_regions: 2}",
    )
    targets = [
        "results/tiny/models/cnn/predictions.tsv.gz",
        "results/tiny/ism/cnn/scores.tsv.gz",
        "results/tiny/interpret/cnn/saliency/scores.tsv.gz",
    ]
    run_snakemake(wd, *targets, "--configfile", "tests/configs/tiny.yaml", "--config", *overrides)
    res = wd / "results" / "tiny"
    for table in ("ism/cnn/scores.tsv.gz", "interpret/cnn/saliency/scores.tsv.gz"):
        t = pd.read_csv(res / table, sep="\t")
        assert {"score_lo", "score_hi"} <= set(t.columns), table
        assert (t["score_lo"] <= t["score"]).all() and (t["score"] <= t["score_hi"]).all()
        assert t["region_id"].nunique() == 2
    preds = pd.read_csv(res / "models" / "cnn" / "predictions.tsv.gz", sep="\t")
    assert {"prediction_sd", "prediction_lo", "prediction_hi"} <= set(preds.columns)
    assert (preds["prediction_sd"] > 0).mean() > 0.9  # two seeds disagree
