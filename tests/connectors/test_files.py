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
    with pytest.raises(SchemaError, match=r"p.csv: .*nonexistent local time .* lines 3, 4;"):
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
        SchemaError, match=r"ambiguous local time .* lines 3, 4, 5, 6; set ambiguous"
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
        SchemaError, match=r"b.csv: column 'P_kW': non-numeric value 'n/a' at line 3"
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


def file_connector(site, path: Path, **options) -> FileConnector:
    """A connector on ``path`` whose column ``P`` is the power point (time column ``time``)."""
    raw = {"kind": "file", "path": str(path), "columns": {"P": POWER}, **options}
    return FileConnector(parse_config("csv", raw), site.all_points())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("timezone", "Mars/Olympus", "unknown time zone 'Mars/Olympus'; use an IANA name"),
        ("timezone", "Europe", "unknown time zone 'Europe'"),
        ("time_format", "%Q%Q", "not a usable strftime format '%Q%Q' .*'Q' is a bad directive"),
        ("sep", "", r"must be one character, e.g. ';' or ',' \(got ''\)"),
        ("decimal", ",,", r"must be one character, '.' or ',' \(got ',,'\)"),
        ("decimal", ",", "',' is also the field separator"),
    ],
)
def test_bad_file_settings_are_refused_at_config_time_naming_the_field(
    site, tmp_path, field, value, message
):
    with pytest.raises(ConfigError, match=f"^connectors.csv.{field}: {message}"):
        file_connector(site, tmp_path / "m.csv", **{field: value})


def test_good_time_formats_and_zones_are_accepted(site, tmp_path):
    for options in (
        {"time_format": "%d/%m/%Y %H:%M", "timezone": "Europe/Paris"},
        {"time_format": "%Y-%m-%dT%H:%M:%S%z", "timezone": "UTC", "sep": ";", "decimal": ","},
    ):
        file_connector(site, tmp_path / "m.csv", **options)


def test_an_empty_csv_file_is_named_in_one_line(site, tmp_path):
    (tmp_path / "m.csv").write_bytes(b"")
    with pytest.raises(SchemaError, match=r"^m.csv: empty file, no header line$"):
        file_connector(site, tmp_path / "m.csv").load()


