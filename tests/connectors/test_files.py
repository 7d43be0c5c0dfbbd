"""File connector: column map, CSV and Parquet, local times across clock changes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bms.connectors.base import parse_config
from bms.connectors.files import FileConnector, localise
from bms.errors import ConfigError, SchemaError

POWER = "t/b/ahu-1/power"
SAT = "t/b/ahu-1/sat"


def connector(site, path: Path, **options) -> FileConnector:
    raw = {"kind": "file", "path": str(path), "time_column": "Horodatage", **options}
    return FileConnector(parse_config("csv", raw), site.all_points())


def write_csv(path: Path, times: list[str], values: list[str], sep: str = ";") -> Path:
    lines = [f"Horodatage{sep}P_kW{sep}T_soufflage"]
    lines += [
        f"{t}{sep}{v}{sep}18{',5' if sep == ';' else '.5'}"
        for t, v in zip(times, values, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def read_all(conn: FileConnector) -> pd.DataFrame:
    first, last = conn.extent()
    return conn.read(first, last + pd.Timedelta(1, "ns"))


def test_column_map_and_site_source_columns_become_points(site, tmp_path):
    path = write_csv(tmp_path / "m.csv", ["2026-01-05 10:00", "2026-01-05 10:10"], ["12,5", ""])
    conn = connector(
        site, path, sep=";", decimal=",", columns={"T_soufflage": SAT}, timezone="Europe/Paris"
    )
    frame = read_all(conn)
    power = frame[frame["point"] == POWER]
    assert power["value"].tolist() == [12.5]  # the empty cell is a missing reading
    assert power["time"].tolist() == [pd.Timestamp("2026-01-05 09:00", tz="UTC")]  # CET = UTC+1
    assert frame[frame["point"] == SAT]["value"].tolist() == [18.5, 18.5]


def test_read_returns_only_the_half_open_window(site, tmp_path):
    times = [f"2026-01-05 10:{m:02d}" for m in range(0, 60, 10)]
    conn = connector(site, write_csv(tmp_path / "m.csv", times, ["1"] * 6), sep=";")
    part = conn.read(
        pd.Timestamp("2026-01-05 10:10", tz="UTC"), pd.Timestamp("2026-01-05 10:30", tz="UTC")
    )
    assert sorted(part[part["point"] == POWER]["time"].dt.minute) == [10, 20]


def test_spring_forward_hour_is_refused_naming_the_rows(site, tmp_path):
    times = ["2026-03-29 01:30", "2026-03-29 02:00", "2026-03-29 02:30", "2026-03-29 03:00"]
    conn = connector(
        site, write_csv(tmp_path / "p.csv", times, ["1"] * 4), sep=";", timezone="Europe/Paris"
    )
    with pytest.raises(SchemaError, match=r"p.csv: .*nonexistent local time .* rows 3, 4;"):
        conn.load()


def test_spring_forward_shift_forward_maps_to_real_instants(site, tmp_path):
    times = ["2026-03-29 01:30", "2026-03-29 02:30", "2026-03-29 03:30"]
    conn = connector(
        site,
        write_csv(tmp_path / "p.csv", times, ["1", "2", "3"]),
        sep=";",
        timezone="Europe/Paris",
        nonexistent="shift_forward",
    )
    power = read_all(conn).query("point == @POWER")
    assert [t.strftime("%H:%M") for t in power["time"]] == ["00:30", "01:00", "01:30"]


AUTUMN = [
    "2026-10-25 01:30",
    "2026-10-25 02:00",
    "2026-10-25 02:30",
    "2026-10-25 02:00",
    "2026-10-25 02:30",
    "2026-10-25 03:00",
]


def test_autumn_repeated_hour_is_refused_naming_the_rows(site, tmp_path):
    conn = connector(
        site, write_csv(tmp_path / "a.csv", AUTUMN, ["1"] * 6), sep=";", timezone="Europe/Paris"
    )
    with pytest.raises(
        SchemaError, match=r"ambiguous local time .* rows 3, 4, 5, 6; set ambiguous"
    ):
        conn.load()


def test_autumn_infer_gives_six_distinct_utc_instants_in_order(site, tmp_path):
    values = ["1", "2", "3", "4", "5", "6"]
    conn = connector(
        site,
        write_csv(tmp_path / "a.csv", AUTUMN, values),
        sep=";",
        timezone="Europe/Paris",
        ambiguous="infer",
    )
    power = read_all(conn).query("point == @POWER")
    assert [t.strftime("%H:%M") for t in power["time"]] == [
        "23:30",
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "02:00",
    ]
    assert power["value"].tolist() == [1, 2, 3, 4, 5, 6]


def test_times_with_offsets_ignore_the_timezone_setting(site, tmp_path):
    times = ["2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"]
    conn = connector(
        site, write_csv(tmp_path / "o.csv", times, ["1", "2"]), sep=";", timezone="Europe/Paris"
    )
    power = read_all(conn).query("point == @POWER")
    assert [t.strftime("%H:%M") for t in power["time"]] == ["00:30", "01:30"]


def test_parquet_with_naive_local_times(site, tmp_path):
    path = tmp_path / "m.parquet"
    pd.DataFrame(
        {
            "ts": pd.to_datetime(["2026-07-01 12:00", "2026-07-01 12:15"]),
            "kw": [3.0, 4.0],
        }
    ).to_parquet(path)
    conn = FileConnector(
        parse_config(
            "pq",
            {
                "kind": "file",
                "path": str(path),
                "time_column": "ts",
                "timezone": "Europe/Paris",
                "columns": {"kw": POWER},
            },
        ),
        site.all_points(),
    )
    power = read_all(conn)
    assert power["time"].tolist() == [
        pd.Timestamp("2026-07-01 10:00", tz="UTC"),
        pd.Timestamp("2026-07-01 10:15", tz="UTC"),
    ]


def test_non_numeric_cell_names_column_and_line(site, tmp_path):
    path = write_csv(tmp_path / "b.csv", ["2026-01-05 10:00", "2026-01-05 10:10"], ["1", "n/a"])
    with pytest.raises(
        SchemaError, match=r"b.csv: column 'P_kW': non-numeric value 'n/a' at row 3"
    ):
        connector(site, path, sep=";").load()


def test_a_windows_1252_export_is_read_with_its_encoding_and_named_without(site, tmp_path):
    # Excel on a French Windows writes "CSV (séparateur: point-virgule)" in Windows-1252
    path = tmp_path / "export.csv"
    text = "Horodatage;P_kW;Température soufflage\n2026-01-05 10:00;12,5;18,5\n"
    path.write_bytes(text.encode("cp1252"))
    columns = {"Température soufflage": SAT}
    with pytest.raises(
        SchemaError,
        match=r"export.csv: not utf-8 text \(byte 0xe9\); set connectors.csv.encoding, e.g. cp1252",
    ):
        connector(site, path, sep=";", decimal=",", columns=columns).load()
    conn = connector(site, path, sep=";", decimal=",", columns=columns, encoding="cp1252")
    frame = read_all(conn)
    assert frame[frame["point"] == SAT]["value"].tolist() == [18.5]
    with pytest.raises(ConfigError, match=r"connectors.csv.encoding: .*unknown text encoding"):
        connector(site, path, encoding="latin-9000")


def test_config_errors_name_the_field(site, tmp_path):
    with pytest.raises(ConfigError, match=r"connectors.csv.columns.X: unknown point 'nope'"):
        connector(site, tmp_path / "x.csv", columns={"X": "nope"})
    with pytest.raises(ConfigError, match=r"connectors.csv.path: no file matches"):
        connector(site, tmp_path / "none-*.csv").load()
    with pytest.raises(ConfigError, match=r"connectors.csv.ambiguous"):
        connector(site, tmp_path / "x.csv", ambiguous="guess")


@pytest.mark.parametrize(("policy", "utc"), [("earliest", "00:30"), ("latest", "01:30")])
def test_autumn_earliest_and_latest_pick_summer_or_winter_time(policy, utc):
    naive = pd.Series(pd.to_datetime(["2026-10-25 02:30", "2026-10-25 12:00"]))
    got = localise(naive, "Europe/Paris", ambiguous=policy)
    assert [t.strftime("%H:%M") for t in got] == [utc, "11:00"]
