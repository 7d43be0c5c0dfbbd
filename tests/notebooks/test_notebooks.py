"""Every notebook in notebooks/ runs top to bottom in a fresh kernel (nbclient), without error.

The kernel is this interpreter's own (ipykernel's native ``python3`` spec), so it imports the
``bms`` under test. ``BMS_HOME`` is a fresh directory; ``BMS_DATASETS`` is the tests' one, and a
notebook that needs a dataset (its ``bms.datasets`` metadata) skips or fails like any dataset test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from tests.conftest import REPO_ROOT  # noqa: E402

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    datasets_dir: Path,
    dataset: Callable[[str], Path],
) -> None:
    nb = nbformat.read(path, as_version=4)
    for name in nb.metadata.get("bms", {}).get("datasets", []):
        dataset(name)
    monkeypatch.setenv("BMS_HOME", str(tmp_path / "bms-home"))
    monkeypatch.setenv("BMS_DATASETS", str(datasets_dir.resolve()))
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
