"""Champion/challenger: retraining that cannot silently get worse.

A freshly trained model (the *candidate*) replaces the production model (the *champion*) only if,
evaluated on the SAME held-back data, it is not worse beyond a tolerance. The candidate is always
registered (so it can be inspected and promoted by hand); a refusal is recorded in the model's
history with both scores. The held-back data must not have been used to fit either model nor to
choose their settings: hold back the most recent period, for instance.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sklearn.metrics import get_scorer

from bms.errors import BmsError
from bms.models.registry import ModelRegistry, Timestamp

__all__ = ["Comparison", "SelectionDecision", "compare", "register_and_maybe_promote"]

logger = logging.getLogger(__name__)

Metric = str | Callable[[Any, Any], float]


class SelectionError(BmsError, ValueError):
    """The comparison cannot be set up (unknown metric, missing direction, bad tolerance)."""


@dataclass(frozen=True)
class Comparison:
    """Scores of a candidate and a champion on the same held-back data.

    ``metric`` is a scikit-learn scorer name (higher is better, errors negated as in
    ``neg_root_mean_squared_error``) or the name of a ``metric(y_true, y_pred)`` callable.
    A model that fails to predict, or yields a non-finite score, scores NaN.
    """

    metric: str
    higher_is_better: bool
    candidate_score: float
    champion_score: float
    n_samples: int

    def improvement(self) -> float:
        """How much better the candidate is (positive = better), in metric units."""
        delta = self.candidate_score - self.champion_score
        return delta if self.higher_is_better else -delta

    def candidate_not_worse(self, tolerance: float = 0.0) -> bool:
        """True if both scored and the candidate is at most ``tolerance`` worse (metric units).

        False when either score is NaN: what cannot be measured cannot be shown not worse.
        """
        if math.isnan(self.candidate_score) or math.isnan(self.champion_score):
            return False
        return self.improvement() >= -tolerance


@dataclass(frozen=True)
class SelectionDecision:
    """What :func:`register_and_maybe_promote` did, and why."""

    name: str
    candidate_version: int
    champion_version: int | None
    metric: str
    higher_is_better: bool
    candidate_score: float
    champion_score: float | None
    tolerance: float
    promoted: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the decision."""
        return asdict(self)


def _resolve_metric(
    metric: Metric, higher_is_better: bool | None
) -> tuple[str, bool, Callable[[Any, Any, Any], float]]:
    """(label, higher_is_better, score(model, X, y)) for a scorer name or a metric callable."""
    if isinstance(metric, str):
        try:
            scorer = get_scorer(metric)
        except ValueError:
            raise SelectionError(
                f"unknown metric {metric!r}: use a scikit-learn scorer name"
            ) from None
        if higher_is_better is False:
            raise SelectionError(
                f"scikit-learn scorer {metric!r} is higher-is-better; pass higher_is_better=True"
            )
        return metric, True, scorer
    if not callable(metric):
        raise SelectionError(f"metric must be a scorer name or a callable, got {metric!r}")
    if higher_is_better is None:
        raise SelectionError("say whether the metric is better high or low: higher_is_better")
    label = getattr(metric, "__name__", type(metric).__name__)
    return label, higher_is_better, lambda model, X, y: metric(y, model.predict(X))


def _score(score: Callable[[Any, Any, Any], float], model: Any, X: Any, y: Any, role: str) -> float:
    try:
        value = float(score(model, X, y))
    except Exception as exc:  # any failure to predict means the model cannot be trusted here
        logger.warning("%s could not be evaluated on the holdout: %s", role, exc)
        return math.nan
    return value if math.isfinite(value) else math.nan


def compare(
    candidate: Any,
    champion: Any,
    X_holdout: Any,
    y_holdout: Any,
    metric: Metric,
    higher_is_better: bool | None = None,
) -> Comparison:
    """Evaluate candidate and champion on the same held-back data.

    Parameters
    ----------
    candidate, champion : fitted estimators
        Both take the same input ``X_holdout``.
    X_holdout : array-like of shape (n_samples, n_features)
        Held-back inputs, never seen in fitting or tuning.
    y_holdout : array-like of shape (n_samples,)
        Held-back targets.
    metric : str or callable
        A scikit-learn scorer name (``"neg_root_mean_squared_error"``, ``"f1"``...) or
        ``metric(y_true, y_pred) -> float``.
    higher_is_better : bool, optional
        Direction of a callable metric (required for one); scorer names are higher-is-better.
    """
    label, higher, score = _resolve_metric(metric, higher_is_better)
    return Comparison(
        metric=label,
        higher_is_better=higher,
        candidate_score=_score(score, candidate, X_holdout, y_holdout, "candidate"),
        champion_score=_score(score, champion, X_holdout, y_holdout, "champion"),
        n_samples=len(y_holdout),
    )


