"""InfluxDB's CSV exports read as the long file ``bms detect`` widens.

**InfluxDB 2's annotated CSV** (what its Data Explorer downloads, ``influx query --raw``
prints and ``/api/v2/query`` returns) holds one or more *tables*, each a block of annotation
lines (``#group``, ``#datatype``, ``#default``), a header and rows, blocks parted by a blank
line; its first column has no name, and ``result``, ``table``, ``_start`` and ``_stop`` say
where each row came from (the query, not the building). A row is a reading of one *series*: its
group key, the columns ``#group`` marks true (``_measurement``, the tags, ``_field``). A query
ending in ``pivot()`` writes a column per field instead of ``_field, _value``. The same layout
downloaded without its annotation lines (a header ``,result,table,...``) is read too; the
series are then told apart by the columns of words.

**InfluxDB 1.x's CSV** (``influx -format csv``, ``/query`` with ``Accept: application/csv``):
``name, tags, time`` (Unix nanoseconds unless the query asked another ``epoch``), then a column
per field; a series is its measurement (``name``) and its ``tags`` (``unit=ahu1`` after a
``GROUP BY unit``).

:func:`read_influx_csv` reads the readings (cells kept as written) with their series' key;
:func:`series_points` turns the files of one run into long frames ``_time, _field, _value``, a
point per series: the field's name, followed by the key values that tell series apart when
several series share a field (``sat (unit=ahu1)``), so two units' ``sat`` are not one point.
:mod:`bms.evaluate.detect_long` then makes it wide.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bms.errors import SchemaError

__all__ = ["ANNOTATIONS", "influx_layout", "read_influx_csv", "series_points"]

#: The first cells of annotation lines.
ANNOTATIONS = ("#group", "#datatype", "#default")
#: Where a row came from, not what it measures.
_QUERY_COLUMNS = ("", "result", "table", "_start", "_stop")
#: The header of a table downloaded without its annotations.
_BARE_HEADER = ",result,table,"
#: The header of InfluxDB 1.x's CSV.
_V1_HEADER = "name,tags,time,"


def _first_line(path: Path) -> str:
    with path.open("rb") as file:
        return file.readline(4096).decode("utf-8", errors="replace").lstrip("\ufeff")


def influx_layout(path: Path) -> str | None:
    """``"annotated"`` for InfluxDB 2's annotated CSV (with or without its annotations),
    ``"v1"`` for InfluxDB 1.x's CSV, None for another file."""
    if not path.is_file():
        return None
    first = _first_line(path)
    if first.startswith(ANNOTATIONS) or first.startswith(_BARE_HEADER):
        return "annotated"
    return "v1" if first.startswith(_V1_HEADER) else None


def _tables(text: str) -> list[tuple[list[str], list[str]]]:
    """Each table's ``(annotation lines, header and rows)``, blank lines parting tables."""
    tables: list[tuple[list[str], list[str]]] = []
    block_annotations: list[str] = []
    lines: list[str] = []
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if lines:
                tables.append((block_annotations, lines))
            block_annotations, lines = [], []
        elif line.startswith("#") and not lines:
            block_annotations.append(line)
        elif lines and line == lines[0]:
            continue  # a header repeated within a block
        else:
            lines.append(line)
    return tables


def _group_key(annotation_lines: list[str], header: list[str]) -> list[str] | None:
    """The columns ``#group`` marks true, or None without a ``#group`` line."""
    for line in annotation_lines:
        cells = next(csv.reader([line]))
        if cells[0] == "#group":
            return [name for name, flag in zip(header, cells, strict=False) if flag == "true"]
    return None


def _long_rows(table: pd.DataFrame, group: list[str] | None) -> pd.DataFrame:
    """One table as ``_time, series columns..., _field, _value`` (a pivoted one melted)."""
    table = table.drop(columns=[c for c in _QUERY_COLUMNS if c in table.columns])
    if group is None:  # no annotations: the series are the columns of words
        group = [
            c
            for c in table.columns
            if c not in ("_time", "_value")
            and pd.to_numeric(table[c].dropna(), errors="coerce").isna().all()
        ]
    series = [c for c in group if c in table.columns and c not in _QUERY_COLUMNS]
    if "_value" in table.columns:
        if "_field" in table.columns and "_field" not in series:
            series.append("_field")
        return table[["_time", *series, "_value"]]
    values = [c for c in table.columns if c != "_time" and c not in series]
    return table.melt(
        id_vars=["_time", *series], value_vars=values, var_name="_field", value_name="_value"
    )


