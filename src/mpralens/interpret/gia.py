"""Global importance analysis (GIA; Koo, Majdandzic, Ploenzke, Anand & Paul 2021, PLoS Comp Biol).

A hypothesis about what a model learned (a motif activates, more at one end of the tile, a pair
cooperates at some spacing) is tested by embedding the motif(s) in **null sequences** that keep
the library's composition but lose its sites, and averaging the change of the prediction:

``effect = mean_i [ f(null_i with the motif) - f(null_i) ]``

with a bootstrap interval over the null sequences (percentile, ``n_boot`` resamples; the same
seeded resamples for every row, so rows are comparable).

Null sequences (:func:`null_sequences`): ``shuffle`` = each chosen test tile dinucleotide-
shuffled (tangermeme's shuffle, seeded: keeps GC and dinucleotide content, destroys sites);
``profile`` = each position's base drawn from the test tiles' per-position base frequencies
(keeps positional composition, not dinucleotides). :func:`null_shift` reports how the nulls
differ from the real tiles (mean and SD of the predictions per task, GC).

Strands: every construct (one motif, a pair, k copies) is embedded as written and as its reverse
complement at the same place, and the two predictions are averaged (``orientation`` ``both``
for single motifs). A model that reads a site on one strand only is then not credited with half
an effect at random, and the simulator plants sites on either strand with the same effect.

Analyses (the ``analysis`` column of ``gia.tsv``; ``position`` is always the 0-based start of the
first motif in the tile; empty cells = not applicable):

* ``marginal``: each motif with its centre at the tile centre; ``spacing`` empty.
* ``position``: each motif at starts ``0, step, 2 step, ...`` (and the last start);
  ``spacing`` empty.
* ``spacing``: a pair ``A+B``, spacer ``s`` bp between them (end of the first to start of the
  second), the first motif where the pair with the largest spacer is centred; ``orientation``
  ``same`` (A then B on one strand, ``motifs`` ``A+B``; B then A is ``motifs`` ``B+A``),
  ``convergent`` (A on +, B on -: the two point at each other) or ``divergent`` (A on -, B on
  +). With the construct averaged over both strands these four are every arrangement of two
  motifs.
* ``cooperativity``: the same rows as ``spacing`` with effect ``f(pair) - f(A alone) - f(B alone)
  + f(null)`` (each single at its place and strand in the pair): the pair minus the sum of the
  singles, per null sequence, then averaged and bootstrapped.
* ``number``: 1..k copies of a motif, the tile cut into k equal parts with a copy centred in each;
  ``motifs`` lists every copy (``GATA1+GATA1+GATA1`` = 3 copies), ``position`` the starts
  separated by ``;``; ``spacing`` empty.

Models: an mpralens CNN checkpoint of the tile layout, or the k-mer model (``.npz``; sequences
are decoded to strings and scored exactly); :func:`load_predictor`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError

GIA_COLUMNS = [
    "analysis",
    "motifs",
    "task",
    "position",
    "spacing",
    "orientation",
    "effect",
    "ci_low",
    "ci_high",
]
ANALYSES = ("marginal", "position", "spacing", "number")
# Orientations of a pair (see the module docstring).
PAIR_ORIENTATIONS = ("same", "convergent", "divergent")
NULL_SHIFT_COLUMNS = ["sequences", "task", "n", "mean", "sd", "gc"]
JASPAR_ID = re.compile(r"^MA\d{4}\.\d+$")
_COMPLEMENT = str.maketrans("ACGT", "TGCA")


def revcomp(seq: str) -> str:
    """Reverse complement of an A/C/G/T string."""
    return seq.translate(_COMPLEMENT)[::-1]


# ----------------------------------------------------------------------------- motifs


@dataclass(frozen=True)
class Motif:
    """A motif to embed: its name (the ``motifs`` column) and its + strand sequence."""

    name: str
    sequence: str


def jaspar_consensus(matrix_id: str) -> str:
    """Consensus (most probable base per column) of a JASPAR 2024 matrix, from pyjaspar offline."""
    import warnings

    from mpralens.simulate.catalog import jaspar_probabilities

    try:
        with warnings.catch_warnings():  # pyjaspar warns, then returns None, for unknown IDs
            warnings.simplefilter("ignore")
            probs = jaspar_probabilities(matrix_id)
    except KeyError:
        raise InputError(f"{matrix_id} is not a JASPAR 2024 matrix ID") from None
    return "".join("ACGT"[i] for i in probs.argmax(axis=0))


def resolve_motif(spec: str, *, name: str | None = None, key: str | None = None) -> Motif:
    """Turn ``NAME=VALUE`` (or ``VALUE``, or ``name`` + ``spec``) into a :class:`Motif`.

    ``VALUE`` is a JASPAR 2024 matrix ID (its consensus), a factor of the simulator's catalogue
    (its consensus) or an A/C/G/T string (upper or lower case).

    Raises
    ------
    InputError
        Empty, or a string with letters other than A, C, G, T (naming them).
    """
    from mpralens.simulate.catalog import CATALOG, DECOYS

    value = spec
    if name is None:
        name, sep, rest = spec.partition("=")
        value = rest if sep else spec
        name = name.strip() if sep else None
    value = value.strip()
    if not value:
        raise InputError(f"motif {spec!r} is empty", key=key)
    factors = {f.name: f for f in CATALOG + DECOYS}
    if JASPAR_ID.match(value):
        seq = jaspar_consensus(value)
    elif value in factors:
        seq = factors[value].consensus
    else:
        seq = value.upper()
        bad = sorted(set(seq) - set("ACGT"))
        if bad:
            raise InputError(
                f"motif {name or value!r} holds {', '.join(bad)}: give an A/C/G/T consensus, a "
                "JASPAR 2024 matrix ID (MA0035.5) or a catalogue factor name",
                key=key,
            )
    return Motif(name or value, seq)


# ----------------------------------------------------------------------------- models


EditPredictor = Callable[[np.ndarray, int, np.ndarray], np.ndarray]


@dataclass
class Predictor:
    """A trained model as a function of one-hot tiles ``(n, 4, length)`` -> ``(n, n_tasks)``."""

    tasks: list[str]
    length: int | None  # None: any length (the k-mer model)
    predict: Callable[[np.ndarray], np.ndarray]
    batch_size: int = 1024
    # Given reference sequences, a function predicting them with one run of bases replaced:
    # (values (n, 4, W), start, reference index (n,)) -> (n, n_tasks). None: whole sequences.
    edits: Callable[[np.ndarray], EditPredictor | None] | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Predict ``x`` in batches, ``(n, n_tasks)`` float64."""
        out = [
            np.asarray(self.predict(x[i : i + self.batch_size]), dtype=np.float64)
            for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, len(self.tasks)))


