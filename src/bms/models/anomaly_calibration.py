"""Threshold of a smoothed anomaly from few held-out training rows.

The time-series detector (:mod:`bms.models.anomaly_pipeline`) flags a row when the trailing
mean of the raw anomaly over ``window_rows`` rows exceeds a threshold. The empirical
``1 - false_alarm_rate`` quantile of the smoothed held-out training anomalies is sound only when
the training rows hold many independent windows: consecutive smoothed values share
``window_rows - 1`` raw values, so 1,000 training rows hold about 33 independent windows of 30
rows, far too few for a 99th percentile (the order statistic needs at least
``1 / false_alarm_rate - 1`` = 99 independent values before it is even finite). With fewer, the
empirical quantile is an inner order statistic of a handful of values and the threshold
collapses (white noise trained on 50 rows flagged 90 % of its later rows).

:func:`smoothed_threshold` therefore takes the larger of two figures:

* the empirical quantile over the rows with a full window of history (sound for long training);
* a **parametric bound**: the smoothed anomaly is a mean of ``window_rows`` raw anomalies, so it
  is modelled as a gamma variable with the mean of the raw held-out anomaly and the variance of
  a ``window_rows``-mean of it (raw variance times the integrated autocorrelation over the
  window, :func:`window_mean_variance`). The uncertainty of those two moments, estimated from
  ``n_eff = n / tau`` effectively independent rows (``tau`` the integrated autocorrelation
  time), is added as a predictive correction: the mean is raised by
  :data:`CONFIDENCE_Z` standard errors and the variance multiplied by ``1 + CONFIDENCE_Z *
  sqrt(2 / n_eff)`` (the standard error of a variance estimate), so the bound shrinks to the
  plug-in gamma quantile as training grows and inflates, finitely, for short training.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "CONFIDENCE_Z",
    "gamma_bound",
    "integrated_autocorrelation",
    "smoothed_threshold",
    "window_mean_variance",
]

#: Standard errors by which the estimated moments are raised (one-sided 95 %).
CONFIDENCE_Z = 1.645


def integrated_autocorrelation(values: NDArray[np.float64], max_lag: int) -> float:
    """Integrated autocorrelation time of a series over lags ``< max_lag`` [rows].

    Bartlett-weighted sum ``1 + 2 * sum_k (1 - k / max_lag) * rho_k`` of the sample
    autocorrelation, clipped to ``[1, max_lag]``: 1 for uncorrelated rows, ``max_lag`` when the
    series is constant over the window.

    Parameters
    ----------
    values : ndarray of shape (n_samples,)
    max_lag : int
        Window length [rows].

    Returns
    -------
    float
    """
    n = len(values)
    lags = min(max_lag, n - 1)
    if lags < 1:
        return 1.0
    centred = values - values.mean()
    power = float(centred @ centred)
    if power <= 1e-300:
        return float(max_lag)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    spectrum = np.fft.rfft(centred, n=size)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), n=size)[1:lags]
    k = np.arange(1, lags)
    tau = 1.0 + 2.0 * float(((1.0 - k / max_lag) * acov / power).sum())
    return float(np.clip(tau, 1.0, max_lag))


def window_mean_variance(values: NDArray[np.float64], window_rows: int) -> tuple[float, float]:
    """Variance of a ``window_rows``-row mean of the series, and its autocorrelation time.

    Returns
    -------
    variance : float
        ``var(values) * tau / window_rows`` [units of values squared].
    tau : float
        :func:`integrated_autocorrelation` over the window [rows].
    """
    tau = integrated_autocorrelation(values, window_rows)
    return float(values.var()) * tau / window_rows, tau


def smoothed_threshold(
    held_out: NDArray[np.float64], window_rows: int, false_alarm_rate: float
) -> float:
    """Threshold of the trailing ``window_rows``-mean of a non-negative anomaly.

    Parameters
    ----------
    held_out : ndarray of shape (n_samples,)
        Raw held-out training anomalies (>= 0), in time order.
    window_rows : int
        Smoothing window [rows].
    false_alarm_rate : float
        Target share of normal rows above the threshold.

    Returns
    -------
    float
        The larger of the empirical quantile (rows with a full window) and
        :func:`gamma_bound` (module docstring); at least 1e-12.
    """
    a = np.asarray(held_out, dtype=np.float64)
    empirical = 0.0
    if len(a) >= window_rows:
        csum = np.concatenate([[0.0], np.cumsum(a)])
        full = (csum[window_rows:] - csum[:-window_rows]) / window_rows
        empirical = float(np.quantile(full, 1.0 - false_alarm_rate))
    return max(empirical, gamma_bound(a, window_rows, false_alarm_rate), 1e-12)


def gamma_bound(held_out: NDArray[np.float64], window_rows: int, false_alarm_rate: float) -> float:
    """Parametric bound on the ``1 - false_alarm_rate`` quantile of a ``window_rows``-mean.

    The gamma quantile with the raw anomaly's mean and the variance of its window mean, both
    raised for the uncertainty of estimating them from ``len(held_out)`` rows (module
    docstring). Arguments as :func:`smoothed_threshold`; 0 for no rows or a zero anomaly.
    """
    a = np.asarray(held_out, dtype=np.float64)
    n = len(a)
    if n == 0:
        return 0.0
    w = max(1, min(window_rows, n))
    mean = float(a.mean())
    variance, tau = window_mean_variance(a, window_rows)
    if w < window_rows:  # fewer rows than a window: the window is not seen whole
        variance = max(variance, float(a.var()) * tau / w)
    n_eff = max(n / tau, 2.0)
    mean_up = mean + CONFIDENCE_Z * np.sqrt(float(a.var()) * tau / n)
    var_up = variance * (1.0 + CONFIDENCE_Z * np.sqrt(2.0 / n_eff))
    if mean_up <= 1e-300 or var_up <= 1e-300:
        return 0.0
    shape, scale = mean_up**2 / var_up, var_up / mean_up
    return float(stats.gamma.ppf(1.0 - false_alarm_rate, shape, scale=scale))
