"""First-layer convolutional filters as motifs (Koo & Ploenzke 2020's activation-based alignment).

For a trained CNN, the first ``nn.Conv1d`` taking 4 input channels (in module order; for an
ensemble, its first member's) is the first layer. Each of its filters is read on a set of tiles
(the test split in the workflow):

1. the filter's activation at every full window of every tile: the convolution without padding,
   then the elementwise modules that follow it up to and including its activation
   (``BatchNorm1d`` in eval mode, then ``ReLU``, ``SiLU`` or the exponential), as the network
   computes it; with no such activation, the convolution's output;
2. the filter's **sites** are the windows whose activation exceeds ``threshold`` x the filter's
   largest activation over all tiles (Koo & Ploenzke's 0.5); a filter whose largest activation
   is not positive has no site;
3. the sites' one-hot subsequences are summed into base counts per position, ``pseudocount`` is
   added to each count and each position normalised: the position frequency matrix (PFM);
4. its information content (bits against a uniform background) and its Tomtom matches against
   JASPAR 2024 CORE vertebrates (:mod:`mpralens.interpret.tomtom`).
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from mpralens.io.errors import InputError
from mpralens.io.motifs import Motif, information_content

FILTER_COLUMNS = [
    "filter",
    "n_sites",
    "information_content",
    "best_match",
    "best_match_id",
    "q_value",
    "significant_matches",
]
# Modules that act on each value alone (after the first convolution, before its activation).
_ELEMENTWISE = (nn.BatchNorm1d, nn.Identity, nn.Dropout)
_ACTIVATIONS = (nn.ReLU, nn.SiLU, nn.GELU, nn.ELU, nn.LeakyReLU, nn.Softplus, nn.Tanh, nn.Sigmoid)


def first_layer(net: nn.Module, name: str = "model") -> tuple[nn.Conv1d, list[nn.Module]]:
    """Return the first ``nn.Conv1d`` with 4 input channels and the elementwise modules after it.

    Raises
    ------
    InputError
        The network has no such convolution (naming the model).
    """
    modules = list(net.modules())
    for i, m in enumerate(modules):
        if isinstance(m, nn.Conv1d) and m.in_channels == 4:
            after: list[nn.Module] = []
            for nxt in modules[i + 1 :]:
                if isinstance(nxt, _ELEMENTWISE):
                    after.append(nxt)
                    continue
                if isinstance(nxt, _ACTIVATIONS) or type(nxt).__name__ == "Exp":
                    after.append(nxt)
                break
            return m, after
    raise InputError(
        f"{name} ({type(net).__name__}) has no first-layer convolution over the 4 bases "
        "(an nn.Conv1d with 4 input channels), so it has no filters to read as motifs",
    )


def activations(conv: nn.Conv1d, after: list[nn.Module], x: torch.Tensor) -> np.ndarray:
    """Activation of every filter at every full window, ``shape=(n, filters, L - w + 1)``."""
    with torch.inference_mode():
        z = nn.functional.conv1d(
            x.to(conv.weight.dtype),
            conv.weight,
            conv.bias,
            stride=conv.stride,
            padding=0,
            dilation=conv.dilation,
            groups=conv.groups,
        )
        for m in after:
            z = m.eval()(z)
    return z.double().numpy()


def align(
    x: np.ndarray,
    acts: np.ndarray,
    width: int,
    *,
    threshold: float = 0.5,
    pseudocount: float = 0.5,
    dilation: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Count the bases of every filter's above-threshold windows into PFMs.

    Parameters
    ----------
    x
        One-hot tiles ``(n, 4, L)`` (all-zero columns for N).
    acts
        :func:`activations` ``(n, F, L - (width - 1) * dilation)``.

    Returns
    -------
    n_sites, pfms
        Sites per filter ``(F,)``; PFMs ``(F, width, 4)`` (counts + pseudocount, normalised per
        position; uniform for a filter with no site and no pseudocount).
    """
    n_filters = acts.shape[1]
    counts = np.zeros((n_filters, width, 4))
    n_sites = np.zeros(n_filters, dtype=np.int64)
    offsets = np.arange(width) * dilation
    xt = np.ascontiguousarray(x.transpose(0, 2, 1))  # (n, L, 4)
    for f in range(n_filters):
        a = acts[:, f, :]
        top = a.max() if a.size else 0.0
        if not top > 0:
            continue
        seq_i, pos = np.nonzero(a > threshold * top)
        n_sites[f] = len(seq_i)
        # (sites, width, 4) one-hot subsequences, summed.
        counts[f] = xt[seq_i[:, None], pos[:, None] + offsets[None, :]].sum(axis=0)
    c = counts + pseudocount
    total = c.sum(axis=2, keepdims=True)
    pfms = np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.25)
    return n_sites, pfms


