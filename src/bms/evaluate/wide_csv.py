"""Reading the wide CSVs that ``bms detect`` and ``bms rul`` take: the separator, the header,
and each column's cells as numbers.

:func:`read_wide_csv` reads a file (UTF-8, UTF-16 with its byte-order mark, Windows-1252 as
Excel writes it on a French Windows; a first line ``sep=;`` as Excel writes it, a tab typed
``--sep tab``), refusing a missing, empty or mis-separated one with a one-line error;
:func:`numeric_columns` reads the feature columns' cells by the rules exports need (decimal
commas, grouped thousands and units in cells: :mod:`bms.evaluate.number_cells`; statuses as
words: :mod:`bms.evaluate.state_words`), naming the cells it could not read;
:func:`saved_index_column` finds a row index saved by ``DataFrame.to_csv``.
"""

from __future__ import annotations

import difflib
import gzip
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.csv_shape import (
    GZIP_MAGIC,
    duplicate_names_error,
    header_names,
    longer_line_error,
    open_text,
    sniff_separator,
)
from bms.evaluate.error_codes import error_code_cells
from bms.evaluate.number_cells import read_number_cells
from bms.evaluate.state_words import read_state_words, text_values

__all__ = [
    "FALLBACK_ENCODING",
    "MAX_BAD_CELL_SHARE",
    "MISSING_CELLS",
    "field_separator",
    "increasing",
    "numeric_columns",
    "read_wide_csv",
    "renamed_hint",
    "saved_index_column",
    "separator_name",
    "text_encoding",
]

#: A column is a feature when at most this share of its non-empty cells fail to parse as
#: numbers; its other cells (an export's ``#VALUE!``, ``ERR``, ``--`` while a sensor was
#: offline) are read as missing and reported. A column of words other than two-state ones
#: (``heating``/``cooling``, a site name) fails on every cell.
MAX_BAD_CELL_SHARE = 0.5
#: Cells read as missing readings, besides pandas' own (``NaN``, ``NULL``, ``N/A``, an empty
#: cell...): the spellings of exports that pandas does not know, such as the ``NAN`` that
#: data loggers (Campbell Scientific) and ORNL's flexible research platform write while a fan
#: is off. Without them a sensor offline most of the time is refused as a column of words.
#: Home Assistant writes ``unavailable`` and ``unknown`` while a sensor is offline.
MISSING_CELLS = (
    "NAN", "Nan", "NONE", "none", "Null", "-", "--", "---", "unavailable", "unknown",
)  # fmt: skip


#: Byte-order marks and the encoding each starts: Excel's "Unicode text" export is UTF-16.
_BYTE_ORDER_MARKS = (
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
)
#: The encoding tried when a file without a byte-order mark is not UTF-8: what Excel writes
#: on a French (Western European) Windows ("CSV (séparateur: point-virgule)").
FALLBACK_ENCODING = "cp1252"


def text_encoding(start: bytes) -> str:
    """The encoding the byte-order mark at a file's ``start`` names, else UTF-8
    (:func:`read_wide_csv` then falls back to :data:`FALLBACK_ENCODING` when the file is not
    UTF-8)."""
    return next((name for mark, name in _BYTE_ORDER_MARKS if start.startswith(mark)), "utf-8")


def _separator_hint(path: Path, encoding: str) -> str | None:
    """The separator named by a first line ``sep=;`` (Excel writes one, and reads it), if any."""
    with open_text(path, encoding) as file:
        first = file.readline(64).lstrip("\ufeff").strip()
    found = re.fullmatch(r'"?sep=(.)"?', first)
    return found.group(1) if found else None


#: How a separator is typed on a command line, and the character it stands for.
_TYPED_SEPARATORS = {"\\t": "\t", "tab": "\t"}


