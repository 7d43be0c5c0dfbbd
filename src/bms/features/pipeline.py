"""Feature frames per equipment: resample, flag, derive physics features, roll.

``build_features(frame, equipment)`` is the one entry point from telemetry; it returns the
feature frame of the DESIGN contract: a UTC DatetimeIndex on a regular step and one column per
feature, every name documented in :mod:`bms.features.catalog`. The same computation on a frame
already holding role columns is :func:`equipment_features`, wrapped for scikit-learn as
:class:`EquipmentFeatures` (which learns the damper -> outdoor-air fraction map and the
chiller's expected COP in ``fit``) and :class:`RollingFeatures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from bms.errors import SchemaError
from bms.features import physics as ph
from bms.features.quality import quality_flags
from bms.features.resample import equipment_frame
from bms.features.roles import ROLE_MAPS, apply_role_map, role_map_for
from bms.features.rolling import rolling_features
from bms.features.states import AhuState, StateParams, ahu_states, fan_on
from bms.site.model import Equipment

__all__ = [
    "KEY_FEATURES",
    "EquipmentFeatures",
    "RollingFeatures",
    "build_features",
    "equipment_features",
]

#: Features rolled over the windows, per kind (others: every column).
KEY_FEATURES: dict[str, tuple[str, ...]] = {
    "AHU": (
        "sat_error_k",
        "mixed_air_residual_k",
        "coil_delta_t_k",
        "filter_dp_per_flow2",
        "specific_fan_power_kw_per_m3s",
    ),
    "Pump": ("pump_efficiency", "vibration", "bearing_temp"),
    "Heat_Exchanger": ("approach_k", "hx_effectiveness"),
    "Chiller": ("cop_residual", "superheat", "chw_supply_error_k"),
}
_NO_STUCK_UNITS = {"1", "%"}


def _has(x: pd.DataFrame, *roles: str) -> bool:
    return all(role in x for role in roles)


def _ahu(
    x: pd.DataFrame,
    oa_model: tuple[float, float],
    design_flow: float | None,
    state_params: StateParams,
) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    on = fan_on(x, state_params)
    if on is not None:
        out["fan_on"] = on.astype(float)
        states = ahu_states(x, state_params)
        for state in AhuState:
            out[f"state_{state.value}"] = (states == state.value).astype(float)
    if _has(x, "mat", "oat", "rat"):
        out["oa_fraction"] = ph.oa_fraction(x["mat"], x["oat"], x["rat"])
        if "oa_damper" in x:
            expected = ph.oa_fraction_from_damper(x["oa_damper"], oa_model)
            out["oa_fraction_expected"] = expected
            out["mixed_air_residual_k"] = ph.mixed_air_residual(
                x["mat"], x["oat"], x["rat"], expected
            )
    if _has(x, "sat", "sat_sp"):
        out["sat_error_k"] = ph.supply_temp_error(x["sat"], x["sat_sp"])
    if _has(x, "sat", "mat"):
        delta = ph.coil_delta_t(x["sat"], x["mat"])
        out["coil_delta_t_k"] = delta
        if "heating_valve" in x:
            out["heating_coil_gain_k_per_pct"] = ph.coil_gain(delta, x["heating_valve"])
        if "cooling_valve" in x:
            out["cooling_coil_gain_k_per_pct"] = ph.coil_gain(delta, x["cooling_valve"])
    if _has(x, "duct_static", "duct_static_sp"):
        out["duct_static_error_pa"] = x["duct_static"] - x["duct_static_sp"]
    if _has(x, "filter_dp", "supply_flow"):
        out["filter_dp_per_flow2"] = ph.filter_dp_per_flow2(x["filter_dp"], x["supply_flow"])
        if design_flow:
            out["filter_dp_at_design_flow_pa"] = ph.filter_dp_at_flow(
                x["filter_dp"], x["supply_flow"], design_flow
            )
    if _has(x, "fan_power", "supply_flow"):
        out["specific_fan_power_kw_per_m3s"] = ph.specific_fan_power(
            x["fan_power"], x["supply_flow"]
        )
    return out


def _pump(x: pd.DataFrame) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    if _has(x, "flow", "dp"):
        out["hydraulic_power_kw"] = ph.hydraulic_power(x["flow"], x["dp"])
        if "power" in x:
            out["pump_efficiency"] = ph.pump_efficiency(x["flow"], x["dp"], x["power"])
    return out


def _hx(x: pd.DataFrame) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    if _has(x, "prim_return_temp", "sec_return_temp"):
        out["approach_k"] = ph.approach_temperature(x["prim_return_temp"], x["sec_return_temp"])
    if _has(x, "prim_supply_temp", "sec_supply_temp", "sec_return_temp"):
        out["hx_effectiveness"] = ph.hx_effectiveness(
            x["prim_supply_temp"], x["sec_supply_temp"], x["sec_return_temp"]
        )
    if _has(x, "sec_supply_temp", "sec_supply_sp"):
        out["sec_supply_error_k"] = x["sec_supply_temp"] - x["sec_supply_sp"]
    return out


def _chiller(
    x: pd.DataFrame, design_cooling_kw: float | None, cop_coefficients: np.ndarray | None
) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    if _has(x, "chw_return_temp", "chw_supply_temp"):
        out["chw_delta_t_k"] = x["chw_return_temp"] - x["chw_supply_temp"]
    if _has(x, "chw_supply_temp", "chw_supply_sp"):
        out["chw_supply_error_k"] = x["chw_supply_temp"] - x["chw_supply_sp"]
    if not _has(x, "cooling_load", "power"):
        return out
    cop = ph.chiller_cop(x["cooling_load"], x["power"])
    out["cop"] = cop
    plr = x["cooling_load"] / design_cooling_kw if design_cooling_kw else None
    if plr is not None:
        out["part_load"] = plr
    if "cond_temp" in x and plr is not None and cop_coefficients is not None:
        residual, _ = ph.cop_residual(cop, plr, x["cond_temp"], cop_coefficients)
        out["cop_expected"] = cop - residual
        out["cop_residual"] = residual
    elif _has(x, "cond_temp", "chw_supply_temp"):
        expected = ph.expected_cop_carnot(
            x["chw_supply_temp"], x["cond_temp"], 1.0 if plr is None else plr
        )
        out["cop_expected"] = expected.where(cop.notna())
        out["cop_residual"] = cop - expected
    return out


def equipment_features(
    x: pd.DataFrame,
    kind: str,
    *,
    windows: Sequence[str] = ("1h", "24h"),
    stats: Sequence[str] = ("mean", "std"),
    oa_model: tuple[float, float] = (0.0, 1.0),
    cop_coefficients: np.ndarray | None = None,
    design_flow_m3_s: float | None = None,
    design_cooling_kw: float | None = None,
    state_params: StateParams | None = None,
) -> pd.DataFrame:
    """The features of one equipment from its role columns.

    Parameters
    ----------
    x : DataFrame of shape (n_steps, n_roles)
        Regular-step DatetimeIndex; role columns in canonical units (kinds without a role map:
        any columns, kept and rolled as they are).
    kind : str
        Brick class: ``AHU``, ``Pump``, ``Heat_Exchanger``, ``Chiller`` or another.
    windows, stats
        Rolling windows and statistics (see :func:`bms.features.rolling.rolling_features`).
    oa_model : (a, b)
        Damper -> outdoor-air fraction map (:func:`bms.features.physics.fit_oa_fraction_model`).
    cop_coefficients : ndarray of shape (4,), optional
        Fitted COP(plr, cond_temp) model; default the Carnot-fraction reference.
    design_flow_m3_s, design_cooling_kw : float, optional
        Nameplate values [m3/s], [kW].
    state_params : StateParams, optional
        AHU state thresholds; default :class:`StateParams`.

    Returns
    -------
    DataFrame of shape (n_steps, n_features)
    """
    state_params = state_params or StateParams()
    base: dict[str, pd.Series] = {c: x[c].astype(float) for c in x.columns}
    if kind == "AHU":
        derived = _ahu(x, oa_model, design_flow_m3_s, state_params)
    elif kind == "Pump":
        derived = _pump(x)
    elif kind == "Heat_Exchanger":
        derived = _hx(x)
    elif kind == "Chiller":
        derived = _chiller(x, design_cooling_kw, cop_coefficients)
    else:
        derived = {}
    features = pd.DataFrame(base | derived, index=x.index)
    keys = KEY_FEATURES.get(kind, tuple(x.columns))
    rolled = rolling_features(features[[k for k in keys if k in features]], windows, stats)
    return pd.concat([features, rolled], axis=1)


def _param(equipment: Equipment, name: str) -> float | None:
    value = equipment.parameters.get(name)
    return float(value) if isinstance(value, int | float) else None


def build_features(
    frame: pd.DataFrame,
    equipment: Equipment,
    step: str | pd.Timedelta = "5min",
    *,
    windows: Sequence[str] = ("1h", "24h"),
    role_map: Mapping[str, str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The feature frame of one equipment from canonical telemetry.

    Steps: resample the equipment's points to ``step``; flag data quality (range from
    ``Point.low/high``, spikes, flat lines on measured points, gaps); blank out-of-range and spike
    values; rename to roles; derive physics features and rolling statistics; add
    ``quality_bad_share``.

    Parameters
    ----------
    frame : DataFrame
        Canonical long frame (``time``, ``point``, ``value``).
    equipment : Equipment
        From the site model; its ``parameters`` give design values (``design_flow_m3_s``,
        ``design_cooling_kw``, ``min_oa_fraction``) and ``role:<role>`` overrides.
    step : str or Timedelta
    windows : sequence of str
    role_map : mapping, optional
        Role -> local point name; default :func:`bms.features.roles.role_map_for`.
    start, end : Timestamp, optional
        Bounds of the index.

    Returns
    -------
    DataFrame of shape (n_steps, n_features)
        UTC DatetimeIndex on the regular step; one column per feature (see the catalog).

    Raises
    ------
    SchemaError
        No point of the equipment in ``frame``, or a frame off the canonical contract
        (:func:`bms.features.resample.equipment_frame`).
    """
    resampled = equipment_frame(frame, equipment, step, start=start, end=end)
    wide = resampled.values
    points = {p.name: p for p in equipment.points}
    limits = {n: (p.low, p.high) for n, p in points.items() if n in wide}
    sensors = [str(c) for c in wide if c not in points or points[c].kind.endswith("Sensor")]
    stuck_cols = [c for c in sensors if c not in points or points[c].unit not in _NO_STUCK_UNITS]
    flags = quality_flags(wide, limits, stuck_columns=stuck_cols, spike_columns=sensors)
    clean = wide.mask(flags.out_of_range | flags.spike)
    kind = equipment.kind
    if role_map is None and kind in ROLE_MAPS:
        role_map = role_map_for(equipment)
    x = apply_role_map(clean, role_map) if role_map is not None else clean
    min_oa = _param(equipment, "min_oa_fraction")
    state_params = StateParams(damper_min_pct=100.0 * min_oa) if min_oa else StateParams()
    features = equipment_features(
        x,
        kind,
        windows=windows,
        design_flow_m3_s=_param(equipment, "design_flow_m3_s"),
        design_cooling_kw=_param(equipment, "design_cooling_kw"),
        state_params=state_params,
    )
    features["quality_bad_share"] = flags.share_bad()
    features.index.name = "time"
    return features


