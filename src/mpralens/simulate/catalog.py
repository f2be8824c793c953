"""The factor catalogue the tiled-MPRA simulator plants: JASPAR 2024 matrices and their effects.

Every factor is a real position frequency matrix of JASPAR 2024 (CORE vertebrates), read from the
database :mod:`pyjaspar` ships (no network) once per process. A planted site is drawn base by
base from the matrix columns (:func:`sample_sites`), so sites vary the way bound sites do instead
of being one consensus string with random errors.

Effects are in log2 activity units per site, per (cell, promoter). They are chosen so that the
four Sharpr tasks differ the way the real ones do: cell-specific activators (HNF4A in HepG2,
GATA1 in K562), a ubiquitous activator (AP-1, FOS::JUN), a repressor (REST), a promoter-dependent
activator (SP1: strong with minP, weak with SV40P, which carries SP1 sites of its own) and an
erythroid activator whose site (the MARE) is also read, more weakly, in HepG2 (NFE2: strong in
K562; in liver cells NRF2 activates at the same site). NFE2's matrix is the AP-1 core
TGA(C/G)TCA plus one base, as the real MARE contains it, so FOS::JUN and NFE2 sites look alike.
The former catalogue gave NFE2 opposite signs in the two cells; with JASPAR's matrices that made
the AP-1 core activate through FOS::JUN and repress through NFE2 in HepG2, the two cancelled, and
a CNN's ISM map left both near background there (mean |ISM| 0.05-0.07 against 0.04, AUROC of
planted bases 0.78 in HepG2_SV40P): a per-base truth nobody can recover is no truth to grade on.

Decoys (:data:`DECOYS`: CEBPB, FOXA2, NRF1, YY1) are planted in the sequence from their own
matrices but have no effect anywhere: motif presence is not function.

Syntax (:data:`SYNTAX`): GATA1 followed, on the same strand, by SP1 after a spacer of 4-8 bp
cooperates (a bonus on top of the two sites' effects) in the tasks where both activate. GATA-1
and Sp1 interact physically and synergise (Merika & Orkin 1995, Mol Cell Biol 15:2437). The pair
is chosen over GATA1/AP-1 because neither matrix is palindromic: FOS::JUN's TGA(C/G)TCA reads
the same on both strands, so "same orientation" would not be visible in the sequence.

Sampling temperature: a site's base at column ``j`` is drawn from ``p_j ** (1 / T)``
renormalised. ``T = 1`` samples the matrix itself, whose information content (IC, bits against a
uniform background, :func:`information_content`) is only 9.8 bits for GATA1 (7 columns), 10.5
for FOXA2 and 11.4-11.6 for YY1 and FOS::JUN. A 295-bp region offers 2 x 295 strand positions to
each of the ten factors, log2(5900) = 12.5 bits: below that, a region's best background k-mer
often scores like a planted site, and a per-base map could not be graded on the planted ones. The
default ``T = 0.6`` (setting ``pwm_temperature``) is the round value that lifts every factor to at
least 12.5 bits (GATA1 12.6; 1.5-1.85 bits per column, about the 1.5 bits per column of the former
90%-fidelity consensus sites) while keeping each matrix's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

# JASPAR release whose matrices are planted (pyjaspar's default is newer: always pass it).
JASPAR_RELEASE = "JASPAR2024"


@cache
def jaspar_probabilities(matrix_id: str) -> np.ndarray:
    """Return the base probabilities of a JASPAR 2024 matrix, ``shape=(4, length)``, rows ACGT.

    Read from pyjaspar's bundled database once per process (no network).
    """
    from pyjaspar import jaspardb

    motif = jaspardb(release=JASPAR_RELEASE).fetch_motif_by_id(matrix_id)
    if motif is None:
        raise KeyError(f"{matrix_id} is not in {JASPAR_RELEASE}")
    counts = np.array([motif.counts[b] for b in "ACGT"], dtype=np.float64)
    probs = counts / counts.sum(axis=0, keepdims=True)
    probs.setflags(write=False)
    return probs


@cache
def _sharpened(matrix_id: str, temperature: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        logp = np.log(jaspar_probabilities(matrix_id)) / temperature
    q = np.exp(logp - logp.max(axis=0, keepdims=True))
    q /= q.sum(axis=0, keepdims=True)
    q.setflags(write=False)
    return q


@dataclass(frozen=True)
class Factor:
    """A factor whose sites the simulator plants.

    Attributes
    ----------
    name
        Factor name, as written to the truth tables and TF-site BEDs (JASPAR's name, upper case).
    matrix_id
        JASPAR 2024 matrix ID.
    effect
        ``{(cell, promoter): log2 effect per site}``; missing pairs are 0 (decoys: empty).
    """

    name: str
    matrix_id: str
    effect: dict[tuple[str, str], float]

    def effect_in(self, cell: str, promoter: str) -> float:
        """Effect of one site in a task, log2 units (0 when the factor is inactive there)."""
        return self.effect.get((cell, promoter), 0.0)

    @property
    def probs(self) -> np.ndarray:
        """Base probabilities, ``shape=(4, length)``, rows A, C, G, T (+ strand)."""
        return jaspar_probabilities(self.matrix_id)

    @property
    def length(self) -> int:
        """Site length (bp)."""
        return int(self.probs.shape[1])

    @property
    def consensus(self) -> str:
        """Most probable base per column (5'->3', + strand)."""
        return "".join("ACGT"[i] for i in self.probs.argmax(axis=0))

    def sharpened(self, temperature: float) -> np.ndarray:
        """Column probabilities raised to ``1 / temperature`` and renormalised."""
        return _sharpened(self.matrix_id, float(temperature))


# Back-compatible name: every catalogue entry is a planted factor.
PlantedTF = Factor


def _both(cell: str, minp: float, sv40p: float) -> dict[tuple[str, str], float]:
    return {(cell, "minP"): minp, (cell, "SV40P"): sv40p}


CATALOG: tuple[Factor, ...] = (
    Factor("HNF4A", "MA0114.5", _both("HepG2", 1.4, 0.9)),
    Factor("GATA1", "MA0035.5", _both("K562", 1.4, 1.0)),
    Factor("FOS::JUN", "MA0099.4", {**_both("HepG2", 0.9, 0.7), **_both("K562", 0.9, 0.7)}),
    Factor("REST", "MA0138.3", {**_both("HepG2", -1.2, -1.0), **_both("K562", -1.2, -1.0)}),
    Factor("SP1", "MA0079.5", {**_both("HepG2", 0.9, 0.2), **_both("K562", 0.9, 0.2)}),
    Factor("NFE2", "MA0841.2", {**_both("K562", 1.0, 0.8), **_both("HepG2", 0.5, 0.4)}),
)

# Planted in the sequence with no effect; listed as predicted sites in every cell's TF-site BED.
DECOYS: tuple[Factor, ...] = (
    Factor("CEBPB", "MA0466.4", {}),
    Factor("FOXA2", "MA0047.4", {}),
    Factor("NRF1", "MA0506.3", {}),
    Factor("YY1", "MA0095.4", {}),
)
DECOY_NAMES: tuple[str, ...] = tuple(f.name for f in DECOYS)


@dataclass(frozen=True)
class Syntax:
    """A cooperative arrangement of two catalogue factors.

    ``first`` then ``second`` on the same strand, read 5'->3' along that strand, with
    ``spacing[0] <= spacer <= spacing[1]`` bp between the end of ``first`` and the start of
    ``second``. Only that arrangement earns the bonus (setting ``syntax_bonus``).
    """

    first: str
    second: str
    spacing: tuple[int, int]

    def matches(self, a: tuple[str, int, int, str], b: tuple[str, int, int, str]) -> bool:
        """Whether sites ``a`` and ``b`` form the pair, in either order of the arguments.

        A site is ``(factor, offset, length, strand)``.
        """
        for x, y in ((a, b), (b, a)):
            if x[0] != self.first or y[0] != self.second or x[3] != y[3]:
                continue
            spacer = y[1] - (x[1] + x[2]) if x[3] == "+" else x[1] - (y[1] + y[2])
            if self.spacing[0] <= spacer <= self.spacing[1]:
                return True
        return False


SYNTAX = Syntax(first="GATA1", second="SP1", spacing=(4, 8))


def factor_index(name: str) -> int:
    """Index of a planted factor in :data:`CATALOG`."""
    return [f.name for f in CATALOG].index(name)


def sample_sites(
    factor: Factor, temperature: float, rng: np.random.Generator, n: int
) -> np.ndarray:
    """Draw ``n`` sites of ``factor`` (+ strand), each base from its sharpened column.

    Returns base indices (A, C, G, T = 0..3), ``shape=(n, length)``.
    """
    cum = np.cumsum(factor.sharpened(temperature), axis=0)  # (4, length)
    u = rng.random((n, factor.length))
    return (u[:, None, :] > cum[None, :, :]).sum(axis=1).clip(max=3)


def sample_site(
    factor: Factor, temperature: float, rng: np.random.Generator, strand: str = "+"
) -> str:
    """Draw one site of ``factor`` as it reads on the + strand of a site on ``strand``."""
    idx = sample_sites(factor, temperature, rng, 1)[0]
    seq = "".join("ACGT"[i] for i in idx)
    if strand == "-":
        seq = seq.translate(str.maketrans("ACGT", "TGCA"))[::-1]
    return seq


def log_odds(factor: Factor, background: np.ndarray, pseudo: float = 0.01) -> np.ndarray:
    """Log2-odds matrix of ``factor`` against base frequencies ``background`` (A, C, G, T).

    ``pseudo`` mixes the uniform distribution into each column (``(1 - pseudo) p + pseudo / 4``)
    so bases the matrix never saw score finitely.
    """
    p = (1 - pseudo) * factor.probs + pseudo / 4
    return np.log2(p / np.asarray(background, dtype=np.float64)[:, None])


def information_content(
    factor: Factor, temperature: float = 1.0, background: np.ndarray | None = None
) -> float:
    """Return the information content (bits) of the matrix sharpened by ``temperature``.

    The sum over columns of the relative entropy to ``background`` (uniform when omitted).
    """
    bg = np.full(4, 0.25) if background is None else np.asarray(background, dtype=np.float64)
    q = factor.sharpened(temperature)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * np.log2(q / bg[:, None]), 0.0)
    return float(terms.sum())
