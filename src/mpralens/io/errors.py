"""Input errors that name the file, line or config key at fault.

Every public entry point raises :class:`InputError` for bad user input; the command line turns it
into one line on stderr and a non-zero exit, with no output left behind.
"""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """Bad user input, with where it was found and what was expected.

    Parameters
    ----------
    message
        What is wrong and what was expected.
    path
        The file at fault, if any.
    line
        1-based line number in ``path``, if known.
    key
        Dotted config key at fault, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.key = key
        where = []
        if self.path is not None:
            where.append(self.path if line is None else f"{self.path}:{line}")
        if key is not None:
            where.append(f"config key '{key}'")
        prefix = " ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
