"""Exact incremental forward passes for single-base mutations of "same"-padded CNNs.

A single-base change at position ``p`` changes a convolution's output only on ``p +/- h``
(``h = dilation * (width - 1) / 2``), a pointwise layer (ReLU, batch norm in eval mode, dropout in
eval mode) nowhere new, and a residual block on the sum of its inner half-widths. So the
body's output differs from the reference only on ``p +/- R`` (``R`` the sum of all half-widths).
This module computes exactly that patch, layer by layer, from the reference activations (the
idea behind fastISM, Nair et al. 2022, and Yuzu, Schreiber et al. 2022): a convolution's new
output is its reference output plus the convolution of its input's change, which is zero outside
the input patch; pointwise layers are applied to the patch. Then the network's head is applied to
the patch spliced into the reference:

* max-pool + dense (``paggi``): only the pooled bins the patch touches change; the dense layer is
  linear, so the output changes by ``W . delta(pooled)``;
* flatten + dense (``dragonn``): the output changes by ``W . delta(body)`` over the patch;
* global max + mean pool + MLP (``residual``): the new max is the larger of the patch's max and the
  reference max outside the patch (prefix and suffix maxima), the new mean is updated by the
  patch's change, and the MLP runs on the new pooled vector.

Every step is a full forward pass restricted to the positions it can reach, the convolutions
split as reference plus change (linearity), so the result equals a full pass up to float rounding
(tested against plain ISM to 1e-5).

The exponential first-layer activation (``first_activation="exp"``) is pointwise, so it is
supported. Networks with non-local layers are not: LegNet (squeeze-and-excitation gates read the
whole sequence; its convolutions are grouped) and the reverse-complement wrappers (``rc`` tied or
average: the reverse strand moves a mutation's patch). :func:`decompose` raises
``NotImplementedError`` for them and :class:`mpralens.ism.scoring.CNNScorer` falls back to plain
ISM with a log line.

Patches are batched: ``n`` items, each a context index (which reference sequence), a start position
in that context and a tensor ``(n, C, W)`` with the same ``W`` for all items. Context positions
outside ``[0, length)`` stand for the zero padding every convolution applies to its input, so patch
values there are forced to zero after every layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mpralens.models.cnn.architectures import (
    DragonnConvModel,
    Exp,
    PaggiCNN,
    ResidualDilatedCNN,
    _ResidualBlock,
)


@dataclass
class Patch:
    """New activations of ``n`` mutated sequences on ``[start, start + W)`` of their context."""

    values: torch.Tensor  # (n, C, W)
    start: torch.Tensor  # (n,) int64, context coordinates
    ctx: torch.Tensor  # (n,) int64, index of the reference context

    @property
    def width(self) -> int:
        """Patch width ``W``."""
        return int(self.values.shape[2])


def _positions(start: torch.Tensor, width: int) -> torch.Tensor:
    return start[:, None] + torch.arange(width, device=start.device)[None, :]


def _mask(values: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    if len(start) and int(start.min()) >= 0 and int(start.max()) + values.shape[2] <= length:
        return values
    pos = _positions(start, values.shape[2])
    inside = (pos >= 0) & (pos < length)
    return values * inside[:, None, :].to(values.dtype)


class Reference:
    """Reference activations of ``K`` contexts of one length, zero-padded by ``pad`` each side.

    Stored position-major (``(K, L + 2 pad, C)`` in memory), so that gathering a patch copies
    whole rows of channels; :attr:`padded` is the ``(K, C, L + 2 pad)`` view of it.
    """

    def __init__(self, x: torch.Tensor, pad: int) -> None:
        self.length = int(x.shape[2])
        self.pad = pad
        self.rows = F.pad(x, (pad, pad)).transpose(1, 2).contiguous()

    @property
    def padded(self) -> torch.Tensor:
        """The padded reference, ``(K, C, L + 2 pad)`` (a view)."""
        return self.rows.transpose(1, 2)

    def gather(self, ctx: torch.Tensor, start: torch.Tensor, width: int) -> torch.Tensor:
        """Return reference values on ``[start, start + width)`` of each item's context.

        A new ``(n, C, W)`` tensor, position-major in memory (safe to write into).
        """
        k, padded, c = self.rows.shape
        flat = (ctx[:, None] * padded + _positions(start + self.pad, width)).reshape(-1)
        # index_select of whole rows: about 3x faster than the same advanced indexing.
        out = self.rows.view(k * padded, c).index_select(0, flat)
        return out.view(len(ctx), width, c).transpose(1, 2)


def _splice(ref: torch.Tensor, new: torch.Tensor, at: int) -> torch.Tensor:
    ref[:, :, at : at + new.shape[2]] = new
    return ref


class LocalOp:
    """One layer of the body. ``half``: how far a change spreads (bases each side)."""

    half = 0

    def full(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layer to whole sequences ``(K, C, L)``."""
        raise NotImplementedError

    def reference(self, x: torch.Tensor, pad: int) -> tuple[Any, torch.Tensor]:
        """Return what :meth:`patch` needs of the reference input ``x``, and the layer's output."""
        return Reference(x, pad), self.full(x)

    def patch(self, ref, p: Patch) -> Patch:
        """Compute the new output on the input patch's interval widened by :attr:`half`."""
        raise NotImplementedError


