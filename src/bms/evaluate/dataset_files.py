"""The public data sets' files (C-MAPSS, SKAB, IMS) read as text, then as a table, or refused
with one line naming the file (and the line, when one line is at fault).

A copy of a data set edited by hand, cut short, or saved by another tool stopped the
benchmarks' readers with pandas' or Python's traceback (``EmptyDataError``, ``ParserError``,
``UnicodeDecodeError``, ``IsADirectoryError``), or was read without a word into the wrong
figures: pandas fills a line holding fewer fields than the others with NaN, which the models
then forward-fill. Every line of these files holds as many fields as the first (the header, or
the layout of a file without one); the first that does not is refused, naming its line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from bms.errors import BmsError

__all__ = ["WHITESPACE", "read_dataset_table", "read_dataset_text"]

#: The separator of C-MAPSS' text files: a run of spaces (pandas' pattern).
WHITESPACE = r"\s+"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_C_ERROR = re.compile(r"^.*?C error: ")


def read_dataset_text(path: Path) -> str:
    """The text of ``path``, which must be UTF-8 (a UTF-8 byte-order mark is dropped).

    Raises
    ------
    BmsError
        ``<path>: file not found``, ``a folder, not a file``, ``not readable``; ``UTF-16
        text; save it as UTF-8``; ``line 12 holds the byte 0xe9, not UTF-8 text`` (lines
        counted from 1).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BmsError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise BmsError(f"{path}: a folder, not a file") from None
    except PermissionError:
        raise BmsError(f"{path}: not readable (permission denied)") from None
    except OSError as exc:
        raise BmsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if data.startswith(_UTF16_BOMS):
        raise BmsError(f"{path}: UTF-16 text; save it as UTF-8, as the data set is written")
    if b"\x00" in data:  # UTF-16 without its mark decodes as UTF-8, a NUL byte every other
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise BmsError(f"{path}: line {line} holds a NUL byte (UTF-16 text? save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BmsError(
            f"{path}: line {line} holds the byte 0x{data[exc.start]:02x}, not UTF-8 text; save "
            "it as UTF-8, as the data set is written"
        ) from None


def _fields(line: str, sep: str) -> int:
    if sep == WHITESPACE:
        return len(line.split())
    return len(next(csv.reader([line], delimiter=sep), []))


def _check_fields(path: Path, text: str, sep: str, fields: int | None) -> None:
    """Refuse the first non-blank line holding another number of fields than ``fields``
    (``None``: the first line's, the header's)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    width, layout = fields, "the C-MAPSS layout" if fields is not None else "the header's"
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        count = _fields(line, sep)
        if width is None:
            width = count
        elif count != width:
            raise BmsError(
                f"{path}: line {number} holds {count} field{'s' if count != 1 else ''}, not "
                f"{width} ({layout})"
            )


def read_dataset_table(
    path: Path, *, sep: str, fields: int | None = None, **read_csv: Any
) -> pd.DataFrame:
    """``path`` read by :func:`pandas.read_csv` (with ``sep`` and ``read_csv``), once its text
    (:func:`read_dataset_text`) and the number of fields of each line are checked; pandas'
    warnings are not shown.

    Parameters
    ----------
    path : Path
    sep : str
        ``","``, ``";"`` or :data:`WHITESPACE`.
    fields : int or None
        Fields of every line of a file without a header (C-MAPSS: 26); None: as many as the
        header's.

    Raises
    ------
    BmsError
        ``<path>: the file is empty``, ``line 7 holds 27 fields, not 26 (the C-MAPSS
        layout)``, and the errors of :func:`read_dataset_text`.
    """
    text = read_dataset_text(path)
    if not text.strip():
        raise BmsError(f"{path}: the file is empty")
    _check_fields(path, text, sep, fields)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.read_csv(io.StringIO(text), sep=sep, **read_csv)
        except pd.errors.EmptyDataError:
            raise BmsError(f"{path}: the file is empty") from None
        except pd.errors.ParserError as exc:  # a quote left open, say
            reason = _C_ERROR.sub("", str(exc).strip().splitlines()[0])
            raise BmsError(f"{path}: cannot be read as a table ({reason})") from None
