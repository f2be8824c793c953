import numpy as np
import pandas as pd
import pytest
import torch

from mpralens.data.training import TrainingData
from mpralens.models.cnn.architectures import (
    ARCHITECTURES,
    MASK_LEVELS,
    Dropout,
    build_architecture,
)
from mpralens.models.cnn.module import masked_weighted_mse
from mpralens.models.cnn.network import encode, load_network
from mpralens.models.cnn.train import TrainSettings as CNNSettings
from mpralens.models.cnn.train import predict_tiles, train_cnn


def test_loss_ignores_invalid_pairs():
    pred = torch.tensor([[1.0, 5.0], [2.0, 0.0]])
    y = torch.tensor([[0.0, float("nan")], [4.0, 1.0]])
    w = torch.tensor([[1.0, 100.0], [0.5, 2.0]])
    # valid: (0,0): w1 * 1^2; (1,0): 0.5 * 2^2; (1,1): 2 * 1^2 -> (1 + 2 + 2) / (1 + 0.5 + 2)
    assert masked_weighted_mse(pred, y, w).item() == pytest.approx(5 / 3.5)
    assert masked_weighted_mse(pred, torch.full_like(y, float("nan")), w).item() == 0.0


def test_dropout_mask_rate_scale_gradient_and_seed():
    """The CPU mask drops round(p * 65536) / 65536 of the elements (binomial bounds), scales the
    kept ones so the mean is kept, passes the gradient through the same mask, follows torch's seed
    and is the identity in eval mode."""
    drop = Dropout(0.1).train()
    x = torch.linspace(1, 2, 1_000_000).reshape(100, 10, 1000).requires_grad_(True)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    rate = round(0.1 * MASK_LEVELS) / MASK_LEVELS  # 0.100006
    n = x.numel()
    dropped = 1 - kept.float().mean().item()
    assert abs(dropped - rate) < 5 * (rate * (1 - rate) / n) ** 0.5, dropped
    scale = 1 / (1 - rate)
    np.testing.assert_allclose(y[kept].detach(), x[kept].detach() * scale, rtol=1e-6)
    y.sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad, kept.float() * scale, rtol=1e-6)
    # Each draw differs; a reseeded generator gives the same mask again.
    assert not torch.equal(drop(x) != 0, kept)
    torch.manual_seed(0)
    assert torch.equal(drop(x) != 0, kept)
    torch.manual_seed(1)
    assert not torch.equal(drop(x) != 0, kept)
    # Dropped elements are spread evenly: each tenth of the tensor drops close to the rate.
    for part in kept.reshape(10, -1):
        assert abs(1 - part.float().mean().item() - rate) < 5 * (rate * (1 - rate) / 1e5) ** 0.5
    assert torch.equal(drop.eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert not Dropout(1.0).train()(x).any()


def test_positional_encoding_places_tile_at_offset():
    x = encode(["ACG", "TTT"], np.array([0, 4]), "positional", 8)
    assert x.shape == (2, 4, 8)
    assert x[0, :, :3].argmax(axis=0).tolist() == [0, 1, 2] and x[0, :, 3:].sum() == 0
    assert x[1, 3, 4:7].tolist() == [1, 1, 1] and x[1].sum() == 3


def _tiny_data(n_regions=24, seed=0):
    rng = np.random.default_rng(seed)
    rows, ys = [], []
    for r in range(n_regions):
        region = "".join(rng.choice(list("ACGT"), 60))
        for t in range(4):
            seq = region[t * 5 : t * 5 + 45]
            rows.append((f"R_{r}_{t}", f"R_{r}", t, t * 5, seq, ["train", "valid", "test"][r % 3]))
            ys.append([seq.count("AC") / 5.0, np.nan if t == 0 else seq.count("GT") / 5.0])
    tiles = pd.DataFrame(
        rows, columns=["tile_id", "region_id", "tile_pos", "offset", "sequence", "split"]
    )
    y = np.array(ys)
    return TrainingData(tiles, y, np.where(np.isnan(y), 0.0, 1.0), ["A_x", "B_y"])


SMALL = {
    "paggi": {"filters": 8, "pool": 8},
    "dragonn": {"filters": 8},
    "residual": {"channels": 8},
    "legnet": {"stages": [8, 8], "mapper": 8},
}


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("layout", ["tile", "positional"])
def test_fast_dev_run(arch, layout, tmp_path):
    s = CNNSettings(arch=arch, arch_kwargs=SMALL[arch], layout=layout, batch_size=16)
    _, net, spec = train_cnn(_tiny_data(), s, tmp_path, fast_dev_run=True)
    assert spec["input_length"] == (60 if layout == "positional" else 45)
    out = predict_tiles(net, spec, _tiny_data())
    assert out.shape == (96, 2) and np.isfinite(out).all()


def test_default_architectures_shapes():
    x = torch.zeros(3, 4, 295)
    assert build_architecture("paggi", n_tasks=4, input_length=295)(x).shape == (3, 4)
    assert build_architecture("dragonn", n_tasks=4, input_length=295)(x).shape == (3, 4)
    assert build_architecture("residual", n_tasks=4, input_length=295)(x).shape == (3, 4)


def test_checkpoint_reload_exact_and_seeded_training(tmp_path):
    data = _tiny_data()
    s = CNNSettings(arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=2, seed=3)
    best, net, spec = train_cnn(data, s, tmp_path / "a", dataset="tiny")
    assert (
        spec["tasks"] == ["A_x", "B_y"] and spec["dataset"] == "tiny" and spec["layout"] == "tile"
    )
    assert (tmp_path / "a" / "checkpoints" / "last.ckpt").exists()
    assert (tmp_path / "a" / "metrics.csv").exists()
    net2, spec2 = load_network(best)  # weights_only=True inside
    assert spec2["version"] == spec["version"]
    np.testing.assert_array_equal(predict_tiles(net, spec, data), predict_tiles(net2, spec2, data))
    _, net_b, _ = train_cnn(data, s, tmp_path / "b")
    for p, q in zip(net.state_dict().values(), net_b.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    s_other = CNNSettings(
        arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=2, seed=4
    )
    _, net_c, _ = train_cnn(data, s_other, tmp_path / "c")
    assert not torch.equal(net.state_dict()["head.weight"], net_c.state_dict()["head.weight"])


def test_predict_command_matches_model(tmp_path):
    from tests.conftest import run_cli

    data = _tiny_data()
    s = CNNSettings(arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=1)
    best, net, spec = train_cnn(data, s, tmp_path / "m")
    head = data.tiles.head(5)
    (tmp_path / "in.tsv").write_text(
        "id\tsequence\n"
        + "".join(f"{i}\t{q}\n" for i, q in zip(head["tile_id"], head["sequence"], strict=True))
    )
    (tmp_path / "in.fa").write_text(
        "".join(f">{i}\n{q}\n" for i, q in zip(head["tile_id"], head["sequence"], strict=True))
    )
    expected = predict_tiles(net, spec, TrainingData(head, data.y[:5], data.w[:5], data.tasks))
    for name in ("in.tsv", "in.fa"):
        proc = run_cli(
            "predict",
            "--model",
            best,
            "--sequences",
            tmp_path / name,
            "--out",
            tmp_path / "out.tsv",
        )
        assert proc.returncode == 0, proc.stderr
        out = pd.read_csv(tmp_path / "out.tsv", sep="\t")
        assert list(out.columns) == ["id", "A_x", "B_y"]
        np.testing.assert_allclose(out[["A_x", "B_y"]].to_numpy(), expected, rtol=1e-5, atol=1e-6)
    (tmp_path / "bad.tsv").write_text("id\tsequence\nx\tACGT\n")
    proc = run_cli(
        "predict",
        "--model",
        best,
        "--sequences",
        tmp_path / "bad.tsv",
        "--out",
        tmp_path / "o2.tsv",
    )
    assert proc.returncode == 2 and "bad.tsv" in proc.stderr and "45-bp" in proc.stderr
    assert not (tmp_path / "o2.tsv").exists()


def test_rerun_resumes_from_last_checkpoint(tmp_path, caplog):
    import logging

    data = _tiny_data()
    s = CNNSettings(arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=1, seed=1)
    train_cnn(data, s, tmp_path)
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0
    first = pd.read_csv(tmp_path / "metrics.csv")
    s2 = CNNSettings(arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=3, seed=1)
    with caplog.at_level(logging.INFO, logger="mpralens.models.cnn.train"):
        train_cnn(data, s2, tmp_path)
    assert any("resuming from" in r.message for r in caplog.records)
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 2
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    # Epoch 0 was not redone, and the curve keeps the first run's epoch 0 before epochs 1 and 2.
    assert metrics.dropna(subset=["val_loss"])["epoch"].tolist() == [0, 1, 2]
    pd.testing.assert_frame_equal(metrics[metrics["epoch"] == 0].reset_index(drop=True), first)
    # Other settings: a fresh start, not a resume.
    caplog.clear()
    s3 = CNNSettings(arch="paggi", arch_kwargs=SMALL["paggi"], batch_size=16, max_epochs=1, seed=2)
    with caplog.at_level(logging.INFO, logger="mpralens.models.cnn.train"):
        train_cnn(data, s3, tmp_path)
    assert not any("resuming from" in r.message for r in caplog.records)
