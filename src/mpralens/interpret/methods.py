"""Attribution methods on a batch of one-hot windows of a trained network.

Every method maps inputs ``x`` of ``shape=(n, 4, L)`` to attributions of ``shape=(n, T, 4, L)``,
one map per output task:

* ``saliency``: the gradient ``df/dx`` (Simonyan et al. 2014), all four bases;
* ``gradxinput``: the gradient times the input (non-zero at the observed base only);
* ``integrated_gradients``: path-averaged gradient from an all-zero baseline times ``x - 0``
  (Sundararajan et al. 2017), ``ig_steps`` Gauss-Legendre steps: captum's sum, with one forward
  pass shared by the tasks;
* ``smoothgrad``: the gradient averaged over ``smoothgrad_samples`` noisy copies of ``x``
  (Gaussian, standard deviation ``smoothgrad_noise``): captum's NoiseTunnel, with one forward
  pass shared by the tasks;
* ``deepshap``: DeepLIFT's rescale rule averaged over ``n_shuffles`` dinucleotide-shuffled
  references (DeepSHAP; tangermeme's rules, with one forward pass shared by the tasks),
  hypothetical contributions times the input. captum's DeepLift is not used: it mishandles
  max-pooling (captum issue 1276).

``correction`` (Majdandzic et al. 2023) subtracts, at each position, the mean over the four bases
of the gradient-like map (the gradient, the path-averaged gradient, the hypothetical
contributions) before it is multiplied by the input; it removes the off-simplex component of the
gradient that a one-hot input cannot move along.

The per-base score of a map is its value at the observed base (:func:`observed`): the
gradient-times-input convention. For saliency and gradient x input the two coincide on one-hot
inputs (the gradient at the observed base); their 4 x L maps differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from mpralens.interpret.names import DEEPSHAP_ARCHS, GRADIENT_METHODS, TIMES_INPUT
from mpralens.io.errors import InputError
from mpralens.models.cnn.architectures import PaggiCNN


def correct(grad: torch.Tensor) -> torch.Tensor:
    """Subtract the per-position mean over the four bases (Majdandzic et al. 2023)."""
    return grad - grad.mean(dim=-2, keepdim=True)


def _gradients(net: nn.Module, x: torch.Tensor, n_tasks: int) -> list[torch.Tensor]:
    """``df_t/dx`` of every task from one forward pass (one backward pass per task)."""
    x = x.detach().clone().requires_grad_(True)
    out = net(x)
    return [
        torch.autograd.grad(out[:, t].sum(), x, retain_graph=t < n_tasks - 1)[0]
        for t in range(n_tasks)
    ]


def _integrated(net: nn.Module, x: torch.Tensor, n_tasks: int, steps: int) -> list[torch.Tensor]:
    """Path-averaged gradients of every task, from one forward pass along the path.

    The same sum as captum's ``IntegratedGradients(multiply_by_inputs=False)`` with an all-zero
    baseline and ``method="gausslegendre"`` (Gauss-Legendre nodes and weights mapped to [0, 1]),
    which the tests check to 1e-6; captum runs the forward pass once per task, here the tasks
    share it and each gets its own backward pass (a third less work with 4 tasks).
    """
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    path = torch.cat([float(a) * x for a in 0.5 * (nodes + 1)]).requires_grad_(True)
    out = net(path)
    w = torch.as_tensor(0.5 * weights, dtype=x.dtype).view(steps, 1, 1, 1)
    return [
        (
            torch.autograd.grad(out[:, t].sum(), path, retain_graph=t < n_tasks - 1)[0].view(
                steps, *x.shape
            )
            * w
        )
        .sum(dim=0)
        .detach()
        for t in range(n_tasks)
    ]


def _smoothgrad(
    net: nn.Module, x: torch.Tensor, n_tasks: int, samples: int, noise: float, seed: int
) -> list[torch.Tensor]:
    """SmoothGrad of every task from one forward pass over the noisy copies.

    The noise is captum's (``NoiseTunnel(Saliency)`` with ``nt_samples_batch_size = samples``):
    the same ``torch.normal`` draw from torch's global generator seeded with ``seed``, added to
    ``x`` repeated ``samples`` times each; captum reseeded per task draws that same noise for every
    task, so the tasks share the noisy batch and its forward pass, each with its own backward
    pass. The tests check captum's maps per task.
    """
    torch.manual_seed(seed)  # captum draws the noise with torch's global generator
    expanded = (x.shape[0] * samples, *x.shape[1:])
    with torch.no_grad():
        noisy = x.repeat_interleave(samples, dim=0) + torch.normal(
            0,
            torch.tensor(float(noise), device=x.device).repeat(expanded),  # captum's float32 draw
        )
    return [
        g.view(x.shape[0], samples, *x.shape[1:]).sum(dim=1) * 1 / samples  # captum's rounding
        for g in _gradients(net, noisy, n_tasks)
    ]


def shuffled_references(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """``n`` dinucleotide shuffles of each sequence (tangermeme), ``shape=(len(x), n, 4, L)``.

    Positions that are all zero (N, or padding) stay where they are. A sequence with a single
    dinucleotide shuffle (a low-complexity window such as a poly-A run) gets that one shuffle
    ``n`` times, where tangermeme refuses to draw ``n`` identical ones.
    """
    from tangermeme.ersatz import dinucleotide_shuffle

    try:
        return dinucleotide_shuffle(x, n=n, random_state=seed, allow_N=True).to(x.dtype)
    except ValueError:
        parts = []
        for i in range(len(x)):
            try:
                r = dinucleotide_shuffle(x[i : i + 1], n=n, random_state=seed + i, allow_N=True)
            except ValueError:
                one = dinucleotide_shuffle(x[i : i + 1], n=1, random_state=seed, allow_N=True)
                r = one.expand(1, n, *x.shape[1:])
            parts.append(r)
        return torch.cat(parts).to(x.dtype)


# (input, reference) pairs per forward pass: tangermeme's 2048 // 20 pairs, rounded to whole inputs.
DEEPSHAP_PAIRS = 100


class _InputHalf(nn.Module):
    """A convolution of a DeepLIFT batch that passes no gradient back to the reference half.

    The batch holds the inputs, then their references. tangermeme's rules give both halves the
    same multipliers and only the inputs' are kept, so autograd's backward pass through the
    references' convolutions is repeated work.
    """

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        n = len(x) // 2
        return torch.cat([self.conv(x[:n]), self.conv(x[n:].detach())])


class _PaggiInputHalf(nn.Module):
    """Paggi et al.'s CNN (its weights) with :class:`_InputHalf` convolutions.

    Its convolutions all come before its max-pool, whose rule reads the upstream gradient of
    both halves: that gradient comes from the dense layer alone, which still sees both.
    """

    def __init__(self, net: PaggiCNN) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *[_InputHalf(m) if isinstance(m, nn.Conv1d) else m for m in net.body]
        )
        self.head = net.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.head(self.body(x).flatten(1))


def _deepshap(
    net: nn.Module, x: torch.Tensor, references: torch.Tensor, n_tasks: int
) -> list[torch.Tensor]:
    """Hypothetical DeepSHAP contributions of every task, averaged over the references.

    tangermeme's ``deep_lift_shap`` with its own rescale rules (the hooks it registers, the
    max-pool rule included) and its hypothetical contributions, but with one forward pass over a
    batch of (input, reference) pairs shared by the tasks and one backward pass per task over the
    retained graph, as tangermeme's ``pisa`` does for output positions; ``deep_lift_shap`` takes
    one target per call and repeats the forward pass for each. The tests check it equals
    ``deep_lift_shap`` per task.
    """
    import warnings

    from tangermeme.deep_lift_shap import (
        _attributing,
        _build_nonlinear_ops,
        _reset_caches,
        hypothetical_attributions,
    )

    if isinstance(net, PaggiCNN):
        net = _PaggiInputHalf(net)
    n, k = references.shape[:2]
    per = max(1, DEEPSHAP_PAIRS // k)
    out = [torch.empty_like(x) for _ in range(n_tasks)]
    # tangermeme redistributes max-pool gradients with max_unpool, which torch refuses while
    # deterministic algorithms are on (Lightning's deterministic training sets that process-wide);
    # on CPU the operation is deterministic anyway, so switch the check off for this call only.
    # Only where it is on: the switch imports torch._inductor (about 1 s), which a new process
    # (the workflow's attribute job) would otherwise pay for nothing.
    enabled = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    if enabled:
        torch.use_deterministic_algorithms(False)
    try:
        with _attributing(net, x.device, _build_nonlinear_ops()), torch.enable_grad():
            for start in range(0, n, per):
                xs = x[start : start + per]
                m = len(xs)
                pair_x = xs.repeat_interleave(k, dim=0).requires_grad_(True)
                pair_r = references[start : start + m].reshape(m * k, *x.shape[1:])
                net.apply(_reset_caches)
                y = net(torch.cat([pair_x, pair_r]))
                moved = pair_x.detach() - pair_r  # the same for every task
                for t in range(n_tasks):
                    yt = y[:, t]
                    mult = torch.autograd.grad(yt.sum(), pair_x, retain_graph=t < n_tasks - 1)[0]
                    delta = (yt[: m * k] - yt[m * k :]).detach() - (moved * mult).sum(dim=(1, 2))
                    if delta.abs().max() > 1e-3:
                        warnings.warn(
                            f"DeepSHAP convergence deltas up to {delta.abs().max():.3g} (task "
                            f"{t}): a nonlinearity without a DeepLIFT rule is treated as linear",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                    (hyp,) = hypothetical_attributions((mult,), (pair_x.detach(),), (pair_r,))
                    out[t][start : start + m] = hyp.view(m, k, *x.shape[1:]).mean(dim=1)
    finally:
        if enabled:
            torch.use_deterministic_algorithms(True, warn_only=warn_only)
    return out


def check_method(method: str, spec: dict[str, Any]) -> None:
    """Raise one :class:`InputError` naming the model and the method when it cannot be given."""
    arch = spec.get("arch", "?")
    if method not in GRADIENT_METHODS:
        raise InputError(
            f"the {arch} CNN cannot give attribution method {method!r}; it gives "
            f"{', '.join(('ism',) + GRADIENT_METHODS)}",
            key="interpret.methods",
        )
    if method == "deepshap" and arch not in DEEPSHAP_ARCHS:
        raise InputError(
            f"the {arch} CNN cannot give deepshap: DeepLIFT needs every nonlinearity as an "
            f"nn.ReLU module (architectures {', '.join(DEEPSHAP_ARCHS)}); use "
            "integrated_gradients or ism",
            key="interpret.methods",
        )


def attribute(
    net: nn.Module,
    x: torch.Tensor,
    method: str,
    *,
    n_tasks: int,
    correction: bool = False,
    ig_steps: int = 50,
    smoothgrad_samples: int = 25,
    smoothgrad_noise: float = 0.1,
    n_shuffles: int = 20,
    references: torch.Tensor | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Attributions of every task, ``shape=(n, n_tasks, 4, L)`` (float64).

    Parameters
    ----------
    net
        A network in eval mode mapping ``(n, 4, L)`` to ``(n, n_tasks)``.
    x
        One-hot inputs (all-zero columns for N or padding).
    references
        DeepSHAP references ``(n, n_refs, 4, L)``; default ``n_shuffles`` dinucleotide shuffles
        of ``x`` (seeded).
    """
    if method not in GRADIENT_METHODS:
        raise InputError(
            f"unknown attribution method {method!r}; expected one of {', '.join(GRADIENT_METHODS)}",
            key="interpret.methods",
        )
    net = net.eval()
    if method == "deepshap" and references is None:
        references = shuffled_references(x, n_shuffles, seed)
    grads = _gradients(net, x, n_tasks) if method in ("saliency", "gradxinput") else []
    smooth = (
        _smoothgrad(net, x, n_tasks, smoothgrad_samples, smoothgrad_noise, seed)
        if method == "smoothgrad"
        else []
    )
    paths = _integrated(net, x, n_tasks, ig_steps) if method == "integrated_gradients" else []
    shap = _deepshap(net, x, references, n_tasks) if method == "deepshap" else []  # type: ignore[arg-type]
    maps: dict[str, Callable[[int], torch.Tensor]] = {
        "saliency": lambda t: grads[t],
        "gradxinput": lambda t: grads[t],
        "integrated_gradients": lambda t: paths[t],
        "smoothgrad": lambda t: smooth[t],
        "deepshap": lambda t: shap[t],
    }
    out = np.empty((x.shape[0], n_tasks, 4, x.shape[2]))
    for t in range(n_tasks):
        g = maps[method](t)
        if correction:
            g = correct(g)
        if method in TIMES_INPUT:
            g = g * x
        out[:, t] = g.double().numpy()
    return out


def observed(maps: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Per-base score: the map's value at the observed base, ``(n, T, L)``; NaN where x is N."""
    present = x.sum(axis=1) > 0  # (n, L)
    score = (maps * x[:, None, :, :]).sum(axis=2)
    return np.where(present[:, None, :], score, np.nan)
