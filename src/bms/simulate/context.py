"""What every equipment model receives: the time grid, weather, calendar and random streams."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bms.simulate.calendar import SiteCalendar

#: Volumetric heat capacity of air [kJ/(m3.K)] (1.2 kg/m3 x 1.006 kJ/(kg.K)).
AIR_RHO_CP = 1.207
#: Volumetric heat capacity of water [kJ/(m3.K)] (985 kg/m3 x 4.18 kJ/(kg.K)).
WATER_RHO_CP = 4117.0


def rng_for(seed: int, key: str) -> np.random.Generator:
    """The random stream of one simulated object (equipment, weather, fault plan...).

    Derived from ``(seed, crc32(key))``, so that adding or removing an equipment leaves the
    streams of the others unchanged.
    """
    return np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])


@dataclass(frozen=True)
class SimContext:
    """The shared inputs of one simulation run (arrays of shape (n_steps,))."""

    times: pd.DatetimeIndex  #: UTC grid
    step_hours: float  #: grid step [h]
    seed: int
    oat: np.ndarray  #: outdoor air temperature [°C]
    oat_slow: np.ndarray  #: synoptic (daily-mean level) outdoor temperature [°C]
    rh_out: np.ndarray  #: outdoor relative humidity [%]
    ghi: np.ndarray  #: global horizontal irradiance [W/m2]
    calendar: SiteCalendar

    @property
    def n(self) -> int:
        return len(self.times)

    @property
    def t_ns(self) -> np.ndarray:
        """Grid times as int64 nanoseconds since the epoch."""
        return self.times.as_unit("ns").asi8

    def rng(self, key: str) -> np.random.Generator:
        """The random stream named ``key`` for this run's seed."""
        return rng_for(self.seed, key)

    def heating_season(self) -> np.ndarray:
        """bool: the synoptic outdoor temperature is below 15 °C (heating on)."""
        return self.oat_slow < 15.0