def decode(x: np.ndarray) -> list[str]:
    """One-hot ``(n, 4, L)`` back to strings (a column of zeros reads ``N``)."""
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    idx = np.where(x.max(axis=1) > 0, x.argmax(axis=1), 4)
    return [letters[row].tobytes().decode("ascii") for row in idx]


def load_predictor(model: str | PathLike[str], *, batch_size: int = 1024) -> Predictor:
    """Load a CNN checkpoint (``.ckpt``, tile layout) or a k-mer model (``.npz``).

    Raises
    ------
    InputError
        Not loadable, a suffix mpralens does not write, or a CNN of the positional layout (its
        tiles sit at offsets of a frame that null sequences do not have).
    """
    path = str(model)
    if path.endswith(".npz"):
        from mpralens.models.kmer import load_kmer_model

        km = load_kmer_model(model)
        return Predictor(
            list(km.tasks), None, lambda x: km.predict(decode(x)), batch_size=batch_size
        )
    if not path.endswith(".ckpt"):
        raise InputError(
            "GIA takes an mpralens CNN checkpoint (.ckpt) or k-mer model (.npz)", path=model
        )
    from mpralens.models.cnn.network import load_network

    net, spec = load_network(model)
    return network_predictor(net, spec, batch_size=batch_size, path=model)


