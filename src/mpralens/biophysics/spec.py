"""Model specs: binding sites, and thermodynamic states or kinetic states and transitions.

A spec is a plain dict (a YAML section of the config); :func:`parse_spec` checks it and returns
dataclasses. Every error names the config key at fault (``biophysics.models.<name>....``).

Thermodynamic example (the lac promoter, Kinney et al. 2010)::

    type: thermodynamic
    length: 75
    sites: {CRP: {start: 1, length: 26}, RNAP: {start: 34, length: 41}}
    interactions: {I: [CRP, RNAP]}
    states:
      free: {bound: [], activity: 0}
      CRP: {bound: [CRP], activity: 0}
      RNAP: {bound: [RNAP], activity: 1}
      CRP_RNAP: {bound: [CRP, RNAP], interactions: [I], activity: 1}

Kinetic example (3-state initiation: unbound -> closed -> open -> unbound by initiation)::

    type: kinetic
    length: 75
    sites: {RNAP: {start: 34, length: 41}}
    states: [unbound, closed, open]
    transitions:
      - {from: unbound, to: closed, rate: RNAP}     # exp(-(theta . x + mu))
      - {from: closed, to: unbound, rate: constant} # a learned constant
      - {from: closed, to: open, rate: constant}
      - {from: open, to: unbound, rate: constant}
    output: [open, unbound]                         # activity = k(open->unbound) * P(open)

Either kind may declare ``bins``, the number of sort-seq bins its data must have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from mpralens.io.errors import InputError


@dataclass(frozen=True)
class Site:
    """A binding site: its energy is ``theta . x[start:start+length] + mu`` (kT)."""

    name: str
    start: int
    length: int


@dataclass(frozen=True)
class State:
    """A thermodynamic state: the sites bound, interactions formed, and its activity."""

    name: str
    bound: tuple[str, ...]
    interactions: tuple[str, ...]
    activity: float | None  # None = learned


@dataclass(frozen=True)
class Transition:
    """A kinetic transition; ``rate`` is a site name (sequence-dependent) or ``"constant"``."""

    source: str
    target: str
    rate: str


@dataclass
class ModelSpec:
    """A parsed model spec (see module docstring)."""

    name: str
    kind: str
    length: int
    sites: list[Site]
    interactions: dict[str, tuple[str, str]] = field(default_factory=dict)
    states: list[State] = field(default_factory=list)
    state_names: list[str] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    output: tuple[str, str] | None = None
    bins: int | None = None


THERMO_KEYS = {"type", "length", "sites", "interactions", "states", "bins"}
KINETIC_KEYS = {"type", "length", "sites", "states", "transitions", "output", "bins"}


def load_spec(path: str | PathLike[str], name: str) -> ModelSpec:
    """Read a spec file (strict YAML: a repeated key is an error) and parse it.

    Errors name the file, and the line (YAML) or the config key (``biophysics.models.<name>...``).
    """
    from mpralens.io.yaml_files import load_mapping

    raw = load_mapping(path, what="model spec")
    try:
        return parse_spec(name, raw)
    except InputError as exc:  # name the spec file as well as the key
        raise InputError(exc.message, path=path, key=exc.key) from exc


def parse_spec(name: str, raw: dict[str, Any]) -> ModelSpec:
    """Check a spec dict and build a :class:`ModelSpec`."""
    key = f"biophysics.models.{name}"
    kind = raw.get("type")
    if kind not in ("thermodynamic", "kinetic"):
        raise InputError("type must be thermodynamic or kinetic", key=f"{key}.type")
    length = raw.get("length")
    if not isinstance(length, int) or length < 1:
        raise InputError("length must be a positive integer (sequence length)", key=f"{key}.length")
    known = THERMO_KEYS if kind == "thermodynamic" else KINETIC_KEYS
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(
            f"unknown key {unknown[0]!r} in a {kind} model; known: {', '.join(sorted(known))}",
            key=f"{key}.{unknown[0]}",
        )
    bins = raw.get("bins")
    if bins is not None and (not isinstance(bins, int) or bins < 2):
        raise InputError(
            "bins (sort-seq bins the model expects) must be an integer >= 2", key=f"{key}.bins"
        )
    sites = []
    for sname, s in (raw.get("sites") or {}).items():
        start, slen = s.get("start"), s.get("length")
        if not isinstance(start, int) or not isinstance(slen, int) or start < 0 or slen < 1:
            raise InputError(
                "a site needs integer start >= 0 and length >= 1", key=f"{key}.sites.{sname}"
            )
        if start + slen > length:
            raise InputError(
                f"site ends at {start + slen}, past the sequence length {length}",
                key=f"{key}.sites.{sname}",
            )
        sites.append(Site(sname, start, slen))
    if not sites:
        raise InputError("a model needs at least one site", key=f"{key}.sites")
    site_names = {s.name for s in sites}
    spec = ModelSpec(name=name, kind=kind, length=length, sites=sites, bins=bins)
    if kind == "thermodynamic":
        _parse_thermo(spec, raw, key, site_names)
    else:
        _parse_kinetic(spec, raw, key, site_names)
    return spec


def _parse_thermo(spec: ModelSpec, raw: dict, key: str, site_names: set[str]) -> None:
    for iname, pair in (raw.get("interactions") or {}).items():
        if not isinstance(pair, list) or len(pair) != 2 or not set(pair) <= site_names:
            raise InputError(
                f"an interaction names two defined sites (defined: {sorted(site_names)})",
                key=f"{key}.interactions.{iname}",
            )
        spec.interactions[iname] = (pair[0], pair[1])
    states = raw.get("states") or {}
    if len(states) < 2:
        raise InputError("a thermodynamic model needs at least two states", key=f"{key}.states")
    for sname, st in states.items():
        bound = tuple(st.get("bound", []))
        for b in bound:
            if b not in site_names:
                raise InputError(
                    f"state binds undefined site {b!r} (defined: {sorted(site_names)})",
                    key=f"{key}.states.{sname}.bound",
                )
        inter = tuple(st.get("interactions", []))
        for i in inter:
            if i not in spec.interactions:
                raise InputError(
                    f"undefined interaction {i!r}", key=f"{key}.states.{sname}.interactions"
                )
            if not set(spec.interactions[i]) <= set(bound):
                raise InputError(
                    f"interaction {i!r} needs both its sites bound",
                    key=f"{key}.states.{sname}.interactions",
                )
        act = st.get("activity", "learned")
        if act != "learned" and not isinstance(act, int | float):
            raise InputError(
                "activity is a number or 'learned'", key=f"{key}.states.{sname}.activity"
            )
        spec.states.append(State(sname, bound, inter, None if act == "learned" else float(act)))
    spec.state_names = [s.name for s in spec.states]


def _parse_kinetic(spec: ModelSpec, raw: dict, key: str, site_names: set[str]) -> None:
    states = raw.get("states") or []
    if len(states) < 2 or len(set(states)) != len(states):
        raise InputError("a kinetic model needs two or more distinct states", key=f"{key}.states")
    spec.state_names = list(states)
    for i, t in enumerate(raw.get("transitions") or []):
        src, dst, rate = t.get("from"), t.get("to"), t.get("rate", "constant")
        if src not in states or dst not in states or src == dst:
            raise InputError(
                f"a transition joins two different defined states (states: {states})",
                key=f"{key}.transitions[{i}]",
            )
        if rate != "constant" and rate not in site_names:
            raise InputError(
                f"rate is 'constant' or a site name (sites: {sorted(site_names)})",
                key=f"{key}.transitions[{i}].rate",
            )
        spec.transitions.append(Transition(src, dst, rate))
    _check_strongly_connected(spec, key)
    out = raw.get("output")
    pairs = [(t.source, t.target) for t in spec.transitions]
    if not isinstance(out, list) or tuple(out) not in pairs:
        raise InputError("output names a transition [from, to] of the model", key=f"{key}.output")
    spec.output = (out[0], out[1])


def _check_strongly_connected(spec: ModelSpec, key: str) -> None:
    """Every state must reach every other (else no unique steady state)."""
    n = spec.state_names
    adj = {s: {t.target for t in spec.transitions if t.source == s} for s in n}
    radj = {s: {t.source for t in spec.transitions if t.target == s} for s in n}
    for graph, what in ((adj, "cannot be left to reach"), (radj, "cannot be reached from")):
        seen, todo = {n[0]}, [n[0]]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        missing = [s for s in n if s not in seen]
        if missing:
            raise InputError(
                f"state {missing[0]!r} has no path: it {what} state {n[0]!r}; the transitions "
                "must connect every state to every other",
                key=f"{key}.states",
            )
