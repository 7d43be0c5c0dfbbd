"""What ``bms detect`` says about its input besides the detection: lines on standard error
that help a user judge the result.

A feature named like a label (:func:`label_like_notes`), one that never moves in TRAIN but
does in TEST (:func:`constant_in_train_notes`), one that copies another
(:func:`copied_column_notes`), TEST rows outside the TRAIN range
(:func:`outside_training_range`), TEST's data problems, judged as such and not as faults
(:func:`data_quality_notes`, :func:`missing_in_test_notes`), TRAIN's glitches, not learnt as
operation (:func:`train_glitch_notes`), and TRAIN and TEST sampled at
different steps (:func:`step_mismatch_notes`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bms.evaluate.detect_times import duration_text
from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.detection_params import DetectionParams
from bms.models.gap_fill import GLITCH_SPANS, SPARSE_SHARE, training_glitches

__all__ = [
    "COPY_MIN_LEVELS",
    "MISSING_NOTE_SHARE",
    "STEP_RATIO_NOTE",
    "constant_in_train_notes",
    "copied_column_notes",
    "data_quality_notes",
    "label_like_notes",
    "median_step",
    "missing_in_test_notes",
    "outside_training_range",
    "running_totals",
    "step_mismatch_notes",
    "train_glitch_notes",
]

#: Column names that look like ground-truth labels rather than readings (case-insensitive).
_LABEL_NAME = (
    r"(.*ground.?truth.*|labels?|anomal(y|ies)|changepoints?|target|is_?fault|fault_?label)"
)


def label_like_notes(features: Sequence[str]) -> list[str]:
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


#: A feature that never falls is a running total when it rises on at least this many steps of
#: each file (a meter's index rises, by its resolution, while the equipment runs).
RUNNING_TOTAL_MIN_RISES = 3


def running_totals(train: pd.DataFrame, test: pd.DataFrame) -> list[str]:
    """Features that only rise, in TRAIN and in TEST (rows in time order): an energy or water
    meter's index, a counter of running hours. Each file must rise on at least
    :data:`RUNNING_TOTAL_MIN_RISES` steps and fall on none (missing readings are stepped over);
    TEST's values then lie beyond TRAIN's, and only the rate means anything."""
    out = []
    for name in train.columns:
        steps = [frame[name].dropna().diff().iloc[1:] for frame in (train, test)]
        if all((d >= 0).all() and (d > 0).sum() >= RUNNING_TOTAL_MIN_RISES for d in steps):
            out.append(str(name))
    return out


#: A TEST feature missing on more than this share of rows gets a line saying how it was filled.
MISSING_NOTE_SHARE = 0.1


def _data_row(i: int) -> str:
    return f"data row {i + 1}"


def _first_cell(cells: np.ndarray, frame: pd.DataFrame, where: Callable[[int], str]) -> str:
    """``first in 'column', <where its row is>``: the first True cell of ``cells`` (rows x
    columns of ``frame``), in row order."""
    rows, cols = np.nonzero(cells)
    first = int(np.argmin(rows))
    return f"first in {frame.columns[cols[first]]!r}, {where(int(rows[first]))}"


def data_quality_notes(
    model: TimeSeriesDetector,
    x_test: pd.DataFrame,
    path: Path,
    where: Callable[[int], str] | None = None,
) -> list[str]:
    """A line for the one-row spikes of TEST, one for its short bursts of glitches, and one per
    feature offline in TEST for longer than a smoothing window (on at most 10 % of its rows:
    more gets its own line): read as lost readings, not judged as faults
    (:mod:`bms.models.gap_fill`). ``where(i)`` says where ``x_test``'s row ``i`` is in the
    file (default ``data row i + 1``); the first data problem named is the first in
    ``x_test``'s order."""
    values = x_test.to_numpy(dtype=np.float64)
    if where is None:
        where = _data_row
    notes = []
    spikes = model.gap_filler_.spikes(values)
    if spikes.any():
        notes.append(
            f"{path}: {int(spikes.sum()):,} one-row spike(s) ({_first_cell(spikes, x_test, where)})"
            " read as lost readings: each is the mean of its neighbours, not a fault"
        )
    bursts = model.gap_filler_.bursts(values)
    if bursts.any():
        notes.append(
            f"{path}: {int(bursts.sum()):,} reading(s) beyond their feature's TRAIN range "
            f"(1-99 %) by more than {GLITCH_SPANS:g} times its width, in bursts of at most "
            f"{model.gap_filler_.max_burst_rows} rows ({_first_cell(bursts, x_test, where)}), "
            "read as lost readings: glitches, not faults"
        )
    outages = model.gap_filler_.outages(values)
    for j in np.flatnonzero(outages.any(axis=0)):
        share = np.isnan(values[:, j]).mean()
        if share <= MISSING_NOTE_SHARE:
            first = int(np.flatnonzero(outages[:, j])[0])
            notes.append(
                f"{path}: {x_test.columns[j]!r} is offline for {int(outages[:, j].sum()):,} "
                f"row(s) in runs longer than {model.window_rows} (first at {where(first)}): "
                "estimated from the other features, not judged"
            )
    return notes


