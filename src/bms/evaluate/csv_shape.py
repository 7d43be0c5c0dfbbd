"""The shape of a CSV's lines, checked where pandas would read a malformed file without a word.

Two shapes pandas reads silently into the wrong columns:

* **Data lines longer than the header.** pandas then takes the first fields as the row index,
  and every value lands under its neighbour's name. Most such files end each data line with a
  separator the header lacks (an empty last field: a spreadsheet's or a logger's habit, and
  C-MAPSS' text files, whose lines end in two spaces); those fields are dropped. A data line
  holding a value beyond the header's fields is refused, naming its line:
  :func:`longer_line_error`.
* **A name given to two columns**, as written or once surrounding spaces are taken off (LBNL's
  headers end some names with spaces): pandas renames the second ``name.1``, which the user
  never wrote and cannot tell apart in OUT. Refused: :func:`duplicate_names_error`.

And the separator of a file given without one (:func:`sniff_separator`): French and most
European exports separate fields with ``;`` (their decimal mark is the comma), others with a
tab; read with pandas' ``,`` such a file is one column.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from itertools import islice
from pathlib import Path
from typing import IO

__all__ = [
    "GZIP_MAGIC",
    "SNIFFED_SEPARATORS",
    "duplicate_names_error",
    "header_names",
    "longer_line_error",
    "open_text",
    "sniff_separator",
]

#: The first bytes of a gzip-compressed file (``.csv.gz``, or a compressed export named
#: ``.csv``).
GZIP_MAGIC = b"\x1f\x8b"
#: The separators a file given without one is tried with, the first preferred on a tie.
SNIFFED_SEPARATORS = (",", ";", "\t", "|")
#: Data lines read to check a separator.
SNIFFED_LINES = 20


def open_text(path: Path, encoding: str) -> IO[str]:
    """``path`` opened as text for reading, decompressed when it is gzip-compressed (whatever
    its name), undecodable bytes replaced."""
    with path.open("rb") as file:
        compressed = file.read(2) == GZIP_MAGIC
    if compressed:
        return gzip.open(path, "rt", encoding=encoding, errors="replace", newline="")
    return path.open("r", encoding=encoding, errors="replace", newline="")


def header_names(path: Path, encoding: str, sep: str, skip_lines: int = 0) -> list[str]:
    """The header's fields as written (quotes removed, spaces kept); none for a separator of
    more than one character (a pattern pandas reads, the csv module does not)."""
    if len(sep) != 1:
        return []
    with open_text(path, encoding) as file:
        rows = csv.reader(file, delimiter=sep, skipinitialspace=True)
        header = next(islice(rows, skip_lines, None), [])
    return [field.lstrip("\ufeff") for field in header]


def duplicate_names_error(path: Path, names: list[str]) -> str | None:
    """One line naming a column name written twice (spaces around names ignored), or None."""
    stripped = [name.strip() for name in names]
    counts = Counter(name for name in stripped if name)
    repeated = [name for name, count in counts.items() if count > 1]
    if not repeated:
        return None
    name = repeated[0]
    where = [str(i + 1) for i, written in enumerate(stripped) if written == name]
    return (
        f"{path}: the header names {len(where)} columns {name!r} (columns {', '.join(where)}): "
        "give each column its own name"
    )


def longer_line_error(path: Path, encoding: str, sep: str, skip_lines: int = 0) -> str | None:
    """One line naming the first data line holding a value beyond the header's fields, or None
    (fields beyond the header that are all empty are trailing separators, dropped)."""
    if len(sep) != 1:
        return None
    with open_text(path, encoding) as file:
        reader = csv.reader(file, delimiter=sep, skipinitialspace=True)
        rows = islice(reader, skip_lines, None)
        width = len(next(rows, []))
        for row in rows:
            if len(row) > width and any(field.strip() for field in row[width:]):
                return (
                    f"{path}: line {reader.line_num} holds {len(row)} fields, the header "
                    f"{width}: a value without a column name (a separator inside a value? "
                    "quote it)"
                )
    return None


def sniff_separator(path: Path, encoding: str, skip_lines: int = 0) -> str:
    """The separator of a CSV given without one.

    Of :data:`SNIFFED_SEPARATORS`, the one that splits the header into the most fields, when
    each of the first :data:`SNIFFED_LINES` data lines splits into as many (or one more, empty:
    a trailing separator; a blank line counts for nothing). A decimal comma cannot pass for
    the separator: the header holds none. ``","`` when no separator splits the header (a file
    of one column).
    """
    with open_text(path, encoding) as file:
        lines = list(islice(file, skip_lines, skip_lines + 1 + SNIFFED_LINES))
    if not lines:
        return ","
    lines[0] = lines[0].lstrip("\ufeff")
    best, best_fields = ",", 1
    for sep in SNIFFED_SEPARATORS:
        rows = list(csv.reader(lines, delimiter=sep))
        fields = len(rows[0]) if rows else 0
        consistent = all(
            not row or len(row) == fields or (len(row) == fields + 1 and not row[-1].strip())
            for row in rows[1:]
        )
        if consistent and fields > best_fields:
            best, best_fields = sep, fields
    return best
