"""Besançon weather: temperature, humidity and solar irradiance on the simulation grid.

Model (all vectorised)::

    oat = T_season(doy) + anomaly + R(doy) * (1 - 0.5 c) / 2 * cos(2 pi (h_solar - 15) / 24) + e

``T_season`` follows the climate normals of Besançon (January mean ~2 °C, July mean ~20 °C),
the diurnal range ``R`` is 7 K in winter and 11 K in summer, reduced by cloud cover ``c``;
``anomaly`` is an AR(1) process with a 3-day time constant (synoptic persistence, standard
deviation 3.5 K in winter, 2.5 K in summer) and ``e`` a fast AR(1) (2 h, 0.4 K). Cloud cover
is a logistic transform of another AR(1) (1.5 days), cloudier in winter. The dew point follows
the slow temperature minus a depression that grows with clear skies, so relative humidity is
high at night and low in the afternoon (anti-correlated with temperature). Global horizontal
irradiance is the Haurwitz clear-sky model at the sun's elevation (declination and equation of
time after Spencer, 1971) times the Kasten-Czeplak cloud factor ``1 - 0.75 c^3.4``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

ANNUAL_MEAN_C = 11.0  #: mean of January (~2 °C) and July (~20 °C) normals [°C]
ANNUAL_HALF_RANGE_K = 9.0  #: half the January-July difference [K]
COLDEST_DAY_OF_YEAR = 15  #: mid-January


def ar1(
    rng: np.random.Generator, n: int, step_hours: float, tau_hours: float, sd: float | np.ndarray
) -> np.ndarray:
    """A stationary AR(1) (discretised Ornstein-Uhlenbeck) series of shape (n,).

    Parameters
    ----------
    step_hours, tau_hours : float
        Grid step and correlation time constant [h].
    sd : float or array of shape (n,)
        Stationary standard deviation (an array scales the unit process point-wise).
    """
    phi = float(np.exp(-step_hours / tau_hours))
    shocks = rng.standard_normal(n) * np.sqrt(1.0 - phi * phi)
    start = rng.standard_normal()
    unit = lfilter([1.0], [1.0, -phi], shocks, zi=np.array([phi * start]))[0]
    return unit * sd


def season_cosine(day_of_year: np.ndarray) -> np.ndarray:
    """+1 in mid-January, -1 in mid-July: ``cos(2 pi (doy - 15) / 365.25)``."""
    return np.cos(2.0 * np.pi * (day_of_year - COLDEST_DAY_OF_YEAR) / 365.25)


def sun_elevation(times: pd.DatetimeIndex, latitude: float, longitude: float) -> np.ndarray:
    """Solar elevation angle [rad] of shape (n_steps,) at UTC ``times``."""
    utc_hour = (times.hour + times.minute / 60.0 + times.second / 3600.0).to_numpy(dtype=float)
    doy = times.day_of_year.to_numpy(dtype=float)
    gamma = 2.0 * np.pi * (doy - 1.0 + (utc_hour - 12.0) / 24.0) / 365.0
    decl = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    eot_min = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    solar_hour = utc_hour + longitude / 15.0 + eot_min / 60.0
    omega = np.deg2rad(15.0 * (solar_hour - 12.0))
    lat = np.deg2rad(latitude)
    sin_el = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(omega)
    return np.arcsin(np.clip(sin_el, -1.0, 1.0))


def clear_sky_ghi(elevation_rad: np.ndarray) -> np.ndarray:
    """Haurwitz clear-sky global horizontal irradiance [W/m2]."""
    sin_el = np.sin(elevation_rad)
    safe = np.maximum(sin_el, 1e-3)
    return np.where(sin_el > 0.0, 1098.0 * sin_el * np.exp(-0.057 / safe), 0.0)


def saturation_vapour_pressure(temp_c: np.ndarray) -> np.ndarray:
    """Magnus formula over water [hPa]."""
    return 6.1094 * np.exp(17.625 * temp_c / (temp_c + 243.04))


def simulate_weather(
    times: pd.DatetimeIndex,
    latitude: float,
    longitude: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Outdoor weather on a UTC grid.

    Parameters
    ----------
    times : DatetimeIndex of shape (n_steps,)
        UTC, regular step.
    latitude, longitude : float
        Site location [deg]; Besançon is 47.24 N, 6.02 E.
    rng : Generator
        The weather's own random stream.

    Returns
    -------
    DataFrame indexed by ``times``
        ``oat`` [°C], ``rh`` [%], ``ghi`` [W/m2] (the station's points) and the hidden truth
        columns ``_cloud`` [0-1], ``_oat_slow`` [°C] (daily mean level) and ``_sun_elev`` [rad].
    """
    n = len(times)
    step_h = (times[1] - times[0]) / pd.Timedelta(hours=1) if n > 1 else 1.0 / 12.0
    doy = times.day_of_year.to_numpy(dtype=float) + times.hour.to_numpy() / 24.0
    season = season_cosine(doy)
    elev = sun_elevation(times, latitude, longitude)
    utc_hour = (times.hour + times.minute / 60.0).to_numpy(dtype=float)
    solar_hour = utc_hour + longitude / 15.0

    anomaly = ar1(rng, n, step_h, 72.0, 3.0 + 0.5 * season)
    fast = ar1(rng, n, step_h, 2.0, 0.4)
    cloud_latent = ar1(rng, n, step_h, 36.0, 1.0)
    cloud = 1.0 / (1.0 + np.exp(-(1.8 * cloud_latent + 0.1 + 0.5 * season)))

    slow = ANNUAL_MEAN_C - ANNUAL_HALF_RANGE_K * season + anomaly
    diurnal_range = (9.0 - 2.0 * season) * (1.0 - 0.5 * cloud)
    oat = slow + 0.5 * diurnal_range * np.cos(2.0 * np.pi * (solar_hour - 15.0) / 24.0) + fast

    depression = 1.5 + 4.0 * (1.0 - cloud) + 1.5 * (1.0 - season) + ar1(rng, n, step_h, 12.0, 0.8)
    dew_point = np.minimum(slow - np.maximum(depression, 0.3), oat)
    rh = 100.0 * saturation_vapour_pressure(dew_point) / saturation_vapour_pressure(oat)
    rh = np.clip(rh + rng.normal(0.0, 1.0, n), 15.0, 100.0)

    ghi = clear_sky_ghi(elev) * (1.0 - 0.75 * cloud**3.4)
    ghi = np.maximum(ghi * (1.0 + 0.03 * rng.standard_normal(n)), 0.0)
    return pd.DataFrame(
        {
            "oat": oat,
            "rh": rh,
            "ghi": ghi,
            "_cloud": cloud,
            "_oat_slow": slow,
            "_sun_elev": elev,
        },
        index=times,
    )