def network_predictor(
    net: Any, spec: dict[str, Any], *, batch_size: int = 1024, path: Any = None
) -> Predictor:
    """Wrap a loaded CNN and its spec (tile layout) as a :class:`Predictor`."""
    import torch

    from mpralens.models.cnn.network import predict_array

    if spec["layout"] != "tile":
        raise InputError(
            f"the model takes its tiles placed in a {spec['frame_length']}-bp frame "
            f"({spec['layout']} layout); GIA's null sequences have no place in it: use a "
            "tile-layout model",
            path=path,
        )
    net.eval()
    dtype = next(net.parameters()).dtype

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return predict_array(net, np.ascontiguousarray(x, dtype=np.uint8), batch_size)

    def edits(reference: np.ndarray) -> EditPredictor | None:
        """Return the CNN's exact incremental pass (mpralens.ism.local.Edited), if it has one."""
        from mpralens.ism.local import Edited

        try:
            with torch.inference_mode():
                edited = Edited(net, torch.from_numpy(reference).to(dtype))
        except NotImplementedError:
            return None  # an ensemble, or a strand-averaging network: whole sequences

        def predict(values: np.ndarray, start: int, ctx: np.ndarray) -> np.ndarray:
            out = []
            with torch.inference_mode():
                for i in range(0, len(values), batch_size):
                    v = torch.from_numpy(values[i : i + batch_size]).to(dtype)
                    c = torch.from_numpy(ctx[i : i + batch_size])
                    out.append(edited(v, start, c).double().numpy())
            return np.concatenate(out) if out else np.zeros((0, len(spec["tasks"])))

        return predict

    return Predictor(
        list(spec["tasks"]), int(spec["tile_length"]), run, batch_size=batch_size, edits=edits
    )


# ----------------------------------------------------------------------------- null sequences


def one_hot(seqs: Sequence[str]) -> np.ndarray:
    """A/C/G/T strings of one length -> ``uint8`` one-hot ``(n, 4, L)`` (other letters: zeros)."""
    from mpralens.io.sequences import _LOOKUP

    codes = np.stack([_LOOKUP[np.frombuffer(s.encode("ascii"), dtype=np.uint8)] for s in seqs])
    x = np.zeros((len(seqs), 4, codes.shape[1]), dtype=np.uint8)
    n, pos = np.nonzero(codes >= 0)
    x[n, codes[n, pos], pos] = 1
    return x


def null_sequences(
    tiles: Sequence[str], n: int, *, method: str = "shuffle", seed: int = 0
) -> np.ndarray:
    """``n`` null sequences from ``tiles`` (one length, A/C/G/T only), ``uint8 (n, 4, L)``.

    ``shuffle``: ``n`` tiles drawn without replacement (with, when there are fewer), each
    dinucleotide-shuffled once (tangermeme, ``random_state=seed``). ``profile``: each position's
    base drawn independently from the per-position base frequencies of all ``tiles``.
    """
    if not len(tiles):
        raise InputError("no tiles to draw null sequences from")
    lengths = {len(t) for t in tiles}
    if len(lengths) != 1:
        raise InputError(f"tiles of several lengths ({sorted(lengths)[:3]}...): GIA needs one")
    rng = np.random.default_rng(seed)
    real = one_hot(tiles)
    if method == "profile":
        freq = real.mean(axis=0, dtype=np.float64)  # (4, L)
        cum = np.cumsum(freq, axis=0)
        u = rng.random((n, real.shape[2]))
        base = (u[:, None, :] > cum[None, :, :]).sum(axis=1).clip(max=3)
        out = np.zeros((n, 4, real.shape[2]), dtype=np.uint8)
        out[np.arange(n)[:, None], base, np.arange(real.shape[2])[None, :]] = 1
        return out
    if method != "shuffle":
        raise InputError(f"unknown null {method!r}; expected shuffle or profile", key="gia.null")
    import torch
    from tangermeme.ersatz import dinucleotide_shuffle

    idx = rng.choice(len(tiles), size=n, replace=len(tiles) < n)
    chosen = torch.from_numpy(real[idx].astype(np.int8))
    shuffled = dinucleotide_shuffle(chosen, n=1, random_state=seed)[:, 0]
    return shuffled.numpy().astype(np.uint8)


def gc_fraction(x: np.ndarray) -> np.ndarray:
    """GC fraction of each one-hot sequence."""
    return x[:, 1:3].sum(axis=(1, 2)) / np.maximum(x.sum(axis=(1, 2)), 1)


