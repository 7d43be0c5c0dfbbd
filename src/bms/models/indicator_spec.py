"""What the indicator builders share: :class:`IndicatorSpec`, :class:`SiteContext` and helpers.

The indicators of each equipment kind (:mod:`bms.models.equipment_indicators` for the AHUs,
zones and weather stations, :mod:`bms.models.plant_indicators` for pumps, heat exchangers and
chillers) are described by an :class:`IndicatorSpec` saying how the detector
(:mod:`bms.models.equipment_detection`) treats them:

* ``kind="residual"``: the value is regressed on ``drivers`` (columns ``drv:<name>`` of the same
  frame) over the training rows; the smoothed residual is compared with a threshold
  ``max(floor, k x robust s.d.)`` on the side(s) given by ``direction`` (+1 high is bad, -1 low is
  bad, 0 both). ``relative=True``: ``floor`` is a fraction of the training median.
  ``recent_baseline=True``: the smoothed residual is compared with its median at the same time
  of day over the previous days rather than with the training level (zones: solar gains differ
  between rooms in spring, which a winter fit cannot know; a sensor bias is a step).
* ``kind="excess"``: the value is already in threshold units (1 = at threshold), e.g. the filter's
  clogging against its nameplate final pressure drop, or a flat-lined sensor.
* ``kind="stop"``: the value is 1 when the equipment is stopped; the detector learns in training
  how often it runs in each context (``drv:context``) and flags a stop where it nearly always runs.

A :class:`SiteContext` carries the signals from other equipment that the builders need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from bms.site.model import Equipment

__all__ = [
    "DRIVER_PREFIX",
    "IndicatorSpec",
    "SiteContext",
    "building_of",
    "has_columns",
    "positive_param",
]

#: Prefix of the driver (regressor) columns of an indicator frame.
DRIVER_PREFIX = "drv:"


@dataclass(frozen=True)
class IndicatorSpec:
    """How the detector treats one indicator (see the module docstring)."""

    name: str
    points: tuple[str, ...]  #: local point names it is computed from (evidence)
    kind: str = "residual"  #: 'residual', 'excess' or 'stop'
    direction: int = 0  #: +1 high is bad, -1 low is bad, 0 both
    floor: float = 0.0  #: smallest deviation that matters [unit of the indicator]
    relative: bool = False  #: floor is a fraction of the training median
    drivers: tuple[str, ...] = field(default=())
    #: compare with the same time of day over the previous days instead of the training fit
    #: (slow, seasonal changes pass; a step does not)
    recent_baseline: bool = False
    #: the fit holds outside the drivers' training range (e.g. a room against its peers); else
    #: the indicator is not scored at an unfamiliar operating point
    extrapolate: bool = False
    #: with ``extrapolate``: the sign physics gives each driver's coefficient (+1, -1; 0 any).
    #: A fit of another sign (a fault under way while it trained bent it) is trusted only in
    #: the drivers' training range
    driver_signs: tuple[int, ...] = field(default=())
    #: a control loop missing its set point: the consequence of many faults (a leaking valve,
    #: a fouled exchanger, a weak chiller), so an indicator of a cause that is in fault on the
    #: same detection comes first in its evidence
    symptom: bool = False


@dataclass
class SiteContext:
    """Signals from other equipment that an equipment's indicators need.

    Attributes
    ----------
    ahu_on : dict building id -> Series
        Share of the building's AHUs whose fan runs [0-1].
    oat : dict building id -> Series
        Mean outdoor temperature measured by the building's AHUs [°C].
    zone_peers : dict zone id -> list of zone ids
        Zones served by the same AHU (else the same building).
    frames : dict equipment id -> DataFrame
        The wide frames themselves (peers are read from here).
    chiller_on : dict building id -> Series
        Share of the building's chillers that run [0-1] (buildings with chillers only).
    chw_pump_on : dict building id -> Series
        Share of the building's chilled-water pumps (``loop: chilled_water``) that run [0-1].
    sat_errors : dict building id -> DataFrame
        Supply-air temperature minus its set point of each AHU while its fan runs [K]
        (columns: AHU ids).
    """

    ahu_on: dict[str, pd.Series]
    oat: dict[str, pd.Series]
    zone_peers: dict[str, list[str]]
    frames: Mapping[str, pd.DataFrame]
    chiller_on: dict[str, pd.Series] = field(default_factory=dict)
    chw_pump_on: dict[str, pd.Series] = field(default_factory=dict)
    sat_errors: dict[str, pd.DataFrame] = field(default_factory=dict)


def building_of(eq: Equipment) -> str:
    """Id of the building an equipment belongs to (``site/building``)."""
    return eq.id.rsplit("/", 1)[0]


def positive_param(eq: Equipment, name: str) -> float | None:
    """A nameplate parameter of the equipment if it is a positive number, else None."""
    value = eq.parameters.get(name)
    return float(value) if isinstance(value, int | float) and value > 0 else None


def has_columns(x: pd.DataFrame, *names: str) -> bool:
    """True if the frame holds every one of the columns ``names``."""
    return all(n in x for n in names)
