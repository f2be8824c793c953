"""The ``mpralens`` command line: one subcommand per workflow rule, files in, files out.

Every subcommand writes its outputs all-or-nothing; bad input ends with one line
``mpralens: error: <file:line or config key>: <what was expected>`` and exit status 2.
A rule ``x_y`` runs ``mpralens x-y``; its module here is the stage's name.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mpralens import __version__
from mpralens.cli._allocator import keep_freed_memory
from mpralens.cli._args import _COMMANDS, add_command, settings_from_args
from mpralens.io.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser."""
    from mpralens.cli import (  # noqa: F401  (importing registers the subcommands)
        biophysics,
        data,
        evaluate,
        gia,
        igvf,
        interpret,
        ism,
        models,
        motifs,
        simulate,
    )

    parser = argparse.ArgumentParser(prog="mpralens", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mpralens {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<step>")
    for name, cmd in sorted(_COMMANDS.items()):
        add_command(sub, name, cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    keep_freed_memory()  # before the step allocates: see mpralens.cli._allocator
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    cmd = _COMMANDS[args._command]
    try:
        settings = settings_from_args(cmd, args)
        if settings is None:
            cmd.handler(args)
        else:
            cmd.handler(args, settings)
    except InputError as exc:
        print(f"mpralens: error: {exc}", file=sys.stderr)
        return 2
    return 0