def null_shift(
    predictor: Predictor,
    real: np.ndarray,
    null: np.ndarray,
    *,
    method: str = "shuffle",
    null_predictions: np.ndarray | None = None,
) -> pd.DataFrame:
    """Mean and SD of the predictions per task, and mean GC, of the real tiles and the nulls.

    ``sequences`` is ``real`` or the null's ``method`` (``shuffle``, ``profile``).
    ``null_predictions``: the nulls' predictions where they are known (:attr:`GIA.base`), so
    that they are not computed twice.
    """
    rows = []
    real_predictions = predictor(real)
    if null_predictions is None:
        null_predictions = predictor(null)
    for label, x, pred in (
        ("real", real, real_predictions),
        (method, null, null_predictions),
    ):
        gc = float(gc_fraction(x).mean())
        for j, task in enumerate(predictor.tasks):
            rows.append(
                {
                    "sequences": label,
                    "task": task,
                    "n": len(x),
                    "mean": float(pred[:, j].mean()),
                    "sd": float(pred[:, j].std(ddof=1)) if len(x) > 1 else float("nan"),
                    "gc": gc,
                }
            )
    return pd.DataFrame(rows, columns=NULL_SHIFT_COLUMNS)


# ----------------------------------------------------------------------------- the analysis


def embed(x: np.ndarray, placements: Sequence[tuple[str, int]]) -> np.ndarray:
    """Return a copy of one-hot ``x`` with each ``(sequence, start)`` written in.

    tangermeme.ersatz.substitute, motif by motif.
    """
    import torch
    from tangermeme.ersatz import substitute

    out = torch.from_numpy(x.astype(np.int8))
    for seq, start in placements:
        out = substitute(out, seq, start=int(start))
    return out.numpy().astype(np.uint8)


def flip(placements: Sequence[tuple[str, int]], length: int) -> list[tuple[str, int]]:
    """Return the reverse complement of a construct, at the same place in a tile of ``length``."""
    lo = min(s for _, s in placements)
    hi = max(s + len(q) for q, s in placements)
    # Mirror within the construct's own span so that it occupies the same bases.
    return [(revcomp(q), lo + hi - (s + len(q))) for q, s in placements]


