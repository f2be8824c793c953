"""Downloads checked against a SHA-256 checksum, written all or nothing.

Any URL ``urllib`` opens works (``https://``, ``ftp://``, ``file://``). The checksum is of the
bytes as downloaded. With no checksum configured the file is kept and its checksum printed, to be
pasted into the config; a wrong checksum stops with an error and leaves nothing behind.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import shutil
import urllib.error
import urllib.request
from os import PathLike

from mpralens.io.atomic import atomic_outputs
from mpralens.io.errors import InputError

log = logging.getLogger(__name__)
CHUNK = 1 << 20


def sha256_of(path: str | PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    url: str,
    dest: str | PathLike[str],
    *,
    sha256: str | None = None,
    gunzip: bool = False,
    key: str | None = None,
) -> str:
    """Download ``url`` to ``dest``, verify it, optionally decompress it; return its SHA-256.

    Raises
    ------
    InputError
        If the URL cannot be read or the checksum differs (naming ``key``, the config entry).
    """
    with atomic_outputs(dest) as (tmp,):
        raw = tmp.with_name(tmp.name + ".download")
        try:
            with urllib.request.urlopen(url, timeout=60) as src, open(raw, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            got = sha256_of(raw)
            if sha256 is not None and got != sha256.lower():
                raise InputError(
                    f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; the "
                    "file changed upstream or the download is corrupt",
                    key=key,
                )
            if gunzip:
                try:
                    with gzip.open(raw, "rb") as src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out, CHUNK)
                except (OSError, EOFError) as exc:
                    raise InputError(f"{url} is not a readable gzip file ({exc})", key=key) from exc
            else:
                raw.rename(tmp)
        except InputError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise InputError(f"cannot download {url} ({exc})", key=key) from exc
        finally:
            raw.unlink(missing_ok=True)
    if sha256 is None:
        log.warning(
            "no sha256 configured for %s; the download has sha256 %s: add it to the config",
            key or url,
            got,
        )
    return got
