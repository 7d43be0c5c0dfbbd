"""Rolling statistics and slopes, named with their window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.features.rolling import rolling_features, rolling_slope, window_label


def test_window_labels() -> None:
    assert [window_label(w) for w in ("1h", "24h", "15min", "90s")] == ["1h", "24h", "15min", "90s"]
    assert window_label("60min") == "1h"
    with pytest.raises(SchemaError, match="positive"):
        window_label("0h")


def test_slope_of_a_ramp_is_its_rate_per_hour_even_with_gaps() -> None:
    idx = pd.date_range("2026-01-01", periods=48, freq="15min", tz="UTC")
    ramp = pd.Series(10.0 + 2.5 * np.arange(48) / 4, index=idx)  # +2.5 per hour
    ramp.iloc[[5, 6, 20]] = np.nan
    slope = rolling_slope(ramp, "2h")
    assert slope.iloc[10:].dropna().to_numpy() == pytest.approx(2.5)
    assert np.isnan(slope.iloc[0])  # fewer than half the window's steps


def test_rolling_features_names_and_values() -> None:
    idx = pd.date_range("2026-01-01", periods=8, freq="15min", tz="UTC")
    wide = pd.DataFrame({"dp": [1.0, 2, 3, 4, 5, 6, 7, 8]}, index=idx)
    out = rolling_features(wide, windows=("1h",), stats=("mean", "max"))
    assert list(out.columns) == ["dp_mean_1h", "dp_max_1h", "dp_slope_per_h_1h"]
    assert out["dp_mean_1h"].iloc[-1] == pytest.approx(6.5)  # (5 + 6 + 7 + 8) / 4
    assert out["dp_max_1h"].iloc[-1] == 8.0
    assert out["dp_slope_per_h_1h"].iloc[-1] == pytest.approx(4.0)
    with pytest.raises(SchemaError, match="unknown rolling statistic 'median'"):
        rolling_features(wide, stats=("median",))
