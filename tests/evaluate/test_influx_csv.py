"""``bms detect`` reads InfluxDB 2's annotated CSV (Data Explorer downloads, ``influx query
--raw``, ``/api/v2/query``).

No InfluxDB 2 server can run here (``../shared/docs/SERVICES.md``: none in any registry), so
the files are written as the server writes them, after the format's reference
(docs.influxdata.com, "Annotated CSV"): one annotation block and header per schema, blocks
parted by a blank line, a table per series.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.errors import SchemaError
from bms.evaluate.influx_csv import influx_layout, read_influx_csv, series_points
from tests.evaluate.test_detect_csv import detect_args, pump, run_cli

START, STOP = "2025-12-31T00:00:00Z", "2026-01-03T00:00:00Z"


def _rfc3339(frame: pd.DataFrame) -> pd.DataFrame:
    """The pump readings timed as InfluxDB writes times (RFC 3339, UTC)."""
    times = pd.to_datetime(frame["Timestamp"]).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return frame.assign(Timestamp=times).drop(columns="site")


def annotated(frame: pd.DataFrame, tags: dict[str, str], *, fields: list[str]) -> str:
    """``fields`` of ``frame`` as one annotated-CSV block, a table per field, tagged ``tags``."""
    tag_names = list(tags)
    lines = [
        "#group,false,false,true,true,false,false,true,true" + ",true" * len(tags),
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,"
        "string,string" + ",string" * len(tags),
        "#default,_result,,,,,,,," + "," * len(tags),
        ",result,table,_start,_stop,_time,_value,_field,_measurement"
        + "".join("," + t for t in tag_names),
    ]
    for table, field in enumerate(fields):
        for time, value in zip(frame["Timestamp"], frame[field], strict=True):
            cell = "" if pd.isna(value) else repr(float(value))
            tag_cells = "".join("," + tags[t] for t in tag_names)
            lines.append(f",,{table},{START},{STOP},{time},{cell},{field},pump{tag_cells}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def pump_pair(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = pump(rng, 600, "2026-01-01"), pump(rng, 400, "2026-01-02")
    test.loc[200:299, "pressure"] += 0.2
    return _rfc3339(train), _rfc3339(test)


def test_an_annotated_csv_gives_the_same_out_as_its_wide_form(tmp_path, pump_pair, capsys):
    train, test = pump_pair
    test.loc[100, "flow"] += 50.0  # a one-row spike, said with its time: a line is a reading
    (tmp_path / "wide").mkdir()
    wide_args = detect_args(tmp_path / "wide", train, test)
    code, _, err = run_cli(wide_args, capsys)
    assert code == 0, err
    paths = [tmp_path / name for name in ("tr.csv", "te.csv", "o.csv")]
    tags = {"site": "besancon", "pump": "p1"}  # the same on every series: not in the names
    # two blocks in TRAIN (a second schema after a blank line), as the server parts them
    paths[0].write_text(
        annotated(train, tags, fields=["flow"]) + "\n" + annotated(train, tags, fields=["pressure"])
    )
    paths[1].write_text(annotated(test, tags, fields=["flow", "pressure"]))
    assert influx_layout(paths[0]) == influx_layout(paths[1]) == "annotated"
    args = ["detect", "--train", str(paths[0]), "--test", str(paths[1]), "--out", str(paths[2])]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert "one reading per line ('_time', '_field', '_value'): read as 600 rows x 2 points" in err
    assert "1 one-row spike(s) (first in 'flow', the row of 2026-01-02T00:01:40Z)" in err
    out, wide_out = pd.read_csv(paths[2]), pd.read_csv(wide_args[-1])
    pd.testing.assert_frame_equal(out, wide_out)
    assert out["anomaly"].iloc[210:300].mean() > 0.9
    assert out["time"].iloc[0] == "2026-01-02T00:00:00Z"  # as written


def test_series_sharing_a_field_are_named_by_the_tags_that_tell_them_apart(tmp_path):
    # the reference's example: one field of three hosts; the region is the same for all
    path = tmp_path / "mem.csv"
    path.write_text(
        "#group,false,false,true,true,false,false,true,true,true,true\n"
        "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,"
        "string,string,string\n"
        "#default,mean,,,,,,,,,\n"
        ",result,table,_start,_stop,_time,_value,_field,_measurement,host,region\n"
        ",,0,2022-12-31T05:41:24Z,2023-01-31T05:41:24.001Z,2023-01-01T00:52:00Z,15.43,mem,m,A,east\n"
        ",,1,2022-12-31T05:41:24Z,2023-01-31T05:41:24.001Z,2023-01-01T00:52:00Z,59.25,mem,m,B,east\n"
        ",,2,2022-12-31T05:41:24Z,2023-01-31T05:41:24.001Z,2023-01-01T00:52:00Z,52.62,mem,m,C,east\n"
    )
    (rows,) = series_points([read_influx_csv(path)])
    assert list(rows.columns) == ["_time", "_field", "_value"]
    assert rows["_field"].tolist() == ["mem (host=A)", "mem (host=B)", "mem (host=C)"]
    assert rows["_value"].tolist() == ["15.43", "59.25", "52.62"]  # cells as written
    # named over both files: a TEST holding host A alone still calls it "mem (host=A)"
    host_a = read_influx_csv(path).iloc[:1]
    _, alone = series_points([read_influx_csv(path), host_a])
    assert alone["_field"].tolist() == ["mem (host=A)"]


def test_the_connector_tests_recorded_responses_read_as_points():
    # the /api/v2/query answers the InfluxDB 2 connector's tests replay (tests/data/influx2)
    data = Path(__file__).parents[1] / "data" / "influx2"
    (by_tag,) = series_points([read_influx_csv(data / "read_two_points.csv")])
    assert sorted(set(by_tag["_field"])) == ["t/b/ahu-1/rat", "t/b/ahu-1/sat"]  # tag `point`
    (ahu,) = series_points([read_influx_csv(data / "source_ahu.csv")])
    assert "sat (_measurement=ahu, unit=2)" in set(ahu["_field"])
    with pytest.raises(SchemaError, match="holds no rows"):
        read_influx_csv(data / "read_empty.csv")


def test_a_pivoted_table_and_one_without_annotations_are_read_too(tmp_path):
    # a query ending in pivot(): a column per field, two units in one table, no annotations
    path = tmp_path / "pivoted.csv"
    path.write_text(
        ",result,table,_start,_stop,_time,_measurement,unit,mat,sat\n"
        f",_result,0,{START},{STOP},2026-01-01T00:00:00Z,ahu,ahu1,15.5,18.0\n"
        f",_result,0,{START},{STOP},2026-01-01T00:00:00Z,ahu,ahu2,14.5,17.0\n"
        f",_result,0,{START},{STOP},2026-01-01T00:01:00Z,ahu,ahu1,15.6,18.1\n"
    )
    assert influx_layout(path) == "annotated"
    (rows,) = series_points([read_influx_csv(path)])
    wide = rows.pivot(index="_time", columns="_field", values="_value")
    assert sorted(wide.columns) == [
        "mat (unit=ahu1)", "mat (unit=ahu2)", "sat (unit=ahu1)", "sat (unit=ahu2)",
    ]  # fmt: skip
    assert wide.loc["2026-01-01T00:01:00Z", "sat (unit=ahu1)"] == "18.1"


def test_a_plain_csv_is_not_annotated_and_a_table_without_time_is_refused(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("time,flow\n2026-01-01 00:00,1.0\n")
    assert influx_layout(plain) is None and influx_layout(tmp_path / "missing.csv") is None
    no_time = tmp_path / "no_time.csv"
    no_time.write_text(
        "#group,false,false,false,true\n#datatype,string,long,double,string\n#default,_result,,,\n"
        ",result,table,_value,_field\n,,0,1.5,flow\n"
    )
    with pytest.raises(SchemaError, match=r"table 1 of the annotated CSV has no _time column"):
        read_influx_csv(no_time)
    failed = tmp_path / "failed.csv"  # what /api/v2/query answers to a query that failed
    failed.write_text(
        "#datatype,string,string\n#group,true,true\n#default,,\n,error,reference\n"
        ',"failed to execute query: bucket ""gtb"" not found",897\n'
    )
    with pytest.raises(SchemaError, match=r"InfluxDB's error, not readings: failed to exec"):
        read_influx_csv(failed)


def test_bms_detect_says_which_annotated_file_has_no_time(tmp_path, capsys):
    train = tmp_path / "tr.csv"
    train.write_text("#group,false,false,false,true\n,result,table,_value,_field\n,,0,1.5,flow\n")
    test = tmp_path / "te.csv"
    test.write_text(train.read_text())
    args = ["detect", "--train", str(train), "--test", str(test), "--out", str(tmp_path / "o")]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith(f"bms: error: {train}: table 1 of the")
