"""``TimeSeriesDetector`` from Python, as a data scientist holds frames: what it refuses, and
what it reads for them (batches, time zones, scikit-learn's parameter API)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.series_checks import in_time_order


def _room(rng: np.random.Generator, days: int) -> pd.DataFrame:
    """Five-minute rows of a room and its CO2, both swinging with the time of day (UTC)."""
    index = pd.date_range("2024-03-01", periods=days * 288, freq="5min", tz="UTC")
    hours = index.hour + index.minute / 60
    return pd.DataFrame(
        {
            "room": 21 + 3 * np.sin(2 * np.pi * hours / 24) + rng.normal(0, 0.3, len(index)),
            "co2": 500 + 300 * ((hours > 8) & (hours < 18)) + rng.normal(0, 20, len(index)),
        },
        index=index,
    )


@pytest.fixture
def fitted(rng: np.random.Generator) -> tuple[TimeSeriesDetector, pd.DataFrame]:
    frame = _room(rng, 10)
    return TimeSeriesDetector().fit(frame.iloc[: 6 * 288]), frame.iloc[6 * 288 :]


def test_rows_out_of_time_order_are_refused(fitted):
    model, test = fitted
    with pytest.raises(ValueError, match="not in time order; sort them first"):
        model.score(test.sample(frac=1.0, random_state=0))
    with pytest.raises(ValueError, match="not in time order"):
        TimeSeriesDetector().fit(test.iloc[::-1])


def test_a_wall_clock_s_autumn_change_is_in_time_order():
    utc = pd.date_range("2026-10-24", periods=2 * 1440, freq="min", tz="UTC")
    wall = pd.DatetimeIndex(utc.tz_convert("Europe/Paris").tz_localize(None))
    assert in_time_order(wall)  # 02:59 then 02:00 once: the clock, not the rows
    assert not in_time_order(wall[::-1])


def test_rows_indexed_in_another_time_zone_are_read_on_the_training_clock(fitted):
    # the same instants in Europe/Paris read every daily profile two hours off: 1,071 of
    # 1,152 normal rows flagged
    model, test = fitted
    in_utc = model.score(test)
    in_paris = model.score(test.tz_convert("Europe/Paris"))
    assert (in_paris.index == test.tz_convert("Europe/Paris").index).all()
    np.testing.assert_allclose(in_paris["score"].to_numpy(), in_utc["score"].to_numpy())
    assert in_paris["anomaly"].mean() < 0.05


def test_a_batch_scored_with_its_context_is_scored_as_in_the_whole_stream(fitted):
    # batches scored alone start every window afresh: batches of 60 SKAB rows lost every alarm
    model, test = fitted
    test = test.copy()
    test.iloc[600:700, 0] += 3.0  # the room 3 K warmer for eight hours
    whole = model.score(test)
    batch = model.score(test.iloc[640:700], context=test.iloc[340:640])
    pd.testing.assert_frame_equal(batch, whole.iloc[640:700])
    assert batch["anomaly"].all()


def test_parameters_follow_scikit_learn_s_conventions(fitted):
    _, test = fitted
    copy = clone(TimeSeriesDetector(window_rows=20))
    assert copy.get_params()["window_rows"] == 20
    assert copy.set_params(false_alarm_rate=0.02).false_alarm_rate == 0.02
    with pytest.raises(NotFittedError):
        TimeSeriesDetector().score(test)


def test_no_row_to_score_gives_no_row(fitted):
    model, test = fitted
    empty = model.score(test.iloc[:0])
    assert empty.empty and {"score", "anomaly", "top_contributor"} <= set(empty.columns)


def test_a_signal_empty_all_through_training_is_refused(fitted):
    _, test = fitted
    with pytest.raises(ValueError, match=r"signal\(s\) \['co2'\] hold no value"):
        TimeSeriesDetector().fit(test.assign(co2=np.nan))


def test_an_array_is_refused_for_want_of_column_names(fitted):
    model, test = fitted
    with pytest.raises(TypeError, match="rows scored: expected a pandas DataFrame .* ndarray"):
        model.score(test.to_numpy())
    with pytest.raises(TypeError, match="training rows: expected a pandas DataFrame"):
        TimeSeriesDetector().fit(test.to_numpy())
    with pytest.raises(TypeError, match="context rows: expected a pandas DataFrame"):
        model.score(test.iloc[10:], context=test.iloc[:10].to_numpy())


def test_a_value_that_is_not_a_number_is_refused_naming_its_column(fitted):
    # before: "could not convert string to float: 'off'", naming neither column nor row
    model, test = fitted
    words = test.assign(co2=test["co2"].astype(object))
    words.iloc[5, 1] = "off"
    with pytest.raises(ValueError, match="rows scored: column 'co2' holds 'off', not a number"):
        model.score(words)
    with pytest.raises(ValueError, match="training rows: column 'co2' holds 'off'"):
        TimeSeriesDetector().fit(words)
    numbers = words.assign(co2=test["co2"].astype(object))  # numbers in an object column
    assert len(model.score(numbers)) == len(test)


def test_elapsed_times_are_checked(fitted):
    # their effect, spring's skipped hour read as no gap: tests/evaluate/test_detect_rules.py
    model, test = fitted
    with pytest.raises(ValueError, match="elapsed holds 3 times for 10 rows"):
        model.score(test.iloc[:10], elapsed=test.index[:3])
    with pytest.raises(ValueError, match="elapsed times or context, not both"):
        model.score(test.iloc[10:20], context=test.iloc[:10], elapsed=test.index[10:20])
