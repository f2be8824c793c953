"""Network architectures as plain ``nn.Module``s; input ``shape=(batch, 4, length)``.

* ``paggi``: the Stanford study's best model (Paggi et al. 2017): two convolutions of 100 filters
  with ReLU and dropout 0.1, max-pool of width 44, dense layer to one output per task. The paper
  gives no filter widths; we use 11 and 9 (``widths``; odd, so "same" padding is symmetric).
* ``dragonn``: MPRA-DragoNN's ConvModel (Movva et al. 2019): 3 x [conv 120 filters width 5, ReLU,
  batch norm, dropout 0.1], flattened, dense to the tasks.
* ``residual``: a deeper option: a stem convolution, residual blocks of dilated convolutions
  (dilation 1, 2, 4, 8...) with batch norm, global max and mean pooling, dense head.
* ``legnet``: LegNet (Penzar et al. 2023, Bioinformatics 39:btad457), written from the paper and
  its published code: a stem convolution (width 7, batch norm, SiLU), then per stage an
  EfficientNetV2-style block (1x1 expansion by 4, grouped convolution with 2 filters per group,
  squeeze-and-excitation, 1x1 projection back) whose output is concatenated with its input and
  resized by a convolution to the stage's width; a 1x1 mapper, global average pooling and a dense
  layer per task. The paper's stage widths are ``(256, 128, 128, 64, 64, 64, 64)``; the demo runs a
  scaled-down LegNet (``arch_kwargs``, docs/models.md). Its recipe (AdamW, one-cycle learning rate,
  weight decay) is in the training settings (``optimizer``, ``schedule``, ``weight_decay``).

Options for every architecture (:func:`build_architecture`):

* ``first_activation="exp"``: the first layer's activation (right after the first convolution) is
  the exponential (Koo & Ploenzke 2021, Nat Mach Intell), which makes first-layer filters more
  motif-like; every other activation is unchanged.
* ``rc="tied"``: a conjoined network: the same weights read both strands and the outputs are
  averaged, in training and in prediction. It is the strand-block-diagonal case of Shrikumar et al.
  (2017)'s reverse-complement weight sharing (a convolution applied to the reverse complement,
  flipped back, is the convolution with the reverse-complemented filters), exactly invariant.
* ``rc="average"``: trained on the forward strand as given (pair with ``rc_augment``); predictions
  in eval mode are the mean over both strands (post-hoc conjoining, Zhou et al. 2021).

All use "same" padding so a base's position maps to the same output position in every layer.
Their dropout is :class:`Dropout`: ``nn.Dropout`` with a faster mask on the CPU.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch
from torch import nn

from mpralens.io.errors import InputError

MASK_LEVELS = 2**16  # dropout masks on the CPU compare 16-bit random integers with a threshold


class Dropout(nn.Dropout):
    """``nn.Dropout`` whose mask, on the CPU in training, comes from 16-bit random integers.

    torch's CPU Bernoulli sampler takes about 8 ns per element: a seventh of a training step of
    Paggi et al.'s CNN on one core. Here one draw from torch's generator seeds numpy's PCG64, which
    draws one 16-bit integer per element; an element is dropped when its integer is below
    ``round(p * 65536)``, and kept ones are scaled by ``1 / (1 - p')``, ``p'`` being that rounded
    rate (``p = 0.1``: 0.100006), so the expected output is the input. A step is about 10% faster
    (bench/train.py). The masks are as random as torch's and as reproducible (a seeded torch
    generator fixes them), but not the same draws: models trained with ``nn.Dropout`` differ.
    In eval mode, on other devices and for ``p`` of 0 or 1 it is ``nn.Dropout`` itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if not self.training or x.device.type != "cpu" or self.p in (0.0, 1.0):
            return super().forward(x)
        threshold = round(self.p * MASK_LEVELS)
        seed = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))
        bits = np.random.default_rng(seed).integers(
            0, MASK_LEVELS, size=tuple(x.shape), dtype=np.uint16
        )
        keep = torch.from_numpy(bits >= threshold)
        mask = keep.to(x.dtype).mul_(MASK_LEVELS / (MASK_LEVELS - threshold))
        return x.mul_(mask) if self.inplace else x * mask


