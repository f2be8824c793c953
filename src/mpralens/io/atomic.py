"""All-or-nothing output: write to temporary siblings, move into place only on success.

A step that fails half-way leaves none of its outputs, so neither a user nor Snakemake mistakes a
partial file for a result.

Output folders follow one rule (:class:`Folder`). mpralens writes into a folder that is new, empty,
or holds its manifest (``.mpralens-outputs.json``: the command and the relative paths of the files
it wrote). In a folder of its own it replaces the files it writes and removes only the files the
old manifest lists that the new run does not write; any other file (a user's notes) is left
untouched. A folder holding files mpralens did not write, or another command's outputs, is refused
before anything is written, so a mistyped ``--outdir`` never costs a user their files.

A killed run leaves its temporaries behind (``.<name>.<8 random characters><suffixes>``, the names
:func:`tempfile.mkstemp` gives); the next run of the same output removes those of that output only.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mpralens.io.errors import InputError

log = logging.getLogger(__name__)

MANIFEST = ".mpralens-outputs.json"
# Snakemake's mtime carrier inside a directory() output: written by the workflow, not a user.
_WORKFLOW_FILES = frozenset({".snakemake_timestamp"})
# The random part of tempfile's names: 8 characters of this alphabet (tempfile's
# _RandomNameSequence), so a stale temporary is matched exactly and nothing broader.
_RANDOM = "[a-z0-9_]{8}"


@dataclass(frozen=True)
class Folder:
    """An output folder of one subcommand, written under the module's rule.

    Parameters
    ----------
    path
        The folder.
    command
        The subcommand whose outputs it holds, recorded in its manifest (``ism-merge`` records
        ``ism``: it writes the same tracks). A folder holding another command's outputs is refused.
    keep
        Relative paths the command writes into the folder itself while it runs (CNN checkpoints
        and training curve, so that a killed run resumes); they stay listed as its own. Claim the
        folder with :func:`claimed_folder` before writing them.
    """

    path: Path
    command: str
    keep: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))


@contextlib.contextmanager
def atomic_outputs(*outputs: str | os.PathLike[str] | Folder) -> Iterator[list[Path]]:
    """Yield temporary paths for ``outputs``; move them into place only if the block succeeds.

    Parameters
    ----------
    *outputs
        Final output files, or :class:`Folder` outputs. Parent directories are created. A file
        output whose path is an existing folder, and a folder that the rule refuses, end in an
        :class:`~mpralens.io.errors.InputError` before anything is written.

    Yields
    ------
    list of Path
        One temporary path per output, in the same directory as its final path (so the final
        rename is atomic) and with the same suffixes (so writers that infer a format from the
        suffix, such as gzip, still work). A file's path does not exist yet; a folder's is an
        empty folder to fill.
    """
    finals = [o.path if isinstance(o, Folder) else Path(o) for o in outputs]
    folders = {i: o for i, o in enumerate(outputs) if isinstance(o, Folder)}
    for i, final in enumerate(finals):
        if i in folders:
            check_folder(folders[i])
        elif final.is_dir():
            raise InputError("is a folder; give the path of a file to write", path=final)
    for final in finals:
        remove_stale_temporaries(final)
    temps: list[Path] = []
    created: list[Path] = []
    try:
        for i, final in enumerate(finals):
            created += _make_parents(final.parent)
            prefix, suffix = _affixes(final)
            if i in folders:
                temps.append(Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=final.parent)))
                continue
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=final.parent)
            os.close(fd)
            os.unlink(name)
            temps.append(Path(name))
        yield temps
        for tmp, final in zip(temps, finals, strict=True):
            if not tmp.exists():
                raise RuntimeError(f"internal error: output {final} was not written")
        # Checked again after the writer ran: the folder may have changed meanwhile.
        owned = {i: _check_merge(f, temps[i]) for i, f in folders.items()}
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        for d in reversed(created):
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    for i, (tmp, final) in enumerate(zip(temps, finals, strict=True)):
        if i in folders:
            _install_folder(folders[i], tmp, owned[i])
        else:
            os.replace(tmp, final)


def check_folder(folder: Folder) -> frozenset[str]:
    """Refuse a folder the rule does not let ``folder.command`` write into; touch nothing.

    Call it first thing in a command that computes for long before it writes, so that a wrong
    folder is refused at once.

    Returns
    -------
    frozenset of str
        Relative paths its manifest lists as the command's own (empty for a new or empty folder).
    """
    path = folder.path
    if not path.exists():
        return frozenset()
    if not path.is_dir():
        raise InputError(
            "exists and is not a folder; give the path of a folder to write", path=path
        )
    manifest = _read_manifest(path)
    if manifest is None:
        foreign = next((f for f in _files(path) if not _ignored(f)), None)
        if foreign is not None:
            raise InputError(
                f"holds files mpralens did not write ({foreign}); refusing to write into it: "
                "choose a new or empty folder",
                path=path,
            )
        return frozenset()
    command, files = manifest
    if command != folder.command:
        raise InputError(
            f"holds the outputs of 'mpralens {command}'; refusing to write the outputs of "
            f"'mpralens {folder.command}' into it: choose a new or empty folder",
            path=path,
        )
    return files


@contextlib.contextmanager
def claimed_folder(folder: Folder) -> Iterator[None]:
    """Own ``folder`` (manifest listing ``folder.keep``) while a command writes into it directly.

    For a command that writes state into its folder as it runs (CNN checkpoints), so that a
    rerun after a kill finds the folder its own. If the block fails and the folder holds nothing
    but the new manifest, it is removed again (and the folder, if this created it).
    """
    path = folder.path
    old = check_folder(folder)
    had_manifest = (path / MANIFEST).exists()
    created = _make_parents(path)
    listed = old | set(folder.keep)
    if not had_manifest or listed != old:
        _write_manifest(path, folder.command, listed)
    try:
        yield
    except BaseException:
        if not had_manifest and not any(f != MANIFEST for f in _files(path)):
            with contextlib.suppress(FileNotFoundError):
                (path / MANIFEST).unlink()
            for d in reversed(created):
                with contextlib.suppress(OSError):
                    d.rmdir()
        raise


def remove_stale_temporaries(final: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries a killed run left for ``final`` (its exact mkstemp names only).

    Returns
    -------
    list of Path
        What was removed.
    """
    final = Path(final)
    prefix, suffix = _affixes(final)
    pattern = re.compile(re.escape(prefix) + _RANDOM + re.escape(suffix))
    if not final.parent.is_dir():
        return []
    stale = [p for p in final.parent.iterdir() if pattern.fullmatch(p.name)]
    for path in stale:
        log.warning("removing %s, left by an interrupted run", path)
        _remove(path)
    return stale


