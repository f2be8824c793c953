"""Reading the YAML users write (the workflow config, ``--config`` values, model specs) strictly.

PyYAML keeps the last of two equal keys in a mapping without a word, so a block pasted twice, or
a second ``models:`` section, silently replaces the first. Here a repeated key is an error naming
the file and both lines, and a syntax error names the file and line instead of a parser trace.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from mpralens.io.errors import InputError


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a key repeated within one mapping."""

    def construct_mapping(  # noqa: D102 (PyYAML's hook)
        self, node: yaml.MappingNode, deep: bool = False
    ) -> dict[Hashable, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<:`` merges may override
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _DuplicateKeyError(key, seen[key], line)
                    seen[key] = line
                except TypeError:
                    continue  # an unhashable key: PyYAML's own error follows
        return super().construct_mapping(node, deep=deep)


class _DuplicateKeyError(Exception):
    def __init__(self, key: Any, first: int, line: int) -> None:
        super().__init__(key, first, line)
        self.key, self.first, self.line = key, first, line


def load_yaml(path: str | PathLike[str], *, what: str = "file") -> Any:
    """Parse a YAML file, refusing repeated keys, with errors that name the file and line.

    Parameters
    ----------
    path
        The file.
    what
        What the file is, for the message (``"config file"``, ``"model spec"``).

    Returns
    -------
    object
        The document (``None`` for an empty file).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{what} not found", path=path) from exc
    except IsADirectoryError as exc:
        raise InputError(f"{what} is a folder, not a file", path=path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not text (UTF-8)", path=path) from exc
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except _DuplicateKeyError as exc:
        raise InputError(
            f"key {exc.key!r} appears twice in one mapping (first on line {exc.first}); YAML "
            "would keep only the last, silently dropping the first: merge them",
            path=path,
            line=exc.line,
        ) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = exc.context or ""
        if context and exc.context_mark is not None and exc.context_mark is not mark:
            context += f" started on line {exc.context_mark.line + 1},"
        problem = " ".join(str(p) for p in (context, exc.problem) if p)
        if "'\\t'" in problem:
            problem += " (indent with spaces, not tabs)"
        if mark is not None:
            problem += f" (column {mark.column + 1})"
        raise InputError(
            f"{what} is not valid YAML: {problem}",
            path=path,
            line=None if mark is None else mark.line + 1,
        ) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{what} is not valid YAML ({exc})", path=path) from exc


def load_mapping(path: str | PathLike[str], *, what: str) -> dict[str, Any]:
    """:func:`load_yaml` for files whose top level must be a mapping (empty file: ``{}``)."""
    value = load_yaml(path, what=what)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(
            f"a {what} is a YAML mapping (key: value lines), found a {type(value).__name__}",
            path=path,
            line=1,
        )
    return value


def workflow_config(
    files: list[str | PathLike[str]], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Build the workflow config: ``files`` read strictly and merged in order, then ``overrides``.

    Snakemake reads config files itself, leniently, and the nested values of ``--config`` only
    as strings (``models={cnn: {max_epochs: 3}}`` gives ``"3"``); the Snakefile rebuilds the
    config here from the same sources so that both mean what they would in a config file.

    Parameters
    ----------
    files
        Config files (``--configfile``, or the default), later ones overriding earlier ones.
    overrides
        Snakemake's parsed ``--config`` values. String leaves are read again as YAML scalars
        (``"3"`` -> 3, ``"true"`` -> True, ``"null"`` -> None), exactly as a config file would
        read them; mappings merge key by key into the config (a nested override changes one
        value and keeps its siblings), anything else replaces the value (lists included).

    Returns
    -------
    dict
        The merged config, before schema validation and defaults.
    """
    config: dict[str, Any] = {}
    for path in files:
        _merge(config, load_mapping(path, what="config file"), key="")
    _merge(config, _typed(dict(overrides or {}), key=""), key="")
    return config


def _typed(value: Any, *, key: str) -> Any:
    """Read the string leaves of a ``--config`` value as YAML scalars; check its keys."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            dotted = f"{key}.{k}" if key else str(k)
            if isinstance(k, str) and ":" in k:
                raise InputError(
                    f"--config gives the key {k!r}: write a space after the colon "
                    f"({k.replace(':', ': ', 1)}), as YAML needs",
                    key=dotted,
                )
            out[k] = _typed(v, key=dotted)
        return out
    if isinstance(value, list):
        return [_typed(v, key=f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            return value
        return parsed if parsed is None or isinstance(parsed, bool | int | float | str) else value
    return value


def _merge(config: dict[str, Any], new: Mapping[str, Any], *, key: str) -> None:
    """Merge ``new`` into ``config`` in place: mappings key by key, anything else replaced."""
    for k, v in new.items():
        dotted = f"{key}.{k}" if key else str(k)
        old = config.get(k)
        if isinstance(v, Mapping) and isinstance(old, dict):
            _merge(old, v, key=dotted)
        elif isinstance(old, dict) and v is not None and not isinstance(v, Mapping):
            raise InputError(
                f"is a section of settings, but the override gives it the value {v!r}; "
                f"override one of its keys instead, e.g. {k}={{{next(iter(old), 'key')}: ...}}",
                key=dotted,
            )
        else:
            config[k] = copy.deepcopy(v)
