"""``bms detect --unit-column``: several machines stacked in one file, each judged on its own.

A fleet's export often stacks its machines: a row per machine and time, and a column naming the
machine (``pump_id``, ``ahu``, ``device``). Judged as one stream, one machine's normal
operation is another's fault and the times repeat. With ``--unit-column``, each unit's TEST rows
are judged by a detector fitted on that unit's TRAIN rows, exactly as if the unit had been run
alone (:func:`bms.evaluate.detect_csv.run_detect` on its rows):

* **Units** are the column's values as written (``0001`` stays ``0001``; a number read from a
  typed file is written ``3``, not ``3.0``). A row without one is refused, naming it; a TEST
  unit without TRAIN rows is refused (it has no normal operation to be judged against); TRAIN
  units absent from TEST are said and left out.
* **Each unit's run** has its own columns (one empty all through a unit's TRAIN is left out
  for that unit), AHU rules, alarm hold, episodes and days. A line about a unit names it after
  the file (``test.csv, pump_id=P2: ...``), its data rows counted in the file; a line said the
  same way of several units is said once, naming them. An error in one unit's rows stops the
  run before OUT is written.
* **OUT** gains a ``unit`` column after ``time``, and keeps a row per TEST row in TEST's order
  (for files of one reading per line, a row per time of each unit, units in the order TEST
  first names them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.errors import SchemaError
from bms.evaluate.detect_episodes import EPISODE_COLUMNS
from bms.evaluate.detect_summary import DetectSummary
from bms.evaluate.not_readings import stacks_machines

__all__ = ["Unit", "UnitResult", "pooled_summary", "split_units", "unit_column_hint", "units_out"]

#: Units a line names before it says only how many share it.
SHOWN_UNITS = 5
_DATA_ROW = re.compile(r"data row (\d+)")


@dataclass(frozen=True)
class Unit:
    """One machine of a stacked file: its name and its rows in TRAIN and TEST as read."""

    column: str
    name: str
    train_rows: NDArray[np.intp]
    test_rows: NDArray[np.intp]

    @property
    def label(self) -> str:
        """``pump_id=P2``: how lines name the unit."""
        return f"{self.column}={self.name}"

    def in_file(self, line: str, paths: tuple[Path, Path]) -> str:
        """``line``, said of this unit's rows, with its data rows counted in the file it names
        first (a line about TRAIN counts TRAIN's rows, one about TEST TEST's)."""
        for path, rows in zip(paths, (self.train_rows, self.test_rows), strict=True):
            if line.startswith(f"{path}:"):
                return _DATA_ROW.sub(lambda match, rows=rows: _file_row(match, rows), line)
        return line

    def said(self, line: str, paths: tuple[Path, Path]) -> str:
        """``line`` with its rows counted in the file and the unit named after the file."""
        return _named(self.in_file(line, paths), self.label, paths)


@dataclass(frozen=True)
class UnitResult:
    """One unit's detection: OUT's rows for it (in its TEST order) and its summary."""

    unit: Unit
    out: pd.DataFrame
    summary: DetectSummary
    per_time: bool  # a row per time of a file of one reading per line


def _file_row(match: re.Match[str], rows: NDArray[np.intp]) -> str:
    """``data row N`` of a unit's rows as ``data row M`` of its file."""
    i = int(match.group(1)) - 1
    return f"data row {rows[i] + 1}" if 0 <= i < len(rows) else match.group(0)


def _named(line: str, label: str, paths: tuple[Path, Path]) -> str:
    """``test.csv, pump_id=P2: ...`` for a line about a file, else ``pump_id=P2: ...``."""
    for path in paths:
        if line.startswith(f"{path}: "):
            return f"{path}, {label}: {line[len(str(path)) + 2 :]}"
    return f"{label}: {line}"


def _names(cells: pd.Series) -> NDArray[np.object_]:
    """Each row's unit as written, None where the cell is empty."""

    def name(cell: object) -> str | None:
        if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
            return None
        if isinstance(cell, (float, np.floating)):
            return f"{cell:g}"
        text = str(cell).strip()
        return text or None

    codes, distinct = pd.factorize(cells)  # each distinct cell named once; -1: empty
    names = np.asarray([*(name(cell) for cell in distinct), None], dtype=object)
    return names[codes]


