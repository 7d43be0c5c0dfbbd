"""The SKAB leaderboard protocol, run for real on the 34 labelled files."""

from __future__ import annotations

import json

import pytest

from bms.cli import main
from bms.evaluate.detection_metrics import Confusion
from bms.evaluate.skab import evaluate_skab, iter_skab_files


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


def test_a_folder_without_skab_files_is_a_user_error(tmp_path):
    from bms.errors import BmsError

    with pytest.raises(BmsError, match="no SKAB files"):
        evaluate_skab(tmp_path)
