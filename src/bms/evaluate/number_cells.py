"""Number cells as building exports write them: decimal commas, grouped thousands, units.

pandas reads ``21.5``; exports also write ``21,5`` (a decimal comma, with ``;`` as the field
separator), ``1,008.2`` or ``1 008,2`` (thousands grouped), and ``21.5 °C`` or ``45 %`` (the
value with its unit, as Siemens Desigo and Niagara histories do). :func:`read_number_cells`
reads a column's cells in that order and says which unit it left out, if any.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["MIN_UNIT_SHARE", "read_number_cells"]

#: A cell written with a decimal comma (``21,5``; French and most European exports, whose
#: field separator is then ``;``).
DECIMAL_COMMA = r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?"
#: The separators of grouped thousands, by whether the decimal mark is a comma: ``1,008.2``
#: (the US way), ``1 008,2`` (France's: a space, a no-break space or a narrow one), ``1'008.2``
#: (Switzerland's). A comma groups only where the decimal mark is a point.
_GROUPS = {False: "[,\u00a0\u202f ']", True: "[\u00a0\u202f ']"}
_GROUPED = {
    False: r"[+-]?\d{1,3}(?:[,\u00a0\u202f ']\d{3})+(?:\.\d+)?",
    True: r"[+-]?\d{1,3}(?:[\u00a0\u202f ']\d{3})+(?:,\d+)?",
}
#: A number followed by a unit of at most 12 characters that starts with neither a digit nor a
#: sign (``21.5 °C``, ``45%``, ``1 008,2 kWh``).
_WITH_UNIT = r"\s*(?P<number>[+-]?[\d.,\u00a0\u202f ']*\d)\s*(?P<unit>[^\d\s+\-.,][^\d]{0,11})\s*"
#: A column's cells are read without their unit when one unit follows at least this share of
#: the cells written as a number and a unit: a unit that changes from cell to cell is not one
#: (an export's error cells, ``#VALUE!``, are neither, and stay unreadable).
MIN_UNIT_SHARE = 0.9


def _plain(cells: pd.Series, *, decimal_comma: bool) -> pd.Series:
    """Cells that are numbers, with a decimal comma when ``decimal_comma``, or with their
    thousands grouped; NaN for the others."""
    numbers = pd.to_numeric(cells, errors="coerce").astype("float64")
    text = cells.astype(str).str.strip()
    if decimal_comma:
        comma = text.where(text.str.fullmatch(DECIMAL_COMMA)).str.replace(",", ".")
        numbers = numbers.fillna(pd.to_numeric(comma, errors="coerce"))
    grouped = text.where(text.str.fullmatch(_GROUPED[decimal_comma]))
    grouped = grouped.str.replace(_GROUPS[decimal_comma], "", regex=True)
    if decimal_comma:
        grouped = grouped.str.replace(",", ".")
    return numbers.fillna(pd.to_numeric(grouped, errors="coerce"))


def read_number_cells(
    series: pd.Series, *, decimal_comma: bool = False
) -> tuple[pd.Series, str | None]:
    """A column's cells as floats (NaN where unreadable), and the unit left out, if any.

    Parameters
    ----------
    series : Series
        The column as read from the CSV (numbers, text or both).
    decimal_comma : bool
        Read ``21,5`` as 21.5 (the field separator is not a comma).

    Returns
    -------
    (Series of float, str or None)
        The numbers, and the unit that followed them (in :data:`MIN_UNIT_SHARE` of the cells
        written as a number and a unit), stripped.
    """
    numbers = pd.to_numeric(series, errors="coerce").astype("float64")
    failed = numbers.isna() & series.notna()
    if not failed.any():
        return numbers, None
    numbers[failed] = _plain(series[failed], decimal_comma=decimal_comma)
    failed = numbers.isna() & series.notna()
    if not failed.any():
        return numbers, None
    parts = series[failed].astype(str).str.extract(f"^{_WITH_UNIT}$")
    units = parts["unit"].dropna().str.strip()
    if units.empty:
        return numbers, None
    unit = str(units.value_counts().index[0])
    if (units == unit).sum() < MIN_UNIT_SHARE * len(units):
        return numbers, None
    with_unit = parts["number"].where(parts["unit"].str.strip() == unit)
    numbers[failed] = _plain(with_unit.dropna(), decimal_comma=decimal_comma).reindex(
        with_unit.index
    )
    return numbers, unit
