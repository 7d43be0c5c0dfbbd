"""``bms train rul``: register, compare with production on held-back units, promote or refuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.cli import main
from bms.errors import BmsError
from bms.jobs.train_rul import cut_before_failure, split_units, train_rul_from_csv
from bms.models.registry import ModelRegistry


def run_to_failure_csv(path: Path, rng: np.random.Generator, n_units: int = 16) -> Path:
    """Units whose two signals drift linearly to failure at the last cycle, with noise."""
    rows = []
    for unit in range(1, n_units + 1):
        life = int(rng.integers(60, 140))
        for cycle in range(1, life + 1):
            wear = cycle / life
            rows.append(
                {
                    "unit": unit,
                    "cycle": cycle,
                    "temp": 500 + 40 * wear**2 + rng.normal(0, 1.0),
                    "vib": 2 + 6 * wear**1.5 + rng.normal(0, 0.2),
                    "noise": rng.normal(0, 1),
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def histories(tmp_path: Path, rng: np.random.Generator) -> Path:
    return run_to_failure_csv(tmp_path / "train.csv", rng)


def test_split_holds_back_a_seeded_share_of_units() -> None:
    units = np.arange(1, 21)
    train, held = split_units(units, 0.2, seed=3)
    assert len(held) == 4 and len(train) == 16
    assert not set(train) & set(held)
    assert np.array_equal(held, split_units(units, 0.2, seed=3)[1])
    with pytest.raises(BmsError, match="at least 5"):
        split_units(np.arange(3), 0.2, seed=0)
    with pytest.raises(BmsError, match="holdout-fraction"):
        split_units(units, 1.5, seed=0)


def test_cut_keeps_part_of_each_unit_and_knows_the_remaining_time() -> None:
    frame = pd.DataFrame({"unit": [1] * 10 + [2] * 20, "t": list(range(10)) + list(range(20))})
    held = cut_before_failure(frame, "unit", "t", seed=0)
    kept = held.histories.groupby("unit")["t"].max()
    assert np.allclose(held.true_rul, [9 - kept[1], 19 - kept[2]])
    assert (held.histories.groupby("unit").size() >= [3, 6]).all()


def test_first_training_is_promoted_and_a_worse_one_is_refused(
    tmp_path: Path, histories: Path
) -> None:
    registry = ModelRegistry(tmp_path / "models")
    first = train_rul_from_csv(registry, histories, unit_column="unit", time_column="cycle")
    assert first.promoted and first.champion_version is None
    assert registry.production("rul").version == first.candidate_version

    # a cap of 5 cycles cannot predict the long remaining lives of the held-back units
    worse = train_rul_from_csv(
        registry, histories, unit_column="unit", time_column="cycle", max_rul=5
    )
    assert not worse.promoted
    assert worse.candidate_score > worse.champion_score
    assert registry.production("rul").version == first.candidate_version
    meta = registry.get("rul", worse.candidate_version)
    assert meta.extra["held_back_units"] == 4 and meta.extra["time_unit"] == "time-column units"


def test_a_french_export_trains_the_same_model(tmp_path: Path, histories: Path) -> None:
    # ';' between fields, decimal commas: read as ``bms rul`` reads it, without --sep
    french = tmp_path / "french.csv"
    pd.read_csv(histories).to_csv(french, sep=";", decimal=",", index=False)
    scores = []
    for name, path in (("plain", histories), ("french", french)):
        registry = ModelRegistry(tmp_path / name)
        decision = train_rul_from_csv(registry, path, unit_column="unit", time_column="cycle")
        scores.append(registry.get("rul", decision.candidate_version).metrics["cv_rmse"])
    assert scores[0] == pytest.approx(scores[1])


def test_bms_train_rul_prints_the_decision(
    bms_home: Path, histories: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "rul", "--train", str(histories), "--unit-column", "unit"]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--time-column", "cycle"])
    assert exited.value.code in (0, None)
    out = capsys.readouterr().out
    assert "rul version 1: promoted to production" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "rul"], "needs --train"),
        (["train", "rul", "--train", "nowhere.csv"], "file not found"),
        (["train", "bananas"], "anomaly or rul"),
        # checked before the fit: a model capped at -1 was trained and promoted to production
        (["train", "rul", "--train", "x.csv", "--max-rul", "-1"], "--max-rul must be > 0"),
        (["train", "rul", "--train", "x.csv", "--max-rul", "nan"], "--max-rul must be > 0"),
        (["train", "rul", "--train", "x.csv", "--tolerance", "-1"], "--tolerance must be"),
        (["train", "anomaly", "--train", "x.csv"], "takes no --train file"),  # was ignored
    ],
)
def test_bms_train_bad_input_is_one_line(
    bms_home: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_too_few_units_left_after_the_hold_out_says_so(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    # 6 units, 2 held back: the model said "4 training unit(s); at least 5" without a word of
    # the 2 units the command had set aside
    path = run_to_failure_csv(tmp_path / "six.csv", rng, n_units=6)
    registry = ModelRegistry(tmp_path / "models")
    with pytest.raises(BmsError, match=r"6 unit\(s\), 2 of them held back .* 4 left to train on"):
        train_rul_from_csv(registry, path, unit_column="unit", time_column="cycle")