def field_separator(sep: str) -> str:
    """The separator character ``--sep`` stands for: ``\\t`` or ``tab`` is a tab; a
    SchemaError for anything but one character (pandas' regular expressions are not offered:
    an export separates its fields by one character)."""
    character = _TYPED_SEPARATORS.get(sep.lower(), sep)
    if len(character) != 1:
        raise SchemaError(
            f"--sep must be one character such as ',' ';' '|' or '\\t' (a tab), got {sep!r}"
        )
    return character


def _typed(sep: str) -> str:
    """How to type ``sep`` after ``--sep``: a tab as ``\\t``."""
    return "\\t" if sep == "\t" else sep


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as a frame, its index (a time index, say) as a column."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's errors have no common base to name
        raise SchemaError(f"{path}: cannot read as Parquet: {exc}") from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise SchemaError(f"{path}: file has no data rows")
    return frame


def read_wide_csv(path: Path, sep: str | None, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV (or a Parquet file, found by its first bytes), refusing a missing or empty
    file, or an Excel workbook, with a one-line error.

    ``sep`` is the field separator as typed after ``--sep`` (:func:`field_separator`); None:
    the one a first line ``sep=;`` names (Excel writes one), else the one the file's lines
    show (:func:`~bms.evaluate.csv_shape.sniff_separator`). A first line ``sep=;`` is skipped
    when it names the separator, and refused with the fix when it names another one.
    ``text_columns`` (names without surrounding spaces) are read as the text written, not as
    numbers: ids such as ``0001``. The separator used is kept in ``frame.attrs["sep"]``.
    """
    if not path.is_file():
        raise SchemaError(f"{path}: file not found")
    with path.open("rb") as file:
        start = file.read(4)  # a format's magic number, or a byte-order mark
    compressed = start.startswith(GZIP_MAGIC)  # .csv.gz, or a compressed export named .csv
    if compressed:
        with gzip.open(path, "rb") as file:
            start = file.read(4)
    if start == b"PAR1":  # a Parquet file: columns typed already
        return _read_parquet(path)
    if start == b"PK\x03\x04":  # a zip: what an Excel workbook (.xlsx) is
        raise SchemaError(
            f"{path}: a zip archive (an Excel workbook?), not a CSV: save the sheet as CSV"
        )
    encoding = text_encoding(start)
    hint = _separator_hint(path, encoding)
    skip_lines = 1 if hint is not None else 0
    if sep is None:
        sep = hint or sniff_separator(path, encoding, skip_lines)
    sep = field_separator(sep)
    if hint is not None and hint != sep:
        raise SchemaError(
            f"{path}: the first line says 'sep={_typed(hint)}'; pass --sep '{_typed(hint)}'"
        )
    options = {
        "sep": sep,
        "skipinitialspace": True,
        "na_values": list(MISSING_CELLS),
        "skiprows": skip_lines or None,
        "index_col": False,  # longer data lines: dropped or refused below, never an index
        "compression": "gzip" if compressed else None,
    }
    if text_columns:  # pandas names them as written, surrounding spaces included
        wanted = set(text_columns)
        header = header_names(path, encoding, sep, skip_lines)
        options["dtype"] = {name: str for name in header if name.strip() in wanted}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            try:
                frame = pd.read_csv(path, encoding=encoding, **options)
            except UnicodeDecodeError:
                if encoding != "utf-8":
                    raise
                encoding = FALLBACK_ENCODING
                frame = pd.read_csv(path, encoding=encoding, **options)
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{path}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if re.search(r"Expected \d+ fields in line \d+, saw \d+", reason):
            if len(header_names(path, encoding, sep, skip_lines)) > 1:
                longer = longer_line_error(path, encoding, sep, skip_lines)
                if longer is not None:  # a data line longer than a header of several names
                    raise SchemaError(longer) from None
            reason += " (do lines before the header hold a title or metadata? remove them)"
        raise SchemaError(f"{path}: cannot parse as CSV with sep={sep!r}: {reason}") from None
    if any("Length of header" in str(warning.message) for warning in caught):
        longer = longer_line_error(path, encoding, sep, skip_lines)
        if longer is not None:  # else the longer lines' extra fields were all empty
            raise SchemaError(longer)
    repeated = duplicate_names_error(path, header_names(path, encoding, sep, skip_lines))
    if repeated is not None:
        raise SchemaError(repeated)
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame.columns) == 1:
        found = [c for c in (";", ",", "\t", "|") if c != sep and c in frame.columns[0]]
        if found:
            raise SchemaError(
                f"{path}: one column only with sep={sep!r}, but the header holds {found[0]!r}; "
                f"pass --sep '{_typed(found[0])}'"
            )
    if frame.empty:
        raise SchemaError(f"{path}: file has a header but no data rows")
    frame.attrs["sep"] = sep
    return frame


def separator_name(sep: str) -> str:
    """How a line names a separator: ``';'``, ``a tab``."""
    return "a tab" if sep == "\t" else repr(sep)


def saved_index_column(frame: pd.DataFrame) -> str | None:
    """The first column if it is a saved row index (no header name, whole numbers).

    ``DataFrame.to_csv`` writes the index first with an empty header, which pandas reads back
    as ``Unnamed: 0``: row numbers, not a reading, whether they increase or restart where
    frames were joined (``pd.concat`` keeps each frame's numbers); a restarting index was
    judged as a sensor before, and flagged three times as many rows.
    """
    first = str(frame.columns[0])
    if first != "Unnamed: 0":
        return None
    values = pd.to_numeric(frame[first], errors="coerce")
    return first if values.notna().all() and (values % 1 == 0).all() else None


def increasing(values: pd.Series) -> bool:
    """Whether a column's values increase from row to row (a row index that can be a time)."""
    numbers = pd.to_numeric(values, errors="coerce")
    return bool(numbers.notna().all() and (numbers.diff().iloc[1:] > 0).all())


def numeric_columns(
    frame: pd.DataFrame,
    columns: Sequence[str],
    path: Path,
    fix: str = "exclude them with --ignore",
    *,
    decimal_comma: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """The feature columns as floats, and a note per column whose unreadable cells became NaN.

    A two-state point written as words (``ON``/``OFF``, ``active``/``inactive``,
    ``Marche``/``Arrêt``: :mod:`bms.evaluate.state_words`) reads as 1/0, with one note per file
    naming such columns. A column is refused (SchemaError naming it, and ``fix``) when more than
    :data:`MAX_BAD_CELL_SHARE` of its non-empty cells are not numbers; infinities become NaN, in a
    note.
    Number cells are read as exports write them (:mod:`bms.evaluate.number_cells`): with
    ``decimal_comma`` (the field separator is not a comma) ``21,5`` reads as 21.5; thousands
    grouped the way the decimal mark goes with (``1,008.2``, ``1 008,2``) and a unit after the
    number (``21.5 °C``, one per column, named in a note) read too. A logger's error code
    (``-9999``, the largest 32-bit float...) far outside the column's readings is a missing
    reading, named in a note (:mod:`bms.evaluate.error_codes`).
    """
    out = {}
    bad = []
    unreadable: list[tuple[str, int, object, int]] = []  # column, how many, first, its row
    stated = []
    units: list[tuple[str, str]] = []
    codes: list[tuple[str, int, float, int]] = []  # column, how many, first, its row
    infinities: list[tuple[str, int, object, int]] = []  # column, how many, first, its row
    for col in columns:
        series = frame[col]
        if series.dtype == bool:
            series = series.astype(np.float64)
        states = read_state_words(series)
        if states is not None:
            series = states
            stated.append(col)
        converted, unit = read_number_cells(series, decimal_comma=decimal_comma)
        if unit is not None:
            units.append((col, unit))
        failed = converted.isna() & series.notna()
        n_failed = int(failed.sum())
        if n_failed > MAX_BAD_CELL_SHARE * max(int(series.notna().sum()), 1):
            bad.append(col)
        elif n_failed:
            first = int(np.flatnonzero(failed.to_numpy())[0])
            unreadable.append((col, n_failed, series.iloc[first], first + 1))
        infinite = np.isinf(converted.to_numpy(dtype=np.float64))
        if infinite.any():  # an overflow or a logger's 'inf': no reading, said
            first = int(np.flatnonzero(infinite)[0])
            infinities.append((col, int(infinite.sum()), series.iloc[first], first + 1))
            converted = converted.mask(infinite)
        coded = error_code_cells(converted)
        if coded.any():
            first = int(np.flatnonzero(coded)[0])
            codes.append((col, int(coded.sum()), float(converted.iloc[first]), first + 1))
            converted = converted.mask(coded)
        out[col] = converted
    if bad:
        words = text_values(frame[bad[0]])
        shown = f" (first {bad[0]!r} holds {', '.join(map(repr, words))})" if words else ""
        raise SchemaError(
            f"{path}: non-numeric feature column(s) {', '.join(map(repr, bad))}{shown}; {fix}"
        )
    notes = _unreadable_notes(unreadable, path)
    notes += [
        f"{path}: {col!r}: {n:,} cell(s) hold an error code far outside its readings (first "
        f"{value:g} in data row {row}), read as missing"
        for col, n, value, row in codes
    ]
    notes += [
        f"{path}: {col!r}: {n:,} cell(s) infinite (first {str(value)!r} in data row {row}), "
        "read as missing"
        for col, n, value, row in infinities
    ]
    if units:
        written = ", ".join(f"{col!r} in {unit!r}" for col, unit in units)
        notes.insert(0, f"{path}: {written}: read without the unit written in the cells")
    if stated:
        notes.insert(
            0,
            f"{path}: {', '.join(map(repr, stated))}: two-state words (on/off, true/false, "
            "marche/arrêt...) read as 1/0",
        )
    return pd.DataFrame(out, index=frame.index), notes


def _unreadable_notes(unreadable: list[tuple[str, int, object, int]], path: Path) -> list[str]:
    """One line per column with unreadable cells, or per row unreadable in several columns.

    A row unreadable in several columns and nowhere else (a units row under the header, the
    header repeated where two exports were appended) gets one line instead of one per column.
    """
    single_rows = pd.Series([row for _, n, _, row in unreadable if n == 1]).value_counts()
    shared = set(single_rows[single_rows >= 2].index)
    notes = []
    for row in sorted(shared):
        cells = [(col, value) for col, n, value, r in unreadable if n == 1 and r == row]
        col, value = cells[0]
        header = all(str(v).strip() == c for c, v in cells)
        guess = "the header again: files appended one after another?" if header else "a units row?"
        notes.append(
            f"{path}: data row {row} is not numbers in {len(cells)} columns (first {value!r} in "
            f"{col!r}: {guess}), read as missing"
        )
    for col, n_failed, value, row in unreadable:
        if not (n_failed == 1 and row in shared):
            notes.append(
                f"{path}: {col!r}: {n_failed:,} cell(s) are not numbers "
                f"(first {value!r} in data row {row}), read as missing"
            )
    return notes


def renamed_hint(missing: Sequence[str], available: Sequence[str], fix: str) -> str:
    """``" (TEST has 'Pressure (bar)': renamed? <fix>)"`` when some of ``available`` (the
    columns the file holds that nothing asked for) are named closely to ``missing`` ones (a
    changed case, a unit added to the name, an abbreviation), else ``""``: the tail of the
    error that refuses a file lacking columns."""
    by_key = {str(name).casefold(): str(name) for name in available}
    close = []
    for name in missing:
        found = difflib.get_close_matches(str(name).casefold(), list(by_key), n=1, cutoff=0.6)
        if found:
            close.append(by_key[found[0]])
    if not close:
        return ""
    return f" (TEST has {', '.join(map(repr, close))}: renamed? {fix})"
