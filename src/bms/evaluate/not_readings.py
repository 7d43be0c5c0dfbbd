"""Numeric columns that are not readings: row counters, times written as numbers, ids.

Every numeric column of TRAIN is a feature unless ``--ignore``\\ d. Some are not readings, and
judged as such they cost detection silently (measured on SKAB valve1/0, 152 rows flagged with
the 8 sensors): a row ``id`` let the other signals be predicted from the row's position, and
the faults' rows were flagged half as often (74); an ``epoch`` column beside the time was the
top contributor of most rows of a normal AHU day. So:

* :func:`counter_columns`: whole numbers that step by one same amount on every row of each
  file (a row number, an id that counts rows) are left out, with a line;
* :func:`time_columns`: numbers that read as times (Unix times, spreadsheet serial dates) and
  never decrease, beside the time column, are left out, with a line;
* :func:`id_like_notes`: whole numbers named like an id, a unit or a cycle (an engine's
  number, a cycle count that restarts per unit) are kept, since a name is not proof, with a
  line suggesting ``--ignore``;
* :func:`stacked_machines_notes`: when most times hold rows of several values of such a
  column, the file stacks several machines, which ``bms detect`` judges as one stream (two
  SKAB runs stacked by a ``sensor_id``: 470 rows of the first flagged instead of 152): a line
  says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bms.evaluate.detect_times import parse_times

__all__ = [
    "counter_columns",
    "id_like_notes",
    "stacked_machines_notes",
    "stacks_machines",
    "time_columns",
]

#: Names of columns that number things rather than measure them (case-insensitive, whole name
#: or its last word).
_ID_NAME = re.compile(
    r"(.*[ _-])?(id|ids|unit|unit_?(no|nr|number)|device|asset|engine|machine|equipment|"
    r"cycle|cycles|run|batch|serial|index|row|no|n°|num|number)",
    re.IGNORECASE,
)


def _whole(values: pd.Series) -> bool:
    finite = values.dropna()
    return bool(len(finite)) and bool((finite % 1 == 0).all())


def _one_step(values: pd.Series) -> float | None:
    """The step a column takes on every row, if one and non-zero."""
    steps = values.diff().iloc[1:]
    if len(steps) < 2 or steps.isna().any():
        return None
    first = float(steps.iloc[0])
    return first if first != 0 and bool((steps == first).all()) else None


def counter_columns(x_train: pd.DataFrame, x_test: pd.DataFrame) -> list[str]:
    """Columns of whole numbers that step by one same amount on every row of TRAIN and of
    TEST, in the files' own row order: row numbers, not readings."""
    found = []
    for column in x_train.columns:
        train, test = x_train[column], x_test[column]
        if not (_whole(train) and _whole(test)):
            continue
        step = _one_step(train)
        if step is not None and _one_step(test) == step:
            found.append(str(column))
    return found


def time_columns(x_train: pd.DataFrame, x_test: pd.DataFrame) -> list[str]:
    """Columns whose numbers read as times (:func:`parse_times`: Unix times, spreadsheet
    serial dates) and never decrease, in TRAIN and in TEST: the time again, not a reading."""
    found = []
    for column in x_train.columns:
        times = [parse_times(frame[column]) for frame in (x_train, x_test)]
        if all(t is not None and not (np.diff(t.asi8) < 0).any() for t in times):
            found.append(str(column))
    return found


def id_like_notes(x_train: pd.DataFrame, features: Sequence[str], path: Path) -> list[str]:
    """A line naming the whole-number features named like an id, a unit or a cycle."""
    named = [str(c) for c in features if _ID_NAME.fullmatch(str(c).strip()) and _whole(x_train[c])]
    if not named:
        return []
    return [
        f"{path}: {', '.join(map(repr, named))} look(s) like an id or a count (whole numbers "
        "named so): judged as reading(s); --ignore them if they number things rather than "
        "measure them"
    ]


#: Most values an id column of stacked machines takes (more: a count, not machines).
MAX_MACHINES = 50
#: Share of the times holding rows of several ids from which a file stacks machines.
STACKED_SHARE = 0.5


def stacks_machines(values: pd.Series, times: pd.Index | np.ndarray) -> bool:
    """Whether more than :data:`STACKED_SHARE` of the ``times`` (one per value) hold rows of
    several ``values``: a column naming the machines stacked in one file."""
    per_time = values.groupby(np.asarray(times)).nunique()
    return bool((per_time > 1).mean() > STACKED_SHARE)


def stacked_machines_notes(x_train: pd.DataFrame, features: Sequence[str], path: Path) -> list[str]:
    """A line when most times of TRAIN (rows indexed by time) hold rows of several values of a
    whole-number column named like an id: several machines in one file."""
    if not isinstance(x_train.index, pd.DatetimeIndex) or x_train.index.is_unique:
        return []
    for column in features:
        values = x_train[column]
        if not (_ID_NAME.fullmatch(str(column).strip()) and _whole(values)):
            continue
        if not 2 <= values.nunique() <= MAX_MACHINES:
            continue
        if stacks_machines(values, x_train.index):
            return [
                f"{path}: most times hold rows of several {column!r} values "
                f"({values.nunique()}): several machines in one file? They are judged as one "
                f"stream; --unit-column {column!r} judges each against its own TRAIN rows"
            ]
    return []
