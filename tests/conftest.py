"""Shared fixtures.

Datasets come from ``BMS_DATASETS`` (default ``../shared/datasets`` beside the checkout). A test
that needs a dataset or a service skips with the reason when it is missing, except when
``BMS_REQUIRE_SERVICES=1`` (as in CI), where a missing one fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bms.config import get_settings

REPO_ROOT = Path(__file__).resolve().parents[1]


def services_required() -> bool:
    """True when a missing service or dataset must fail the run instead of skipping (CI)."""
    return os.environ.get("BMS_REQUIRE_SERVICES", "") == "1"


def missing(reason: str) -> None:
    """Skip the calling test for ``reason``, or fail it when services are required."""
    if services_required():
        pytest.fail(f"required but missing: {reason}")
    pytest.skip(reason)


def require_binary(name: str) -> str:
    """Path of an executable, or skip/fail naming it."""
    path = shutil.which(name)
    if path is None:
        missing(f"executable {name!r} not found on PATH")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The public datasets directory (BMS_DATASETS)."""
    return Path(os.environ.get("BMS_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def dataset(datasets_dir: Path):
    """``dataset("skab")`` returns that dataset's folder, or skips/fails when absent."""

    def _get(name: str) -> Path:
        path = datasets_dir / name
        if not path.is_dir():
            missing(f"dataset {name!r} not found under {datasets_dir} (set BMS_DATASETS)")
        return path

    return _get


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator: tests are deterministic."""
    return np.random.default_rng(20261128)


@pytest.fixture
def bms_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh BMS_HOME for one test, with the settings cache cleared around it."""
    home = tmp_path / "bms-home"
    monkeypatch.setenv("BMS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
