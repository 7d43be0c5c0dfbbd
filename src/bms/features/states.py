"""Operating states: AHU modes from fan, valves and damper; generic clusters of conditions.

AHU states follow the operating states of ASHRAE Guideline 36 (§5.16.14)::

    off                 fan off
    startup             the first ``startup_minutes`` after the fan starts (rules wait)
    heating             OS1: heating valve open, cooling valve closed
    economiser          OS2: both valves closed, outdoor-air damper above its minimum
    economiser_cooling  OS3: cooling valve open, damper (nearly) fully open
    cooling             OS4: cooling valve open, damper at its minimum (or in between)
    ventilation         both valves closed, damper at its minimum (G36 counts it in OS2)
    unknown             OS5: anything else (both valves open; missing signals)

For data without such signals, :class:`ConditionClusterer` groups operating conditions
(KMeans on designated columns), and :class:`StateNormaliser` z-scores features per state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from bms.errors import SchemaError

__all__ = [
    "AhuState",
    "ConditionClusterer",
    "StateNormaliser",
    "StateParams",
    "ahu_states",
    "fan_on",
    "normalise_per_state",
    "state_changes",
]


class AhuState(StrEnum):
    """Operating state of an air-handling unit at one step."""

    OFF = "off"
    STARTUP = "startup"
    HEATING = "heating"
    ECONOMISER = "economiser"
    ECONOMISER_COOLING = "economiser_cooling"
    COOLING = "cooling"
    VENTILATION = "ventilation"
    UNKNOWN = "unknown"


#: States in which the fan runs and the unit is controlled (rules may apply).
RUNNING_STATES = frozenset(
    {
        AhuState.HEATING,
        AhuState.ECONOMISER,
        AhuState.ECONOMISER_COOLING,
        AhuState.COOLING,
        AhuState.VENTILATION,
        AhuState.UNKNOWN,
    }
)


@dataclass(frozen=True)
class StateParams:
    """Thresholds of the AHU state detection.

    Attributes
    ----------
    valve_open_pct : float
        A valve command above this is "open" [%].
    damper_min_pct : float
        Minimum outdoor-air damper position [%] (Besançon: ``min_oa_fraction`` x 100).
    damper_tolerance_pct : float
        Margin around the minimum and fully-open damper positions [%].
    fan_on_speed_pct : float
        Fan speed above which the fan runs, when there is no status point [%].
    startup_minutes : float
        Time after a fan start during which the unit is in ``startup`` [min].
    """

    valve_open_pct: float = 1.0
    damper_min_pct: float = 20.0
    damper_tolerance_pct: float = 5.0
    fan_on_speed_pct: float = 5.0
    startup_minutes: float = 30.0


def fan_on(ahu: pd.DataFrame, params: StateParams | None = None) -> pd.Series | None:
    """Whether the supply fan runs: ``fan_status`` >= 0.5, else ``fan_speed`` > threshold.

    Returns None when neither role is present; NaN inputs give False.
    """
    params = params or StateParams()
    if "fan_status" in ahu and ahu["fan_status"].notna().any():
        return ahu["fan_status"].fillna(0.0) >= 0.5
    if "fan_speed" in ahu and ahu["fan_speed"].notna().any():
        return ahu["fan_speed"].fillna(0.0) > params.fan_on_speed_pct
    return None


def ahu_states(ahu: pd.DataFrame, params: StateParams | None = None) -> pd.Series:
    """The operating state of an AHU at each step.

    Parameters
    ----------
    ahu : DataFrame of shape (n_steps, n_roles)
        Role columns (``fan_status`` or ``fan_speed``; ``heating_valve``, ``cooling_valve``,
        ``oa_damper`` [%]); a missing valve counts as closed, a missing damper as at minimum.
    params : StateParams, optional

    Returns
    -------
    Series of str (AhuState values), shape (n_steps,)
        ``unknown`` everywhere when neither ``fan_status`` nor ``fan_speed`` is present.
    """
    params = params or StateParams()
    index = ahu.index
    on = fan_on(ahu, params)
    if on is None:
        return pd.Series(AhuState.UNKNOWN.value, index=index, dtype=object)

    def col(name: str, default: float) -> pd.Series:
        if name in ahu:
            return ahu[name].astype(float)
        return pd.Series(default, index=index)

    heat = col("heating_valve", 0.0) > params.valve_open_pct
    cool = col("cooling_valve", 0.0) > params.valve_open_pct
    damper = col("oa_damper", params.damper_min_pct)
    above_min = damper > params.damper_min_pct + params.damper_tolerance_pct
    full_open = damper >= 100.0 - params.damper_tolerance_pct
    conditions = [
        ~on,
        heat & ~cool,
        ~heat & ~cool & above_min,
        ~heat & ~cool,
        cool & ~heat & full_open,
        cool & ~heat,
    ]
    choices = [
        AhuState.OFF.value,
        AhuState.HEATING.value,
        AhuState.ECONOMISER.value,
        AhuState.VENTILATION.value,
        AhuState.ECONOMISER_COOLING.value,
        AhuState.COOLING.value,
    ]
    states = np.select(conditions, choices, default=AhuState.UNKNOWN.value).astype(object)
    if isinstance(index, pd.DatetimeIndex) and params.startup_minutes > 0 and len(index):
        on_arr = on.to_numpy()
        starts = on_arr & ~np.concatenate([[True], on_arr[:-1]])  # a unit on at t0 is not starting
        start_times = pd.Series(index.where(starts), index=index).ffill()
        since = (index - pd.DatetimeIndex(start_times)) / pd.Timedelta(minutes=1)
        startup = on_arr & np.asarray(since < params.startup_minutes, dtype=bool)
        states[startup] = AhuState.STARTUP.value
    return pd.Series(states, index=index, dtype=object)


def state_changes(states: pd.Series, window: str = "1h") -> pd.Series:
    """Number of operating-state changes in the trailing ``window`` (G36 FC4 counts per hour).

    Changes into or out of ``off`` and ``startup`` are not counted.
    """
    running = states.isin([s.value for s in RUNNING_STATES])
    changed = (states != states.shift()) & running & running.shift(fill_value=False)
    return changed.astype(float).rolling(pd.Timedelta(window), min_periods=1).sum()


class ConditionClusterer(TransformerMixin, BaseEstimator):
    """Operating regimes of any equipment: KMeans on standardised condition columns.

    Parameters
    ----------
    n_clusters : int
        Number of regimes.
    random_state : int
        Seed of KMeans.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation learnt in ``fit``.
    kmeans_ : KMeans
    """

    def __init__(self, n_clusters: int = 4, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # incomplete rows are left out of fit, labelled -1
        tags.transformer_tags.preserves_dtype = []  # transform gives integer labels
        return tags

    def fit(self, X: pd.DataFrame | np.ndarray, y: object = None) -> ConditionClusterer:
        """Learn regimes from the complete rows of X, shape (n_samples, n_conditions)."""
        data = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        rows = data[np.isfinite(data).all(axis=1)]
        if len(rows) < self.n_clusters:
            raise SchemaError(
                f"condition clustering needs at least {self.n_clusters} complete rows, "
                f"got {len(rows)}"
            )
        self.mean_ = rows.mean(axis=0)
        self.scale_ = np.where(rows.std(axis=0) > 0, rows.std(axis=0), 1.0)
        self.kmeans_ = KMeans(self.n_clusters, n_init=4, random_state=self.random_state)
        self.kmeans_.fit((rows - self.mean_) / self.scale_)
        return self

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Regime of each row, shape (n_samples,); -1 for rows with missing values."""
        check_is_fitted(self)
        data = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        labels = np.full(len(data), -1, dtype=np.int64)
        ok = np.isfinite(data).all(axis=1)
        if ok.any():
            labels[ok] = self.kmeans_.predict((data[ok] - self.mean_) / self.scale_)
        return labels

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The regime labels as one column, shape (n_samples, 1)."""
        return self.predict(X).reshape(-1, 1)


def normalise_per_state(
    frame: pd.DataFrame,
    states: pd.Series,
    stats: dict[str, tuple[pd.Series, pd.Series]] | None = None,
) -> tuple[pd.DataFrame, dict[str, tuple[pd.Series, pd.Series]]]:
    """Z-score each column within each state: ``(x - mean_state) / std_state``.

    Parameters
    ----------
    frame : DataFrame of shape (n_steps, n_features)
    states : Series of shape (n_steps,)
        State label per row.
    stats : dict, optional
        ``state -> (mean, std)`` learnt earlier; computed from ``frame`` when None. Rows of a
        state absent from ``stats`` become NaN.

    Returns
    -------
    normalised : DataFrame, same shape
    stats : dict state -> (mean, std)
    """
    if stats is None:
        stats = {}
        for key, rows in frame.groupby(states.to_numpy()):
            std = rows.std(ddof=0)
            stats[str(key)] = (rows.mean(), std.where(std > 0, 1.0))
    out = pd.DataFrame(np.nan, index=frame.index, columns=frame.columns)
    labels = states.astype(str).to_numpy()
    for state, (mean, std) in stats.items():
        mask = labels == state
        if mask.any():
            out.loc[mask] = ((frame.loc[mask] - mean) / std).to_numpy()
    return out, stats


class StateNormaliser(TransformerMixin, BaseEstimator):
    """Per-state z-scoring; the state is the column ``state_column`` of X (left out of output).

    Attributes
    ----------
    stats_ : dict state -> (mean, std)
    """

    def __init__(self, state_column: str = "state") -> None:
        self.state_column = state_column

    def _split(self, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
        if not isinstance(X, pd.DataFrame) or self.state_column not in X:
            raise SchemaError(
                f"StateNormaliser needs a DataFrame with column {self.state_column!r}"
            )
        return X.drop(columns=[self.state_column]), X[self.state_column]

    def fit(self, X: pd.DataFrame, y: object = None) -> StateNormaliser:
        """Learn each state's mean and standard deviation."""
        features, states = self._split(X)
        _, self.stats_ = normalise_per_state(features, states)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Z-scored features, shape (n_samples, n_features - 1)."""
        check_is_fitted(self)
        features, states = self._split(X)
        return normalise_per_state(features, states, self.stats_)[0]
