"""Two-state points written as words in a CSV export: ``ON``/``OFF``, ``active``/``inactive``.

Building exports often write a binary point as the word its BMS shows: BACnet's
``active``/``inactive``, a Niagara history's ``true``/``false``, a French front end's
``Marche``/``Arrêt``. Such a column is a status, the best context a detector can have (the
operating regimes are learnt from it), so ``bms detect`` reads it as 1/0 instead of refusing it
as text. The words are a fixed list, the same for TRAIN and TEST, so both files map alike; a
column of other words (``heating``/``cooling``, a site name) is still text.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["OFF_WORDS", "ON_WORDS", "read_state_words", "text_values"]

#: Words read as 1 (lower case, English and French, accents or not).
ON_WORDS = frozenset(
    {
        "on", "true", "yes", "active", "open", "opened", "running", "run", "started", "enabled",
        "occupied", "marche", "en marche", "oui", "vrai", "actif", "ouvert", "ouverte",
        "occupé", "occupe", "en service",
    }
)  # fmt: skip
#: Words read as 0.
OFF_WORDS = frozenset(
    {
        "off", "false", "no", "inactive", "closed", "close", "stopped", "stop", "disabled",
        "unoccupied", "arrêt", "arret", "à l'arrêt", "a l'arret", "non", "faux", "inactif",
        "fermé", "ferme", "fermée", "fermee", "inoccupé", "inoccupe", "hors service",
    }
)  # fmt: skip
_STATE_VALUES = {**dict.fromkeys(ON_WORDS, 1.0), **dict.fromkeys(OFF_WORDS, 0.0)}


def read_state_words(series: pd.Series) -> pd.Series | None:
    """``series`` with its state words as 1.0/0.0 (case and surrounding spaces ignored), or None
    when it holds no state word.

    Only cells that are state words change; numbers and other cells stay as they were, for the
    caller's numeric reading to count. Text columns only: a numeric column returns None.
    """
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    words = series.astype(str).str.strip().str.lower().map(_STATE_VALUES)
    known = words.notna() & series.notna()
    if not known.any():
        return None
    return series.where(~known, words).astype(object)


def text_values(series: pd.Series, most: int = 4) -> list[str]:
    """Up to ``most`` distinct non-empty cells of a text column that are not numbers, most
    frequent first: what an error shows of a column it refuses."""
    cells = series.dropna().astype(str).str.strip()
    words = cells[pd.to_numeric(cells, errors="coerce").isna() & (cells != "")]
    return [str(v) for v in words.value_counts().index[:most]]
