"""TEST column names that TRAIN writes in another case, matched to TRAIN's: two exports of
one BMS (``SUPPLY AIR TEMP`` for ``Supply Air Temp``) were refused with every feature
"missing"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

__all__ = ["case_note", "names_matched_but_for_case"]


def names_matched_but_for_case(
    train_names: Sequence[object], test_names: Sequence[object]
) -> dict[str, str]:
    """TEST's column names that TRAIN writes in another case (``supply air temp`` for ``Supply
    Air Temp``: two exports of one BMS), each to TRAIN's name; only where the match is one to
    one: a name in both files as written, or two names of a file equal but for case, stay."""

    train_list, test_list = [str(c) for c in train_names], [str(c) for c in test_names]

    def only_in(names: list[str], other: list[str]) -> dict[str, str]:
        """The names not in ``other``, by their folded case (in the file's order), where no
        other name of the file folds alike."""
        folded = [name.casefold() for name in names]
        counts = Counter(folded)
        return {
            f: name
            for f, name in zip(folded, names, strict=True)
            if counts[f] == 1 and name not in other
        }

    in_train = only_in(train_list, test_list)
    return {
        name: in_train[folded]
        for folded, name in only_in(test_list, train_list).items()
        if folded in in_train
    }


def case_note(test_path: Path, renamed: dict[str, str]) -> str:
    """The line saying which TEST columns were matched to TRAIN's names but for case."""
    first, name = next(iter(renamed.items()))
    return (
        f"{test_path}: {len(renamed)} column name(s) differ from TRAIN's only in case (first "
        f"{first!r} for {name!r}): matched to TRAIN's"
    )