class EquipmentFeatures(TransformerMixin, BaseEstimator):
    """scikit-learn wrapper of :func:`equipment_features` on a role frame.

    ``fit`` learns, from reference data, the AHU damper -> outdoor-air fraction map
    (``oa_model_``) and the chiller's COP(plr, cond_temp) model (``cop_coefficients_``).

    Parameters
    ----------
    kind : str
    windows : tuple of str
    design_flow_m3_s, design_cooling_kw : float, optional
    damper_min_pct : float
    """

    def __init__(
        self,
        kind: str = "AHU",
        windows: tuple[str, ...] = ("1h", "24h"),
        design_flow_m3_s: float | None = None,
        design_cooling_kw: float | None = None,
        damper_min_pct: float = 20.0,
    ) -> None:
        self.kind = kind
        self.windows = windows
        self.design_flow_m3_s = design_flow_m3_s
        self.design_cooling_kw = design_cooling_kw
        self.damper_min_pct = damper_min_pct

    def fit(self, X: pd.DataFrame, y: object = None) -> EquipmentFeatures:
        """Learn the reference models from a role frame of shape (n_steps, n_roles)."""
        if not isinstance(X, pd.DataFrame):
            raise SchemaError("EquipmentFeatures needs a DataFrame of role columns")
        self.oa_model_ = (0.0, 1.0)
        self.cop_coefficients_: np.ndarray | None = None
        if self.kind == "AHU" and _has(X, "oa_damper", "mat", "oat", "rat"):
            on = fan_on(X)
            rows = X[on] if on is not None else X
            self.oa_model_ = ph.fit_oa_fraction_model(
                rows["oa_damper"], rows["mat"], rows["oat"], rows["rat"]
            )
        if (
            self.kind == "Chiller"
            and self.design_cooling_kw
            and _has(X, "cooling_load", "power", "cond_temp")
        ):
            cop = ph.chiller_cop(X["cooling_load"], X["power"])
            plr = X["cooling_load"] / self.design_cooling_kw
            _, self.cop_coefficients_ = ph.cop_residual(cop, plr, X["cond_temp"])
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The feature frame, shape (n_steps, n_features)."""
        check_is_fitted(self)
        return equipment_features(
            X,
            self.kind,
            windows=self.windows,
            oa_model=self.oa_model_,
            cop_coefficients=self.cop_coefficients_,
            design_flow_m3_s=self.design_flow_m3_s,
            design_cooling_kw=self.design_cooling_kw,
            state_params=StateParams(damper_min_pct=self.damper_min_pct),
        )


class RollingFeatures(TransformerMixin, BaseEstimator):
    """scikit-learn wrapper of :func:`bms.features.rolling.rolling_features` (stateless)."""

    def __init__(
        self,
        windows: tuple[str, ...] = ("1h", "24h"),
        stats: tuple[str, ...] = ("mean", "std"),
        slope: bool = True,
    ) -> None:
        self.windows = windows
        self.stats = stats
        self.slope = slope

    def fit(self, X: pd.DataFrame, y: object = None) -> RollingFeatures:
        """Nothing to learn; checks X is a time-indexed DataFrame."""
        if not isinstance(X, pd.DataFrame) or not isinstance(X.index, pd.DatetimeIndex):
            raise SchemaError("RollingFeatures needs a DataFrame with a DatetimeIndex")
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Rolling statistics, shape (n_steps, n_columns * n_windows * n_stats)."""
        check_is_fitted(self)
        return rolling_features(X, self.windows, self.stats, self.slope)
