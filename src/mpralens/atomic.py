"""All-or-nothing output: write to temporary siblings, rename into place only on success.

A step that fails half-way leaves none of its outputs, so neither a user nor Snakemake mistakes a
partial file for a result.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_outputs(*paths: str | os.PathLike[str]) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; move them into place only if the block succeeds.

    Parameters
    ----------
    *paths
        Final output paths (files or directories). Parent directories are created.

    Yields
    ------
    list of Path
        One temporary path per output, in the same directory as its final path (so the final
        rename is atomic) and with the same suffixes (so writers that infer a format from the
        suffix, such as gzip, still work).
    """
    finals = [Path(p) for p in paths]
    temps: list[Path] = []
    created_dirs: list[Path] = []
    try:
        for final in finals:
            if not final.parent.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                created_dirs.append(final.parent)
            fd, name = tempfile.mkstemp(
                prefix=f".{final.name}.", suffix="".join(final.suffixes) or ".tmp", dir=final.parent
            )
            os.close(fd)
            os.unlink(name)
            temps.append(Path(name))
        yield temps
    except BaseException:
        for tmp in temps:
            _remove(tmp)
        for d in reversed(created_dirs):
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    for tmp, final in zip(temps, finals, strict=True):
        if not tmp.exists():
            raise RuntimeError(f"internal error: output {final} was not written")
    for tmp, final in zip(temps, finals, strict=True):
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
