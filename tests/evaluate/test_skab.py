"""The SKAB leaderboard protocol, run for real on the 34 labelled files."""

from __future__ import annotations

import json

import pytest

from bms.cli import main
from bms.errors import BmsError
from bms.evaluate.detection_metrics import Confusion
from bms.evaluate.skab import evaluate_skab, iter_skab_files
from tests.evaluate.damaged_lines import crlf, swapped


def test_confusion_gives_f1_and_rates_in_percent_as_skab_reports_them():
    c = Confusion().add([1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0, 0])
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 4, 1)
    assert c.f1 == pytest.approx(2 / 3)
    assert c.far_pct == pytest.approx(20.0)
    assert c.mar_pct == pytest.approx(100 / 3)


def test_the_protocol_uses_the_34_labelled_files_only(dataset):
    files = list(iter_skab_files(dataset("skab")))
    assert len(files) == 34
    assert all(p.parent.name != "anomaly-free" for p in files)


def test_bms_evaluate_skab_prints_one_json_line_with_a_competitive_f1(dataset, capsys):
    try:
        main(["evaluate", "skab", "--data", str(dataset("skab")), "--json"])
    except SystemExit as exc:  # pragma: no cover - a failure shows the code
        assert exc.code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["n_files"] == 34
    # PyOD, same protocol: PCA 0.756, IForest 0.728; bms 0.778 / FAR 31.9 % (docs/anomaly.md)
    assert result["f1"] > 0.77
    assert result["far"] < 35.0 and 0 <= result["mar"] <= 100
    # per kind of fault, the same figures (valve at the inlet, at the outlet, the others)
    assert set(result["by_folder"]) == {"valve1", "valve2", "other"}
    assert all(0 < figures["f1"] <= 1 for figures in result["by_folder"].values())


def test_a_folder_without_skab_files_is_a_user_error(tmp_path):
    from bms.errors import BmsError

    with pytest.raises(BmsError, match="no SKAB files"):
        evaluate_skab(tmp_path)


def test_the_leaderboards_counting_adds_every_training_row_flagged_in_sample(dataset):
    """A detector that never flags its own training rows and always flags test rows: over the
    test points FAR is 100 %; counted as the leaderboard's code counts (training rows
    included), FAR is the share of normal rows that are test rows."""
    import numpy as np

    from bms.evaluate.skab import TRAIN_ROWS, read_skab_file

    def flag_unseen_rows(train, test):
        return np.zeros(len(test), np.int64) if test is train else np.ones(len(test), np.int64)

    result = evaluate_skab(dataset("skab"), predictor=flag_unseen_rows, limit=3)
    labels = [read_skab_file(p)[1] for p in list(iter_skab_files(dataset("skab")))[:3]]
    normal = sum(int((y == 0).sum()) for y in labels)
    normal_train = sum(int((y[:TRAIN_ROWS] == 0).sum()) for y in labels)
    assert result["far"] == 100.0
    every = result["with_training_rows"]
    assert every["n_points"] == sum(len(y) for y in labels)
    assert every["far"] == pytest.approx(100 * (normal - normal_train) / normal, abs=0.01)
    assert "with_training_rows" not in evaluate_skab(
        dataset("skab"), predictor=flag_unseen_rows, limit=1, with_training_rows=False
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("datetime,a,anomaly\n2020-01-01,1,0\n", "no 'datetime' column"),  # ','-separated
        ("datetime;a;anomaly\n" + "2020-01-01;1;0\n" * 300, "300 rows; the protocol trains"),
        ("datetime;a;anomaly\n" + "2020-01-01;1;\n" * 500, "'anomaly' must be 0 or 1"),
        # a traceback before, from deep in the detector
        (
            "datetime;a;anomaly\n" + "2020-01-01;1;0\n" * 9 + "2020-01-01;abc;0\n" * 491,
            "'a' data row 10 holds 'abc', not a number",
        ),
        (
            "datetime;a;anomaly\n" + "2020-01-01;1;0\n" * 4 + "yesterday;1;0\n" * 496,
            "'datetime' data row 5 holds 'yesterday', not a time",
        ),
    ],
    ids=["comma", "short", "unlabelled rows", "a word", "a bad time"],
)
def test_a_malformed_file_is_named_with_its_fault(tmp_path, content, reason):
    (tmp_path / "valve1").mkdir()
    (tmp_path / "valve1" / "1.csv").write_text(content)
    with pytest.raises(BmsError, match=reason) as raised:
        evaluate_skab(tmp_path)
    assert str(raised.value).startswith(str(tmp_path / "valve1" / "1.csv"))


# --- a damaged copy of a real file (';'-separated, CRLF): one line naming it -----------------
def _lines(dataset) -> list[str]:
    return (dataset("skab") / "valve1" / "3.csv").read_bytes().decode().split("\r\n")


def _with_cell(lines: list[str], line: int, column: int, value: str) -> list[str]:
    out = list(lines)
    fields = out[line - 1].split(";")
    fields[column] = value
    out[line - 1] = ";".join(fields)
    return out


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda lines: b"", r"the file is empty$"),
        # data rows 10 and 11 swapped: a ValueError from the detector before
        (
            lambda lines: crlf(swapped(lines, 10)),
            r": 'datetime' data row 11 \(2020-03-09 11:14:43\) is earlier than data row 10 "
            r"\(2020-03-09 11:14:45\): the protocol reads the rows in time order as written",
        ),
        (
            lambda lines: crlf([*lines[:11], lines[11] + ";1.0", *lines[12:]]),
            r": line 12 holds 12 fields, not 11 \(the header's\)$",
        ),
        (lambda lines: crlf(lines) + b"\xe9", r": line 1150 holds the byte 0xe9, not UTF-8 text"),
        (lambda lines: "\r\n".join(lines).encode("utf-16"), r": UTF-16 text; save it as UTF-8"),
        # the messages showed numpy's repr: np.float64(2.0), np.float64(nan)
        (
            lambda lines: crlf(_with_cell(lines, 500, 9, "2.0")),
            r": 'anomaly' must be 0 or 1; data row 499 holds 2.0$",
        ),
        (
            lambda lines: crlf(_with_cell(lines, 500, 9, "")),
            r": 'anomaly' must be 0 or 1; data row 499 holds an empty cell$",
        ),
        (
            lambda lines: crlf([*lines[:499], lines[499].rsplit(";", 2)[0], *lines[500:]]),
            r": line 500 holds 9 fields, not 11 \(the header's\)$",
        ),
    ],
    ids=[
        "empty",
        "out of order",
        "extra field",
        "latin-1",
        "utf-16",
        "label 2",
        "no label",
        "short",
    ],
)
def test_a_damaged_copy_of_a_file_is_refused_in_one_line_naming_it(
    dataset, tmp_path, damage, reason
):
    (tmp_path / "valve1").mkdir()
    path = tmp_path / "valve1" / "3.csv"
    path.write_bytes(damage(_lines(dataset)))
    with pytest.raises(BmsError, match=reason) as raised:
        evaluate_skab(tmp_path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)


def test_a_folder_named_like_a_file_is_refused_through_the_cli(tmp_path, capsys):
    (tmp_path / "valve1" / "x.csv").mkdir(parents=True)
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "skab", "--data", str(tmp_path), "--json"])
    assert done.value.code == 2
    reason = "a folder, not a file"
    assert capsys.readouterr().err == f"bms: error: {tmp_path / 'valve1' / 'x.csv'}: {reason}\n"