def _affixes(final: Path) -> tuple[str, str]:
    """Prefix and suffix of the temporaries of ``final``."""
    return f".{final.name}.", "".join(final.suffixes) or ".tmp"


def _make_parents(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; return those created, outermost first."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for d in reversed(missing):
        d.mkdir(exist_ok=True)
    return list(reversed(missing))


def _files(folder: Path) -> Iterator[str]:
    """Relative POSIX paths of the files (and links) under ``folder``: top level first, sorted."""
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        rel = here.relative_to(folder)
        links = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames + links):
            yield (rel / name).as_posix()
        dirnames[:] = sorted(d for d in dirnames if d not in links)


def _ignored(rel: str) -> bool:
    """Files that make no folder a user's: Snakemake's marker, a killed manifest write."""
    if rel in _WORKFLOW_FILES:
        return True
    prefix, suffix = _affixes(Path(MANIFEST))
    return re.fullmatch(re.escape(prefix) + _RANDOM + re.escape(suffix), rel) is not None


def _read_manifest(folder: Path) -> tuple[str, frozenset[str]] | None:
    """``(command, files)`` of the folder's manifest, or None when it has none."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text())
        command, files = data["command"], data["files"]
        valid = isinstance(command, str) and isinstance(files, list)
        valid = valid and all(isinstance(f, str) and _inside(f) for f in files)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(
            f"is not a manifest of mpralens outputs ({exc}); refusing to write into its folder: "
            "choose a new or empty folder",
            path=path,
        ) from exc
    if not valid:
        raise InputError(
            "is not a manifest of mpralens outputs (a 'command' and relative 'files' inside the "
            "folder); refusing to write into its folder: choose a new or empty folder",
            path=path,
        )
    return command, frozenset(files)


def _inside(rel: str) -> bool:
    """Whether ``rel`` names a file inside the folder (so removing it never reaches outside)."""
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and rel != MANIFEST


def _write_manifest(folder: Path, command: str, files: set[str] | frozenset[str]) -> None:
    """Write the manifest atomically (a kill leaves the old one or the new one)."""
    target = folder / MANIFEST
    remove_stale_temporaries(target)
    prefix, suffix = _affixes(target)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps({"command": command, "files": sorted(files)}, indent=1) + "\n")
    os.replace(name, target)


def _check_merge(folder: Folder, tmp: Path) -> frozenset[str]:
    """Refuse to install ``tmp`` into ``folder`` where it would replace what is not its own."""
    owned = check_folder(folder)
    final = folder.path
    for rel in _files(tmp):
        target = final / rel
        blocker = next(
            (p for p in PurePosixPath(rel).parents if (final / p).is_file()),
            None,
        )
        if blocker is not None:
            problem = f"a file {blocker} where mpralens writes the folder of {rel}"
        elif target.is_dir() and not target.is_symlink():
            problem = f"a folder {rel} where mpralens writes a file"
        elif rel not in owned and (target.exists() or target.is_symlink()):
            problem = f"{rel}, which mpralens did not write and would replace"
        else:
            continue
        raise InputError(
            f"holds {problem}; refusing to write into it: move it or choose a new or empty folder",
            path=final,
        )
    return owned


def _install_folder(folder: Folder, tmp: Path, owned: frozenset[str]) -> None:
    """Move the files written in ``tmp`` into ``folder`` and update its manifest."""
    final = folder.path
    new = set(_files(tmp))
    if not final.exists():
        _write_manifest(tmp, folder.command, new)
        os.replace(tmp, final)
        return
    listed = new | {k for k in folder.keep if (final / k).is_file()}
    # Listed before anything moves: a kill from here on leaves every file of ours listed, so the
    # next run still owns them (and removes what it no longer writes).
    _write_manifest(final, folder.command, owned | listed)
    for dirpath, dirnames, _ in os.walk(tmp):
        for d in dirnames:
            (final / Path(dirpath).relative_to(tmp) / d).mkdir(exist_ok=True)
    for rel in sorted(new):
        os.replace(tmp / rel, final / rel)
    for rel in sorted(owned - listed):
        target = final / rel
        if target.is_dir() and not target.is_symlink():
            continue
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
        for parent in PurePosixPath(rel).parents:
            if parent == PurePosixPath("."):
                break
            with contextlib.suppress(OSError):  # only folders this emptied go
                (final / parent).rmdir()
    _write_manifest(final, folder.command, listed)
    shutil.rmtree(tmp, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
