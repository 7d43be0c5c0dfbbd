"""Error codes written where a reading is missing: read as missing readings, not as readings.

Loggers, SCADA exports and field buses write a number where they have no reading: ``-9999``
(Campbell Scientific, many SCADA historians), ``-999``, ``9999``, the largest 32-bit float
(``3.4028235e38``: a Modbus or BACnet float register with no value), the largest 16-bit
register values (``32767``, ``-32768``, ``65535``). Read as readings, three ``-9999`` cells in
7,000 training rows of a pump's voltage (SKAB) raised the detector's threshold so far that it
flagged nothing in TEST, a 5-s.d. offset included.

A cell is an error code when its value is one of :data:`ERROR_CODES`, or its magnitude at least
:data:`HUGE`, **and** it lies far outside the column's other readings (beyond their 1–99 %
range by :data:`FAR_SPANS` times that range): ``9999`` in a meter that counts past it is a
reading, ``-9999`` beside volts near 230 is not.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["ERROR_CODES", "FAR_SPANS", "HUGE", "MIN_READINGS", "error_code_cells"]

#: Values written for a missing reading.
ERROR_CODES = np.array(
    [-9999.0, 9999.0, -99999.0, 99999.0, -999.0, 999.0, -999.9, 32767.0, -32768.0, 65535.0]
)
#: Magnitudes from this one up are codes too: no sensor reads them, and the largest 32-bit
#: float, written as ``3.4028235e38`` or ``3.40282e+38``, is not one exact number once read.
HUGE = 1e38
#: A code is an error code when it lies beyond the other readings' 1–99 % range by more than
#: this many times that range.
FAR_SPANS = 10.0
#: Fewer other readings than this: too few to say what is far.
MIN_READINGS = 10


def error_code_cells(values: pd.Series) -> NDArray[np.bool_]:
    """Which cells of a numeric column hold an error code far outside its other readings.

    Parameters
    ----------
    values : Series of float
        One column's readings (NaN for missing).

    Returns
    -------
    ndarray of bool, shape (n_rows,)
    """
    array = values.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN only
        extremes = np.array([np.nanmin(array), np.nanmax(array)]) if len(array) else array
    # a code far outside the readings is the column's smallest or largest value: two
    # reductions spare a million-row column the search for codes
    if not (np.isin(extremes, ERROR_CODES).any() or (np.abs(extremes) >= HUGE).any()):
        return np.zeros(len(array), dtype=bool)
    with np.errstate(invalid="ignore"):
        coded = np.isin(array, ERROR_CODES) | (np.abs(array) >= HUGE)
    if not coded.any():
        return coded
    others = array[~coded & np.isfinite(array)]
    if len(others) < MIN_READINGS:
        return np.zeros(len(array), dtype=bool)
    low, high = np.percentile(others, [1.0, 99.0])
    span = max(high - low, 1e-9 * max(1.0, abs(high), abs(low)))
    with np.errstate(invalid="ignore"):
        far = (array < low - FAR_SPANS * span) | (array > high + FAR_SPANS * span)
    return coded & far
