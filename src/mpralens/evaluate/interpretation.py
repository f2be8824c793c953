"""What the interpretation outputs recover of the simulator's truth: ``truth_recovery.tsv``.

Inputs (any may be missing; its metrics are then NaN): ``filters.tsv`` (first-layer filters
matched to JASPAR), ``patterns.tsv`` (TF-MoDISco patterns matched to JASPAR), ``gia.tsv``
(:mod:`mpralens.interpret.gia`), and the truth folder of a simulated data set
(``factors.tsv``, ``syntax.json``, ``position.json``).

Metrics (:data:`METRICS`, one row each, columns ``metric`` and ``value``):

* ``filters_planted_matched`` / ``filters_decoys_matched``: catalogue factors (planted / decoy)
  whose JASPAR matrix ID is in ``significant_matches`` (Tomtom q < 0.05) of any filter;
  ``n_planted``, ``n_decoys``: how many there are.
* ``modisco_planted_matched`` / ``modisco_decoys_matched``: the same over the MoDISco patterns
  of every task and source.
* ``gia_marginal_pearson``: Pearson correlation, over factors x tasks, of the GIA marginal
  effect (motif at the tile centre, both strands) with the planted per-site effect
  (``factors.tsv``, ``effect_<task>``). Decoys are included with their planted effect 0 (a
  model that gives a decoy an effect is penalised). At the tile centre the simulator's position
  weight is ``offset + slope * 0.5`` = 1, so the planted effect is the effect of a centred site
  before saturation.
* ``gia_coop_peak_spacing``: the spacer (bp) of the largest GIA cooperativity of the planted
  pair in its planted arrangement (``first+second``, same strand), averaged over the tasks
  where the bonus applies (``syntax.json`` ``tasks``); ``planted_coop_spacing_min`` / ``_max``:
  the planted range.
* ``position_effect_sign_agrees``: 1 when ``sum over (factor, task) of slope x effect`` has the
  sign of the simulator's position slope (``position.json``), else 0; ``slope`` = least-squares
  slope of the GIA position effect against the motif start, over planted factors with a
  non-zero effect in the task (weighting by the effect makes repressors count with the sign
  flipped and strong factors more).
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from mpralens.io.errors import InputError

METRICS = (
    "filters_planted_matched",
    "filters_decoys_matched",
    "n_planted",
    "n_decoys",
    "modisco_planted_matched",
    "modisco_decoys_matched",
    "gia_marginal_pearson",
    "gia_coop_peak_spacing",
    "planted_coop_spacing_min",
    "planted_coop_spacing_max",
    "position_effect_sign_agrees",
)


def read_factors(truth: str | PathLike[str]) -> pd.DataFrame:
    """Read the catalogue of a simulated data set (``truth/factors.tsv``)."""
    path = Path(truth) / "factors.tsv"
    if not path.is_file():
        raise InputError(
            "file not found: a simulated data set's truth folder holds factors.tsv", path=path
        )
    df = pd.read_csv(path, sep="\t")
    missing = {"factor", "matrix_id", "kind", "consensus"} - set(df.columns)
    if missing:
        raise InputError(f"missing columns {', '.join(sorted(missing))}", path=path)
    return df


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def matched(table_path: str | PathLike[str] | None, matrix_ids: set[str]) -> set[str] | None:
    """Matrix IDs of ``matrix_ids`` listed in ``significant_matches`` of any row (None: no file)."""
    if table_path is None or not Path(table_path).is_file():
        return None
    df = pd.read_csv(table_path, sep="\t", dtype=str, keep_default_na=False)
    if "significant_matches" not in df.columns:
        raise InputError("no column significant_matches", path=table_path)
    listed = {
        m.strip() for cell in df["significant_matches"] for m in str(cell).split(";") if m.strip()
    }
    return listed & matrix_ids


def marginal_pearson(gia: pd.DataFrame, factors: pd.DataFrame) -> float:
    """Pearson r of GIA marginal effects with planted effects over factors x tasks (decoys in)."""
    marg = gia[gia["analysis"] == "marginal"]
    effects = factors.melt(
        id_vars=["factor"],
        value_vars=[c for c in factors.columns if c.startswith("effect_")],
        var_name="task",
        value_name="planted",
    )
    effects["task"] = effects["task"].str.removeprefix("effect_")
    m = marg.merge(effects, left_on=["motifs", "task"], right_on=["factor", "task"])
    if len(m) < 3 or m["planted"].std() == 0 or m["effect"].std() == 0:
        return float("nan")
    return float(np.corrcoef(m["effect"], m["planted"])[0, 1])


def coop_peak(gia: pd.DataFrame, syntax: dict) -> float:
    """Spacer of the largest cooperativity of the planted arrangement (mean over bonus tasks)."""
    rows = gia[
        (gia["analysis"] == "cooperativity")
        & (gia["motifs"] == f"{syntax['first']}+{syntax['second']}")
        & (gia["orientation"] == "same")
        & (gia["task"].isin(syntax.get("tasks") or gia["task"].unique()))
    ]
    if rows.empty:
        return float("nan")
    by = rows.assign(spacing=pd.to_numeric(rows["spacing"])).groupby("spacing")["effect"].mean()
    return float(by.idxmax())


def position_sign(gia: pd.DataFrame, factors: pd.DataFrame, position: dict) -> float:
    """1.0 when the effect-weighted GIA position slopes have the truth's sign, else 0.0."""
    rows = gia[gia["analysis"] == "position"]
    planted = factors[factors["kind"] == "planted"].set_index("factor")
    total, n = 0.0, 0
    for (motif, task), g in rows.groupby(["motifs", "task"]):
        col = f"effect_{task}"
        if motif not in planted.index or col not in planted.columns:
            continue
        effect = float(planted.loc[motif, col])
        if effect == 0 or len(g) < 2:
            continue
        slope = np.polyfit(pd.to_numeric(g["position"]), g["effect"], 1)[0]
        total += slope * effect
        n += 1
    if n == 0:
        return float("nan")
    return float(np.sign(total) == np.sign(position["slope"]))


