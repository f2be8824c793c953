"""The key tables of ``config/README.md``, generated from the settings model.

Each table sits between ``<!-- keys: NAME -->`` and ``<!-- end keys -->``; ``python -m
mpralens.config.reference`` rewrites them in place, and a test fails when the committed file
differs from what the model gives, so the documentation cannot drift from the defaults.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mpralens.config import settings as s

# Table name -> (settings class, key prefix).
TABLES: dict[str, tuple[type[BaseModel], str]] = {
    "top": (s.Config, ""),
    "motifs": (s.MotifSettings, "motifs."),
    "biophysics": (s.BiophysicsSettings, "biophysics."),
    "gia": (s.GIASettings, "gia."),
    "dataset": (s.TiledDataset, ""),
    "simulate": (s.TiledSimulation, "datasets.<name>.simulate."),
    "sortseq-simulate": (s.SortSeqSimulation, "biophysics.datasets.<name>.simulate."),
    "igvf-dataset": (s.IGVFDataset, ""),
    "igvf-simulate": (s.IGVFSimulation, "datasets.<name>.simulate."),
}
# Sections documented in their own table (not expanded where they appear).
OWN_TABLE = (
    s.MotifSettings,
    s.BiophysicsSettings,
    s.GIASettings,
    s.TiledDataset,
    s.TiledSimulation,
    s.SortSeqSimulation,
)
BEGIN = re.compile(r"<!-- keys: ([\w-]+) -->\n.*?<!-- end keys -->", re.S)


def _shown(value: Any) -> str:
    if value is PydanticUndefined:
        return "(required)"
    if value is None:
        return "-"
    if isinstance(value, BaseModel):
        return "{}"
    return "`" + json.dumps(value).replace("|", "\\|") + "`"


def _section(annotation: Any) -> type[BaseModel] | None:
    """Return the settings class of a nested section (not a dict of them, not a union)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str]]:
    """``(key, default, meaning)`` for every field of ``model``, sections expanded in place."""
    out = []
    for name, field in model.model_fields.items():
        nested = _section(field.annotation)
        if nested is not None and nested not in OWN_TABLE:
            out += rows(nested, f"{prefix}{name}.")
            continue
        if nested is not None:
            default, meaning = (
                "{}",
                f"{(nested.__doc__ or '').splitlines()[0]} See its table below.",
            )
        else:
            default = _shown(field.get_default(call_default_factory=True))
            meaning = field.description or ""
        out.append((f"`{prefix}{name}`", default, meaning.replace("|", "\\|")))
    return out


def table(name: str) -> str:
    """Return the Markdown table ``name`` of :data:`TABLES`, between its markers."""
    model, prefix = TABLES[name]
    lines = [f"<!-- keys: {name} -->", "| key | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| {k} | {d} | {m} |" for k, d, m in rows(model, prefix)]
    return "\n".join(lines + ["<!-- end keys -->"])


def render(text: str) -> str:
    """Return ``text`` with every marked table regenerated."""
    return BEGIN.sub(lambda m: table(m.group(1)), text)


def main(argv: list[str] | None = None) -> int:
    """Rewrite the tables of the README given (default ``config/README.md``) in place."""
    path = Path((argv if argv is not None else sys.argv[1:] or ["config/README.md"])[0])
    path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