def _column(frame: pd.DataFrame, column: str, path: Path) -> NDArray[np.object_]:
    """The units of ``frame``'s rows, refusing a missing column or an empty cell."""
    if column not in frame.columns:
        raise SchemaError(
            f"{path}: --unit-column {column!r} not found; columns are {list(frame.columns)}"
        )
    names = _names(frame[column])
    empty = np.flatnonzero(pd.isna(names))
    if empty.size:
        raise SchemaError(
            f"{path}: data row {empty[0] + 1} has no {column!r} ({empty.size:,} row(s) without "
            "one): with --unit-column every row names its unit"
        )
    return names


def unit_column_hint(frame: pd.DataFrame, columns: Sequence[str], time_column: str | None) -> str:
    """``"; or, if 'machine' names the machine of each row, ..."``: what to add to the refusal
    of non-numeric feature columns when one of ``columns`` holds text that several rows of most
    times differ by (:func:`~bms.evaluate.not_readings.stacks_machines`), else ``""``."""
    if time_column is None or time_column not in frame.columns:
        return ""
    times = frame[time_column].astype(str).to_numpy()
    for column in columns:
        cells = frame[column]
        if pd.api.types.is_numeric_dtype(cells) or cells.nunique() < 2:
            continue
        if stacks_machines(cells, times):
            return (
                f"; or, if {column!r} names the machine of each row, judge each machine on its "
                f"own with --unit-column {column!r}"
            )
    return ""


def _rows_of(names: NDArray[np.object_]) -> dict[str, NDArray[np.intp]]:
    """Each unit's row positions, units in the order first named."""
    groups = pd.Series(np.arange(len(names))).groupby(names, sort=False).indices
    first_named = sorted(groups.items(), key=lambda group: group[1][0])
    return {str(name): np.asarray(rows, dtype=np.intp) for name, rows in first_named}


def split_units(
    train: pd.DataFrame, test: pd.DataFrame, column: str, paths: tuple[Path, Path]
) -> tuple[list[Unit], list[str]]:
    """The units of TEST (in the order TEST first names them) with their rows in both files,
    and a line naming TRAIN's units that TEST lacks, if any.

    Raises
    ------
    SchemaError
        The column missing from a file, a row without a unit, or a TEST unit without TRAIN rows.
    """
    train_names, test_names = (
        _column(frame, column, path) for frame, path in zip((train, test), paths, strict=True)
    )
    train_rows, test_rows = (_rows_of(names) for names in (train_names, test_names))
    for name, rows in test_rows.items():
        if name not in train_rows:
            raise SchemaError(
                f"{paths[1]}: {column}={name} (first in data row {rows[0] + 1}) has no rows in "
                "TRAIN: each unit is judged against its own normal operation; add its normal "
                "rows to TRAIN, or leave it out of TEST"
            )
    units = [
        Unit(column=column, name=name, train_rows=train_rows[name], test_rows=rows)
        for name, rows in test_rows.items()
    ]
    left_out = [name for name in train_rows if name not in test_rows]
    notes = [f"{paths[0]}: {_shown(column, left_out)} not in TEST: not judged"] if left_out else []
    return units, notes


def _shown(column: str, names: Sequence[str]) -> str:
    """``pump_id=P1, P2, P3`` (the first :data:`SHOWN_UNITS`, then how many in all)."""
    shown = ", ".join(names[:SHOWN_UNITS])
    more = f", ... ({len(names)} units)" if len(names) > SHOWN_UNITS else ""
    return f"{column}={shown}{more}"