def one_hot_tiles(sequences: list[str]) -> torch.Tensor:
    """One-hot ``(n, 4, L)`` of equal-length sequences (N and other letters: all-zero)."""
    from mpralens.io.sequences import _LOOKUP

    if not sequences:
        return torch.zeros((0, 4, 0))
    length = max(len(s) for s in sequences)
    x = np.zeros((len(sequences), 4, length), dtype=np.float32)
    for i, s in enumerate(sequences):
        codes = _LOOKUP[np.frombuffer(s.upper().encode("ascii"), dtype=np.uint8)].astype(int)
        ok = np.flatnonzero(codes >= 0)
        x[i, codes[ok], ok] = 1.0
    return torch.from_numpy(x)


def filter_motifs(
    net: nn.Module,
    sequences: list[str],
    *,
    threshold: float = 0.5,
    pseudocount: float = 0.5,
    name: str = "model",
    batch_size: int = 512,
) -> tuple[list[Motif], np.ndarray]:
    """Return the PFM of every first-layer filter and its number of sites on ``sequences``.

    Raises
    ------
    InputError
        The network has no first-layer convolution over 4 channels; no sequence is long enough
        for the filter.
    """
    # An ensemble (mpralens.models.cnn.network.Ensemble) keeps its networks in ``members``; read
    # its first member (not importing that module: it imports Lightning, seconds per process).
    members = getattr(net, "members", None)
    first = members[0] if isinstance(members, nn.ModuleList) and len(members) else net
    conv, after = first_layer(first, name)
    width = int(conv.kernel_size[0])
    dilation = int(conv.dilation[0])
    span = (width - 1) * dilation + 1
    x = one_hot_tiles(sequences)
    if x.shape[0] == 0 or x.shape[2] < span:
        raise InputError(
            f"{name}: no tile of at least {span} bp (the first-layer filter width) to align the "
            "filters on"
        )
    acts = np.concatenate(
        [activations(conv, after, x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )
    n_sites, pfms = align(
        x.numpy(), acts, width, threshold=threshold, pseudocount=pseudocount, dilation=dilation
    )
    motifs = [Motif(f"filter{f}", f"filter{f}", pfms[f]) for f in range(len(pfms))]
    return motifs, n_sites


def filter_table(
    motifs: list[Motif],
    n_sites: np.ndarray,
    *,
    q_cutoff: float = 0.05,
    min_information_content: float = 0.0,
    targets: list[Motif] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``filters.tsv`` (:data:`FILTER_COLUMNS`) and every Tomtom match of the filters.

    Matches are against ``targets`` (default JASPAR 2024 CORE vertebrates). Filters without a
    site, or whose PFM holds fewer than ``min_information_content`` bits, get no match (empty
    names, NaN q-value).
    """
    from mpralens.interpret.tomtom import match, summarise

    names = [m.motif_id for m in motifs]
    with_sites = [
        m
        for m, n in zip(motifs, n_sites, strict=True)
        if n > 0 and information_content(m.probs) >= min_information_content
    ]
    matches = match(
        [m.probs for m in with_sites], [m.motif_id for m in with_sites], targets=targets
    )
    summary = summarise(matches, names, q_cutoff)
    table = pd.DataFrame(
        {
            "filter": names,
            "n_sites": n_sites.astype(np.int64),
            "information_content": [round(information_content(m.probs), 4) for m in motifs],
            "best_match": summary["best_match"].to_numpy(),
            "best_match_id": summary["best_match_id"].to_numpy(),
            "q_value": summary["q_value"].to_numpy(),
            "significant_matches": summary["significant_matches"].to_numpy(),
        }
    )
    return table[FILTER_COLUMNS], matches


def load_cnn(path: str | PathLike[str]) -> tuple[nn.Module, dict[str, Any]]:
    """Load a CNN checkpoint; a k-mer model (``.npz``) is one error naming it and the reason."""
    if str(path).endswith(".npz"):
        raise InputError(
            "the k-mer model has no first-layer convolution, so it has no filters to read as "
            "motifs (filters need a CNN checkpoint, .ckpt)",
            path=path,
        )
    from mpralens.models.cnn.network import load_network

    return load_network(path)
