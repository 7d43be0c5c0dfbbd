"""bms: predictive maintenance for building equipment.

Telemetry in, explained maintenance alerts out. See DESIGN in ``docs/`` and the README.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bms")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
