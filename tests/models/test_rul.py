"""Supervised RUL: features, regime normalisation and the estimator on synthetic fleets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.evaluate.rul_metrics import interval_coverage, rmse
from bms.models.rul import RunToFailureRUL, default_max_rul, piecewise_target
from bms.models.rul_features import rolling_mean, rolling_slope, unit_starts, window_features
from bms.models.rul_regimes import RegimeNormalizer

THRESHOLD = 10.0  # wear level at failure
RATE = 0.05  # wear per cycle


def fleet(
    rng: np.random.Generator, n_units: int, *, cut: bool = False, regimes: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Units whose wear grows linearly from a random start until it reaches THRESHOLD.

    ``wear = h0 + RATE * cycle`` so the true RUL is ``(THRESHOLD - wear) / RATE``: sensor
    ``s_lin`` reads the wear plus noise, ``s_sq`` its square, ``s_noise`` is noise,
    ``s_const`` is constant. With ``cut``, each history stops at a random point and the true
    RUL at the last row is returned. With ``regimes``, a setting column picks one of that
    many operating points per row, each shifting and scaling the sensors.
    """
    frames, truth = [], []
    fixed = np.random.default_rng(7)  # the same operating points in every fleet
    offsets = fixed.normal(0, 30, size=(max(regimes, 1), 3))
    scales = fixed.uniform(0.5, 2.0, size=(max(regimes, 1), 3))
    for unit in range(1, n_units + 1):
        h0 = rng.uniform(0.0, 4.0)
        life = int((THRESHOLD - h0) / RATE)
        stop = int(rng.integers(20, life - 5)) if cut else life
        cycle = np.arange(1, stop + 1)
        wear = h0 + RATE * cycle
        sensors = np.column_stack(
            [
                wear + rng.normal(0, 0.15, stop),
                wear**2 / 10 + rng.normal(0, 0.15, stop),
                rng.normal(0, 1, stop),
            ]
        )
        frame = pd.DataFrame({"unit": unit, "cycle": cycle})
        if regimes:
            r = rng.integers(0, regimes, stop)
            frame["op_setting"] = r * 10.0 + rng.normal(0, 0.01, stop)
            sensors = offsets[r] + scales[r] * sensors
        frame[["s_lin", "s_sq", "s_noise"]] = sensors
        frame["s_const"] = 3.0
        frames.append(frame)
        truth.append(life - stop)
    return pd.concat(frames, ignore_index=True), np.asarray(truth, dtype=float)


def small_model(**kwargs: object) -> RunToFailureRUL:
    params = {"unit_column": "unit", "time_column": "cycle", "n_seeds": 1, "max_iter": 150}
    return RunToFailureRUL(**{**params, **kwargs})  # type: ignore[arg-type]


def test_piecewise_target_caps_time_to_failure() -> None:
    units = np.array([1, 1, 1, 2, 2])
    times = np.array([1.0, 2.0, 3.0, 5.0, 9.0])
    assert piecewise_target(units, times, 1.5).tolist() == [1.5, 1.0, 0.0, 1.5, 0.0]


def test_default_cap_is_a_rounded_share_of_the_median_run() -> None:
    assert default_max_rul([190, 200, 210]) == 120.0  # 0.6 x 200
    assert default_max_rul([3, 4]) == pytest.approx(2.1)  # short runs: not rounded to 0


def test_rolling_statistics_stay_inside_each_unit() -> None:
    units = np.array([1, 1, 1, 2, 2])
    values = np.array([[1.0], [2.0], [3.0], [10.0], [14.0]])
    starts = unit_starts(units)
    assert starts.tolist() == [0, 0, 0, 3, 3]
    assert rolling_mean(values, starts, 2)[:, 0].tolist() == [1.0, 1.5, 2.5, 10.0, 12.0]
    times = np.array([0.0, 1.0, 2.0, 0.0, 2.0])
    assert rolling_slope(values, times, starts, 3)[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0, 2.0]


def test_window_features_are_causal(rng: np.random.Generator) -> None:
    data, _ = fleet(rng, 3)
    names = ["s_lin", "s_sq"]
    full = window_features(data[names].to_numpy(), names, data["unit"], data["cycle"])
    keep = data.groupby("unit").cumcount() < 40  # drop every unit's rows after the 40th
    cut = data[keep]
    part = window_features(cut[names].to_numpy(), names, cut["unit"], cut["cycle"])
    np.testing.assert_allclose(part.to_numpy(), full[keep.to_numpy()].to_numpy(), atol=1e-9)


def test_window_features_of_a_unit_ignore_the_other_units(rng: np.random.Generator) -> None:
    # the same unit alone, and after a unit of large readings and times in seconds: its
    # features must be the same to the last bit (window sums used to be differences of one
    # running sum over every row, whose rounding came from the rows before the unit)
    names = ["a", "b"]
    unit = rng.normal(0.0, 1.0, (120, 2))
    alone = window_features(unit, names, np.zeros(120), np.arange(120) * 3600.0)
    other = rng.normal(1e4, 1e3, (500, 2))
    both = window_features(
        np.vstack([other, unit]),
        names,
        np.r_[np.ones(500), np.zeros(120)],
        np.r_[np.arange(500), np.arange(120)] * 3600.0,  # seconds
    )
    np.testing.assert_array_equal(both.iloc[500:].to_numpy(), alone.to_numpy())


