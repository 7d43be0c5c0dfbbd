"""Retraining cannot silently get worse: a candidate replaces production only if not worse."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.metrics import mean_absolute_error

from bms.models.registry import ArtifactIntegrityError, ModelRegistry
from bms.models.selection import (
    SelectionError,
    compare,
    register_and_maybe_promote,
)

NAME = "pump-1.rul"
COEF = np.array([3.0, -2.0, 1.0, 0.5])


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, COEF.size))
    return X, X @ COEF + rng.normal(scale=0.3, size=n)


@pytest.fixture
def split(rng):
    """Training data, and a later held-back period never used for fitting."""
    return _data(rng, 300), _data(rng, 200)


def _retrain(registry: ModelRegistry, model, holdout, **kw):
    fields = {
        "name": NAME,
        "kind": "rul",
        "scope": "pump-1",
        "features": ["a", "b", "c", "d"],
        "data_start": "2026-01-01",
        "data_end": "2026-06-01",
        "holdout": holdout,
        "metric": "neg_root_mean_squared_error",
        **kw,
    }
    return register_and_maybe_promote(registry, model, **fields)


def test_compare_scores_both_models_on_the_same_held_back_data(split):
    (X, y), (X_hold, y_hold) = split
    good, poor = LinearRegression().fit(X, y), DummyRegressor().fit(X, y)

    result = compare(good, poor, X_hold, y_hold, mean_absolute_error, higher_is_better=False)

    good_mae = mean_absolute_error(y_hold, good.predict(X_hold))
    poor_mae = mean_absolute_error(y_hold, poor.predict(X_hold))
    assert (result.candidate_score, result.champion_score) == pytest.approx((good_mae, poor_mae))
    assert result.n_samples == 200 and result.improvement() == pytest.approx(poor_mae - good_mae)
    assert result.candidate_not_worse()
    reverse = compare(poor, good, X_hold, y_hold, mean_absolute_error, higher_is_better=False)
    assert not reverse.candidate_not_worse()


def test_a_metric_must_say_its_direction(split):
    (X, y), (X_hold, y_hold) = split
    model = LinearRegression().fit(X, y)
    with pytest.raises(SelectionError, match="higher_is_better"):
        compare(model, model, X_hold, y_hold, mean_absolute_error)
    with pytest.raises(SelectionError, match="unknown metric 'rmse'"):
        compare(model, model, X_hold, y_hold, "rmse")


def test_the_first_model_is_promoted(tmp_path, split):
    (X, y), holdout = split
    registry = ModelRegistry(tmp_path)

    decision = _retrain(registry, LinearRegression().fit(X, y), holdout)

    assert decision.promoted and decision.champion_version is None
    assert "first version in production" in decision.reason
    meta = registry.production(NAME)
    assert meta.version == 1 and meta.key_metric == "holdout_neg_root_mean_squared_error"
    assert meta.metrics[meta.key_metric] == pytest.approx(decision.candidate_score)


def test_a_worse_candidate_stays_candidate_with_the_reason_recorded(tmp_path, split):
    (X, y), holdout = split
    registry = ModelRegistry(tmp_path)
    _retrain(registry, LinearRegression().fit(X, y), holdout)

    decision = _retrain(registry, DummyRegressor().fit(X, y), holdout, tolerance=0.05)

    assert not decision.promoted
    assert decision.candidate_score < decision.champion_score - 0.05
    assert registry.production(NAME).version == 1
    assert str(registry.get(NAME, 2).status) == "candidate"
    event = registry.history(NAME)[-1]
    assert (event["action"], event["version"]) == ("reject", 2)
    assert "worse than production version 1" in event["reason"] == decision.reason


def test_a_better_candidate_is_promoted_and_an_equal_one_within_tolerance(tmp_path, split):
    (X, y), holdout = split
    registry = ModelRegistry(tmp_path)
    _retrain(registry, DummyRegressor().fit(X, y), holdout)

    better = _retrain(registry, LinearRegression().fit(X, y), holdout)
    assert better.promoted and better.champion_version == 1
    assert better.candidate_score > better.champion_score
    assert registry.production(NAME).version == 2

    nearly = _retrain(registry, Ridge(alpha=30.0).fit(X, y), holdout, tolerance=0.5)
    assert nearly.candidate_score < nearly.champion_score  # slightly worse, within tolerance
    assert nearly.promoted and registry.production(NAME).version == 3


def test_a_candidate_that_cannot_predict_is_not_promoted(tmp_path, split):
    (X, y), holdout = split
    registry = ModelRegistry(tmp_path)
    _retrain(registry, LinearRegression().fit(X, y), holdout)

    decision = _retrain(registry, LinearRegression(), holdout)  # never fitted

    assert not decision.promoted and np.isnan(decision.candidate_score)
    assert "candidate could not be evaluated" in decision.reason
    assert registry.production(NAME).version == 1


def test_a_tampered_champion_stops_the_retraining_instead_of_being_replaced(tmp_path, split):
    (X, y), holdout = split
    registry = ModelRegistry(tmp_path)
    _retrain(registry, LinearRegression().fit(X, y), holdout)
    artifact = tmp_path / NAME / "v000001" / "model.joblib"
    artifact.write_bytes(artifact.read_bytes()[:-1])

    with pytest.raises(ArtifactIntegrityError, match="does not match"):
        _retrain(registry, LinearRegression().fit(X, y), holdout)
    assert [m.version for m in registry.list(NAME)] == [1]
