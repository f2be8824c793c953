"""The ``mpralens`` command line: one subcommand per workflow step, files in, files out.

Every subcommand writes its outputs all-or-nothing; bad input ends with one line
``mpralens: error: <file:line or config key>: <what was expected>`` and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mpralens.io.errors import InputError

T = TypeVar("T")
Handler = Callable[[argparse.Namespace], None]
_COMMANDS: dict[str, tuple[Handler, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help: str):
    """Register a subcommand: decorate its handler; the handler's ``add_arguments`` fills flags."""

    def wrap(fn: Handler) -> Handler:
        _COMMANDS[name] = (fn, fn.add_arguments, help)  # type: ignore[attr-defined]
        return fn

    return wrap


def arguments(add: Callable[[argparse.ArgumentParser], None]):
    """Attach an argument-adding function to a handler."""

    def wrap(fn: Handler) -> Handler:
        fn.add_arguments = add  # type: ignore[attr-defined]
        return fn

    return wrap


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


def build_settings(cls: type[T], values: dict[str, Any], *, what: str, key: str | None = None) -> T:
    """Instantiate the settings dataclass ``cls``; unknown or invalid values are one InputError."""
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InputError(f"unknown {what} setting(s) {unknown}; known: {', '.join(known)}", key=key)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid {what} settings: {exc}", key=key) from exc