class PaggiCNN(nn.Module):
    """Paggi et al.'s best CNN. Output ``shape=(batch, n_tasks)``."""

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        filters: int = 100,
        widths: tuple[int, int] = (11, 9),
        dropout: float = 0.1,
        pool: int = 44,
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(4, filters, widths[0], padding="same"),
            nn.ReLU(),
            Dropout(dropout),
            nn.Conv1d(filters, filters, widths[1], padding="same"),
            nn.ReLU(),
            Dropout(dropout),
            nn.MaxPool1d(pool, stride=pool),
        )
        self.head = nn.Linear(filters * (input_length // pool), n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        return self.head(self.body(x).flatten(1))


class DragonnConvModel(nn.Module):
    """MPRA-DragoNN's ConvModel. Output ``shape=(batch, n_tasks)``."""

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        filters: int = 120,
        width: int = 5,
        layers: int = 3,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = 4
        for _ in range(layers):
            blocks += [
                nn.Conv1d(c_in, filters, width, padding="same"),
                nn.ReLU(),
                nn.BatchNorm1d(filters),
                Dropout(dropout),
            ]
            c_in = filters
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(filters * input_length, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        return self.head(self.body(x).flatten(1))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, width: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, width, padding="same", dilation=dilation)
        self.norm = nn.BatchNorm1d(channels)
        self.drop = Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(torch.relu(self.norm(self.conv(x))))


class ResidualDilatedCNN(nn.Module):
    """Stem conv, dilated residual blocks, global max+mean pool. Output ``(batch, n_tasks)``."""

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        channels: int = 64,
        stem_width: int = 11,
        width: int = 3,
        blocks: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(4, channels, stem_width, padding="same"), nn.ReLU())
        self.blocks = nn.Sequential(
            *[_ResidualBlock(channels, width, 2**i, dropout) for i in range(blocks)]
        )
        self.head = nn.Sequential(
            nn.Linear(2 * channels, channels), nn.ReLU(), nn.Linear(channels, n_tasks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        h = self.blocks(self.stem(x))
        return self.head(torch.cat([h.amax(dim=2), h.mean(dim=2)], dim=1))


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018) as in LegNet.

    Channel gates from the mean over positions through a two-layer MLP (SiLU, sigmoid) sized by
    the block's input width.
    """

    def __init__(self, block_in: int, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, block_in // reduction)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.SiLU(), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return x * self.fc(x.mean(dim=2))[:, :, None]


def _conv_bn_act(c_in: int, c_out: int, width: int, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv1d(c_in, c_out, width, padding="same", groups=groups, bias=False),
        nn.BatchNorm1d(c_out),
        nn.SiLU(),
    ]


class LegNetBlock(nn.Module):
    """One LegNet stage: EfficientNetV2-style block, concatenation with its input, resize."""

    def __init__(
        self, c_in: int, c_out: int, width: int, expand: int, per_group: int, se_reduction: int
    ) -> None:
        super().__init__()
        wide = c_out * expand
        self.block = nn.Sequential(
            *_conv_bn_act(c_in, wide, 1),
            *_conv_bn_act(wide, wide, width, groups=wide // per_group),
            SqueezeExcitation(c_in, wide, se_reduction),
            *_conv_bn_act(wide, c_in, 1),
        )
        self.resize = nn.Sequential(*_conv_bn_act(2 * c_in, c_out, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.resize(torch.cat([x, self.block(x)], dim=1))


class LegNet(nn.Module):
    """LegNet (Penzar et al. 2023) for multitask regression. Output ``(batch, n_tasks)``.

    Parameters
    ----------
    stages
        Channel widths: the stem's, then one per block (the paper: 256, 128, 128, 64, 64, 64, 64).
    width
        Convolution width of the stem, grouped and resize convolutions (the paper: 7).
    expand, per_group, se_reduction
        Expansion of the inner 1x1 convolution, filters per group of the grouped convolution and
        the squeeze-and-excitation reduction (the paper: 4, 2, 4).
    mapper
        Channels of the final 1x1 convolution before global average pooling.
    """

    def __init__(
        self,
        n_tasks: int,
        input_length: int,
        stages: tuple[int, ...] = (256, 128, 128, 64, 64, 64, 64),
        width: int = 7,
        expand: int = 4,
        per_group: int = 2,
        se_reduction: int = 4,
        mapper: int = 64,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn_act(4, stages[0], width))
        self.blocks = nn.Sequential(
            *[
                LegNetBlock(a, b, width, expand, per_group, se_reduction)
                for a, b in zip(stages[:-1], stages[1:], strict=True)
            ]
        )
        self.mapper = nn.Sequential(nn.Conv1d(stages[-1], mapper, 1), nn.SiLU())
        self.head = nn.Linear(mapper, n_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict activity per task from one-hot ``x``."""
        return self.head(self.mapper(self.blocks(self.stem(x))).mean(dim=2))


class Exp(nn.Module):
    """The exponential activation (Koo & Ploenzke 2021)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.exp(x)


def reverse_complement(x: torch.Tensor) -> torch.Tensor:
    """Reverse complement of one-hot ``(batch, 4, L)`` in ACGT order (channels and positions)."""
    return x.flip(dims=(1, 2))


class ReverseComplement(nn.Module):
    """A network made reverse-complement invariant by averaging both strands.

    ``mode="tied"``: always (training too: one set of weights, both strands); ``"average"``: in
    eval mode only (test-time averaging of a network trained on one strand).
    """

    def __init__(self, net: nn.Module, mode: str) -> None:
        super().__init__()
        if mode not in ("tied", "average"):
            raise ValueError(f"unknown reverse-complement mode {mode!r}")
        self.net, self.mode = net, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if self.mode == "average" and self.training:
            return self.net(x)
        both = self.net(torch.cat([x, reverse_complement(x)]))
        return (both[: len(x)] + both[len(x) :]) / 2


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "paggi": PaggiCNN,
    "dragonn": DragonnConvModel,
    "residual": ResidualDilatedCNN,
    "legnet": LegNet,
}
RC_MODES = ("none", "tied", "average")
FIRST_ACTIVATIONS = ("relu", "exp")


def _replace_first_activation(net: nn.Module) -> None:
    """Swap the activation right after the first convolution (in module order) for :class:`Exp`."""
    seen_conv = False
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv1d):
            seen_conv = True
        elif seen_conv and isinstance(module, nn.ReLU | nn.SiLU):
            parent_name, _, child = name.rpartition(".")
            setattr(net.get_submodule(parent_name), child, Exp())
            return
    raise ValueError(f"{type(net).__name__} has no activation after its first convolution")


def build_architecture(
    name: str,
    *,
    n_tasks: int,
    input_length: int,
    rc: str = "none",
    first_activation: str = "relu",
    **kwargs: Any,
) -> nn.Module:
    """Instantiate architecture ``name`` (a key of :data:`ARCHITECTURES`) with its options.

    Raises
    ------
    InputError
        The input is shorter than the architecture can take (named, with the reason; key
        ``models.cnn.arch``).
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; expected one of {sorted(ARCHITECTURES)}")
    if rc not in RC_MODES or first_activation not in FIRST_ACTIVATIONS:
        raise ValueError(f"unknown option rc={rc!r} or first_activation={first_activation!r}")
    for key in ("widths", "stages"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    if name == "paggi":
        need, why = int(kwargs.get("pool", 44)), "its max-pool width"
    else:
        key = "stem_width" if name == "residual" else "width"
        default = inspect.signature(ARCHITECTURES[name]).parameters[key].default
        need, why = int(kwargs.get(key, default)), "its first convolution's width"
    if input_length < need:
        raise InputError(
            f"architecture {name!r} cannot take {input_length}-bp inputs: it needs at least "
            f"{need} bp ({why}); choose another architecture or a smaller setting in arch_kwargs",
            key="models.cnn.arch",
        )
    net = ARCHITECTURES[name](n_tasks=n_tasks, input_length=input_length, **kwargs)
    if first_activation == "exp":
        _replace_first_activation(net)
    return net if rc == "none" else ReverseComplement(net, rc)


def n_parameters(net: nn.Module) -> int:
    """Count the trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