def train_glitch_notes(
    model: TimeSeriesDetector,
    x_train: pd.DataFrame,
    path: Path,
    where: Callable[[int], str] | None = None,
) -> list[str]:
    """A line for the training readings the model read as glitches
    (:func:`bms.models.gap_fill.training_glitches`), naming the first: ``where(i)`` says where
    ``x_train``'s row ``i`` is in the file (default ``data row i + 1``)."""
    if not model.train_glitches_.any():
        return []
    values = x_train.to_numpy(dtype=np.float64, copy=True)
    values[np.isinf(values)] = np.nan  # as the model reads them
    glitches = training_glitches(values)
    return [
        f"{path}: {int(glitches.sum()):,} reading(s) beyond their feature's usual range (1-99 %) "
        f"by more than {GLITCH_SPANS:g} times its width "
        f"({_first_cell(glitches, x_train, where or _data_row)}) read as lost readings: a glitch "
        "is not normal operation"
    ]


def missing_in_test_notes(x_train: pd.DataFrame, x_test: pd.DataFrame, path: Path) -> list[str]:
    """A line per feature that TEST leaves empty, or missing on many rows: the detector holds a
    short gap at the last reading and estimates a longer one from the other features
    (:mod:`bms.models.gap_fill`), so a sensor that is offline is not itself flagged, and the
    reader should know it went unjudged. A feature missing on most TRAIN rows too is a
    change-of-value log (:data:`~bms.models.gap_fill.SPARSE_SHARE`): each reading holds until
    the next, and its line says so."""
    notes = []
    missing = x_test.isna().mean()
    sparse = x_train.isna().mean() > SPARSE_SHARE
    empty = [str(c) for c in missing.index if missing[c] == 1.0]
    if empty:
        notes.append(
            f"{path}: {', '.join(map(repr, empty))} hold(s) no value in TEST: estimated from "
            "the other features, so not judged (an offline sensor is not flagged)"
        )
    gappy = [c for c in missing.index if MISSING_NOTE_SHARE < missing[c] < 1.0]
    logged_on_change = [str(c) for c in gappy if sparse[c]]
    if logged_on_change:
        notes.append(
            f"{path}: {', '.join(map(repr, logged_on_change))} missing on most rows of TEST and "
            "TRAIN, as points written only when they change: each reading holds until the next"
        )
    for column in (c for c in gappy if not sparse[c]):
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
    """The median forward step between rows in time order, or None with fewer than two
    forward steps."""
    steps = np.diff(np.sort(times.as_unit("ns").asi8))
    forward = steps[steps > 0]
    if forward.size < 2:
        return None
    return pd.Timedelta(int(np.median(forward)), unit="ns")


def step_mismatch_notes(t_train: pd.DatetimeIndex, t_test: pd.DatetimeIndex) -> list[str]:
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


def constant_in_train_notes(x_train: pd.DataFrame, x_test: pd.DataFrame, path: Path) -> list[str]:
    """A line naming the features that hold one value all through TRAIN and others in TEST: a
    sensor stuck while TRAIN was recorded, or a setting changed since. Either way TRAIN gives
    them no spread, so every TEST row off that value is flagged (a pressure stuck at 0.5 in
    TRAIN flagged 1,143 of 1,147 TEST rows with no word of why)."""
    constant = [
        column
        for column in x_train.columns
        if x_train[column].nunique() == 1
        and (x_test[column].dropna() != x_train[column].dropna().iloc[0]).any()
    ]
    if not constant:
        return []
    values = {column: f"{x_train[column].dropna().iloc[0]:g}" for column in constant}
    which = (
        f"{constant[0]!r} holds one value all through TRAIN ({values[constant[0]]})"
        if len(constant) == 1
        else f"{', '.join(f'{c!r} ({v})' for c, v in values.items())} each hold one value "
        "all through TRAIN"
    )
    return [
        f"{path}: {which} and others in TEST: a sensor stuck while TRAIN was recorded, or a "
        "setting changed since; TEST rows off that value are flagged, so give TRAIN normal "
        "data where it moves"
    ]


#: Fewest distinct TRAIN values of a feature looked at for copies: a fan's status and the
#: occupancy mode are alike on every row of a day without being one point.
COPY_MIN_LEVELS = 10


def copied_column_notes(x_train: pd.DataFrame, path: Path) -> list[str]:
    """A line naming the measured features (more than :data:`COPY_MIN_LEVELS` values) that
    hold, row for row, the same values as an earlier one in TRAIN: a point exported twice
    under two names. Both are judged, so a fault in that signal
    counts twice and the others' share of it falls (on SKAB valve1/0 a copy of the temperature
    took a fifth of the faults' flagged rows away); ``--ignore`` one unless they are two
    sensors that should agree."""
    first_of: dict[bytes, str] = {}
    copies = []
    for column in x_train.columns:
        values = x_train[column]
        if values.nunique() <= COPY_MIN_LEVELS:
            continue  # statuses and modes move together without being copies
        key = pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes()
        if key in first_of:
            copies.append((str(column), first_of[key]))
        else:
            first_of[key] = str(column)
    if not copies:
        return []
    named = ", ".join(f"{copy!r} = {original!r}" for copy, original in copies)
    return [
        f"{path}: {named} on every TRAIN row: one point exported twice? Both are judged, so a "
        "fault in it counts twice; --ignore the copy unless they are two sensors that should "
        "agree"
    ]
