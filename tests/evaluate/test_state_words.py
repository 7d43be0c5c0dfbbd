"""Two-state words in a CSV column read as 1/0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bms.evaluate.state_words import OFF_WORDS, ON_WORDS, read_state_words, text_values


def test_state_words_read_as_one_and_zero_whatever_their_case_and_spaces():
    cells = pd.Series(["ON", " off", "Marche", "Arrêt", "active ", "INACTIVE", "true", None])
    assert read_state_words(cells).tolist()[:7] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert pd.isna(read_state_words(cells).iloc[7])


def test_only_state_words_change_numbers_and_other_cells_stay():
    cells = pd.Series(["1", "OFF", "#VALUE!", "0.5"])
    assert read_state_words(cells).tolist() == ["1", 0.0, "#VALUE!", "0.5"]


def test_columns_without_state_words_are_left_alone():
    assert read_state_words(pd.Series(["heating", "cooling"])) is None
    assert read_state_words(pd.Series([1.0, 0.0])) is None
    assert read_state_words(pd.Series([True, False])) is None


def test_no_word_is_both_on_and_off():
    assert not ON_WORDS & OFF_WORDS
    assert all(w == w.strip().lower() for w in ON_WORDS | OFF_WORDS)


def test_text_values_shows_the_most_frequent_words_not_numbers():
    cells = pd.Series(["cooling", "heating", "cooling", "3.5", "", np.nan, "off"])
    assert text_values(cells) == ["cooling", "heating", "off"]
