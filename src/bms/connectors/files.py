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
error naming it. Empty cells are missing readings (skipped); a non-numeric cell is an error
naming the column and rows.

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
import glob
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from bms.connectors.base import Connector, ConnectorConfig, register
from bms.errors import ConfigError, SchemaError
from bms.site.model import Point
from bms.telemetry.frame import empty_frame, validate_frame

log = logging.getLogger(__name__)

_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)
_MAX_ROWS_SHOWN = 5


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


def _rows(labels: Sequence[int]) -> str:
    shown = ", ".join(str(r) for r in labels[:_MAX_ROWS_SHOWN])
    more = f" and {len(labels) - _MAX_ROWS_SHOWN} more" if len(labels) > _MAX_ROWS_SHOWN else ""
    return f"row{'s' if len(labels) > 1 else ''} {shown}{more}"


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
        Local wall-clock times; the index gives the row numbers used in messages.
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
    doubled = (as_dst != as_std).to_numpy() & ~gap
    if gap.any() and nonexistent == "raise":
        rows = list(naive.index[gap])
        raise SchemaError(
            f"{where}: nonexistent local time {naive[gap].iloc[0]} in {timezone} (spring clock "
            f'change) at {_rows(rows)}; set nonexistent = "shift_forward" or fix the rows'
        )
    if doubled.any() and ambiguous == "raise":
        rows = list(naive.index[doubled])
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
        rows = list(naive.index[doubled])
        raise SchemaError(
            f"{where}: cannot infer the clock change in {timezone} at {_rows(rows)} ({exc}); "
            'set ambiguous = "earliest" or "latest"'
        ) from None
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def parse_times(raw: pd.Series, config: FileConfig, where: str) -> pd.Series:
    """Parse a time column to UTC: offsets honoured, naive times localised (see module doc)."""
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        naive = raw
    else:
        text = raw.astype(str).str.strip()
        fmt = config.time_format or "ISO8601"
        has_offset = text.str.contains(_TZ_SUFFIX).to_numpy()
        try:
            if has_offset.all():
                return pd.to_datetime(text, format=fmt, utc=True).astype("datetime64[ns, UTC]")
            if has_offset.any():
                rows = list(raw.index[~has_offset])
                raise SchemaError(f"{where}: times without a UTC offset at {_rows(rows)}")
            naive = pd.to_datetime(text, format=fmt)
        except (ValueError, TypeError):
            parsed = pd.to_datetime(text, format=fmt, errors="coerce")
            rows = list(raw.index[parsed.isna().to_numpy()])
            raise SchemaError(f"{where}: unparseable time at {_rows(rows)}") from None
    return localise(naive, config.timezone, config.ambiguous, config.nonexistent, where)


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
        return matches

    def _read_file(self, path: Path) -> pd.DataFrame:
        fmt = self.cfg.format
        if fmt == "auto":
            fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
        if fmt == "parquet":
            table = pd.read_parquet(path)
            first_row = 0
        else:
            try:
                table = pd.read_csv(
                    path,
                    sep=self.cfg.sep,
                    decimal=self.cfg.decimal,
                    encoding=self.cfg.encoding,
                    dtype={self.cfg.time_column: str},
                    keep_default_na=False,  # only an empty cell is missing; "n/a" is an error
                    na_values=[""],
                )
            except UnicodeDecodeError as exc:
                raise SchemaError(
                    f"{path.name}: not {self.cfg.encoding} text (byte {exc.object[exc.start]:#04x}"
                    f"); set connectors.{self.cfg.name}.encoding, e.g. cp1252 for Excel on a "
                    "French Windows"
                ) from None
            first_row = 2  # messages name CSV line numbers: the header is line 1
        table.index = pd.RangeIndex(first_row, first_row + len(table))
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
                    f"at {_rows(list(raw.index[bad]))}"
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