def register_and_maybe_promote(
    registry: ModelRegistry,
    model: Any,
    *,
    name: str,
    kind: str,
    scope: str,
    features: Sequence[str],
    data_start: Timestamp,
    data_end: Timestamp,
    holdout: tuple[Any, Any],
    metric: Metric,
    higher_is_better: bool | None = None,
    tolerance: float = 0.0,
    metrics: Mapping[str, float] | None = None,
    params: Mapping[str, Any] | None = None,
    by: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> SelectionDecision:
    """Register ``model`` and promote it only if it is not worse than production.

    The candidate and the production model are scored on the same ``holdout = (X, y)``; the
    candidate is promoted when its score is at most ``tolerance`` (metric units) worse, or when
    there is no production model yet. Otherwise it stays ``candidate`` and the reason is recorded
    in the history. A champion that cannot be evaluated (e.g. it needs other features) does not
    block the candidate silently: the candidate is NOT promoted, and the reason says so.
    The holdout score is stored in the candidate's metrics as ``holdout_<metric>``; ``extra``
    (JSON-serialisable facts such as the training file) is stored with the version.
    """
    if not tolerance >= 0:
        raise SelectionError(f"tolerance must be >= 0, got {tolerance}")
    label, higher, score = _resolve_metric(metric, higher_is_better)
    X_holdout, y_holdout = holdout
    champion_meta = None
    if name in registry.names():
        champion_meta = registry.production(name)
    candidate_score = _score(score, model, X_holdout, y_holdout, "candidate")
    champion_score: float | None = None
    if champion_meta is not None:
        champion = registry.load(name, champion_meta.version)  # verified: refuses a tampered file
        champion_score = _score(score, champion, X_holdout, y_holdout, "champion")

    all_metrics = dict(metrics or {})
    if not math.isnan(candidate_score):
        all_metrics[f"holdout_{label}"] = candidate_score
    meta = registry.register(
        model,
        name=name,
        kind=kind,
        scope=scope,
        features=features,
        data_start=data_start,
        data_end=data_end,
        metrics=all_metrics,
        params=params,
        key_metric=f"holdout_{label}" if not math.isnan(candidate_score) else None,
        extra={**(extra or {}), "holdout_samples": len(y_holdout)},
    )

    where = f"holdout {label} on {len(y_holdout)} samples"
    if math.isnan(candidate_score):
        promoted, reason = False, f"candidate could not be evaluated ({where})"
    elif champion_meta is None:
        promoted, reason = True, f"first version in production ({where}: {candidate_score:.6g})"
    elif champion_score is None or math.isnan(champion_score):
        promoted = False
        reason = (
            f"production version {champion_meta.version} could not be evaluated ({where}); "
            "compare and promote by hand"
        )
    else:
        verdict = Comparison(label, higher, candidate_score, champion_score, len(y_holdout))
        promoted = verdict.candidate_not_worse(tolerance)
        relation = "not worse than" if promoted else "worse than"
        reason = (
            f"{where}: candidate {candidate_score:.6g} {relation} production version "
            f"{champion_meta.version} {champion_score:.6g} (tolerance {tolerance:g}, "
            f"{'higher' if higher else 'lower'} is better)"
        )
    if promoted:
        registry.promote(name, meta.version, reason=reason, by=by)
    else:
        registry.record_rejection(name, meta.version, reason=reason, by=by)
        logger.warning("%s version %d kept as candidate: %s", name, meta.version, reason)
    return SelectionDecision(
        name=name,
        candidate_version=meta.version,
        champion_version=None if champion_meta is None else champion_meta.version,
        metric=label,
        higher_is_better=higher,
        candidate_score=candidate_score,
        champion_score=champion_score,
        tolerance=tolerance,
        promoted=promoted,
        reason=reason,
    )
