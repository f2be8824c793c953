"""mpralens: MPRA counts to models of cis-regulation and base-resolution activity maps."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mpralens")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
