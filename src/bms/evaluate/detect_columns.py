"""Which columns of ``bms detect``'s TRAIN and TEST play which part: the time (given, found,
or assembled from a date and a time of day, or from a year, month, day... in columns of their
own), a saved row index, and the features, checked in both files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bms.errors import SchemaError
from bms.evaluate.column_case import case_note, names_matched_but_for_case
from bms.evaluate.detect_times import find_time_column, split_date_time
from bms.evaluate.time_parts import assembled_times, find_time_parts, whole_hours
from bms.evaluate.wide_csv import increasing, renamed_hint, saved_index_column

__all__ = ["RENAMED_FIX", "DetectColumns", "resolve_columns"]

#: What to do when TEST lacks a feature that it seems to hold under another name.
RENAMED_FIX = "give both files the same names, or --ignore the columns TEST lacks"


@dataclass(frozen=True)
class DetectColumns:
    """Which TRAIN/TEST columns play which part."""

    time: str | None  # the time column (dates and times of day joined into it), if any
    features: list[str]  # neither the time, nor a saved row index, nor ignored
    notes: list[str]  # what to say about them


def resolve_columns(
    train: pd.DataFrame,
    test: pd.DataFrame,
    paths: tuple[Path, Path],
    time_column: str | None,
    ignore: Sequence[str],
) -> DetectColumns:
    """The time column (given, else found; a date column and a time-of-day column are joined
    into it, in both frames), the saved index and the features, checked in both files."""
    train_path, test_path = paths
    # header names are read stripped of surrounding spaces: so are the names a user gives
    ignore = [str(c).strip() for c in ignore]
    time_column = time_column.strip() if time_column is not None else None
    # a column to ignore may be in one file only: the labels of TRAIN, say
    unknown = [c for c in ignore if c not in train.columns and c not in test.columns]
    if unknown:
        raise SchemaError(
            f"{train_path}: --ignore column(s) {unknown} in neither TRAIN nor TEST; TRAIN's "
            f"columns are {list(train.columns)}"
        )
    renamed = names_matched_but_for_case(train.columns, test.columns)
    test.columns = [renamed.get(str(c), c) for c in test.columns]  # the caller's frame, renamed
    notes = [case_note(test_path, renamed)] if renamed else []
    for frame, path in ((train, train_path), (test, test_path)):
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
            hour_cells = frame[hours]
            if whole_hours(hour_cells):  # 7 for 07:00
                hour_cells = pd.to_numeric(hour_cells).astype(int).map("{:02d}:00".format)
            frame[tcol] = (
                frame[tcol].astype(str).str.strip() + " " + hour_cells.astype(str).str.strip()
            )
        ignore = [*ignore, hours]
    parts = find_time_parts(train) if tcol is None else None
    if parts is not None and all(column in test.columns for column in parts.values()):
        tcol = "time" if "time" not in train.columns else "time (assembled)"
        for frame in (train, test):  # a year, month, day... column each: one time
            frame[tcol] = assembled_times(frame, parts)
        ignore = [*ignore, *parts.values()]
        notes.append(
            f"{train_path}: the times are written in parts ({', '.join(map(repr, parts.values()))})"
            ": read as one time, not as features"
        )
    index_col = saved_index_column(train)
    if index_col == tcol or index_col not in test.columns:
        index_col = None
    if (
        tcol is None
        and index_col is not None
        and increasing(train[index_col])
        and increasing(test[index_col])
    ):
        tcol, index_col = index_col, None  # the rows' own numbers: the time of the output
    features = [c for c in train.columns if c not in (tcol, index_col) and c not in ignore]
    if not features:
        raise SchemaError(f"{train_path}: no feature columns left after the time and ignored ones")
    missing = [c for c in features if c not in test.columns]
    extra = [c for c in test.columns if c not in (*features, tcol, index_col, *ignore)]
    if missing:
        raise SchemaError(
            f"{test_path}: test columns do not match train: missing "
            f"{', '.join(map(repr, missing))}"
            f"{renamed_hint(missing, extra, RENAMED_FIX)}"
        )
    if extra:
        notes.append(
            f"{test_path}: column(s) {', '.join(map(repr, extra))} not in TRAIN: not judged"
        )
    return DetectColumns(time=tcol, features=features, notes=notes)
