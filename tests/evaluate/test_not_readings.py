"""Numeric columns that are not readings: row counters and times left out, ids named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bms.evaluate.not_readings import (
    counter_columns,
    id_like_notes,
    stacked_machines_notes,
    time_columns,
)


def _frames(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    def frame(start: int, n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": np.arange(start, start + n),  # a row counter
                "epoch": 1.7e9 + 60.0 * np.arange(start, start + n),  # the time again
                "engine": np.repeat([1, 2], n // 2),  # an id, not a counter
                "flow": rng.normal(30, 1, n),
                "meter_kwh": np.cumsum(rng.uniform(0, 2, n)),  # increases, not by one step
            }
        )

    return frame(0, 400), frame(400, 200)


def test_row_counters_and_times_written_as_numbers_are_found(rng):
    train, test = _frames(rng)
    assert counter_columns(train, test) == ["id", "epoch"]  # epoch steps 60 s a row
    assert time_columns(train, test) == ["epoch"]


def test_whole_numbers_named_like_ids_are_named(rng):
    train, _ = _frames(rng)
    notes = id_like_notes(train, ["engine", "flow", "meter_kwh"], Path("tr.csv"))
    assert len(notes) == 1 and notes[0].startswith("tr.csv: 'engine' look(s) like an id")
    assert id_like_notes(train, ["flow"], Path("tr.csv")) == []


def test_two_machines_stacked_in_one_file_are_said(rng):
    times = pd.date_range("2026-01-01", periods=300, freq="min")
    one = pd.DataFrame({"sensor_id": 1, "flow": rng.normal(30, 1, 300)}, index=times)
    two = pd.DataFrame({"sensor_id": 2, "flow": rng.normal(50, 1, 300)}, index=times)
    stacked = pd.concat([one, two]).sort_index(kind="stable")
    notes = stacked_machines_notes(stacked, ["sensor_id", "flow"], Path("tr.csv"))
    assert notes == [
        "tr.csv: most times hold rows of several 'sensor_id' values (2): several machines in "
        "one file? They are judged as one stream; --unit-column 'sensor_id' judges each "
        "against its own TRAIN rows"
    ]
    assert stacked_machines_notes(one, ["sensor_id", "flow"], Path("tr.csv")) == []
