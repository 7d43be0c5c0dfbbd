"""The OUT file of ``bms detect`` and ``bms rul``: refused before any work when it cannot be
written, and written with a one-line error when the system refuses it anyway.

Before, a folder given as OUT, or a path under a file, failed with a traceback, and only after
the whole fit (half a minute for ``bms rul`` on C-MAPSS).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from bms.errors import SchemaError

__all__ = ["check_out_path", "write_out"]


def check_out_path(path: Path) -> None:
    """Raise SchemaError naming ``path`` when it is a folder, lies under a file, or lies in a
    folder this user cannot write in (folders still missing are made when OUT is written)."""
    path = Path(path)
    if path.is_dir():
        raise SchemaError(f"{path}: a folder; give OUT a file name, such as {path / 'out.csv'}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SchemaError(f"{path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SchemaError(f"{path}: cannot write in {parent} (permission denied)")


def write_out(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as the CSV ``path`` (folders made as needed), or raise SchemaError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise SchemaError(f"{path}: cannot write OUT: {exc.strerror or exc}") from None
