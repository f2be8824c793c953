"""The TF catalogue the tiled-MPRA simulator plants: motifs and their effects per task.

Effects are in log2 activity units per site, per (cell, promoter). They are chosen so that the
four Sharpr tasks differ the way the real ones do: cell-specific activators (an HNF4-like motif
active in HepG2, a GATA-like one in K562), a ubiquitous activator (AP-1-like), a repressor
(REST-like), a promoter-dependent activator (SP1-like, strong with minP, weak with SV40P, which
carries SP1 sites of its own) and a factor with opposite signs in the two cells (NFE2-like).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlantedTF:
    """A TF whose sites the simulator plants.

    Attributes
    ----------
    name
        Motif name, as written to the TF-site BEDs.
    consensus
        Consensus site (5'->3', + strand); instances are sampled around it.
    effect
        ``{(cell, promoter): log2 effect per site}``; missing pairs are 0.
    """

    name: str
    consensus: str
    effect: dict[tuple[str, str], float]

    def effect_in(self, cell: str, promoter: str) -> float:
        """Effect of one site in a task, log2 units (0 when the TF is inactive there)."""
        return self.effect.get((cell, promoter), 0.0)


def _both(cell: str, minp: float, sv40p: float) -> dict[tuple[str, str], float]:
    return {(cell, "minP"): minp, (cell, "SV40P"): sv40p}


CATALOG: tuple[PlantedTF, ...] = (
    PlantedTF("HNF4A", "GGTCAAAGGTCA", _both("HepG2", 1.4, 0.9)),
    PlantedTF("GATA1", "AGATAAGGC", _both("K562", 1.4, 1.0)),
    PlantedTF("AP1", "ATGACTCAT", {**_both("HepG2", 0.9, 0.7), **_both("K562", 0.9, 0.7)}),
    PlantedTF("REST", "TCAGCACCATGG", {**_both("HepG2", -1.2, -1.0), **_both("K562", -1.2, -1.0)}),
    PlantedTF("SP1", "GGGGCGGGGC", {**_both("HepG2", 0.9, 0.2), **_both("K562", 0.9, 0.2)}),
    PlantedTF("NFE2", "GCTGAGTCATG", {**_both("K562", 1.0, 0.8), **_both("HepG2", -0.6, -0.5)}),
)

# Names written as decoys into the TF-site BEDs: predicted sites with no planted effect.
DECOY_NAMES: tuple[str, ...] = ("CEBPB", "FOXA2", "NRF1", "YY1")
