"""C-MAPSS protocol: RUL metrics against hand-computed values, data reading, the full run."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.cli import main
from bms.errors import BmsError
from bms.evaluate.cmapss import (
    CMAPSS_COLUMNS,
    add_operating_regimes,
    evaluate_cmapss,
    read_cmapss,
    read_cmapss_rul,
)
from bms.evaluate.rul_metrics import interval_coverage, phm08_score, rmse

SENSORS = [c for c in CMAPSS_COLUMNS if c.startswith("sensor_")]


def test_rmse_matches_hand_computation() -> None:
    # errors 3 and -4 -> sqrt((9 + 16) / 2)
    assert rmse([10, 20], [13, 16]) == pytest.approx(math.sqrt(12.5))


def test_phm08_penalises_late_more_than_early() -> None:
    late = phm08_score([50], [60])  # d = +10 -> e^1 - 1
    early = phm08_score([50], [40])  # d = -10 -> e^(10/13) - 1
    assert late == pytest.approx(math.e - 1)
    assert early == pytest.approx(math.exp(10 / 13) - 1)
    assert late > early
    assert phm08_score([5, 7], [5, 7]) == 0.0


def test_coverage_counts_units_inside_the_interval() -> None:
    assert interval_coverage([10, 20, 30, 40], [5, 21, 30, 0], [15, 25, 31, 39]) == 0.5


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        rmse([1, 2], [1])


# --- protocol and data ----------------------------------------------------------------------
def _fake_cmapss(rng: np.random.Generator, n_rows: int) -> pd.DataFrame:
    frame = pd.DataFrame(rng.normal(size=(n_rows, len(CMAPSS_COLUMNS))), columns=CMAPSS_COLUMNS)
    frame["unit"] = np.repeat(np.arange(n_rows // 10), 10)[:n_rows]
    return frame


def test_unknown_subset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BmsError, match="--subset must be FD001, FD002, FD003 or FD004"):
        evaluate_cmapss(tmp_path, "FD005")


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(BmsError, match="train_FD001.txt: file not found"):
        evaluate_cmapss(tmp_path, "fd001")


def test_a_word_among_the_readings_is_named(tmp_path: Path) -> None:
    # a traceback before (from the model, or numpy's loadtxt counting rows from 0)
    row = " ".join(["1", "1", *["0.5"] * (len(CMAPSS_COLUMNS) - 2)])
    bad = row.rsplit(" ", 1)[0] + " abc"
    (tmp_path / "train_FD001.txt").write_text(f"{row}\n{bad}\n")
    with pytest.raises(BmsError, match=r"train_FD001.txt: 'sensor_21' data row 2 holds 'abc'"):
        read_cmapss(tmp_path / "train_FD001.txt")
    (tmp_path / "RUL_FD001.txt").write_text("112\n98\nx1\n")
    with pytest.raises(BmsError, match=r"RUL_FD001.txt: value 3 is 'x1', not a number"):
        read_cmapss_rul(tmp_path / "RUL_FD001.txt")
    (tmp_path / "RUL_FD001.txt").write_text("112\n98\n")
    assert read_cmapss_rul(tmp_path / "RUL_FD001.txt").tolist() == [112.0, 98.0]


def test_synthetic_regimes_move_sensors_the_same_way_in_every_frame(
    rng: np.random.Generator,
) -> None:
    train, test = _fake_cmapss(rng, 600), _fake_cmapss(rng, 300)
    test[SENSORS] = train[SENSORS].iloc[:300].to_numpy()  # same readings in both frames
    new_train, new_test = add_operating_regimes([train, test], seed=3)
    assert new_train["op_setting_1"].round().nunique() == 6
    # a reading under the same operating point becomes the same value in train and test
    key_train = new_train["op_setting_1"].round().iloc[:300].to_numpy()
    key_test = new_test["op_setting_1"].round().to_numpy()
    same = key_train == key_test
    assert same.sum() > 20
    np.testing.assert_allclose(
        new_train[SENSORS].iloc[:300].to_numpy()[same], new_test[SENSORS].to_numpy()[same]
    )
    # the operating point moves sensors far more than their own spread
    assert new_train[SENSORS].std().min() > 3 * train[SENSORS].std().max()


def test_read_cmapss_names_columns(dataset) -> None:  # type: ignore[no-untyped-def]
    frame = read_cmapss(dataset("cmapss") / "test_FD001.txt")
    assert list(frame.columns) == list(CMAPSS_COLUMNS)
    assert frame["unit"].nunique() == 100 and len(frame) == 13096


@pytest.mark.slow
@pytest.mark.dataset
def test_fd001_through_the_cli(dataset, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """Regression guard, not the target (RMSE <= 12.5): see benchmarks/bench_cmapss.py."""
    args = ["evaluate", "cmapss", "--data", str(dataset("cmapss")), "--subset", "FD001", "--json"]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(result) == {
        "subset", "rmse", "phm08_score", "rmse_unclipped", "phm08_score_unclipped",
        "coverage", "n_units", "fit_seconds", "predict_seconds",
    }  # fmt: skip
    assert result["subset"] == "FD001" and result["n_units"] == 100
    assert result["rmse"] < 16.0
    assert result["phm08_score"] < 600
    assert 0.6 <= result["coverage"] <= 0.95


# --- a damaged copy of the data set: one line naming the file and the line or cell ----------
def _lines(dataset, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    return (dataset("cmapss") / name).read_text().splitlines()


def _with_field(line: str, index: int, value: str) -> str:
    fields = line.split()
    fields[index] = value
    return " ".join(fields)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda lines: b"", r"test_FD001.txt: the file is empty$"),
        (
            lambda lines: "\n".join([*lines[:6], lines[6] + " 1.0", *lines[7:]]).encode(),
            r"test_FD001.txt: line 7 holds 27 fields, not 26 \(the C-MAPSS layout\)$",
        ),
        (  # cut short: its missing readings were forward-filled, and the RMSE moved
            lambda lines: "\n".join([*lines[:-1], " ".join(lines[-1].split()[:17])]).encode(),
            r"test_FD001.txt: line 13096 holds 17 fields, not 26 \(the C-MAPSS layout\)$",
        ),
        (
            lambda lines: ("\n".join(lines) + "\n").encode() + b"\xe9",
            r"test_FD001.txt: line 13097 holds the byte 0xe9, not UTF-8 text",
        ),
        (
            lambda lines: "\n".join(lines).encode("utf-16"),
            r"test_FD001.txt: UTF-16 text; save it as UTF-8",
        ),
        (
            lambda lines: "\n".join(
                [*lines[:2], _with_field(lines[2], 0, "nan"), *lines[3:]]
            ).encode(),
            r"test_FD001.txt: 'unit' data row 3 holds 'nan', not a number$",
        ),
        (  # read as unit 1 before
            lambda lines: "\n".join(
                [*lines[:2], _with_field(lines[2], 0, "1.5"), *lines[3:]]
            ).encode(),
            r"test_FD001.txt: 'unit' data row 3 holds 1.5, not a whole number \(a unit id\)$",
        ),
        (
            lambda lines: "\n".join(
                [*lines[:4], _with_field(lines[4], 9, "inf"), *lines[5:]]
            ).encode(),
            r"test_FD001.txt: 'sensor_5' data row 5 holds inf, not a finite number$",
        ),
    ],
    ids=[
        "empty",
        "27 fields",
        "cut short",
        "latin-1 byte",
        "utf-16",
        "nan unit",
        "1.5 unit",
        "inf",
    ],
)
def test_a_damaged_test_file_is_refused_in_one_line_naming_it(
    dataset, tmp_path: Path, damage, reason: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "test_FD001.txt"
    path.write_bytes(damage(_lines(dataset, "test_FD001.txt")))
    with pytest.raises(BmsError, match=reason) as raised:
        read_cmapss(path)
    assert str(raised.value).startswith(str(path)) and "\n" not in str(raised.value)


def test_a_training_row_missing_its_last_field_is_refused_through_the_cli(
    dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(dataset, "train_FD001.txt")
    lines[99] = " ".join(lines[99].split()[:-1])
    (tmp_path / "train_FD001.txt").write_text("\n".join(lines) + "\n")
    args = ["evaluate", "cmapss", "--data", str(tmp_path), "--subset", "FD001", "--json"]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    reason = "line 100 holds 25 fields, not 26 (the C-MAPSS layout)"
    assert capsys.readouterr().err == f"bms: error: {tmp_path / 'train_FD001.txt'}: {reason}\n"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"112\n98\n-5\n", r"value 3 is '-5': a remaining useful life is never negative$"),
        # written as Infinity in the --json line before, which is not JSON
        (b"112\n98\ninf\n", r"value 3 is 'inf', not a finite number of cycles$"),
        (b"112\n98\n69\n\xe9", r"line 4 holds the byte 0xe9, not UTF-8 text"),
        ("112\n98\n".encode("utf-16"), r"UTF-16 text; save it as UTF-8"),
        (b"\n", r"RUL_FD001.txt: the file is empty$"),
    ],
    ids=["negative", "inf", "latin-1 byte", "utf-16", "empty"],
)
def test_a_damaged_true_rul_file_is_refused_in_one_line(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "RUL_FD001.txt"
    path.write_bytes(content)
    with pytest.raises(BmsError, match=reason) as raised:
        read_cmapss_rul(path)
    assert str(raised.value).startswith(str(path))
