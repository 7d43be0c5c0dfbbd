"""OUT as written by ``write_out``: any CSV reader reads back the frame it was given, whether
Arrow's writer (plain cells) or pandas' (cells that need quotes, booleans) wrote it."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.evaluate.out_path import write_out


def _detect_out(rows: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "time": pd.date_range("2026-01-01", periods=rows, freq="min").astype(str),
            "score": rng.random(rows).round(6),
            "anomaly": (rng.random(rows) > 0.8).astype(int),
            "top_contributor": rng.choice(["AHU: Supply Air Temperature", "s1"], rows),
        }
    )


def test_plain_cells_read_back_the_same_frame(tmp_path: Path) -> None:
    out = _detect_out()
    out.loc[3, "score"] = np.nan  # a row not scored
    out.loc[4, "top_contributor"] = None
    out.loc[5, "score"] = 1.0
    write_out(out, tmp_path / "out.csv")
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "out.csv"), out)
    text = (tmp_path / "out.csv").read_text()
    assert text.startswith("time,score,anomaly,top_contributor\n")
    assert '"' not in text  # no cell needed quotes, none has them
    assert text.splitlines()[5] == f"{out['time'][4]},{out['score'][4]},{out['anomaly'][4]},"


@pytest.mark.parametrize("cell", ["AHU-2 FC6,FC8", 'say "hot"', "two\nlines"])
def test_cells_that_need_quotes_are_quoted(tmp_path: Path, cell: str) -> None:
    out = _detect_out().assign(rule="")
    out.loc[2, "rule"] = cell
    write_out(out, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[3][4] == cell
    assert len(rows) == len(out) + 1


def test_booleans_and_mixed_columns_are_written_as_pandas_writes_them(tmp_path: Path) -> None:
    out = _detect_out(5).assign(held=[True, False, True, False, True], mixed=[1, "a", 2.5, None, 3])
    write_out(out, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == out.to_csv(index=False)


def test_an_unwritable_out_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SchemaError, match="cannot write OUT"):
        write_out(_detect_out(3), tmp_path / "file" / "out.csv")


@pytest.mark.parametrize("name", ["out.csv.gz", "out.csv.zip", "out.parquet"])
def test_an_out_named_compressed_or_parquet_is_written_so(tmp_path: Path, name: str) -> None:
    # an OUT named o.csv.gz was plain text: pandas, reading by the name, raised BadGzipFile
    out = _detect_out()
    write_out(out, tmp_path / name)
    read = pd.read_parquet if name.endswith(".parquet") else pd.read_csv
    pd.testing.assert_frame_equal(read(tmp_path / name), out)