class GIA:
    """Embed constructs in fixed null sequences; effects with bootstrap intervals.

    Parameters
    ----------
    predictor
        The model (:func:`load_predictor`).
    null
        One-hot null sequences ``(n, 4, L)``.
    n_boot, ci_level, seed
        Percentile bootstrap over the null sequences: ``n_boot`` resamples drawn once from
        ``seed`` and shared by every row.
    """

    def __init__(
        self,
        predictor: Predictor,
        null: np.ndarray,
        *,
        n_boot: int = 1000,
        ci_level: float = 0.95,
        seed: int = 0,
    ) -> None:
        if predictor.length is not None and null.shape[2] != predictor.length:
            raise InputError(
                f"the tiles are {null.shape[2]} bp; the model takes {predictor.length}-bp tiles"
            )
        self.predictor, self.null = predictor, null
        self.length = int(null.shape[2])
        self.tasks = list(predictor.tasks)
        self.base = predictor(null)
        # Constructs change a run of bases of the nulls: a CNN recomputes only what that reaches.
        self.edited = predictor.edits(null) if predictor.edits is not None else None
        rng = np.random.default_rng(seed)
        self.resamples = rng.integers(0, len(null), size=(n_boot, len(null)))
        self.alpha = (1 - ci_level) / 2
        self._cache: dict[tuple, np.ndarray] = {}

    def check_fits(self, placements: Sequence[tuple[str, int]], what: str) -> None:
        """Refuse a construct that does not fit in the tile (one clear message)."""
        hi = max(s + len(q) for q, s in placements)
        lo = min(s for _, s in placements)
        if lo < 0 or hi > self.length:
            raise InputError(
                f"{what} needs {hi - lo} bp (bases {lo}..{hi}); the tiles are {self.length} bp"
            )

    def construct(self, placements: Sequence[tuple[str, int]]) -> np.ndarray:
        """Predictions with the construct, averaged over its two strands, ``(n, T)``.

        Kept per construct: the spacing analysis asks for the same singles again.
        """
        key = tuple((q, int(s)) for q, s in placements)
        if key not in self._cache:
            both = np.concatenate(
                [embed(self.null, placements), embed(self.null, flip(placements, self.length))]
            )
            if self.edited is None:
                pred = self.predictor(both)
            else:  # both strands occupy the same bases [lo, hi)
                lo = min(s for _, s in placements)
                hi = max(s + len(q) for q, s in placements)
                ctx = np.tile(np.arange(len(self.null)), 2)
                pred = self.edited(np.ascontiguousarray(both[:, :, lo:hi]), lo, ctx)
            self._cache[key] = (pred[: len(self.null)] + pred[len(self.null) :]) / 2
        return self._cache[key]

    def summarise(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean over null sequences of ``d (n, T)`` and its bootstrap interval, per task."""
        boots = d[self.resamples].mean(axis=1)  # (n_boot, T)
        lo = np.quantile(boots, self.alpha, axis=0)
        hi = np.quantile(boots, 1 - self.alpha, axis=0)
        return d.mean(axis=0), lo, hi

    def rows(self, d: np.ndarray, **fields: Any) -> list[dict[str, Any]]:
        """One output row per task for per-sequence differences ``d``."""
        mean, lo, hi = self.summarise(d)
        return [
            {
                **{"position": "", "spacing": "", "orientation": "", **fields},
                "task": task,
                "effect": float(mean[j]),
                "ci_low": float(lo[j]),
                "ci_high": float(hi[j]),
            }
            for j, task in enumerate(self.tasks)
        ]

    def effect(self, placements: Sequence[tuple[str, int]]) -> np.ndarray:
        """Per-sequence effect of a construct, ``(n, T)``."""
        return self.construct(placements) - self.base

    def centre(self, width: int) -> int:
        """Start that centres a construct of ``width`` bp in the tile."""
        return (self.length - width) // 2

    def marginal(self, motifs: Sequence[Motif]) -> list[dict[str, Any]]:
        """Each motif at the tile centre, both strands averaged."""
        out = []
        for m in motifs:
            start = self.centre(len(m.sequence))
            self.check_fits([(m.sequence, start)], f"motif {m.name!r}")
            d = self.effect([(m.sequence, start)])
            out += self.rows(
                d, analysis="marginal", motifs=m.name, position=start, orientation="both"
            )
        return out

    def position(
        self, motifs: Sequence[Motif], step: int = 10, positions: Sequence[int] | None = None
    ) -> list[dict[str, Any]]:
        """Each motif at starts ``0, step, ...`` up to the last start (or at ``positions``)."""
        out = []
        for m in motifs:
            last = self.length - len(m.sequence)
            self.check_fits([(m.sequence, 0)], f"motif {m.name!r}")
            starts = (
                sorted(set(range(0, last + 1, step)) | {last})
                if positions is None
                else list(positions)
            )
            for s in starts:
                self.check_fits([(m.sequence, s)], f"motif {m.name!r} at position {s}")
                d = self.effect([(m.sequence, s)])
                out += self.rows(
                    d, analysis="position", motifs=m.name, position=int(s), orientation="both"
                )
        return out

    def pair_placements(
        self, a: Motif, b: Motif, spacer: int, orientation: str, start: int | None = None
    ) -> tuple[str, list[tuple[str, int]]]:
        """Return the label and placements of a pair, ``a`` first in the tile.

        ``a`` starts at ``start``; by default the pair is centred in the tile.
        """
        sa, sb = a.sequence, b.sequence
        if orientation == "convergent":
            sb = revcomp(sb)
        elif orientation == "divergent":
            sa = revcomp(sa)
        elif orientation != "same":
            raise ValueError(orientation)
        if start is None:
            start = self.centre(len(sa) + spacer + len(sb))
        return f"{a.name}+{b.name}", [(sa, start), (sb, start + len(sa) + spacer)]

    def spacing(
        self, a: Motif, b: Motif, spacings: Sequence[int] = tuple(range(21))
    ) -> list[dict[str, Any]]:
        """Pair effect and cooperativity against the spacer, for every arrangement.

        The first motif stays where the pair with the largest spacer is centred; the second
        moves away from it (its single is then predicted once per spacer, the first's once).
        """
        out: list[dict[str, Any]] = []
        arrangements = [(a, b, "same"), (b, a, "same"), (a, b, "convergent"), (a, b, "divergent")]
        widest = max(spacings, default=0)
        for first, second, orient in arrangements:
            start = self.centre(len(first.sequence) + widest + len(second.sequence))
            for s in spacings:
                label, places = self.pair_placements(first, second, int(s), orient, start)
                self.check_fits(places, f"the pair {label} with spacer {s}")
                pair = self.construct(places)
                one = self.construct(places[:1])
                two = self.construct(places[1:])
                fields = {
                    "motifs": label,
                    "position": places[0][1],
                    "spacing": int(s),
                    "orientation": orient,
                }
                out += self.rows(pair - self.base, analysis="spacing", **fields)
                out += self.rows(pair - one - two + self.base, analysis="cooperativity", **fields)
        return out

    def number(
        self, motifs: Sequence[Motif], copies: Sequence[int] = (1, 2, 3, 4)
    ) -> list[dict[str, Any]]:
        """1..k copies of each motif, one centred in each of k equal parts of the tile."""
        out = []
        for m in motifs:
            w = len(m.sequence)
            for k in copies:
                part = self.length / k
                starts = [int(round(part * (i + 0.5) - w / 2)) for i in range(int(k))]
                places = [(m.sequence, s) for s in starts]
                self.check_fits(places, f"{k} copies of motif {m.name!r}")
                if any(s2 < s1 + w for s1, s2 in zip(starts, starts[1:], strict=False)):
                    raise InputError(
                        f"{k} copies of the {w}-bp motif {m.name!r} overlap in a "
                        f"{self.length}-bp tile: ask for fewer copies"
                    )
                d = self.effect(places)
                label = "+".join([m.name] * int(k))
                where = ";".join(map(str, starts))
                out += self.rows(
                    d, analysis="number", motifs=label, position=where, orientation="both"
                )
        return out


def run_gia(
    gia: GIA,
    motifs: Sequence[Motif],
    analyses: Sequence[str],
    *,
    pair: tuple[Motif, Motif] | None = None,
    position_step: int = 10,
    positions: Sequence[int] | None = None,
    spacings: Sequence[int] = tuple(range(21)),
    copies: Sequence[int] = (1, 2, 3, 4),
) -> pd.DataFrame:
    """Every requested analysis, as the rows of ``gia.tsv`` (:data:`GIA_COLUMNS`)."""
    rows: list[dict[str, Any]] = []
    for analysis in analyses:
        if analysis == "marginal":
            rows += gia.marginal(motifs)
        elif analysis == "position":
            rows += gia.position(motifs, position_step, positions)
        elif analysis == "spacing":
            if pair is None:
                raise InputError("the spacing analysis needs a pair of motifs", key="gia.pair")
            rows += gia.spacing(pair[0], pair[1], spacings)
        elif analysis == "number":
            rows += gia.number(motifs, copies)
        else:
            raise InputError(
                f"unknown analysis {analysis!r}; expected one of {', '.join(ANALYSES)}",
                key="gia.analyses",
            )
    return pd.DataFrame(rows, columns=GIA_COLUMNS)


def check_motif_lengths(motifs: Sequence[Motif], length: int) -> None:
    """Refuse a motif longer than the tile before anything is computed."""
    for m in motifs:
        if len(m.sequence) > length:
            raise InputError(f"motif {m.name!r} is {len(m.sequence)} bp; the tiles are {length} bp")


# ----------------------------------------------------------------------------- hypothesis files


def read_hypothesis(path: str | PathLike[str]) -> Any:
    """Read a YAML hypothesis file (:class:`mpralens.config.settings.GIAHypothesis`).

    Raises
    ------
    InputError
        Not YAML, not a mapping, an unknown key or a bad value (naming the file and key).
    """
    from pathlib import Path

    import yaml
    from pydantic import ValidationError

    from mpralens.config.settings import GIAHypothesis, error_message

    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"not valid YAML ({getattr(exc, 'problem', exc)})",
            path=path,
            line=mark.line + 1 if mark is not None else None,
        ) from None
    if not isinstance(data, dict):
        raise InputError("a hypothesis file is a mapping (motifs:, analyses:, ...)", path=path)
    try:
        return GIAHypothesis.model_validate(data)
    except ValidationError as exc:
        err = error_message(exc)
        raise InputError(err.message, path=path, key=err.key) from None