class ConvOp(LocalOp):
    """A "same"-padded ``nn.Conv1d`` (odd width, stride 1), updated on the patch only.

    The new output is the reference output plus the convolution of the input's change, which is
    zero outside the input patch: a transposed convolution of the ``W``-wide change gives the
    ``W + 2h`` outputs it reaches, ``W x width`` taps per output channel and item instead of the
    ``(W + 2h) x width`` of convolving the new input again (about half for a second layer).
    """

    def __init__(self, conv: nn.Conv1d) -> None:
        (w,), (d,), (s,) = conv.kernel_size, conv.dilation, conv.stride
        if (
            w % 2 == 0
            or s != 1
            or conv.groups != 1
            or conv.padding not in ("same", ((w - 1) * d // 2,))
        ):
            raise NotImplementedError("fast ISM needs odd-width, stride-1, 'same'-padded convs")
        self.conv, self.half, self.dilation = conv, d * (w - 1) // 2, d

    def full(self, x):  # noqa: D102
        return self.conv(x)

    def reference(self, x, pad):  # noqa: D102
        # out[j] = sum_t W[t] x[j + d t - h]: an input change at i reaches out[i + h - d t], so
        # the transposed convolution's kernel is the convolution's, in and out channels
        # swapped and taps reversed; as a (C_in, C_out, 1, taps) image in channels-last memory
        # (patches are position-major, and oneDNN's channels-last 2-d kernels are the fastest).
        weight = self.conv.weight.detach().transpose(0, 1).flip(2)[:, :, None, :]
        weight = weight.contiguous(memory_format=torch.channels_last)
        y = self.full(x)
        return (Reference(x, pad), Reference(y, pad), weight), y

    def patch(self, ref, p: Patch) -> Patch:  # noqa: D102
        x_ref, y_ref, weight = ref
        h = self.half
        change = p.values - x_ref.gather(p.ctx, p.start, p.width)
        out = F.conv_transpose2d(change[:, :, None, :], weight, dilation=(1, self.dilation))
        start = p.start - h
        out = y_ref.gather(p.ctx, start, p.width + 2 * h).add_(out[:, :, 0, :])
        return Patch(_mask(out, start, x_ref.length), start, p.ctx)


class PointwiseOp(LocalOp):
    """A layer acting on each position alone (ReLU, BatchNorm1d and Dropout in eval mode)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        # ReLU and (eval-mode) dropout keep the zeros outside the sequence: no mask needed.
        self.keeps_zero = isinstance(module, nn.ReLU | nn.Dropout)

    def full(self, x):  # noqa: D102
        return self.module(x)

    def reference(self, x, pad):  # noqa: D102
        return x.shape[2], self.full(x)

    def patch(self, length: int, p: Patch) -> Patch:  # noqa: D102
        values = self.module(p.values)
        if not self.keeps_zero:
            values = _mask(values, p.start, length)
        return Patch(values, p.start, p.ctx)


class ResidualOp(LocalOp):
    """``x + inner(x)`` with ``inner`` a chain of local layers."""

    def __init__(self, inner: list[LocalOp]) -> None:
        self.inner = inner
        self.half = sum(op.half for op in inner)

    def full(self, x):  # noqa: D102
        return x + run_full(self.inner, x)

    def reference(self, x, pad):  # noqa: D102
        inner_refs, inner = reference_chain(self.inner, x, pad)
        return (Reference(x, pad), inner_refs), x + inner

    def patch(self, ref, p: Patch) -> Patch:  # noqa: D102
        x_ref, inner_refs = ref
        h = self.half
        x_new = _splice(x_ref.gather(p.ctx, p.start - h, p.width + 2 * h), p.values, h)
        inner = propagate(self.inner, inner_refs, p)
        return Patch(_mask(x_new + inner.values, inner.start, x_ref.length), inner.start, p.ctx)


def run_full(ops: list[LocalOp], x: torch.Tensor) -> torch.Tensor:
    """Apply a chain of layers to whole sequences."""
    for op in ops:
        x = op.full(x)
    return x


def reference_chain(ops: list[LocalOp], x: torch.Tensor, pad: int):
    """Return every layer's reference state (:meth:`LocalOp.reference`), and the chain's output."""
    refs = []
    for op in ops:
        ref, x = op.reference(x, pad)
        refs.append(ref)
    return refs, x


def propagate(ops: list[LocalOp], refs, p: Patch) -> Patch:
    """Carry a patch through a chain of layers."""
    for op, ref in zip(ops, refs, strict=True):
        p = op.patch(ref, p)
    return p


# Heads: the new network output of each patch, given the reference body output of its context.


class Head:
    """A network head: ``prepare`` its reference state once, then ``apply`` it to patches."""

    def read_end(self, length: int) -> int:
        """Body positions ``[0, read_end)`` reach the output (all of them unless overridden)."""
        return length

    def summarize(self, values: torch.Tensor) -> Any:
        """Per-patch summary that :meth:`apply_summary` reads instead of the patch (or None)."""
        return None

    def prepare(self, body: torch.Tensor, out: torch.Tensor) -> dict:
        """Build the reference state from body output ``(K, C, L)`` and network output."""
        raise NotImplementedError

    def output(self, body: torch.Tensor) -> torch.Tensor | None:
        """Return the network output for body output ``body`` (None: run the network)."""
        return None

    def apply(self, st: dict, p: Patch) -> torch.Tensor:
        """Return the new network output ``(n, n_tasks)``."""
        raise NotImplementedError

    def apply_summary(
        self,
        st: dict,
        summary: Any,
        slot: torch.Tensor,
        start: torch.Tensor,
        ctx: torch.Tensor,
        width: int,
    ) -> torch.Tensor:
        """Return the new network output from :meth:`summarize`'s summaries (if not ``None``)."""
        raise NotImplementedError


def _change(body: Reference, p: Patch):
    """Compare a patch with the reference body it replaces.

    Returns which patch positions lie in the body, those positions clamped into it, and the
    patch's change from the reference there (0 outside the body).
    """
    pos = _positions(p.start, p.width)
    inside = (pos >= 0) & (pos < body.length)
    safe = pos.clamp(0, body.length - 1)
    ref = body.padded[p.ctx[:, None], :, safe].permute(0, 2, 1)
    return inside, safe, torch.where(inside[:, None, :], p.values - ref, torch.zeros_like(ref))


class PoolLinearHead(Head):
    """Non-overlapping max-pool, flatten, dense (Paggi et al.'s CNN)."""

    def __init__(self, pool: nn.MaxPool1d, linear: nn.Linear) -> None:
        k = pool.kernel_size if isinstance(pool.kernel_size, int) else pool.kernel_size[0]
        s = pool.stride if isinstance(pool.stride, int) else pool.stride[0]
        if k != s or pool.padding not in (0, (0,)) or pool.dilation not in (1, (1,)):
            raise NotImplementedError("fast ISM needs a max-pool with stride equal to its width")
        self.pool, self.linear = k, linear

    def read_end(self, length: int) -> int:
        """Body positions ``[0, read_end)`` reach the output (the pool drops the rest)."""
        return length // self.pool * self.pool

    def output(self, body: torch.Tensor) -> torch.Tensor:
        """Return the network output: the same pool and dense layer as the network's forward."""
        return self.linear(F.max_pool1d(body, self.pool, self.pool).flatten(1))

    def prepare(self, body: torch.Tensor, out: torch.Tensor):  # noqa: D102
        k, c, pool = body.shape[0], body.shape[1], self.pool
        n_bins = body.shape[2] // pool
        w = self.linear.weight.reshape(self.linear.out_features, c, n_bins)
        bins = body[:, :, : n_bins * pool].reshape(k, c, n_bins, pool)
        neg = torch.full((k, c, n_bins, 1), -torch.inf, dtype=body.dtype)
        # left[..., b, t] = max of bin b's first t values; right[..., b, t] = max from t on.
        left = torch.cat([neg, bins.cummax(dim=3).values], dim=3)
        right = torch.cat([bins.flip(3).cummax(dim=3).values.flip(3), neg], dim=3)
        pooled = bins.amax(dim=3) if n_bins else bins.sum(dim=3)
        return {  # channels innermost in memory: items gather whole rows of channels
            "left": left.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
            "right": right.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2),
            "pooled": pooled.permute(0, 2, 1).contiguous().permute(0, 2, 1),
            "w_by_bin": w.permute(2, 0, 1).contiguous(),
            "w_flat": w.permute(1, 2, 0).reshape(c, -1),  # (C, bins x tasks)
            "out": out,
        }

    def apply(self, st, p: Patch) -> torch.Tensor:
        """Return the new network output ``(n, n_tasks)``."""
        pool, n_bins, width = self.pool, st["pooled"].shape[2], p.width
        out = st["out"][p.ctx].clone()
        first = p.start.clamp(min=0) // pool
        bin_of = _positions(p.start, width).div(pool, rounding_mode="floor")
        for j in range((width - 1) // pool + 2):
            b = first + j
            lo = b * pool
            a = (p.start - lo).clamp(0, pool)  # patch within the bin: [a, e) in bin coordinates
            e = (p.start + width - lo).clamp(0, pool)
            hit = (a < e) & (b < n_bins)
            if not bool(hit.any()):
                continue
            bb = b.clamp(max=n_bins - 1)
            rest = torch.maximum(st["left"][p.ctx, :, bb, a], st["right"][p.ctx, :, bb, e])
            in_bin = (bin_of == b[:, None])[:, None, :]
            inside = p.values.masked_fill(~in_bin, -torch.inf).amax(dim=2)
            delta = (torch.maximum(rest, inside) - st["pooled"][p.ctx, :, bb]) * hit[:, None]
            out += torch.bmm(st["w_by_bin"][bb], delta[:, :, None])[:, :, 0]
        return out

    def summarize(self, values: torch.Tensor):
        """Return the patches and each patch's maximum over its width, ``(n, C)``.

        A patch no wider than a bin meets at most two bins. Where it lies within one bin (most
        items), the bin's new maximum needs only the patch's whole maximum, computed here once
        per patch however many windows reuse it; only items whose patch straddles a bin edge read
        the patch again (:meth:`apply_summary`). ``None`` for patches wider than a bin.
        """
        if values.shape[2] > self.pool:
            return None
        return values, values.amax(dim=2)

    def apply_summary(self, st, summary, slot, start, ctx, width: int) -> torch.Tensor:
        """Return the new output of the patches ``summary[slot]`` placed at ``start``."""
        values, whole = summary
        pool, n_bins = self.pool, st["pooled"].shape[2]
        out = st["out"][ctx].clone()
        first = start.clamp(min=0) // pool
        for j in range(2):
            b = first + j
            lo = b * pool
            a = (start - lo).clamp(0, pool)  # patch within the bin: [a, e) in bin coordinates
            e = (start + width - lo).clamp(0, pool)
            hit = (a < e) & (b < n_bins)
            if not bool(hit.any()):
                continue
            bb = b.clamp(max=n_bins - 1)
            rest = torch.maximum(st["left"][ctx, :, bb, a], st["right"][ctx, :, bb, e])
            inside = whole[slot]
            pa = (lo - start).clamp(0, width)  # the same part in patch coordinates: [pa, pe)
            pe = (lo + pool - start).clamp(0, width)
            part = torch.nonzero(hit & ((pa > 0) | (pe < width)))[:, 0]
            # Patches straddling the bin's edge: their maximum over the part in the bin, one
            # slice of the patches per distinct part.
            key = pa[part] * (width + 1) + pe[part]
            for k in torch.unique(key).tolist():
                sel = part[key == k]
                inside[sel] = values[:, :, k // (width + 1) : k % (width + 1)][slot[sel]].amax(2)
            delta = (torch.maximum(rest, inside) - st["pooled"][ctx, :, bb]) * hit[:, None]
            # The dense layer's change: every bin's weights applied (a few bins; no per-item
            # copy of the weights), then each item's own bin picked.
            by_bin = (delta @ st["w_flat"]).view(len(ctx), n_bins, -1)
            out += by_bin[torch.arange(len(ctx)), bb]
        return out


class FlattenLinearHead(Head):
    """Flatten the body output, dense layer (MPRA-DragoNN's ConvModel)."""

    def __init__(self, linear: nn.Linear) -> None:
        self.linear = linear

    def prepare(self, body: torch.Tensor, out: torch.Tensor):  # noqa: D102
        w = self.linear.weight.reshape(self.linear.out_features, body.shape[1], body.shape[2])
        return {"body": Reference(body, 0), "w": Reference(w, 0), "out": out}

    def apply(self, st, p: Patch) -> torch.Tensor:
        """Return the new network output ``(n, n_tasks)``."""
        _, safe, delta = _change(st["body"], p)
        w = st["w"].padded[:, :, safe]  # (T, C, n, W)
        return st["out"][p.ctx] + torch.einsum("ncw,tcnw->nt", delta, w)


class GlobalPoolHead(Head):
    """Global max and mean pooling, concatenated, then an MLP (the residual CNN)."""

    def __init__(self, mlp: nn.Module) -> None:
        self.mlp = mlp

    def prepare(self, body: torch.Tensor, out: torch.Tensor):  # noqa: D102
        neg = torch.full_like(body[:, :, :1], -torch.inf)
        prefix = torch.cat([neg, body.cummax(dim=2).values], dim=2)  # prefix[i] = max(body[:i])
        suffix = torch.cat([body.flip(2).cummax(dim=2).values.flip(2), neg], dim=2)
        return {
            "body": Reference(body, 0),
            "prefix": prefix,
            "suffix": suffix,
            "sum": body.double().sum(dim=2),
        }

    def apply(self, st, p: Patch) -> torch.Tensor:
        """Return the new network output ``(n, n_tasks)``."""
        length = st["body"].length
        inside, _, change = _change(st["body"], p)
        lo = p.start.clamp(0, length)
        hi = (p.start + p.width).clamp(0, length)
        vals = torch.where(inside[:, None, :], p.values, torch.full_like(p.values, -torch.inf))
        new_max = torch.maximum(
            torch.maximum(st["prefix"][p.ctx, :, lo], st["suffix"][p.ctx, :, hi]),
            vals.amax(dim=2),
        )
        new_mean = ((st["sum"][p.ctx] + change.double().sum(dim=2)) / length).to(p.values.dtype)
        return self.mlp(torch.cat([new_max, new_mean], dim=1))


def _pointwise_or_conv(module: nn.Module) -> LocalOp:
    if isinstance(module, nn.Conv1d):
        return ConvOp(module)
    if isinstance(module, nn.ReLU | nn.BatchNorm1d | nn.Dropout | Exp):
        return PointwiseOp(module)
    if isinstance(module, _ResidualBlock):
        return ResidualOp(
            [
                ConvOp(module.conv),
                PointwiseOp(module.norm),
                PointwiseOp(nn.ReLU()),
                PointwiseOp(module.drop),
            ]
        )
    raise NotImplementedError(f"fast ISM does not support layer {type(module).__name__}")


def decompose(net: nn.Module) -> tuple[list[LocalOp], Head]:
    """Split a network into local body layers and a head.

    Raises
    ------
    NotImplementedError
        For architectures the incremental pass does not know (use plain ISM).
    """
    if net.training:
        raise ValueError("fast ISM needs the network in eval mode (net.eval())")
    if isinstance(net, PaggiCNN):
        *body, pool = list(net.body)
        assert isinstance(pool, nn.MaxPool1d)  # PaggiCNN's body ends in its max-pool
        return [_pointwise_or_conv(m) for m in body], PoolLinearHead(pool, net.head)
    if isinstance(net, DragonnConvModel):
        return [_pointwise_or_conv(m) for m in net.body], FlattenLinearHead(net.head)
    if isinstance(net, ResidualDilatedCNN):
        ops = [_pointwise_or_conv(m) for m in net.stem]
        ops += [_pointwise_or_conv(m) for m in net.blocks]
        return ops, GlobalPoolHead(net.head)
    raise NotImplementedError(f"fast ISM does not support {type(net).__name__}")


class Edited:
    """Exact network outputs of ``K`` reference sequences with one run of bases replaced.

    GIA's constructs are null sequences with a motif (a pair, k copies) written into
    ``[start, start + W)``. As for an ISM substitution, the body is recomputed only on that run
    widened by the layers' reach, and the head applied to the result spliced into the reference:
    the same arithmetic as a full pass on the positions that can change.

    ``decomposed``: the network's :func:`decompose`, when the caller holds it already.

    Raises
    ------
    NotImplementedError
        For architectures :func:`decompose` does not know (predict whole sequences instead).
    """

    def __init__(
        self,
        net: nn.Module,
        x: torch.Tensor,
        decomposed: tuple[list[LocalOp], Head] | None = None,
    ) -> None:
        self.ops, self.head = decompose(net) if decomposed is None else decomposed
        self.length = int(x.shape[2])
        self.half = sum(op.half for op in self.ops)  # how far a change reaches in the body
        self.pad = 2 * self.half + 2  # the references' zero padding, enough for any patch
        self.refs, self.body = reference_chain(self.ops, x, self.pad)
        out = self.head.output(self.body)
        self.reference_output = net(x) if out is None else out
        self.state = self.head.prepare(self.body, self.reference_output)

    def __call__(self, values: torch.Tensor, start: int, ctx: torch.Tensor) -> torch.Tensor:
        """Return the outputs ``(n, n_tasks)`` of references ``ctx`` with ``values`` at ``start``.

        ``values[i]`` (``(4, W)``) replaces bases ``[start, start + W)`` of reference
        ``ctx[i]``; the run must lie within the sequence.
        """
        if start < 0 or start + values.shape[2] > self.length:
            raise ValueError(f"bases {start}..{start + values.shape[2]} are outside the sequence")
        first = Patch(values, torch.full((len(values),), start, dtype=torch.int64), ctx)
        return self.head.apply(self.state, propagate(self.ops, self.refs, first))
