"""How short an event `bms detect`'s detector finds: steps of a few rows on a real AHU.

LBNL MZVAV-2-2 (``BMS_DATASETS/lbnl_ahu``), the ``within`` split of :mod:`bms.evaluate.lbnl`
(alternate fault-free days train). On every normal test day, one signal at a time is raised by
``k`` training standard deviations for ``L`` rows (minutes) from 11:00, the fan running; every
signal with at least 10 distinct training values in turn. An event is found when a row inside
it is flagged. Printed per ``L`` and ``k``: the events found, and the same rows flagged without
the event (so a detector that already flags them is not credited). The detector is the
product's default (:class:`bms.models.anomaly_pipeline.TimeSeriesDetector`, as ``bms detect``
runs it; AHU rules left out); its flags come from a 30-row mean, so a shorter event weighs
less. Baseline in the same run: scikit-learn's ``IsolationForest`` (default settings) on the
same rows, standardised on the training rows.

    .venv/bin/python benchmarks/bench_detect_short_events.py [--datasets DIR]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from lbnl_data import lbnl_folder
from numpy.typing import NDArray
from sklearn.ensemble import IsolationForest
from sklearn.preprocessing import StandardScaler

from bms.evaluate.lbnl import LABEL, read_lbnl, signal_columns, within_training_rows
from bms.models.anomaly_pipeline import TimeSeriesDetector

LENGTHS_ROWS = (3, 5, 10, 20, 30, 60)
SIZES_SD = (5.0, 10.0)
EVENT_HOUR = 11
MIN_LEVELS = 10

Flagger = Callable[[pd.DataFrame], NDArray[np.bool_]]


def forest_flagger(train: pd.DataFrame) -> Flagger:
    """IsolationForest's -1 rows, standardised and gap-filled on the training rows."""
    medians = train.median()
    scaler = StandardScaler().fit(train.fillna(medians))
    forest = IsolationForest(random_state=0).fit(scaler.transform(train.fillna(medians)))
    return lambda frame: forest.predict(scaler.transform(frame.fillna(medians))) == -1


def bms_flagger(train: pd.DataFrame) -> Flagger:
    """The default detector's flags."""
    model = TimeSeriesDetector().fit(train)
    return lambda frame: model.score(frame, contributions=False)["anomaly"].to_numpy() == 1


def event_starts(test: pd.DataFrame) -> list[int]:
    """Row of ``EVENT_HOUR``:00 on each test day (days without that minute are skipped)."""
    days = test.index.normalize().unique()
    rows = test.index.get_indexer(days + pd.Timedelta(hours=EVENT_HOUR))
    return [int(i) for i in rows if i >= 0]


def found_events(
    flag: Flagger, test: pd.DataFrame, signals: list[str], spread: pd.Series
) -> dict[tuple[int, float], tuple[int, int, int]]:
    """(L, k) -> (events found, events whose rows were flagged without them, events)."""
    clean = flag(test)
    starts = event_starts(test)
    counts = {}
    for length in LENGTHS_ROWS:
        for size in SIZES_SD:
            found = already = total = 0
            for column in signals:
                stepped = test.copy()
                j = stepped.columns.get_loc(column)
                for i in starts:
                    stepped.iloc[i : i + length, j] += size * spread[column]
                flagged = flag(stepped)
                for i in starts:
                    found += bool(flagged[i : i + length].any())
                    already += bool(clean[i : i + length].any())
                    total += 1
            counts[(length, size)] = (found, already, total)
    return counts


def main() -> None:
    datasets = lbnl_folder(__doc__.splitlines()[0])
    frame = read_lbnl(datasets / "MZVAV-2-2.csv")
    in_train = within_training_rows(frame)
    signals = signal_columns(frame)
    train = frame.loc[in_train, signals]
    test = frame.loc[~in_train & (frame[LABEL] == 0), signals]
    moving = [c for c in signals if train[c].nunique() >= MIN_LEVELS]
    spread = train.std()
    results = {
        "bms detect": found_events(bms_flagger(train), test, moving, spread),
        "IsolationForest": found_events(forest_flagger(train), test, moving, spread),
    }
    print(
        f"MZVAV-2-2 within: {len(event_starts(test))} normal test days x {len(moving)} signals, "
        f"a step from {EVENT_HOUR}:00; found / flagged without the event / events"
    )
    rows = []
    for (length, size), _ in results["bms detect"].items():
        row: dict[str, object] = {"rows": length, "size [s.d.]": size}
        for name, counts in results.items():
            found, already, total = counts[(length, size)]
            row[name] = f"{found} / {already} / {total}"
        rows.append(row)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
