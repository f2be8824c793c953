"""Training throughput and k-mer memory; prints JSON.

* k-mer featurisation (k = 6 and 8): tiles per second of ``mpralens.models.kmer.kmer_matrix``
against a
  plain-Python ``dict`` counter (baseline, same tiles, same run), and the size and tracemalloc peak
  of the k = 8 matrix at the full Sharpr scale (487,137 simulated 145-bp tiles).
* CNN training: tiles per second of one Lightning epoch of each architecture against a bare
  PyTorch loop (same network, data and batch size), i.e. what Lightning costs; and the bare loop
  with the architectures' own dropout (``mpralens.models.cnn.architectures.Dropout``) against the
  same network with torch's ``nn.Dropout`` (baseline), i.e. what the faster CPU mask saves.

Usage: python bench/train.py [--tiles 487137] [--cnn-tiles 4096]
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np
import torch

from mpralens.models.cnn.architectures import Dropout, build_architecture
from mpralens.models.cnn.module import masked_weighted_mse
from mpralens.models.kmer import kmer_matrix


def random_tiles(n: int, length: int = 145, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    raw = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, (n, length))]
    return [row.tobytes().decode() for row in raw]


def python_kmer_counts(seqs: list[str], k: int) -> list[dict[str, int]]:
    out = []
    for s in seqs:
        d: dict[str, int] = {}
        for i in range(len(s) - k + 1):
            d[s[i : i + k]] = d.get(s[i : i + k], 0) + 1
        out.append(d)
    return out


def bench_kmer(seqs: list[str]) -> dict:
    res = {}
    sub = seqs[:20000]
    for k in (6, 8):
        t0 = time.perf_counter()
        kmer_matrix(sub, k)
        ours = len(sub) / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        python_kmer_counts(sub[:5000], k)
        base = 5000 / (time.perf_counter() - t0)
        res[f"k{k}_tiles_per_s"] = round(ours)
        res[f"k{k}_baseline_python_tiles_per_s"] = round(base)
        res[f"k{k}_speedup"] = round(ours / base, 1)
    tracemalloc.start()
    t0 = time.perf_counter()
    m = kmer_matrix(seqs, 8)
    secs = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    res.update(
        full_scale_tiles=len(seqs),
        k8_full_scale_s=round(secs, 1),
        k8_matrix_mb=round((m.data.nbytes + m.indices.nbytes + m.indptr.nbytes) / 2**20, 1),
        k8_peak_traced_mb=round(peak / 2**20, 1),
        k8_dense_float32_would_be_gb=round(len(seqs) * 4**8 * 4 / 2**30, 1),
    )
    return res


def _torch_dropout(net: torch.nn.Module) -> torch.nn.Module:
    """Replace every dropout layer of the network by torch's own ``nn.Dropout`` (in place)."""
    for name, module in list(net.named_modules()):
        if isinstance(module, Dropout):
            parent = net.get_submodule(name.rpartition(".")[0])
            setattr(parent, name.rpartition(".")[2], torch.nn.Dropout(module.p))
    return net


def _bare_epoch(net: torch.nn.Module, x, y, w, batch: int) -> float:
    """Tiles per second of one epoch of a plain PyTorch loop (Adam), after one warm-up batch."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net.train()
    net(x[:batch].float()).sum().backward()
    t0 = time.perf_counter()
    for i in range(0, len(x), batch):
        opt.zero_grad()
        loss = masked_weighted_mse(
            net(x[i : i + batch].float()), y[i : i + batch], w[i : i + batch]
        )
        loss.backward()
        opt.step()
    return len(x) / (time.perf_counter() - t0)


def bench_cnn(n: int, batch: int = 128) -> dict:
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from mpralens.models.cnn.module import ActivityModel

    rng = np.random.default_rng(0)
    x = torch.from_numpy(
        np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (n, 145))].transpose(0, 2, 1).copy()
    )
    y = torch.from_numpy(rng.normal(size=(n, 4)).astype(np.float32))
    w = torch.ones_like(y)
    res = {"cnn_tiles": n, "batch_size": batch, "threads": torch.get_num_threads()}
    for arch in ("paggi", "dragonn", "residual"):
        torch.manual_seed(0)
        bare = _bare_epoch(build_architecture(arch, n_tasks=4, input_length=145), x, y, w, batch)
        torch.manual_seed(0)
        net = _torch_dropout(build_architecture(arch, n_tasks=4, input_length=145))
        torch_dropout = _bare_epoch(net, x, y, w, batch)
        torch.manual_seed(0)
        model = ActivityModel(build_architecture(arch, n_tasks=4, input_length=145), spec={})
        trainer = L.Trainer(
            max_epochs=1,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="auto",
            deterministic=True,
        )
        loader = DataLoader(TensorDataset(x, y, w), batch_size=batch, shuffle=True)
        t0 = time.perf_counter()
        trainer.fit(model, train_dataloaders=loader)
        light = n / (time.perf_counter() - t0)
        res[f"{arch}_lightning_tiles_per_s"] = round(light)
        res[f"{arch}_baseline_bare_torch_tiles_per_s"] = round(bare)
        res[f"{arch}_lightning_over_bare"] = round(light / bare, 2)
        res[f"{arch}_baseline_bare_nn_dropout_tiles_per_s"] = round(torch_dropout)
        res[f"{arch}_dropout_speedup"] = round(bare / torch_dropout, 2)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=487137)
    ap.add_argument("--cnn-tiles", type=int, default=4096)
    args = ap.parse_args()
    out = {"torch": torch.__version__}
    out.update(bench_kmer(random_tiles(args.tiles)))
    out.update(bench_cnn(args.cnn_tiles))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