def units_out(results: Sequence[UnitResult], n_test: int) -> pd.DataFrame:
    """OUT of a stacked file: each unit's rows with a ``unit`` column after ``time``, in
    TEST's row order (``n_test`` rows), or unit after unit for files of one reading per line."""
    outs = [_numbered_in_file(result).assign(unit=result.unit.name) for result in results]
    out = pd.concat(outs, ignore_index=True)
    if not any(result.per_time for result in results):
        rows = np.concatenate([result.unit.test_rows for result in results])
        if len(rows) != n_test:  # every TEST row is some unit's
            raise AssertionError(f"{len(rows)} unit rows for {n_test} TEST rows")
        out = out.iloc[np.argsort(rows, kind="stable")].reset_index(drop=True)
    columns = ["time", "unit", *[c for c in out.columns if c not in ("time", "unit")]]
    out = out[columns]
    if "rule" in out.columns:  # units that are no AHU have no rule codes
        out["rule"] = out["rule"].fillna("")
    return out


def _numbered_in_file(result: UnitResult) -> pd.DataFrame:
    """A unit's OUT rows; without a time column, their ``time`` (the row's number in the
    unit's TEST rows) as its number in TEST."""
    if result.summary.time_column is not None:
        return result.out
    return result.out.assign(time=result.unit.test_rows[result.out["time"].to_numpy(dtype=int)])


def _grouped_notes(
    results: Sequence[tuple[Unit, DetectSummary]], paths: tuple[Path, Path]
) -> list[str]:
    """Each unit's lines, rows counted in the file; a line said alike of several units once."""
    said: dict[str, list[str]] = {}
    for unit, summary in results:
        for note in summary.notes:
            said.setdefault(unit.in_file(note, paths), []).append(unit.name)
    column = results[0][0].column
    return [_named(line, _shown(column, names), paths) for line, names in said.items()]


def _union(groups: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The names of all groups, each once, in the order first met."""
    return tuple(dict.fromkeys(name for group in groups for name in group))


def _alarm_weight(result: tuple[Unit, DetectSummary]) -> tuple[int, int]:
    """Sort key of the units with alarms: most alarm days first, then most anomalous rows."""
    summary = result[1]
    return -len(summary.alarm_days), -summary.n_anomalous


def pooled_summary(
    results: Sequence[tuple[Unit, DetectSummary]],
    paths: tuple[Path, Path],
    notes: Sequence[str] = (),
) -> DetectSummary:
    """One summary of every unit's run: counts added, feature lists joined, each episode with
    its unit, days with an alarm in any unit; ``notes`` (about the split) first."""
    summaries = [summary for _, summary in results]
    n_test = sum(s.n_test for s in summaries)
    outside = Counter[str]()
    for s in summaries:
        if s.outside_most is not None:
            outside[s.outside_most] += s.outside_share * s.n_test
    episodes = [s.episodes.assign(unit=unit.label) for unit, s in results if not s.episodes.empty]
    return DetectSummary(
        n_train=sum(s.n_train for s in summaries),
        n_test=n_test,
        n_anomalous=sum(s.n_anomalous for s in summaries),
        features=list(_union([s.features for s in summaries])),
        time_column=summaries[0].time_column,
        outside_share=sum(s.outside_share * s.n_test for s in summaries) / max(n_test, 1),
        outside_most=outside.most_common(1)[0][0] if outside else None,
        notes=(*notes, *_grouped_notes(results, paths)),
        slow_features=_union([s.slow_features for s in summaries]),
        running_totals=_union([s.running_totals for s in summaries]),
        profiled_features=_union([s.profiled_features for s in summaries]),
        point_features=_union([s.point_features for s in summaries]),
        setting_features=_union([s.setting_features for s in summaries]),
        rules_applied=_union([s.rules_applied for s in summaries]),
        n_rule_rows=sum(s.n_rule_rows for s in summaries),
        n_rule_only_rows=sum(s.n_rule_only_rows for s in summaries),
        episodes=pd.concat(episodes, ignore_index=True)
        if episodes
        else pd.DataFrame(columns=[*EPISODE_COLUMNS, "unit"]),
        alarm_days=tuple(sorted(_union([s.alarm_days for s in summaries]))),
        test_day_names=tuple(sorted(_union([s.test_day_names for s in summaries]))),
        unit_column=results[0][0].column,
        units=tuple(unit.name for unit, _ in results),
        unit_alarms=tuple(
            (unit.label, len(s.alarm_days), s.n_anomalous)
            for unit, s in sorted(results, key=_alarm_weight)
            if s.n_anomalous
        ),
    )
