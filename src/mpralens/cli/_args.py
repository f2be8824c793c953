"""The subcommand registry and the options generated from the settings model.

A subcommand declares its files with argparse (``arguments``) and its settings as one class of
:mod:`mpralens.config.settings` (``settings=``). From that class it gets, with no default
written twice:

* ``--settings JSON``: the whole section as the workflow passes it (``--settings-json`` is the
  older spelling, still accepted);
* one option per field, ``--<field-with-dashes>`` (booleans: ``--x`` / ``--no-x``; lists: several
  values; dicts: a JSON object), each overriding the JSON.

The handler receives the validated settings; a bad value is one error naming the config key.
"""

from __future__ import annotations

import argparse
import json
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from mpralens.config.settings import Settings, build
from mpralens.io.errors import InputError

Handler = Callable[..., None]
AddArguments = Callable[[argparse.ArgumentParser], None]


class Command(typing.NamedTuple):
    """A registered subcommand."""

    handler: Handler
    add_arguments: AddArguments
    help: str
    settings: type[Settings] | None
    key: str | None
    replaced: dict[str, str]
    hidden: tuple[str, ...]


_COMMANDS: dict[str, Command] = {}


def command(
    name: str,
    help: str,
    *,
    arguments: AddArguments | None = None,
    settings: type[Settings] | None = None,
    key: str | None = None,
    replaced: dict[str, str] | None = None,
    hidden: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register a subcommand ``name``.

    Parameters
    ----------
    arguments
        Adds the file arguments (and any option that is not a setting).
    settings, key
        The settings class the handler takes as its second argument and its config key (named
        in errors, e.g. ``models.cnn``).
    replaced
        Options of earlier versions and what replaced them: giving one is an error saying so.
    hidden
        Settings fields that get no option of their own (workflow-level keys such as
        ``ism.models``); ``--settings`` still accepts them.
    """

    def wrap(fn: Handler) -> Handler:
        _COMMANDS[name] = Command(
            fn, arguments or (lambda p: None), help, settings, key, replaced or {}, hidden
        )
        return fn

    return wrap


def add_command(sub: Any, name: str, cmd: Command) -> None:
    """Add subcommand ``name`` to the subparsers ``sub``."""
    p = sub.add_parser(name, help=cmd.help, description=cmd.help)
    cmd.add_arguments(p)
    if cmd.settings is not None:
        add_settings_options(p, cmd.settings, cmd.key, hidden=cmd.hidden)
    for old in cmd.replaced:
        p.add_argument(old, nargs="*", dest=f"_replaced_{old}", help=argparse.SUPPRESS)
    p.set_defaults(_command=name)


def add_settings_options(
    p: argparse.ArgumentParser,
    cls: type[Settings],
    key: str | None,
    *,
    hidden: tuple[str, ...] = (),
) -> None:
    """Add ``--settings JSON`` and one option per field of ``cls`` (default: not given)."""
    g = p.add_argument_group(
        f"settings ({key or cls.__name__}; defaults and meaning in config/README.md)"
    )
    g.add_argument(
        "--settings",
        "--settings-json",
        dest="_settings_json",
        metavar="JSON",
        help="the whole settings section as a JSON object (what the workflow passes)",
    )
    for name, field in cls.model_fields.items():
        if name in hidden:
            continue
        flag = "--" + name.replace("_", "-")
        kwargs = _option(field.annotation)
        default = _shown(field.get_default(call_default_factory=True))
        help_text = f"{field.description or ''} (default: {default})"
        g.add_argument(flag, dest=f"_set_{name}", help=help_text.strip(), **kwargs)


def _shown(value: Any) -> str:
    """Write a default as the command line shows it (argparse treats % specially)."""
    text = json.dumps(value) if isinstance(value, list | dict | bool) or value is None else value
    return str(text).replace("%", "%%")


def _option(annotation: Any) -> dict[str, Any]:
    """Argparse keyword arguments for a field of type ``annotation``."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction, "default": None}
    if origin is Literal:
        return {"choices": list(args), "default": None}
    if origin is list:
        item = args[0] if args else str
        if typing.get_origin(item) is Literal:
            return {"nargs": "*", "choices": list(typing.get_args(item)), "default": None}
        return {"nargs": "*", "type": _scalar(item), "default": None, "metavar": "VALUE"}
    if origin is dict or isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"type": _json_object, "default": None, "metavar": "JSON"}
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        if len(kinds) == 1:
            return {"type": _scalar(kinds[0]), "default": None}
        return {"default": None}  # e.g. ``int | str``: the model converts the text
    return {"type": _scalar(annotation), "default": None}


def _scalar(kind: Any) -> Callable[[str], Any]:
    """Return the argparse type of a scalar field (plain text for the model to convert)."""
    return kind if kind in (int, float) else str


def _json_object(text: str) -> dict[str, Any]:
    """Parse a JSON object option (argparse reports the error with the option's name)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def settings_from_args(cmd: Command, args: argparse.Namespace) -> Settings | None:
    """Defaults, then ``--settings``, then each field option; validated as ``cmd.settings``."""
    for old, new in cmd.replaced.items():
        if getattr(args, f"_replaced_{old}", None) is not None:
            raise InputError(f"option {old} was replaced by {new}")
    if cmd.settings is None:
        return None
    values: dict[str, Any] = {}
    if args._settings_json:
        values = json_object(args._settings_json, what="--settings", key=cmd.key)
    for name in cmd.settings.model_fields:
        given = getattr(args, f"_set_{name}", None)
        if given is not None:
            values[name] = given
    return typing.cast(Settings, build(cmd.settings, values, key=cmd.key))


def add_simulation_outdir(p: argparse.ArgumentParser) -> None:
    """Add ``--outdir``, the folder a simulator writes (new, empty or an earlier simulation's)."""
    p.add_argument(
        "--outdir", required=True, type=Path, help="folder to write: new, empty or a simulation's"
    )


def json_object(text: str, *, what: str, key: str | None = None) -> dict[str, Any]:
    """Parse a JSON object given on the command line, or raise one clear :class:`InputError`."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON ({exc})", key=key) from exc
    if not isinstance(value, dict):
        raise InputError(f"{what} must be a JSON object, got {text!r}", key=key)
    return value


def named_values(items: Sequence[str], *, option: str, form: str) -> dict[str, str]:
    """Parse ``NAME=VALUE`` arguments of ``option``; one without ``=`` or a value is an error."""
    values = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value:
            raise InputError(f"{option} takes {form}, got {item!r}")
        values[name] = value
    return values