def test_a_units_prediction_ignores_the_other_units(rng: np.random.Generator) -> None:
    # relabelling the units in reverse order changes their order, not their predictions.
    # Readings written to 0.1, as loggers do: window means then take few distinct values,
    # which the trees' bin edges fall on, so rounding noise of 1e-16 moved predictions by a
    # cycle before each unit's features were computed from its own rows only
    train, _ = fleet(rng, 20)
    test, _ = fleet(rng, 30, cut=True)
    sensors = ["s_lin", "s_sq", "s_noise"]
    for frame in (train, test):
        frame[sensors] = frame[sensors].round(1)
    model = small_model().fit(train)
    before = model.predict_rows(test)
    reverse = {u: 1000 - u for u in test["unit"].unique()}
    after = model.predict_rows(test.assign(unit=test["unit"].map(reverse)))
    after["unit"] = 1000 - after["unit"]
    after = after.set_index(["unit", "cycle"]).loc[before.set_index(["unit", "cycle"]).index]
    pd.testing.assert_frame_equal(after.reset_index(), before, check_exact=True)


def test_linear_degradation_rul_is_recovered(rng: np.random.Generator) -> None:
    train, _ = fleet(rng, 30)
    test, truth = fleet(rng, 40, cut=True)
    model = small_model(max_rul=250).fit(train)
    pred = model.predict_quantiles(test)
    assert rmse(truth, pred["rul_p50"]) < 10.0  # lives are 120-200 cycles
    assert "s_const" not in model.signals_ and "s_noise" not in model.signals_
    assert (pred["rul_p10"] <= pred["rul_p50"]).all() and (pred["rul_p50"] <= pred["rul_p90"]).all()
    assert (pred["rul_p10"] >= 0).all()
    assert interval_coverage(truth, pred["rul_p10"], pred["rul_p90"]) >= 0.6


def test_predictions_respect_the_cap(rng: np.random.Generator) -> None:
    train, _ = fleet(rng, 20)
    test, _ = fleet(rng, 10, cut=True)
    model = small_model(max_rul=60).fit(train)
    rows = model.predict_rows(test)
    assert model.max_rul_ == 60
    assert rows["rul_p50"].between(0, 60).all()
    assert list(rows.columns) == ["unit", "cycle", "rul_p10", "rul_p50", "rul_p90"]


def test_regimes_are_found_only_when_settings_form_operating_points(
    rng: np.random.Generator,
) -> None:
    signals = rng.normal(size=(600, 2))
    six = np.repeat(np.arange(6.0), 100)[:, None] * 10 + rng.normal(0, 0.01, (600, 1))
    assert RegimeNormalizer().fit(six, signals).n_regimes_ == 6
    noise = rng.normal(size=(600, 2))
    assert RegimeNormalizer().fit(noise, signals).n_regimes_ == 1


def test_regime_normalisation_z_scores_within_each_regime(rng: np.random.Generator) -> None:
    regime = np.repeat([0, 1, 2], 200)
    settings = regime[:, None] * 5.0 + rng.normal(0, 0.01, (600, 1))
    signals = np.column_stack([regime * 100.0 + rng.normal(0, 1, 600), regime * 7.0])
    norm = RegimeNormalizer()
    out = norm.fit_transform(settings, signals)
    assert norm.keep_.tolist() == [True, False]  # the 2nd only moves with the regime
    for r in range(3):
        assert abs(out[regime == r, 0].mean()) < 1e-9
        assert out[regime == r, 0].std() == pytest.approx(1.0)


def test_regime_normalisation_recovers_accuracy(rng: np.random.Generator) -> None:
    train, _ = fleet(rng, 30, regimes=4)
    test, truth = fleet(rng, 40, cut=True, regimes=4)
    model = small_model(max_rul=250).fit(train)
    assert model.regimes_.n_regimes_ == 4
    normalised = rmse(truth, model.predict(test))
    raw = rmse(truth, small_model(max_rul=250, regime_columns=None).fit(train).predict(test))
    assert normalised < 12.0
    assert normalised < 0.7 * raw


def test_too_few_units_are_refused(rng: np.random.Generator) -> None:
    train, _ = fleet(rng, 3)
    with pytest.raises(SchemaError, match="3 training unit"):
        small_model().fit(train)


def test_missing_test_column_is_named(rng: np.random.Generator) -> None:
    train, _ = fleet(rng, 10)
    model = small_model(cv_folds=3).fit(train)
    with pytest.raises(SchemaError, match="s_lin"):
        model.predict(train.drop(columns=["s_lin"]))


def test_a_word_or_an_array_is_refused_naming_it(rng: np.random.Generator) -> None:
    # before: "could not convert string to float: 'x'" and "'numpy.ndarray' object has no
    # attribute 'columns'"
    train, _ = fleet(rng, 10)
    words = train.assign(s_lin=train["s_lin"].astype(object).where(train.index != 7, "x"))
    with pytest.raises(ValueError, match="histories: column 's_lin' holds 'x', not a number"):
        small_model(cv_folds=3).fit(words)
    model = small_model(cv_folds=3).fit(train)
    with pytest.raises(ValueError, match="column 's_lin' holds 'x'"):
        model.predict(words)
    with pytest.raises(TypeError, match="histories: expected a pandas DataFrame"):
        model.predict(train.to_numpy())
