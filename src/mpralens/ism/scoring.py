"""Tiled in-silico mutagenesis scores, plain and fast, for CNNs and k-mer models.

Every scorer returns, for one region, ``delta = f(ref) - f(mut)`` of shape
``(n_windows, window_length, 3, n_tasks)``: each base of each window mutated to each of the three
other bases (in ACGT order). :func:`window_scores` keeps, per base and window, the signed
difference of largest magnitude, and :func:`region_scores` averages a base's windows.

``plain`` runs the model on every mutated window (``3 x 145 x 15 = 6,525`` inputs per Sharpr
region) and is the reference. ``fast`` gives the same numbers with far less work:

* CNNs (:mod:`mpralens.ism.local`): only the positions a mutation can reach are recomputed, and a
  mutation's patch of the last convolutional layer, which depends only on the bases around it, is
  computed once on the region's whole sequence and reused by every window in which that
  neighbourhood lies away from the window's edges; only mutations within ``2R`` bases of a window
  edge (``R`` the body's half-width) get a patch of their own.
* k-mer models: a mutation changes exactly the ``k`` k-mers covering it, so the output changes by
  the difference of their coefficients.

Bases that are N in the reference are not mutated; their score is NaN.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import nn

from mpralens.io.sequences import _LOOKUP
from mpralens.ism.windows import RegionContext

log = logging.getLogger(__name__)

# The three alternatives of each reference base (A, C, G, T), in ACGT order; N uses A's row and is
# masked afterwards.
ALTERNATIVES = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
METHODS = ("fast", "plain")


def _codes(seq: str) -> np.ndarray:
    return _LOOKUP[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)].astype(np.int64)


def _alternatives(codes: np.ndarray) -> np.ndarray:
    return ALTERNATIVES[np.maximum(codes, 0)]


class CNNScorer:
    """ISM of a trained CNN (either input layout).

    Parameters
    ----------
    net, spec
        From :func:`mpralens.models.cnn.network.load_network`.
    method
        ``"fast"`` or ``"plain"``.
    batch_size
        Mutated inputs per forward pass (plain) or patches per batch (fast).
    """

    def __init__(
        self, net: nn.Module, spec: dict[str, Any], method: str = "fast", batch_size: int = 1024
    ) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown ISM method {method!r}; expected one of {METHODS}")
        self.net, self.spec, self.method, self.batch_size = net.eval(), spec, method, batch_size
        self.tasks = list(spec["tasks"])
        self.window_length = int(spec["tile_length"])
        self.positional = spec["layout"] == "positional"
        self.frame_length = int(spec["frame_length"]) if self.positional else None
        self.dtype = next(net.parameters()).dtype
        if method == "fast":
            from mpralens.ism.local import decompose

            try:
                self.ops, self.head = decompose(net)
            except NotImplementedError as exc:
                log.info("%s; scoring with plain ISM (same numbers, slower)", exc)
                self.method = "plain"

    def _windows(self, ctx: RegionContext) -> torch.Tensor:
        """Encode the region's windows as model inputs, ``(K, 4, input_length)``."""
        length = self.window_length
        codes = _codes(ctx.ext)
        k = len(ctx.window_starts)
        width = self.frame_length if self.positional else length
        assert width is not None  # frame_length is set whenever the layout is positional
        place = ctx.frame_offsets if self.positional else np.zeros(k, dtype=np.int64)
        x = torch.zeros((k, 4, width), dtype=self.dtype)
        for i, (ws, o) in enumerate(zip(ctx.window_starts, place, strict=True)):
            c = codes[ws : ws + length]
            ok = np.flatnonzero(c >= 0)
            x[i, torch.from_numpy(c[ok]), torch.from_numpy(ok + o)] = 1.0
        return x

    def _positions(self, ctx: RegionContext) -> np.ndarray:
        """Input position of base 0 of each window."""
        if self.positional:
            return np.asarray(ctx.frame_offsets, dtype=np.int64)
        return np.zeros(len(ctx.window_starts), dtype=np.int64)

    @torch.no_grad()
    def window_deltas(self, ctx: RegionContext) -> np.ndarray:
        """``f(ref) - f(mut)``, ``shape=(n_windows, window_length, 3, n_tasks)``."""
        if len(ctx.window_starts) == 0:
            return np.zeros((0, self.window_length, 3, len(self.tasks)))
        x = self._windows(ctx)
        if self.method == "plain":
            f_ref = self.net(x)
            f_mut = self._plain(ctx, x)
        else:
            f_ref, f_mut = self._fast(ctx, x)
        k, length = x.shape[0], self.window_length
        f_mut = f_mut.reshape(k, length, 3, -1)
        return (f_ref[:, None, None, :] - f_mut).double().numpy()

    def _items(self, ctx: RegionContext):
        """(window, position in window, alternative base) of every mutation, in output order."""
        k, length = len(ctx.window_starts), self.window_length
        win = np.repeat(np.arange(k), length * 3)
        pos = np.tile(np.repeat(np.arange(length), 3), k)
        codes = _codes(ctx.ext)
        alt = _alternatives(codes[ctx.window_starts[win] + pos])[
            np.arange(len(win)), np.tile(np.arange(3), k * length)
        ]
        return win, pos, alt

    def _plain(self, ctx: RegionContext, x: torch.Tensor) -> torch.Tensor:
        win, pos, alt = self._items(ctx)
        col = pos + self._positions(ctx)[win]
        out = []
        for i in range(0, len(win), self.batch_size):
            sl = slice(i, i + self.batch_size)
            xb = x[torch.from_numpy(win[sl])].clone()
            rows = torch.arange(xb.shape[0])
            c = torch.from_numpy(col[sl])
            xb[rows, :, c] = 0.0
            xb[rows, torch.from_numpy(alt[sl]), c] = 1.0
            out.append(self.net(xb))
        return torch.cat(out)

    def _fast(self, ctx: RegionContext, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the reference outputs ``(K, T)`` and every mutation's output."""
        from mpralens.ism.local import Edited, Patch, propagate, reference_chain

        windows = Edited(self.net, x, (self.ops, self.head))
        refs_w, body_w = windows.refs, windows.body
        f_ref, head = windows.reference_output, windows.state
        r, pad, length, batch = windows.half, windows.pad, self.window_length, self.batch_size
        win, pos, alt = self._items(ctx)
        offset = self._positions(ctx)[win]
        in_pos = pos + offset

        def patches(refs, alts: np.ndarray, starts: np.ndarray, ctx_idx: np.ndarray, to):
            """Write last-layer patches of single-base substitutions into ``to``, in batches."""
            for i in range(0, len(alts), batch):
                sl = slice(i, i + batch)
                values = torch.zeros((len(alts[sl]), 4, 1), dtype=self.dtype)
                values[torch.arange(len(alts[sl])), torch.from_numpy(alts[sl]), 0] = 1.0
                first = Patch(values, torch.from_numpy(starts[sl]), torch.from_numpy(ctx_idx[sl]))
                to[sl] = propagate(self.ops, refs, first).values

        # A patch can come from the shared set when every position of it the head reads depends
        # only on bases of the window (not on the zero padding or frame around it).
        read_end = self.head.read_end(body_w.shape[2])
        lo = np.maximum(in_pos - r, 0)
        hi = np.minimum(in_pos + r, read_end - 1)
        interior = (lo - r >= offset) & (hi + r <= offset + length - 1)

        # Shared patches: substitutions of the region's whole available sequence.
        codes = _codes(ctx.ext)
        used = np.zeros(len(codes), dtype=bool)
        used[ctx.window_starts[win[interior]] + pos[interior]] = True
        g = np.repeat(np.flatnonzero(used), 3)
        g_alt = _alternatives(codes[g])[np.arange(len(g)), np.tile(np.arange(3), len(g) // 3)]
        slot_of = np.full((len(codes), 4), -1, dtype=np.int64)
        slot_of[g, g_alt] = np.arange(len(g))
        x_ext = torch.zeros((1, 4, len(codes)), dtype=self.dtype)
        ok = np.flatnonzero(codes >= 0)
        x_ext[0, torch.from_numpy(codes[ok]), torch.from_numpy(ok)] = 1.0
        refs_e, _ = reference_chain(self.ops, x_ext, pad)
        edge = np.flatnonzero(~interior)
        # Patches are position-major in memory (channels innermost), as the convolutions give
        # them.
        values = torch.empty(
            (len(g) + len(edge), 1 + 2 * r, body_w.shape[1]), dtype=self.dtype
        ).transpose(1, 2)
        patches(refs_e, g_alt, g, np.zeros(len(g), dtype=np.int64), values[: len(g)])
        # Window-specific patches for substitutions near a window's edges.
        patches(refs_w, alt[edge], in_pos[edge], win[edge], values[len(g) :])
        slot = np.empty(len(win), dtype=np.int64)
        slot[interior] = slot_of[ctx.window_starts[win[interior]] + pos[interior], alt[interior]]
        slot[edge] = len(g) + np.arange(len(edge))

        starts, ctx_idx = torch.from_numpy(in_pos - r), torch.from_numpy(win)
        slot_t = torch.from_numpy(slot)
        summary = self.head.summarize(values)
        if summary is not None:  # one pass over all items: its tensors are (items, C) at most
            out = self.head.apply_summary(head, summary, slot_t, starts, ctx_idx, values.shape[2])
            return f_ref, out
        out = torch.empty((len(win), f_ref.shape[1]), dtype=self.dtype)
        for i in range(0, len(win), batch):
            sl = slice(i, i + batch)
            out[sl] = self.head.apply(head, Patch(values[slot_t[sl]], starts[sl], ctx_idx[sl]))
        return f_ref, out


class EnsembleScorer:
    """ISM of every member of a CNN ensemble (one :class:`CNNScorer` each).

    :func:`mpralens.ism.run.ism_table` scores each member's map and writes their mean and 95%
    interval. ``window_deltas`` is the members' mean (the ensemble's own deltas).
    """

    def __init__(self, scorers: list[CNNScorer]) -> None:
        self.scorers = scorers
        self.tasks = scorers[0].tasks
        self.window_length = scorers[0].window_length

    def member_deltas(self, ctx: RegionContext) -> list[np.ndarray]:
        """Every member's ``f(ref) - f(mut)`` (as :meth:`CNNScorer.window_deltas`)."""
        return [s.window_deltas(ctx) for s in self.scorers]

    def window_deltas(self, ctx: RegionContext) -> np.ndarray:
        """Return the ensemble's ``f(ref) - f(mut)``: the members' mean."""
        return np.mean(self.member_deltas(ctx), axis=0)


class KmerScorer:
    """ISM of a k-mer model (:class:`mpralens.models.kmer.LoadedKmerModel` or ``KmerModel``)."""

    def __init__(self, model, window_length: int, method: str = "fast") -> None:
        if method not in METHODS:
            raise ValueError(f"unknown ISM method {method!r}; expected one of {METHODS}")
        self.model, self.method, self.window_length = model, method, window_length
        self.tasks = list(model.tasks)
        if hasattr(model, "coefficients"):
            self.coef, self.intercept = model.coefficients()
        else:
            self.coef, self.intercept = model.coef, model.intercept
        self.coef = np.asarray(self.coef, dtype=np.float64)

    def window_deltas(self, ctx: RegionContext) -> np.ndarray:
        """``f(ref) - f(mut)``, ``shape=(n_windows, window_length, 3, n_tasks)``."""
        length = self.window_length
        seqs = [ctx.ext[s : s + length] for s in ctx.window_starts]
        out = np.zeros((len(seqs), length, 3, len(self.tasks)))
        for w, seq in enumerate(seqs):
            out[w] = self._plain(seq) if self.method == "plain" else self._fast(seq)
        return out

    def _plain(self, seq: str) -> np.ndarray:
        length, bases = self.window_length, "ACGT"
        alts = _alternatives(_codes(seq))
        mutants = [seq[:p] + bases[a] + seq[p + 1 :] for p in range(length) for a in alts[p]]
        f_ref = self.model.predict([seq])[0]
        return (f_ref - self.model.predict(mutants)).reshape(length, 3, -1)

    def _fast(self, seq: str) -> np.ndarray:
        k, length = self.model.k, self.window_length
        codes = _codes(seq)
        n_kmers = length - k + 1
        out = np.zeros((length, 3, len(self.tasks)))
        if n_kmers <= 0:
            return out
        # The k-mer starting at j, its code and its N count (k-mers with an N are not counted).
        digits = np.stack([codes[i : i + n_kmers] for i in range(k)], axis=1)  # (n_kmers, k)
        n_count = (digits < 0).sum(axis=1)
        place = 4 ** np.arange(k - 1, -1, -1)
        code = (np.maximum(digits, 0) * place).sum(axis=1)
        # Mutating base i of k-mer j (sequence position j + i) to each alternative a.
        alts = _alternatives(digits)  # (n_kmers, k, 3)
        new_code = (
            code[:, None, None] + (alts - np.maximum(digits, 0)[:, :, None]) * place[None, :, None]
        )
        new_n = (n_count[:, None] - (digits < 0))[:, :, None] > 0
        old = np.where((n_count > 0)[:, None], 0.0, self.coef[:, code].T)  # (n_kmers, T)
        new = np.where(new_n[..., None], 0.0, self.coef[:, new_code].transpose(1, 2, 3, 0))
        pos = np.arange(n_kmers)[:, None] + np.arange(k)[None, :]
        np.add.at(out, pos, old[:, None, None, :] - new)
        return out


def window_scores(deltas: np.ndarray) -> np.ndarray:
    """Per window, base and task: the signed ``delta`` of largest magnitude over the 3 mutations."""
    pick = np.abs(deltas).argmax(axis=2)[:, :, None, :]
    return np.take_along_axis(deltas, pick, axis=2)[:, :, 0, :]


def region_scores(ctx: RegionContext, deltas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean window score of each region base: ``(length, n_tasks)`` and windows per base.

    Bases that are N, and bases no usable window holds, are NaN.
    """
    return average_windows(ctx, window_scores(deltas))


def average_windows(ctx: RegionContext, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over windows of per-window base scores ``(K, window_length, T)``; see above."""
    n_win, length, n_tasks = scores.shape
    codes = _codes(ctx.ext)
    ext_pos = ctx.window_starts[:, None] + np.arange(length)[None, :]
    scores = np.where((codes[ext_pos] < 0)[:, :, None], np.nan, scores)
    rel = ext_pos - ctx.offset
    keep = (rel >= 0) & (rel < ctx.length)
    total = np.zeros((ctx.length, n_tasks))
    count = np.zeros(ctx.length, dtype=np.int64)
    np.add.at(total, rel[keep], scores[keep])
    np.add.at(count, rel[keep], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count[:, None]
    return mean, count
