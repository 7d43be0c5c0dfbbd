"""What ``bms detect`` did: the figures and lines the command prints after writing OUT."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bms.evaluate.detect_episodes import EPISODE_COLUMNS

__all__ = ["DetectSummary"]


@dataclass(frozen=True)
class DetectSummary:
    """What ``run_detect`` did."""

    n_train: int
    n_test: int
    n_anomalous: int
    features: list[str]
    time_column: str | None
    #: Share of TEST rows with a feature outside its TRAIN range [0-1]
    #: (:func:`~bms.evaluate.detect_notes.outside_training_range`), among the features whose
    #: level is judged (not the slow ones).
    outside_share: float = 0.0
    #: The feature most often outside its TRAIN range, if any.
    outside_most: str | None = None
    #: One line per thing to know about the input: a feature column whose unreadable cells
    #: were read as missing (file, column, how many, the first one and its data row), the
    #: columns left out because TRAIN holds no value of them.
    notes: tuple[str, ...] = ()
    #: Features whose TRAIN rows are too short to show their normal range (too few
    #: decorrelation times: :attr:`TimeSeriesDetector.slow_signals_`); only their changes are
    #: judged. Running totals are among them, and also named apart:
    slow_features: tuple[str, ...] = ()
    #: Features that only rise in TRAIN and TEST (a meter's index:
    #: :func:`~bms.evaluate.detect_notes.running_totals`), judged by their change.
    running_totals: tuple[str, ...] = ()
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
    #: Days of TEST (on the site's clock: see :mod:`bms.evaluate.detect_clock`) holding an
    #: alarm of a smoothing window or more (:func:`~bms.evaluate.detect_episodes.alarm_days`),
    #: and the days TEST covers, sorted (none without times).
    alarm_days: tuple[str, ...] = ()
    test_day_names: tuple[str, ...] = ()
    #: With ``--unit-column``: the column, the units judged (each against its own TRAIN rows,
    #: named as written in the column), and the units with alarms (``column=name``), each with
    #: its number of alarm days and of anomalous rows, most alarm days (then rows) first.
    unit_column: str | None = None
    units: tuple[str, ...] = ()
    unit_alarms: tuple[tuple[str, int, int], ...] = ()

    @property
    def test_days(self) -> int:
        """How many days TEST covers (0 without times)."""
        return len(self.test_day_names)
