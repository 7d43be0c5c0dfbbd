"""The public data sets' files read as text and as a table, or refused in one line naming the
file and the line: what a hand-edited or re-saved copy of C-MAPSS, SKAB or IMS turns into."""

from __future__ import annotations

from pathlib import Path

import pytest

from bms.errors import BmsError
from bms.evaluate.dataset_files import WHITESPACE, read_dataset_table, read_dataset_text


def test_utf8_text_is_read_without_its_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbftime;a\r\n2020-01-01;1\r\n")
    assert read_dataset_text(path) == "time;a\r\n2020-01-01;1\r\n"
    assert list(read_dataset_table(path, sep=";").columns) == ["time", "a"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"a,b\n1,2\n3,\xe94\n", r": line 3 holds the byte 0xe9, not UTF-8 text; save it as UTF-8"),
        ("a,b\n1,2\n".encode("utf-16-le"), r": line 1 holds a NUL byte \(UTF-16 text\?"),
        ("a,b\n1,2\n".encode("utf-16"), r": UTF-16 text; save it as UTF-8"),
    ],
    ids=["latin-1 byte", "utf-16 without its mark", "utf-16"],
)
def test_text_that_is_not_utf8_is_refused_naming_the_line(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(BmsError, match=reason) as raised:
        read_dataset_text(path)
    assert str(raised.value).startswith(str(path))


def test_a_missing_file_and_a_folder_are_named(tmp_path: Path) -> None:
    with pytest.raises(BmsError, match=r"a.csv: file not found$"):
        read_dataset_text(tmp_path / "a.csv")
    (tmp_path / "b.csv").mkdir()
    with pytest.raises(BmsError, match=r"b.csv: a folder, not a file$"):
        read_dataset_table(tmp_path / "b.csv", sep=",")


@pytest.mark.parametrize(
    ("content", "sep", "fields", "reason"),
    [
        ("", ",", None, r"a.csv: the file is empty$"),
        ("\r\n  \r\n", ",", None, r"a.csv: the file is empty$"),
        (
            "a;b;c\n1;2;3\n4;5\n",
            ";",
            None,
            r"a.csv: line 3 holds 2 fields, not 3 \(the header's\)$",
        ),
        ("a,b\n1,2,3\n", ",", None, r"a.csv: line 2 holds 3 fields, not 2 \(the header's\)$"),
        ("1 2 3  \n1 2\n", WHITESPACE, 3, r"line 2 holds 2 fields, not 3 \(the C-MAPSS layout\)$"),
        ("1 2  \n", WHITESPACE, 3, r"line 1 holds 2 fields, not 3 \(the C-MAPSS layout\)$"),
        ('a,b\n1,"2\n3,4\n', ",", None, r"a.csv: cannot be read as a table \(EOF inside string"),
    ],
    ids=["empty", "blank lines", "short line", "long line", "short row", "short first", "quote"],
)
def test_a_line_of_another_width_than_the_first_is_refused_naming_it(
    tmp_path: Path, content: str, sep: str, fields: int | None, reason: str
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(content)
    with pytest.raises(BmsError, match=reason):
        read_dataset_table(path, sep=sep, fields=fields)


def test_blank_lines_and_trailing_spaces_are_not_fields(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("1 2 3  \n\n4 5 6  \n")
    frame = read_dataset_table(path, sep=WHITESPACE, fields=3, header=None)
    assert frame.to_numpy().tolist() == [[1, 2, 3], [4, 5, 6]]
