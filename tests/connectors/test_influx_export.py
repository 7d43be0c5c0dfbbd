"""``bms detect`` on what a real InfluxDB 1.x answers as CSV (``/query`` with ``Accept:
application/csv``, as ``influx -format csv`` prints it): ``name,tags,time`` then the fields,
times in Unix nanoseconds, a block per series after a ``GROUP BY``."""

from __future__ import annotations

import urllib.parse
import urllib.request

import numpy as np
import pandas as pd

from tests.connectors.conftest import influx_http
from tests.connectors.test_influx import write_lines
from tests.evaluate.test_detect_csv import detect_args, pump, run_cli


def query_csv(url: str, statement: str) -> str:
    database = url.rsplit("/", 1)[1]
    query = urllib.parse.urlencode({"db": database, "q": statement})
    request = urllib.request.Request(
        f"{influx_http(url)}/query?{query}", headers={"Accept": "application/csv"}
    )
    return urllib.request.urlopen(request, timeout=10).read().decode()


def _lines(frame: pd.DataFrame, unit: str) -> list[str]:
    seconds = pd.to_datetime(frame["Timestamp"], utc=True).dt.as_unit("s").astype("int64")
    return [
        f"pump,site=besancon,unit={unit} flow={f!r},pressure={p!r} {t}"
        for t, f, p in zip(seconds, frame["flow"], frame["pressure"], strict=True)
    ]


def test_bms_detect_reads_influxdb_1_csv_a_point_per_series(
    influx_url, tmp_path, rng: np.random.Generator, capsys
):
    train, test = pump(rng, 600, "2026-01-01"), pump(rng, 400, "2026-01-02")
    test.loc[200:299, "pressure"] += 0.2
    other_train, other_test = pump(rng, 600, "2026-01-01"), pump(rng, 400, "2026-01-02")
    write_lines(influx_url, _lines(train, "p1") + _lines(test, "p1"))
    write_lines(influx_url, _lines(other_train, "p2") + _lines(other_test, "p2"))
    (tmp_path / "wide").mkdir()
    train, test = train.drop(columns="site"), test.drop(columns="site")
    wide_args = detect_args(tmp_path / "wide", train, test)
    code, _, err = run_cli(wide_args, capsys)
    assert code == 0, err
    paths = [tmp_path / name for name in ("tr.csv", "te.csv", "o.csv")]
    select = "SELECT flow, pressure FROM pump WHERE time >= '{}' AND time < '{}' GROUP BY unit"
    days = ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z")
    paths[0].write_text(query_csv(influx_url, select.format(*days[:2])))
    paths[1].write_text(query_csv(influx_url, select.format(*days[1:])))
    assert paths[0].read_text().startswith("name,tags,time,flow,pressure\npump,unit=p1,")
    args = ["detect", "--train", str(paths[0]), "--test", str(paths[1]), "--out", str(paths[2])]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "read as 600 rows x 4 points" in err  # flow and pressure of each pump
    out, wide_out = pd.read_csv(paths[2]), pd.read_csv(wide_args[-1])
    assert len(out) == len(wide_out) == 400
    # pump p1's pressure rise is found and named by its series; p2 stays normal
    assert out["anomaly"].iloc[210:300].mean() > 0.9
    assert set(out.loc[210:299, "top_contributor"]) == {"pressure (unit=p1)"}
    assert out["anomaly"].iloc[:150].mean() < 0.05
    assert np.issubdtype(out["time"].dtype, np.integer)  # Unix nanoseconds, as written