def truth_recovery(
    truth: str | PathLike[str],
    *,
    gia: str | PathLike[str] | None = None,
    filters: str | PathLike[str] | None = None,
    patterns: str | PathLike[str] | None = None,
) -> pd.DataFrame:
    """Every metric of :data:`METRICS` (NaN where its input is missing)."""
    truth = Path(truth)
    factors = read_factors(truth)
    syntax = _read_json(truth / "syntax.json")
    position = _read_json(truth / "position.json")
    planted = set(factors.loc[factors["kind"] == "planted", "matrix_id"])
    decoys = set(factors.loc[factors["kind"] == "decoy", "matrix_id"])
    nan = float("nan")
    values: dict[str, float] = dict.fromkeys(METRICS, nan)
    values["n_planted"], values["n_decoys"] = len(planted), len(decoys)
    for prefix, path in (("filters", filters), ("modisco", patterns)):
        hits = matched(path, planted | decoys)
        if hits is not None:
            values[f"{prefix}_planted_matched"] = len(hits & planted)
            values[f"{prefix}_decoys_matched"] = len(hits & decoys)
    if syntax is not None:
        values["planted_coop_spacing_min"] = float(syntax["spacing_bp"][0])
        values["planted_coop_spacing_max"] = float(syntax["spacing_bp"][1])
    if gia is not None:
        if not Path(gia).is_file():
            raise InputError("file not found", path=gia)
        table = pd.read_csv(gia, sep="\t", dtype={"motifs": str, "task": str})
        values["gia_marginal_pearson"] = marginal_pearson(table, factors)
        if syntax is not None:
            values["gia_coop_peak_spacing"] = coop_peak(table, syntax)
        if position is not None:
            values["position_effect_sign_agrees"] = position_sign(table, factors, position)
    return pd.DataFrame({"metric": list(METRICS), "value": [values[m] for m in METRICS]})
