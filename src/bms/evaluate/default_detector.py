"""The product's default detector as the public protocols run it (SKAB, IMS, C-MAPSS).

Each protocol takes a :data:`Predictor` so that a baseline (PyOD's detectors in the
benchmarks) runs through the same code; :func:`default_predictor` is ``bms detect``'s model.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.models.anomaly_pipeline import TimeSeriesDetector

__all__ = ["Predictor", "default_predictor"]

#: A function fitted on the training frame that returns 0/1 predictions for the test frame.
Predictor = Callable[[pd.DataFrame, pd.DataFrame], NDArray[np.int64]]


def default_predictor(
    train: pd.DataFrame, test: pd.DataFrame, *, false_alarm_rate: float = 0.01
) -> NDArray[np.int64]:
    """The product's default detector, exactly as ``bms detect`` runs it (``false_alarm_rate``:
    its ``--false-alarm-rate``)."""
    model = TimeSeriesDetector(false_alarm_rate=false_alarm_rate).fit(train)
    return np.asarray(model.score(test, contributions=False)["anomaly"].to_numpy())