def _point_names(rows: pd.DataFrame) -> pd.Series:
    """The field's name, then the series' other key values that differ between series sharing
    a field (``sat (unit=ahu1)``). Without a field (a query that kept a tag ``point`` only),
    that tag's values, or ``key=value`` pairs of the tags that differ."""
    keys = [c for c in rows.columns if c not in ("_time", "_field", "_value")]
    if "_field" in rows.columns:
        names = rows["_field"].astype(str)
        varying = [c for c in keys if rows.groupby("_field")[c].nunique(dropna=False).max() > 1]
    else:
        varying = [c for c in keys if rows[c].nunique(dropna=False) > 1] or keys[:1]
        if len(varying) == 1:
            return rows[varying[0]].fillna("").astype(str)
        names = pd.Series("", index=rows.index)
    if not varying:
        return names
    # InfluxDB 1.x's tags column holds "key=value,..." already
    labels = [("" if c == "tags" else c + "=") + rows[c].fillna("").astype(str) for c in varying]
    joined = labels[0].str.cat(labels[1:], sep=", ") if len(labels) > 1 else labels[0]
    return names + " (" + joined + ")" if "_field" in rows.columns else joined


def series_points(frames: Sequence[pd.DataFrame]) -> list[pd.DataFrame]:
    """Files read by :func:`read_influx_csv` as long frames ``_time, _field, _value``, a
    point per series, named over all of them together: TRAIN and TEST name one series alike
    even when only one of them holds the other series that share its field."""
    if not frames:
        return []
    rows = pd.concat(frames, ignore_index=True)
    names = _point_names(rows).to_numpy()
    out, start = [], 0
    for frame in frames:
        stop = start + len(frame)
        out.append(
            pd.DataFrame(
                {
                    "_time": frame["_time"].to_numpy(),
                    "_field": names[start:stop],
                    "_value": frame["_value"].to_numpy(),
                }
            )
        )
        start = stop
    return out


def _read_v1(path: Path) -> pd.DataFrame:
    """InfluxDB 1.x's CSV as ``_time, name, tags, _field, _value``."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    times = pd.to_numeric(table["time"], errors="coerce")
    table["time"] = times if times.notna().all() else table["time"]  # Unix times as numbers
    fields = [c for c in table.columns if c not in ("name", "tags", "time")]
    if not fields:
        raise SchemaError(f"{path}: the InfluxDB CSV holds no field column after name,tags,time")
    return table.rename(columns={"time": "_time"}).melt(
        id_vars=["_time", "name", "tags"], value_vars=fields, var_name="_field",
        value_name="_value",
    )  # fmt: skip


def read_influx_csv(path: Path) -> pd.DataFrame:
    """The readings of an InfluxDB CSV export (:func:`influx_layout`): ``_time``, the columns
    that name each reading's series (``_measurement``, the tags, ``_field``; 1.x's ``name``,
    ``tags``, the field) and ``_value``, cells as written (:func:`series_points` names the
    points).

    Raises
    ------
    SchemaError
        A table without ``_time``, a file without rows, or one pandas cannot parse.
    """
    if influx_layout(path) == "v1":
        rows = _read_v1(path)
        if rows.empty:
            raise SchemaError(f"{path}: the InfluxDB CSV holds no rows")
        return rows
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    parts = []
    for number, (annotation_lines, lines) in enumerate(_tables(text), start=1):
        try:
            table = pd.read_csv(
                io.StringIO("\n".join(lines)), dtype=str, keep_default_na=False, na_values=[""]
            )
        except pd.errors.ParserError as exc:
            reason = str(exc).strip().splitlines()[-1]
            raise SchemaError(f"{path}: table {number} of the annotated CSV: {reason}") from None
        table.columns = ["" if c.startswith("Unnamed: ") else c.strip() for c in table.columns]
        if "error" in table.columns:  # the server's answer to a query that failed
            message = table["error"].dropna().iloc[0] if table["error"].notna().any() else ""
            raise SchemaError(f"{path}: the file holds InfluxDB's error, not readings: {message}")
        if "_time" not in table.columns:
            raise SchemaError(
                f"{path}: table {number} of the annotated CSV has no _time column (columns "
                f"{[c for c in table.columns if c]}); keep _time in the query (no drop() of it)"
            )
        parts.append(_long_rows(table, _group_key(annotation_lines, list(table.columns))))
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if rows.empty:
        raise SchemaError(f"{path}: the annotated CSV holds no rows")
    if len(rows.columns) < 3:
        raise SchemaError(f"{path}: the annotated CSV names no series (no _field, no tag)")
    return rows
