"""The OUT file of ``bms detect`` and ``bms rul``: refused before any work when it cannot be
written, and written with a one-line error when the system refuses it anyway.

Before, a folder given as OUT, or a path under a file, failed with a traceback, and only after
the whole fit (half a minute for ``bms rul`` on C-MAPSS).

OUT is written by Arrow's CSV writer when every column is a number or a text that needs no
quotes (no comma, double quote or line break), else by pandas. The two write the same cells
but for how a float is spelt (Arrow: ``1``, ``1e-7``; pandas: ``1.0``, ``1e-07``: the same
number to any CSV reader); Arrow writes a million rows ten times faster (0.15 s against 1.6 s
for OUT's four columns), a sixth of the whole command's time (``bench_detect_throughput.py``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from bms.errors import SchemaError

__all__ = ["check_out_path", "write_out"]

#: Characters that make a CSV cell need quotes.
_NEEDS_QUOTES = r'[,"\r\n]'


def check_out_path(path: Path, inputs: dict[str, Path] | None = None) -> None:
    """Raise SchemaError naming ``path`` when it is one of the ``inputs`` (``{"TEST":
    test_path}``: written over, the file read was lost), is a folder, lies under a file, or
    lies in a folder this user cannot write in (folders still missing are made when OUT is
    written)."""
    path = Path(path)
    for role, source in (inputs or {}).items():
        if _same_file(path, Path(source)):
            raise SchemaError(
                f"{path}: OUT is the {role} file, which writing OUT would replace; give OUT "
                "another name"
            )
    if path.is_dir():
        raise SchemaError(f"{path}: a folder; give OUT a file name, such as {path / 'out.csv'}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise SchemaError(f"{path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SchemaError(f"{path}: cannot write in {parent} (permission denied)")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (``./x.csv`` and ``x.csv``, a link and its target)."""
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _plain_table(frame: pd.DataFrame) -> pa.Table | None:
    """``frame`` as an Arrow table if every column is a number or a text needing no quotes
    (so that Arrow's unquoted cells are the CSV pandas would write), else None."""
    names = [str(name) for name in frame.columns]
    if len(set(names)) < len(names) or any(re.search(_NEEDS_QUOTES, n) for n in names):
        return None
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None  # a column mixing numbers and texts, say
    for column in table.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            if pc.any(pc.match_substring_regex(column, _NEEDS_QUOTES)).as_py():
                return None
        elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return None  # booleans, dates: pandas spells them as users expect
    return table


#: OUT names ending so are written compressed, as pandas infers from the name (an OUT named
#: ``o.csv.gz`` was plain text, which no reader of that name could open).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() in (".parquet", ".pq"):  # the format bms detect reads too
        frame.to_parquet(path, index=False)
        return
    table = _plain_table(frame)
    if table is None or path.suffix.lower() in COMPRESSED_SUFFIXES:
        frame.to_csv(path, index=False)  # compression inferred from the name
        return
    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
    with open(path, "wb") as sink:
        sink.write((",".join(map(str, frame.columns)) + "\n").encode())
        pa_csv.write_csv(table, sink, write_options=options)


def write_out(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as the CSV ``path`` (folders made as needed; compressed when its name
    ends ``.gz``, ``.bz2``, ``.zip``, ``.xz`` or ``.zst``, Parquet when ``.parquet``), or raise
    SchemaError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(frame, path)
    except OSError as exc:
        raise SchemaError(f"{path}: cannot write OUT: {exc.strerror or exc}") from None
