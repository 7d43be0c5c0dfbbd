"""``bms detect``: unsupervised anomaly detection on any wide CSV.

TRAIN holds (mostly) normal operation; every numeric column that is neither the time column nor
ignored is a feature. The model is the product default
(:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`); its threshold is calibrated on TRAIN
alone (time-ordered held-out blocks). OUT has one row per TEST row:
``time, score, anomaly, top_contributor``.

When the feature columns name an air-handling unit's points, the G36 / APAR AHU rules run on
TEST as well (:mod:`bms.evaluate.detect_rules`): a row where a rule holds a confirmed fault is
anomalous (its score at least 0.5, its ``top_contributor`` the rule's point when the detector
did not flag it), and OUT gains a ``rule`` column with the codes of the rules in fault.

Every problem a user can cause is a :class:`bms.errors.BmsError` with a one-line message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.detect_clock import check_timezone, site_clock
from bms.evaluate.detect_episodes import EPISODE_COLUMNS, anomaly_episodes
from bms.evaluate.detect_long import widen_pair
from bms.evaluate.detect_rules import ahu_rule_flags
from bms.evaluate.detect_times import (
    day_first,
    duration_text,
    find_time_column,
    is_excel_serial,
    parse_times,
    split_date_time,
    unread_times_notes,
)
from bms.evaluate.number_cells import read_number_cells
from bms.evaluate.state_words import read_state_words, text_values
from bms.models.anomaly_pipeline import CONTRIBUTION_PREFIX, TimeSeriesDetector, segment_bounds
from bms.models.detection_params import DetectionParams

__all__ = [
    "MIN_TRAIN_ROWS",
    "MISSING_CELLS",
    "DetectSummary",
    "median_step",
    "numeric_columns",
    "outside_training_range",
    "read_wide_csv",
    "run_detect",
    "saved_index_column",
]

logger = logging.getLogger(__name__)

#: Fewest training rows: the threshold is a quantile of held-out training scores.
MIN_TRAIN_ROWS = 50
#: Column names that look like ground-truth labels rather than readings (case-insensitive).
_LABEL_NAME = (
    r"(.*ground.?truth.*|labels?|anomal(y|ies)|changepoints?|target|is_?fault|fault_?label)"
)
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


@dataclass(frozen=True)
class DetectSummary:
    """What ``run_detect`` did."""

    n_train: int
    n_test: int
    n_anomalous: int
    features: list[str]
    time_column: str | None
    #: Share of TEST rows with a feature outside its TRAIN range [0-1]
    #: (:func:`outside_training_range`).
    outside_share: float = 0.0
    #: The feature most often outside its TRAIN range, if any.
    outside_most: str | None = None
    #: One line per thing to know about the input: a feature column whose unreadable cells
    #: were read as missing (file, column, how many, the first one and its data row), the
    #: columns left out because TRAIN holds no value of them.
    notes: tuple[str, ...] = ()
    #: Features whose TRAIN rows are too short to show their normal range (too few
    #: decorrelation times: :attr:`TimeSeriesDetector.slow_signals_`); only their changes are
    #: judged.
    slow_features: tuple[str, ...] = ()
    #: Features judged against their daily profile (no mode signal, TRAIN spans days and the
    #: profile predicts held-out TRAIN days: :attr:`TimeSeriesDetector.profiled_signals_`).
    profiled_features: tuple[str, ...] = ()
    #: Features judged against their mean at the operating point, and the settings (and modes)
    #: that set it (:attr:`TimeSeriesDetector.point_signals_`).
    point_features: tuple[str, ...] = ()
    setting_features: tuple[str, ...] = ()
    #: AHU rules that ran on TEST (empty when the columns name no AHU, or with rules off).
    rules_applied: tuple[str, ...] = ()
    #: TEST rows where a rule holds a confirmed fault, and how many of them only a rule flagged.
    n_rule_rows: int = 0
    n_rule_only_rows: int = 0
    #: The anomalous episodes of OUT (:func:`bms.evaluate.detect_episodes.anomaly_episodes`).
    episodes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EPISODE_COLUMNS))


def _separator_hint(path: Path) -> str | None:
    """The separator named by a first line ``sep=;`` (Excel writes one, and reads it), if any."""
    with path.open("rb") as file:
        first = file.readline(64).decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    found = re.fullmatch(r'"?sep=(.)"?', first)
    return found.group(1) if found else None


#: How a separator is typed on a command line, and the character it stands for.
_TYPED_SEPARATORS = {"\\t": "\t", "tab": "\t"}


def field_separator(sep: str) -> str:
    """The separator character ``--sep`` stands for: ``\\t`` or ``tab`` is a tab."""
    return _TYPED_SEPARATORS.get(sep.lower(), sep)


def _typed(sep: str) -> str:
    """How to type ``sep`` after ``--sep``: a tab as ``\\t``."""
    return "\\t" if sep == "\t" else sep


def read_wide_csv(path: Path, sep: str) -> pd.DataFrame:
    """Read a CSV, refusing a missing or empty file with a one-line error.

    ``sep`` is the field separator as typed after ``--sep`` (:func:`field_separator`). A
    first line ``sep=;`` (Excel's) is skipped when it names ``sep``, and refused with the fix
    when it names another separator.
    """
    if not path.is_file():
        raise SchemaError(f"{path}: file not found")
    sep = field_separator(sep)
    hint = _separator_hint(path)
    if hint is not None and hint != sep:
        raise SchemaError(
            f"{path}: the first line says 'sep={_typed(hint)}'; pass --sep '{_typed(hint)}'"
        )
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            skipinitialspace=True,
            na_values=list(MISSING_CELLS),
            skiprows=1 if hint is not None else None,
        )
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{path}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if re.search(r"Expected \d+ fields in line \d+, saw \d+", reason):
            reason += " (do lines before the header hold a title or metadata? remove them)"
        raise SchemaError(f"{path}: cannot parse as CSV with sep={sep!r}: {reason}") from None
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
    return frame


def saved_index_column(frame: pd.DataFrame) -> str | None:
    """The first column if it is a saved row index (no header name, increasing integers).

    ``DataFrame.to_csv`` writes the index first with an empty header, which pandas reads back
    as ``Unnamed: 0``: row numbers, not a reading.
    """
    first = str(frame.columns[0])
    if first != "Unnamed: 0":
        return None
    values = pd.to_numeric(frame[first], errors="coerce")
    ok = values.notna().all() and (values.diff().iloc[1:] > 0).all()
    return first if ok and (values % 1 == 0).all() else None


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
    :data:`MAX_BAD_CELL_SHARE` of its non-empty cells are not numbers; infinities become NaN.
    Number cells are read as exports write them (:mod:`bms.evaluate.number_cells`): with
    ``decimal_comma`` (the field separator is not a comma) ``21,5`` reads as 21.5; thousands
    grouped the way the decimal mark goes with (``1,008.2``, ``1 008,2``) and a unit after the
    number (``21.5 °C``, one per column, named in a note) read too.
    """
    out = {}
    bad = []
    unreadable: list[tuple[str, int, object, int]] = []  # column, how many, first, its row
    stated = []
    units: list[tuple[str, str]] = []
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
        out[col] = converted.replace([np.inf, -np.inf], np.nan)
    if bad:
        words = text_values(frame[bad[0]])
        shown = f" (first {bad[0]!r} holds {', '.join(map(repr, words))})" if words else ""
        raise SchemaError(
            f"{path}: non-numeric feature column(s) {', '.join(map(repr, bad))}{shown}; {fix}"
        )
    notes = _unreadable_notes(unreadable, path)
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

    A row unreadable in several columns and nowhere else (a units row under the header, say)
    gets one line instead of one per column.
    """
    single_rows = pd.Series([row for _, n, _, row in unreadable if n == 1]).value_counts()
    shared = set(single_rows[single_rows >= 2].index)
    notes = []
    for row in sorted(shared):
        cells = [(col, value) for col, n, value, r in unreadable if n == 1 and r == row]
        col, value = cells[0]
        notes.append(
            f"{path}: data row {row} is not numbers in {len(cells)} columns (first {value!r} in "
            f"{col!r}: a units row?), read as missing"
        )
    for col, n_failed, value, row in unreadable:
        if not (n_failed == 1 and row in shared):
            notes.append(
                f"{path}: {col!r}: {n_failed:,} cell(s) are not numbers "
                f"(first {value!r} in data row {row}), read as missing"
            )
    return notes


def _label_like_notes(features: Sequence[str]) -> list[str]:
    """A line suggesting ``--ignore`` for the features named like labels, if any."""
    labels = [c for c in features if re.fullmatch(_LABEL_NAME, c.strip(), flags=re.IGNORECASE)]
    if not labels:
        return []
    names = ", ".join(map(repr, labels))
    if len(labels) == 1:
        return [
            f"{names} looks like a label, not a reading, and is used as a feature; if it is a "
            f"label, pass --ignore {names}"
        ]
    return [
        f"{names} look like labels, not readings, and are used as features; if they are "
        f"labels, pass --ignore {' '.join(map(repr, labels))}"
    ]


def outside_training_range(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Which TEST values lie outside their feature's TRAIN range.

    The range is the one the site detectors trust (:meth:`DetectionParams.familiar_range`:
    the 0.5 % and 99.5 % training quantiles, widened by 10 % of their distance on each side),
    so a few extreme training values do not stretch it. A value outside it is an operating point the
    model has not seen: a fault, or a condition missing from TRAIN (another season, load or
    set point), which the detector cannot tell apart.

    Parameters
    ----------
    train, test : DataFrame
        Numeric features, same columns.

    Returns
    -------
    DataFrame of bool, shaped like ``test`` (NaN counts as inside).
    """
    low, high = DetectionParams().familiar_range(train.to_numpy(dtype=np.float64))
    return test.lt(low, axis=1) | test.gt(high, axis=1)


#: A TEST feature missing on more than this share of rows gets a line saying how it was filled.
MISSING_NOTE_SHARE = 0.1


def _data_quality_notes(model: TimeSeriesDetector, x_test: pd.DataFrame, path: Path) -> list[str]:
    """A line for the one-row spikes of TEST and one per feature offline in TEST for longer
    than a smoothing window (on at most 10 % of its rows: more gets its own line): read as
    lost readings, not judged as faults (:mod:`bms.models.gap_fill`)."""
    values = x_test.to_numpy(dtype=np.float64)
    notes = []
    spikes = model.gap_filler_.spikes(values)
    if spikes.any():
        rows, cols = np.nonzero(spikes)
        first = int(np.argmin(rows))
        notes.append(
            f"{path}: {int(spikes.sum()):,} one-row spike(s) (first in "
            f"{x_test.columns[cols[first]]!r}, data row {rows[first] + 1}) read as lost "
            "readings: each is the mean of its neighbours, not a fault"
        )
    outages = model.gap_filler_.outages(values)
    for j in np.flatnonzero(outages.any(axis=0)):
        share = np.isnan(values[:, j]).mean()
        if share <= MISSING_NOTE_SHARE:
            first = int(np.flatnonzero(outages[:, j])[0])
            notes.append(
                f"{path}: {x_test.columns[j]!r} is offline for {int(outages[:, j].sum()):,} "
                f"row(s) in runs longer than {model.window_rows} (first at data row "
                f"{first + 1}): estimated from the other features, not judged"
            )
    return notes


def _missing_in_test_notes(x_test: pd.DataFrame, path: Path) -> list[str]:
    """A line per feature that TEST leaves empty, or missing on many rows: the detector holds a
    short gap at the last reading and estimates a longer one from the other features
    (:mod:`bms.models.gap_fill`), so a sensor that is offline is not itself flagged, and the
    reader should know it went unjudged."""
    notes = []
    missing = x_test.isna().mean()
    empty = [str(c) for c in missing.index if missing[c] == 1.0]
    if empty:
        notes.append(
            f"{path}: {', '.join(map(repr, empty))} hold(s) no value in TEST: estimated from "
            "the other features, so not judged (an offline sensor is not flagged)"
        )
    for column in missing.index:
        if MISSING_NOTE_SHARE < missing[column] < 1.0:
            notes.append(
                f"{path}: {column!r} is missing on {missing[column]:.0%} of TEST rows: a short "
                "gap holds the reading before it, a longer one is estimated from the other "
                "features, so those rows are not judged on it"
            )
    return notes


#: TRAIN and TEST steps further apart than this ratio get a line: windows counted in rows then
#: span other durations in the two files.
STEP_RATIO_NOTE = 1.5


def median_step(times: pd.DatetimeIndex) -> pd.Timedelta | None:
    """The median forward step between rows, or None with fewer than two forward steps."""
    steps = np.diff(times.as_unit("ns").asi8)
    forward = steps[steps > 0]
    if forward.size < 2:
        return None
    return pd.Timedelta(int(np.median(forward)), unit="ns")


def _step_mismatch_notes(t_train: pd.DatetimeIndex, t_test: pd.DatetimeIndex) -> list[str]:
    """A line when TRAIN and TEST are sampled at different steps: the detector's windows are
    counted in rows (30 rows of smoothing, differences per row), so the same fault would be
    judged over another duration, and row-to-row changes would not compare."""
    train_step, test_step = median_step(t_train), median_step(t_test)
    if train_step is None or test_step is None:
        return []
    ratio = test_step / train_step
    if 1.0 / STEP_RATIO_NOTE <= ratio <= STEP_RATIO_NOTE:
        return []
    return [
        f"TEST is sampled every {duration_text(test_step)}, TRAIN every "
        f"{duration_text(train_step)}: the detector's windows are counted in rows, so scores do "
        "not compare across the two; resample both to one step for a like-for-like judgement"
    ]


def _readable_times(
    out: pd.DataFrame, written: pd.Series | None, times: pd.DatetimeIndex | None
) -> pd.DataFrame:
    """``out`` with Unix times and spreadsheet serial dates written as dates, for the episodes a
    reader sees first (OUT keeps the times as TEST wrote them)."""
    if written is None or not pd.api.types.is_numeric_dtype(written):
        return out
    if times is None:
        return out
    zone = "" if is_excel_serial(written) else " UTC"  # a spreadsheet's dates: the site's clock
    return out.assign(time=times.strftime("%Y-%m-%d %H:%M:%S") + zone)


def _signal_shares(scored: pd.DataFrame) -> pd.DataFrame:
    """The detector's per-signal shares of each row's anomaly, columns named by signal; NaN
    on the rows it did not flag (a row only a rule flagged is the rule's to explain)."""
    columns = [c for c in scored.columns if c.startswith(CONTRIBUTION_PREFIX)]
    shares = scored[columns].rename(columns=lambda c: c[len(CONTRIBUTION_PREFIX) :])
    flagged = scored["anomaly"].to_numpy() == 1
    return shares.where(np.broadcast_to(flagged[:, None], shares.shape))


@dataclass(frozen=True)
class _Columns:
    """Which TRAIN/TEST columns play which part."""

    time: str | None  # the time column (dates and times of day joined into it), if any
    features: list[str]  # neither the time, nor a saved row index, nor ignored


def _resolve_columns(
    train: pd.DataFrame,
    test: pd.DataFrame,
    paths: tuple[Path, Path],
    time_column: str | None,
    ignore: Sequence[str],
) -> _Columns:
    """The time column (given, else found; a date column and a time-of-day column are joined
    into it, in both frames), the saved index and the features, checked in both files."""
    train_path, test_path = paths
    # header names are read stripped of surrounding spaces: so are the names a user gives
    ignore = [str(c).strip() for c in ignore]
    time_column = time_column.strip() if time_column is not None else None
    for name, frame, path in (("TRAIN", train, train_path), ("TEST", test, test_path)):
        unknown = [c for c in ignore if c not in frame.columns]
        if unknown:
            raise SchemaError(f"{path}: --ignore column(s) {unknown} not in {name}")
        if time_column is not None and time_column not in frame.columns:
            raise SchemaError(
                f"{path}: time column {time_column!r} not found; columns are {list(frame.columns)}"
            )
    tcol = time_column if time_column is not None else find_time_column(train)
    if tcol is not None and tcol not in test.columns:
        raise SchemaError(f"{test_path}: time column {tcol!r} (found in TRAIN) is missing")
    split = split_date_time(train, tcol) if tcol is not None else None
    if split is not None:  # dates and times of day in two columns: one time, "date time"
        tcol, hours = split
        for name in split:
            if name not in test.columns:
                raise SchemaError(f"{test_path}: column {name!r} (TRAIN's times) is missing")
        for frame in (train, test):
            frame[tcol] = (
                frame[tcol].astype(str).str.strip() + " " + frame[hours].astype(str).str.strip()
            )
        ignore = [*ignore, hours]
    index_col = saved_index_column(train)
    if index_col == tcol or index_col not in test.columns:
        index_col = None
    if tcol is None and index_col is not None:
        tcol, index_col = index_col, None  # the rows' own numbers: the time of the output
    features = [c for c in train.columns if c not in (tcol, index_col) and c not in ignore]
    if not features:
        raise SchemaError(f"{train_path}: no feature columns left after the time and ignored ones")
    missing = [c for c in features if c not in test.columns]
    if missing:
        raise SchemaError(
            f"{test_path}: test columns do not match train: missing {', '.join(map(repr, missing))}"
        )
    extra = [c for c in test.columns if c not in features and c != tcol and c not in ignore]
    if extra:
        logger.warning("TEST columns not in TRAIN are ignored: %s", extra)
    return _Columns(time=tcol, features=features)


@dataclass(frozen=True)
class _TimeAxes:
    """The rows' times, as the detector sees them, and what to say about them."""

    train: pd.DatetimeIndex | None  # on the site's clock (None: the cells are not times)
    test: pd.DatetimeIndex | None
    test_utc: pd.DatetimeIndex | None  # TEST's times in UTC, for the episodes
    utc_clock: bool  # read on the UTC clock for want of the site's zone
    notes: list[str]


def _time_axes(
    train: pd.DataFrame,
    test: pd.DataFrame,
    tcol: str,
    paths: tuple[Path, Path],
    timezone: str | None,
) -> _TimeAxes:
    """Both files' time columns read as times, one order of day and month for both (a TEST of
    one ambiguous day reads as TRAIN), on the site's clock, with a line for time going
    backwards, for different steps, or for dates that could not be read."""
    dayfirst = day_first(pd.concat([train[tcol], test[tcol]], ignore_index=True))
    t_train, t_test = parse_times(train[tcol], dayfirst), parse_times(test[tcol], dayfirst)
    if t_train is None or t_test is None:
        notes = unread_times_notes(
            ((paths[0], train[tcol], t_train), (paths[1], test[tcol], t_test)), tcol, dayfirst
        )
        return _TimeAxes(None, None, None, utc_clock=False, notes=notes)
    # the time of day on the site's clock (daily profiles), the order of UTC's
    clock_train, utc_train = site_clock(train[tcol], t_train, timezone)
    clock_test, utc_test = site_clock(test[tcol], t_test, timezone)
    notes = []
    for path, times in zip(paths, (t_train, t_test), strict=True):
        back = np.flatnonzero(np.diff(times.asi8) < 0)
        if back.size:
            notes.append(
                f"{path}: time goes backwards at {back.size} row(s) (first at data row "
                f"{back[0] + 2}): rows are read in file order, each backward step "
                "starting a new stretch"
            )
    notes += _step_mismatch_notes(t_train, t_test)
    return _TimeAxes(clock_train, clock_test, t_test, utc_train or utc_test, notes)


def run_detect(
    train_path: Path,
    test_path: Path,
    out_path: Path,
    *,
    time_column: str | None = None,
    sep: str = ",",
    ignore: Sequence[str] = (),
    rules: bool = True,
    timezone: str | None = None,
) -> DetectSummary:
    """Fit on TRAIN, score TEST, write OUT (``time, score, anomaly, top_contributor``).

    Parameters
    ----------
    train_path, test_path : Path
        Wide CSVs with the same feature columns, rows in time order.
    out_path : Path
        Where to write the result (one row per TEST row, same order).
    time_column : str or None
        The time column; auto-detected by name when None, else the row index is the time.
    sep : str
        Field separator of both inputs.
    ignore : sequence of str
        Columns that are not features.
    rules : bool
        Run the AHU rules when the columns name an AHU's points (module docstring).
    timezone : str or None
        The site's IANA time zone: the detector reads the time of day on its clock
        (:mod:`bms.evaluate.detect_clock`).

    Returns
    -------
    DetectSummary
    """
    if timezone is not None:
        check_timezone(timezone)
    train = read_wide_csv(Path(train_path), sep)
    test = read_wide_csv(Path(test_path), sep)
    # one reading per line (time, point, value): a column per point
    train, test, long_notes, left_out = widen_pair(
        train, test, time_column, (Path(train_path), Path(test_path))
    )
    ignore = [c for c in ignore if str(c).strip() not in left_out]
    columns = _resolve_columns(train, test, (train_path, test_path), time_column, ignore)
    tcol, features = columns.time, columns.features
    comma = field_separator(sep) != ","
    x_train, train_notes = numeric_columns(train, features, Path(train_path), decimal_comma=comma)
    x_test, test_notes = numeric_columns(test, features, Path(test_path), decimal_comma=comma)
    if len(x_train) < MIN_TRAIN_ROWS:
        raise SchemaError(
            f"{train_path}: {len(x_train)} training rows; at least {MIN_TRAIN_ROWS} are needed"
        )
    notes = [*long_notes, *train_notes, *test_notes, *_label_like_notes(features)]
    # a sensor offline all through TRAIN teaches nothing, and any TEST value would look abnormal
    empty = [c for c in features if x_train[c].isna().all()]
    if len(empty) == len(features):
        raise SchemaError(f"{train_path}: every feature column is empty")
    if empty:
        notes.append(
            f"{train_path}: {', '.join(map(repr, empty))} hold(s) no value in TRAIN: "
            "not used as feature(s)"
        )
        features = [c for c in features if c not in empty]
        x_train, x_test = x_train[features], x_test[features]
    notes += _missing_in_test_notes(x_test, Path(test_path))
    utc_clock, test_times = False, None
    if tcol is not None:
        # times let the detector restart its rolling features after a gap (days picked one in
        # two), and the AHU rules time their confirmation
        timed = _time_axes(train, test, tcol, (train_path, test_path), timezone)
        notes += timed.notes
        if timed.train is not None and timed.test is not None:
            x_train, x_test = x_train.set_axis(timed.train), x_test.set_axis(timed.test)
            utc_clock, test_times = timed.utc_clock, timed.test_utc
    model = TimeSeriesDetector().fit(x_train)
    if utc_clock and model.profiled_signals_:
        notes.append(
            "the times are in UTC, so the daily profiles follow the UTC clock, an hour off the "
            "site's after a daylight-saving change: give --timezone (an IANA name such as "
            "Europe/Paris)"
        )
    scored = model.score(x_test)
    notes += _data_quality_notes(model, x_test, Path(test_path))
    times = test[tcol] if tcol is not None else pd.Series(np.arange(len(test)), index=test.index)
    out = pd.DataFrame(
        {
            "time": times.to_numpy(),
            "score": scored["score"].round(6).to_numpy(),
            "anomaly": scored["anomaly"].to_numpy(),
            "top_contributor": scored["top_contributor"].to_numpy(),
        }
    )
    found = ahu_rule_flags(x_train, x_test) if rules else None
    rule_only = np.zeros(len(out), dtype=bool)
    if found is not None:
        notes += found.notes
        rule_only = found.flags & (out["anomaly"].to_numpy() == 0)
        out["score"] = np.where(found.flags, np.maximum(out["score"], 0.5), out["score"])
        out["anomaly"] = (out["anomaly"].to_numpy() | found.flags).astype(np.int64)
        out["top_contributor"] = np.where(rule_only, found.columns, out["top_contributor"])
        if found.applied:
            out["rule"] = found.codes
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_path, index=False)
    outside = outside_training_range(x_train, x_test)
    per_feature = outside.mean()
    return DetectSummary(
        n_train=len(x_train),
        n_test=len(x_test),
        n_anomalous=int(out["anomaly"].sum()),
        features=features,
        time_column=tcol,
        outside_share=float(outside.any(axis=1).mean()) if len(outside) else 0.0,
        outside_most=str(per_feature.idxmax()) if per_feature.max() > 0 else None,
        notes=tuple(notes),
        slow_features=tuple(model.slow_signals_),
        profiled_features=tuple(model.profiled_signals_),
        point_features=tuple(model.point_signals_),
        setting_features=tuple(model.setting_signals_),
        rules_applied=found.applied if found is not None else (),
        n_rule_rows=int(found.flags.sum()) if found is not None else 0,
        n_rule_only_rows=int(rule_only.sum()),
        episodes=anomaly_episodes(
            _readable_times(out, test[tcol] if tcol is not None else None, test_times),
            model.window_rows,
            segment_bounds(x_test.index, model.window_rows),
            shares=_signal_shares(scored),
        ),
    )