def test_a_row_with_an_extra_field_names_its_line(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P,T\n2026-01-05T00:00:00,10,1.5\n2026-01-05T00:01:00,11,1.6,7\n")
    with pytest.raises(
        SchemaError, match=r"^m.csv: line 3 has 4 fields, the header has 3 \(sep = ','"
    ):
        file_connector(site, path).load()


def test_a_path_matching_a_directory_is_a_config_error(site, tmp_path):
    (tmp_path / "old.csv").mkdir()
    with pytest.raises(ConfigError, match=r"^connectors.csv.path: '.*old.csv' is a directory"):
        file_connector(site, tmp_path / "*.csv").load()


@pytest.mark.parametrize(("name", "options"), [("m.parquet", {}), ("m.csv", {"format": "parquet"})])
def test_a_file_that_is_not_parquet_is_named_in_one_line(site, tmp_path, name, options):
    (tmp_path / name).write_text("time,P\n2026-01-05T00:00:00,10\n")
    with pytest.raises(SchemaError, match=rf"^{name}: not a Parquet file, or a damaged one; set "):
        file_connector(site, tmp_path / name, **options).load()


def test_a_file_in_another_encoding_than_set_is_named_in_one_line(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n2026-01-05T00:00:00,10\n")  # UTF-8, an even number of bytes
    with pytest.raises(SchemaError, match=r"^m.csv: not utf-16 text \(.*BOM\); set connectors"):
        file_connector(site, path, encoding="utf-16").load()


def test_times_with_an_hours_only_offset_are_read_as_the_offset_says(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n2026-01-05T10:00:00-05,10\n2026-01-05T10:00:00.5+01,11\n")
    frame = read_all(file_connector(site, path, timezone="Europe/Paris"))
    assert frame["time"].tolist() == [
        pd.Timestamp("2026-01-05 09:00:00.5", tz="UTC"),
        pd.Timestamp("2026-01-05 15:00", tz="UTC"),
    ]


def test_a_date_only_time_is_local_not_an_hours_offset(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n2026-01-05,10\n")
    frame = read_all(file_connector(site, path, timezone="Europe/Paris"))
    assert frame["time"].tolist() == [pd.Timestamp("2026-01-04 23:00", tz="UTC")]


def test_zone_names_read_with_a_percent_z_format_are_converted_each_as_named(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n05/01/2026 10:00 UTC,10\n05/01/2026 10:00 CET,11\n")
    frame = read_all(file_connector(site, path, time_format="%d/%m/%Y %H:%M %Z"))
    assert frame["time"].tolist() == [
        pd.Timestamp("2026-01-05 09:00", tz="UTC"),
        pd.Timestamp("2026-01-05 10:00", tz="UTC"),
    ]


def test_naive_times_among_times_with_an_offset_name_their_lines(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n2026-01-05T00:00:00Z,10\n2026-01-05T01:00:00,11\n")
    with pytest.raises(
        SchemaError, match=r"^m.csv: column 'time': times without a UTC offset at line 3, others"
    ):
        file_connector(site, path).load()


def test_errors_name_the_file_line_after_blank_lines(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\r\n2026-01-05T00:00:00,10\r\n\r\n  \r\n2026-01-05T01:00:00,x\r\n")
    with pytest.raises(SchemaError, match=r"^m.csv: column 'P': non-numeric value 'x' at line 5$"):
        file_connector(site, path).load()


def test_a_quoted_cell_across_lines_counts_its_lines(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('time,P,note\n2026-01-05T00:00:00,10,"two\nlines"\n2026-01-05T01:00:00,x,\n')
    with pytest.raises(SchemaError, match=r"non-numeric value 'x' at line 4$"):
        file_connector(site, path).load()


def test_an_empty_time_cell_is_named_as_empty(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n2026-01-05T00:00:00,10\n,11\n")
    with pytest.raises(SchemaError, match=r"^m.csv: column 'time': empty time cell at line 3$"):
        file_connector(site, path).load()


def test_rows_of_separators_only_are_blank_lines(site, tmp_path):
    # Excel ends a sheet's CSV export with rows of separators: no reading, no empty time cell
    path = tmp_path / "m.csv"
    path.write_text("time;P\n2026-01-05T00:00:00;10\n;\n2026-01-05T00:10:00;11\n;\n;\n")
    frame = file_connector(site, path, sep=";").load()
    assert frame["value"].tolist() == [10.0, 11.0]


def test_a_missing_parquet_time_is_named_by_its_row(site, tmp_path):
    path = tmp_path / "m.parquet"
    times = pd.to_datetime(["2026-01-05 00:00", None])
    pd.DataFrame({"time": times, "P": [1.0, 2.0]}).to_parquet(path)
    with pytest.raises(SchemaError, match=r"^m.parquet: column 'time': empty time cell at row 2$"):
        file_connector(site, path).load()


def test_localise_keeps_a_missing_time_missing():
    naive = pd.Series(pd.to_datetime(["2026-01-05 10:00", None]))
    got = localise(naive, "UTC")
    assert got.iloc[0] == pd.Timestamp("2026-01-05 10:00", tz="UTC") and pd.isna(got.iloc[1])


def test_an_infinite_cell_names_the_file_column_and_line(site, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("time,P\n2026-01-05T00:00:00,10\n2026-01-05T01:00:00,-inf\n")
    with pytest.raises(SchemaError, match=r"^m.csv: column 'P': infinite value '-inf' at line 3$"):
        file_connector(site, path).load()


def test_kind_that_is_not_a_string_is_a_config_error():
    with pytest.raises(
        ConfigError, match=r'^connectors.x.kind: must be a string, e.g. kind = "file"'
    ):
        parse_config("x", {"kind": ["file"]})
