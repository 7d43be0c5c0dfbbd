"""File connector: CSV and Parquet history with a column map and correct time zones.

Configured in ``bms.toml``::

    [connectors.meters-csv]
    kind = "file"
    path = "exports/meters-*.csv"        # a file or a glob (sorted, read in order)
    time_column = "Horodatage"
    time_format = "%d/%m/%Y %H:%M"       # optional; default: ISO 8601
    timezone = "Europe/Paris"            # zone of naive local times; default UTC
    ambiguous = "raise"                  # raise | infer | earliest | latest
    nonexistent = "raise"                # raise | shift_forward | shift_backward
    sep = ";"
    decimal = ","
    encoding = "cp1252"                  # what Excel writes on a French Windows; default utf-8
    [connectors.meters-csv.columns]      # column -> point id (pvlib-style VARIABLE_MAP)
    "P_active_kW" = "besancon/hq/elec-meter/power"

A point can also name its column in the site model: ``source: {connector: file, column: X}``.
Columns that are neither mapped nor named are ignored; a mapped column that is missing is an
error naming it. Empty cells are missing readings (skipped); a non-numeric or infinite cell, or
an empty time cell, is an error naming the file, the column and where the cell is: a CSV's
``line N`` as an editor shows it (the header is line 1, blank lines count), a Parquet file's
``row N`` (the first row is row 1).

Time zones: times carrying an offset (``2026-03-29T03:30:00+02:00``) are converted to UTC as
they are. Naive times are local times in ``timezone``. At the autumn change one local hour
happens twice (2026-10-25 02:00-02:59 in Europe/Paris): ``ambiguous = "raise"`` refuses the
file naming the rows; ``"infer"`` works it out from the order of the rows (a file in time order
that repeats the hour); ``"earliest"``/``"latest"`` take summer/winter time. In spring one local
hour does not exist (2026-03-29 02:00-02:59): ``nonexistent = "raise"`` names the rows;
``"shift_forward"``/``"shift_backward"`` move them to the nearest real instant.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field, ValidationInfo, field_validator

from bms.connectors.base import Connector, ConnectorConfig, register
from bms.errors import BmsError, ConfigError, SchemaError
from bms.site.model import Point
from bms.telemetry.frame import empty_frame, validate_frame

log = logging.getLogger(__name__)

# A UTC offset ending a time: Z, ±HH:MM, ±HHMM, or ±HH after a time (a date's -DD is not one)
# (no \s: pandas would leave pyarrow's vectorised regex for Python's, 20 times slower)
_TZ_SUFFIX = re.compile(r"(?:\d ?Z|[+-]\d\d:?\d\d|(?:[T ]\d\d|:\d\d|[.,]\d+) ?[+-]\d\d)$", re.I)
_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_MAX_ROWS_SHOWN = 5
_SAMPLE_TIME = pd.Timestamp("2026-01-05 10:20:30.123456", tz="UTC")


class FileConfig(ConnectorConfig):
    """``[connectors.NAME]`` table of a CSV / Parquet file connector."""

    kind: Literal["file"] = "file"
    path: str = Field(title="File or glob", description="CSV or Parquet file(s), e.g. data/*.csv")
    format: Literal["auto", "csv", "parquet"] = Field(default="auto", title="File format")
    time_column: str = Field(default="time", title="Time column")
    time_format: str | None = Field(default=None, title="strftime format; default ISO 8601")
    timezone: str = Field(default="UTC", title="IANA zone of naive local times")
    ambiguous: Literal["raise", "infer", "earliest", "latest"] = Field(
        default="raise", title="Repeated autumn hour", description="raise|infer|earliest|latest"
    )
    nonexistent: Literal["raise", "shift_forward", "shift_backward"] = Field(
        default="raise", title="Skipped spring hour", description="raise|shift_forward|..."
    )
    columns: dict[str, str] = Field(
        default_factory=dict, title="Column map", description="Column name -> point id."
    )
    sep: str = Field(default=",", title="CSV field separator")
    decimal: str = Field(default=".", title="CSV decimal mark")
    encoding: str = Field(
        default="utf-8",
        title="CSV text encoding",
        description="utf-8, cp1252 (Excel on a French Windows), utf-16...",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            _SAMPLE_TIME.tz_convert(value)
        except (LookupError, OSError, ValueError):  # unknown key, a directory, a path
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Paris or UTC"
            ) from None
        return value

    @field_validator("time_format")
    @classmethod
    def _parseable_format(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:  # pandas parses the times: it must read back what the format writes
            pd.to_datetime(pd.Series([_SAMPLE_TIME.strftime(value)]), format=value)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"not a usable strftime format {value!r} ({exc}); e.g. %d/%m/%Y %H:%M"
            ) from None
        return value

    @field_validator("sep")
    @classmethod
    def _one_character_sep(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError(f"must be one character, e.g. ';' or ',' (got {value!r})")
        return value

    @field_validator("decimal")
    @classmethod
    def _one_character_decimal(cls, value: str, info: ValidationInfo) -> str:
        if len(value) != 1:
            raise ValueError(f"must be one character, '.' or ',' (got {value!r})")
        if value == info.data.get("sep"):
            raise ValueError(f"{value!r} is also the field separator (sep)")
        return value


def _rows(labels: pd.Index) -> str:
    """``line 3`` / ``rows 1, 2, 5 and 4 more``: the noun is the name of the index."""
    noun = labels.name or "row"
    shown = ", ".join(str(r) for r in labels[:_MAX_ROWS_SHOWN])
    more = f" and {len(labels) - _MAX_ROWS_SHOWN} more" if len(labels) > _MAX_ROWS_SHOWN else ""
    return f"{noun}{'s' if len(labels) > 1 else ''} {shown}{more}"


def csv_lines(text: str, sep: str, n_rows: int) -> pd.Index:
    """The file line of each data row pandas read from a CSV text, named ``line``.

    Parameters
    ----------
    text : str
        The whole file, decoded.
    sep : str
        Its one-character field separator.
    n_rows : int
        Number of data rows pandas read (it skips blank lines).

    Returns
    -------
    Index of int, length n_rows
        1-based line numbers, as an editor shows them: the header is line 1 unless blank lines
        come first, blank lines are counted, a row whose quoted cell holds a line break is
        numbered by its first line.
    """
    breaks = text.count("\n") + text.count("\r") - text.count("\r\n")
    n_lines = breaks + (0 if text.endswith(("\n", "\r")) else 1)
    if n_lines == n_rows + 1:  # no blank line, no cell across lines: row i is line i + 2
        return pd.RangeIndex(2, n_rows + 2, name="line")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    starts, previous = [], 0
    try:
        for record in reader:
            if len(record) > 1 or (record and record[0].strip(" \t")):  # pandas skips blanks
                starts.append(previous + 1)
            previous = reader.line_num
    except csv.Error:
        starts = []
    if len(starts) != n_rows + 1:  # not the rows pandas read: number them as if none was blank
        return pd.RangeIndex(2, n_rows + 2, name="line")
    return pd.Index(starts[1:], name="line")


def localise(
    naive: pd.Series,
    timezone: str,
    ambiguous: str = "raise",
    nonexistent: str = "raise",
    where: str = "time",
) -> pd.Series:
    """Convert naive local times to UTC, refusing (or resolving) clock-change hours.

    Parameters
    ----------
    naive : Series of datetime64 (naive), length n
        Local wall-clock times; NaT stays NaT. The index gives the row numbers used in
        messages, and its name their noun (``line`` of a CSV, ``row`` by default).
    timezone : str
        IANA zone, e.g. ``Europe/Paris``.
    ambiguous, nonexistent : str
        See the module docstring.
    where : str
        Prefix of error messages (file and column).

    Returns
    -------
    Series of datetime64[ns, UTC], length n

    Raises
    ------
    SchemaError
        Naming the rows of an ambiguous or nonexistent local time when the policy is "raise".
    """
    as_dst = naive.dt.tz_localize(timezone, ambiguous=True, nonexistent="NaT")
    as_std = naive.dt.tz_localize(timezone, ambiguous=False, nonexistent="NaT")
    gap = (as_dst.isna() & naive.notna()).to_numpy()
    doubled = (as_dst != as_std).to_numpy() & naive.notna().to_numpy() & ~gap  # NaT != NaT
    if gap.any() and nonexistent == "raise":
        rows = naive.index[gap]
        raise SchemaError(
            f"{where}: nonexistent local time {naive[gap].iloc[0]} in {timezone} (spring clock "
            f'change) at {_rows(rows)}; set nonexistent = "shift_forward" or fix the rows'
        )
    if doubled.any() and ambiguous == "raise":
        rows = naive.index[doubled]
        raise SchemaError(
            f"{where}: ambiguous local time {naive[doubled].iloc[0]} in {timezone} (autumn clock "
            f'change) at {_rows(rows)}; set ambiguous = "infer", "earliest" or "latest"'
        )
    policy: str | np.ndarray = ambiguous  # "infer" (or "raise": nothing is ambiguous here)
    if ambiguous in ("earliest", "latest"):  # True = summer time, the first of the two hours
        policy = np.full(len(naive), ambiguous == "earliest")
    shift = "NaT" if nonexistent == "raise" else nonexistent
    try:
        local = naive.dt.tz_localize(timezone, ambiguous=policy, nonexistent=shift)
    except (ValueError, TypeError) as exc:  # "infer" cannot resolve the repeated hour
        rows = naive.index[doubled]
        raise SchemaError(
            f"{where}: cannot infer the clock change in {timezone} at {_rows(rows)} ({exc}); "
            'set ambiguous = "earliest" or "latest"'
        ) from None
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def parse_times(raw: pd.Series, config: FileConfig, where: str) -> pd.Series:
    """Parse a time column to UTC: offsets honoured, naive times localised (see module doc).

    Raises
    ------
    SchemaError
        Naming the rows (the index, see :func:`localise`) of empty or unparseable times, of
        naive times among times with an offset, and of clock-change hours (``localise``).
    """
    is_time = isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(raw)
    text = None if is_time else raw.astype(str).str.strip()
    empty = raw.isna().to_numpy() | (False if text is None else (text == "").to_numpy())
    if empty.any():
        raise SchemaError(f"{where}: empty time cell at {_rows(raw.index[empty])}")
    if text is None:
        parsed = raw
    else:
        has_offset = text.str.contains(_TZ_SUFFIX).to_numpy()
        if has_offset.any() and not has_offset.all():
            _refuse_mixed(text, has_offset, where)
        parsed = _to_datetime(text, config.time_format or "ISO8601", bool(has_offset.all()), where)
        bad = parsed.isna().to_numpy()
        if bad.any():
            raise SchemaError(
                f"{where}: unparseable time {text[bad].iloc[0]!r} at {_rows(raw.index[bad])}"
            )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        return parsed.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    return localise(parsed, config.timezone, config.ambiguous, config.nonexistent, where)


def _to_datetime(text: pd.Series, fmt: str, utc: bool, where: str) -> pd.Series:
    """``pd.to_datetime`` with unparseable times as NaT; one by one when zones are mixed."""
    try:
        return pd.to_datetime(text, format=fmt, utc=utc, errors="coerce")
    except (ValueError, TypeError):  # zones the suffix pattern does not see, e.g. %Z names
        stamps = [pd.to_datetime(t, format=fmt, errors="coerce") for t in text]
        aware = np.array([s is not pd.NaT and s.tzinfo is not None for s in stamps])
        naive = np.array([s is not pd.NaT and s.tzinfo is None for s in stamps])
        if aware.any() and naive.any():
            _refuse_mixed(text, ~naive, where)
        if aware.any():
            stamps = [s if s is pd.NaT else s.tz_convert("UTC") for s in stamps]
        dtype = "datetime64[ns, UTC]" if aware.any() else "datetime64[ns]"
        return pd.Series(stamps, index=text.index, dtype=dtype)


def _refuse_mixed(text: pd.Series, has_offset: np.ndarray, where: str) -> None:
    raise SchemaError(
        f"{where}: times without a UTC offset at {_rows(text.index[~has_offset])}, others have "
        f"one (e.g. {text[has_offset].iloc[0]!r}); write all with or none"
    )


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (pandas and Arrow messages run on)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@register
class FileConnector(Connector):
    """History source: CSV or Parquet files, wide (one column per point), read once and kept."""

    kind: ClassVar[str] = "file"
    config_model: ClassVar[type[ConnectorConfig]] = FileConfig

    def __init__(self, config: ConnectorConfig, points: Sequence[Point]) -> None:
        super().__init__(config, points)
        assert isinstance(config, FileConfig)
        self.cfg = config
        known = {p.id for p in points}
        self.column_map: dict[str, str] = {
            str(p.source["column"]): p.id for p in self.points if "column" in p.source
        }
        for column, point_id in config.columns.items():
            if known and point_id not in known:
                raise ConfigError(
                    f"connectors.{config.name}.columns.{column}: unknown point {point_id!r}"
                )
            self.column_map[column] = point_id
        if not self.column_map:
            raise ConfigError(
                f"connectors.{config.name}.columns: map at least one column to a point id"
            )
        self._frame: pd.DataFrame | None = None

    def files(self) -> list[Path]:
        """The files matched by ``path``, sorted; ConfigError when none."""
        matches = sorted(Path(p) for p in glob.glob(self.cfg.path))
        if not matches:
            raise ConfigError(f"connectors.{self.cfg.name}.path: no file matches {self.cfg.path!r}")
        for path in matches:
            if path.is_dir():
                raise ConfigError(
                    f"connectors.{self.cfg.name}.path: {str(path)!r} is a directory; name the "
                    f"files, e.g. {str(path / '*.csv')!r}"
                )
        return matches

    def _read_parquet(self, path: Path) -> pd.DataFrame:
        """A Parquet file, rows numbered from 1 for messages."""
        try:
            table = pd.read_parquet(path)
        except pa.ArrowInvalid:
            raise SchemaError(
                f"{path.name}: not a Parquet file, or a damaged one; set "
                f'connectors.{self.cfg.name}.format = "csv" if it is CSV text'
            ) from None
        table.index = pd.RangeIndex(1, len(table) + 1, name="row")
        return table

    def _read_csv(self, path: Path) -> pd.DataFrame:
        """A CSV file, rows labelled with their line in the file for messages."""
        try:
            text = path.read_bytes().decode(self.cfg.encoding)
            table = pd.read_csv(
                path,
                sep=self.cfg.sep,
                decimal=self.cfg.decimal,
                encoding=self.cfg.encoding,
                dtype={self.cfg.time_column: str},
                keep_default_na=False,  # only an empty cell is missing; "n/a" is an error
                na_values=[""],
            )
        except UnicodeError as exc:
            detail = (
                f"byte {exc.object[exc.start]:#04x}"
                if isinstance(exc, UnicodeDecodeError)
                else _first_line(exc)
            )
            raise SchemaError(
                f"{path.name}: not {self.cfg.encoding} text ({detail}); set "
                f"connectors.{self.cfg.name}.encoding, e.g. cp1252 for Excel on a French Windows"
            ) from None
        except pd.errors.EmptyDataError:
            raise SchemaError(f"{path.name}: empty file, no header line") from None
        except pd.errors.ParserError as exc:
            raise SchemaError(f"{path.name}: {self._parser_message(exc)}") from None
        table.index = csv_lines(text, self.cfg.sep, len(table))
        # a row of separators only (';;;', as Excel ends a sheet's export): a blank line
        return table[~table.isna().all(axis=1)]

    def _parser_message(self, exc: pd.errors.ParserError) -> str:
        found = _FIELD_COUNT.search(str(exc))
        if found is None:
            return f"not CSV as configured ({_first_line(exc)})"
        expected, line, saw = found.groups()
        return (
            f"line {line} has {saw} fields, the header has {expected} (sep = {self.cfg.sep!r}, "
            f"decimal = {self.cfg.decimal!r})"
        )

    def _read_file(self, path: Path) -> pd.DataFrame:
        fmt = self.cfg.format
        if fmt == "auto":
            fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
        try:
            table = self._read_parquet(path) if fmt == "parquet" else self._read_csv(path)
        except (FileNotFoundError, PermissionError) as exc:
            raise BmsError(f"{path.name}: cannot read the file ({exc.strerror})") from None
        if self.cfg.time_column not in table.columns:
            raise SchemaError(f"{path.name}: no time column {self.cfg.time_column!r}")
        missing = [c for c in self.cfg.columns if c not in table.columns]
        if missing:
            raise SchemaError(f"{path.name}: mapped column(s) {', '.join(missing)} not found")
        where = f"{path.name}: column {self.cfg.time_column!r}"
        times = parse_times(table[self.cfg.time_column], self.cfg, where)
        parts = []
        for column, point_id in self.column_map.items():
            if column not in table.columns:
                continue
            raw = table[column]
            values = pd.to_numeric(raw, errors="coerce")
            bad = (values.isna() & raw.notna()).to_numpy()
            if bad.any():
                raise SchemaError(
                    f"{path.name}: column {column!r}: non-numeric value {raw[bad].iloc[0]!r} "
                    f"at {_rows(raw.index[bad])}"
                )
            infinite = np.isinf(values.to_numpy(dtype="float64"))
            if infinite.any():
                cell = str(raw[infinite].iloc[0])
                raise SchemaError(
                    f"{path.name}: column {column!r}: infinite value {cell!r} "
                    f"at {_rows(raw.index[infinite])}"
                )
            keep = values.notna().to_numpy()
            parts.append(
                pd.DataFrame(
                    {"time": times.array[keep], "point": point_id, "value": values.to_numpy()[keep]}
                )
            )
        if not parts:
            return empty_frame()
        frame = pd.concat(parts, ignore_index=True)
        frame["time"] = frame["time"].astype("datetime64[ns, UTC]")
        return frame

    def load(self) -> pd.DataFrame:
        """Every reading of every file, canonical (read once, then kept in memory)."""
        if self._frame is None:
            parts = [self._read_file(path) for path in self.files()]
            self._frame = validate_frame(pd.concat(parts, ignore_index=True))
            log.info("%s: %d rows from %d file(s)", self.cfg.name, len(self._frame), len(parts))
        return self._frame

    def extent(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last time in the files, or None when they hold no reading."""
        frame = self.load()
        if frame.empty:
            return None
        return frame["time"].min(), frame["time"].max()

    def read(
        self, start: pd.Timestamp, end: pd.Timestamp, points: Sequence[Point] | None = None
    ) -> pd.DataFrame:
        """Readings with ``start <= time < end`` (of ``points`` when given)."""
        frame = self.load()
        mask = (frame["time"] >= start) & (frame["time"] < end)
        if points is not None:
            mask &= frame["point"].isin({p.id for p in points})
        return frame[mask].reset_index(drop=True)
