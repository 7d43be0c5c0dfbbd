"""``bms ingest``: incremental history with watermarks, spooling while the store is down,
pushed MQTT messages, and a SIGKILL in the middle that neither loses nor duplicates rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bms.config import Settings
from bms.connectors.base import Connector, ConnectorConfig
from bms.errors import BmsError, ConfigError
from bms.jobs.ingest import ingest
from bms.jobs.retry import RetryPolicy, retry_call
from bms.jobs.spool import Spool
from bms.jobs.watermarks import WatermarkStore
from bms.telemetry.influx import Influx1Store
from bms.telemetry.parquet import ParquetStore
from tests.connectors import conftest as services
from tests.connectors.conftest import SITE_YAML, free_tcp_port, make_site

# the service fixtures of tests/connectors/conftest.py, shared here
_services = services._services
influx_server = services.influx_server
influx_url = services.influx_url
mqtt_broker = services.mqtt_broker

POWER = "t/b/ahu-1/power"
T0 = pd.Timestamp("2026-03-01", tz="UTC")
FAST = RetryPolicy(attempts=2, base_seconds=0.01)


def write_csv(path: Path, start: pd.Timestamp, rows: int, step: str = "10min") -> pd.DataFrame:
    times = pd.date_range(start, periods=rows, freq=step, tz="UTC")
    data = pd.DataFrame(
        {"time": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "P_kW": np.arange(rows) * 0.5}
    )
    data.to_csv(path, mode="a", header=not path.exists(), index=False)
    return data


def settings_for(home: Path, csv: Path) -> Settings:
    return Settings(home=home, connectors={"csv": {"kind": "file", "path": str(csv)}})


def test_rerun_reads_only_what_is_new(tmp_path):
    csv = tmp_path / "meter.csv"
    write_csv(csv, T0, 144)
    settings, store = settings_for(tmp_path / "home", csv), ParquetStore(tmp_path / "tel")
    first = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST)
    assert (first.rows_read, first.rows_stored, first.chunks) == (144, 144, 1)
    last_row = T0 + pd.Timedelta(minutes=10 * 143)
    assert WatermarkStore(settings.home).get("csv") == last_row + pd.Timedelta(1, "ns")
    again = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST)
    assert again.rows_read == 0
    write_csv(csv, T0 + pd.Timedelta(days=1), 36)
    third = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST)
    assert third.rows_read == 36
    assert len(store.read([POWER])) == 180


def test_unknown_connector_and_missing_start_are_one_line_errors(tmp_path, influx_url):
    settings = Settings(home=tmp_path, connectors={"gtb": {"kind": "influxdb", "url": influx_url}})
    with pytest.raises(ConfigError, match=r"no connector 'nope' in bms.toml .*configured: gtb"):
        ingest("nope", site=make_site(), store=ParquetStore(tmp_path / "t"), settings=settings)
    with pytest.raises(BmsError, match="no watermark yet; give --since"):
        ingest("gtb", site=make_site(), store=ParquetStore(tmp_path / "t"), settings=settings)


def test_a_source_that_reads_no_point_of_the_site_is_refused(tmp_path):
    # a source_tag no point of the site names: nothing to read, and the run used to end at
    # once with "read 0 rows", its watermark moved to now, the source's history skipped for
    # good once its points were added
    raw = {"kind": "influxdb", "url": "influxdb://127.0.0.1:9/gtb", "source_tag": "gtb-east"}
    settings = Settings(home=tmp_path, connectors={"gtb": raw})
    with pytest.raises(ConfigError, match=r"connectors.gtb: no point of site .* 'gtb-east'"):
        ingest("gtb", site=make_site(), store=ParquetStore(tmp_path / "t"), settings=settings,
               since=T0)  # fmt: skip
    assert WatermarkStore(tmp_path).get("gtb") is None


def test_a_file_read_up_to_a_time_past_its_last_row_keeps_the_rows_appended_later(tmp_path):
    csv = tmp_path / "meter.csv"
    write_csv(csv, T0, 6)
    settings, store = settings_for(tmp_path / "home", csv), ParquetStore(tmp_path / "tel")
    until = T0 + pd.Timedelta(days=5)
    ingest("csv", site=make_site(), store=store, settings=settings, until=until, policy=FAST)
    last_row = T0 + pd.Timedelta(minutes=50)
    assert WatermarkStore(settings.home).get("csv") == last_row + pd.Timedelta(1, "ns")
    write_csv(csv, T0 + pd.Timedelta(days=1), 3)  # before --until: it used to be skipped
    again = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST)
    assert again.rows_read == 3 and len(store.read([POWER])) == 9


def test_a_file_with_a_header_and_no_row_yet_reads_nothing_until_it_has_rows(tmp_path):
    csv = tmp_path / "meter.csv"
    csv.write_text("time,P_kW\n")  # a logger's file, created before its first reading
    settings, store = settings_for(tmp_path / "home", csv), ParquetStore(tmp_path / "tel")
    empty = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST)
    assert empty.rows_read == 0 and WatermarkStore(settings.home).get("csv") is None
    csv.unlink()
    write_csv(csv, T0, 3)
    assert ingest("csv", site=make_site(), store=store, settings=settings).rows_read == 3


def test_a_broker_never_reached_fails_the_run(tmp_path):
    # no broker on that port: the run listened to nothing, which cron must tell from a quiet
    # broker (it used to print "read 0 rows" and exit 0)
    raw = {"kind": "mqtt", "host": "127.0.0.1", "port": free_tcp_port(), "topics": ["a/#"]}
    settings = Settings(home=tmp_path, connectors={"lora": raw})
    with pytest.raises(BmsError, match=r"'lora': no connection to the broker at 127.0.0.1:\d+"):
        ingest("lora", site=make_site(), store=ParquetStore(tmp_path / "t"), settings=settings,
               duration_seconds=1.0)  # fmt: skip


def test_influx_source_is_read_in_chunks_up_to_until(tmp_path, influx_url):
    from tests.connectors.test_influx import write_lines

    base = int(T0.timestamp())
    write_lines(influx_url, [f"ahu,unit=1 sat={i},rat=20 {base + 3600 * i}" for i in range(72)])
    settings = Settings(home=tmp_path, connectors={"gtb": {"kind": "influxdb", "url": influx_url}})
    store = ParquetStore(tmp_path / "tel")
    result = ingest(
        "gtb",
        site=make_site(),
        store=store,
        settings=settings,
        since=T0,
        until=T0 + pd.Timedelta(days=2),
        policy=FAST,
    )
    assert (result.chunks, result.rows_stored) == (2, 96)
    result = ingest(
        "gtb",
        site=make_site(),
        store=store,
        settings=settings,
        until=T0 + pd.Timedelta(days=4),
        policy=FAST,
    )
    assert (result.chunks, result.rows_stored) == (2, 48)  # from the watermark on
    assert len(store.read(["t/b/ahu-1/sat"])) == 72


def test_store_down_spools_then_flushes_on_the_next_run(tmp_path, influx_url):
    csv = tmp_path / "meter.csv"
    write_csv(csv, T0, 300)
    settings = settings_for(tmp_path / "home", csv)
    down = Influx1Store(f"influxdb://127.0.0.1:{free_tcp_port()}/bms", timeout_seconds=1)
    result = ingest(
        "csv",
        site=make_site(),
        store=down,
        settings=settings,
        chunk=pd.Timedelta(hours=12),
        policy=FAST,
    )
    assert (result.rows_stored, result.rows_spooled) == (0, 300)
    assert "unreachable" in result.store_error
    assert Spool(settings.home, "csv").pending_rows() == 300
    assert WatermarkStore(settings.home).get("csv") is not None  # spooled rows are kept

    store = Influx1Store(influx_url)
    result = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST)
    assert (result.spool_flushed, result.rows_read, result.store_error) == (300, 0, None)
    assert Spool(settings.home, "csv").files() == []
    assert len(store.read([POWER])) == 300


class FlakyStore(ParquetStore):
    """A Parquet store whose first ``failures`` writes fail as if the server were down."""

    def __init__(self, root: Path, failures: int) -> None:
        super().__init__(root)
        self.failures = failures
        self.writes: list[pd.Timestamp] = []

    def write(self, frame: pd.DataFrame) -> int:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("store down")
        self.writes.append(frame["time"].min())
        return super().write(frame)


def test_store_back_mid_run_gets_the_spool_first(tmp_path):
    csv = tmp_path / "meter.csv"
    write_csv(csv, T0, 6 * 24 * 5)  # five days
    settings = settings_for(tmp_path / "home", csv)
    store = FlakyStore(tmp_path / "tel", failures=3)  # chunk 1 (2 attempts) and one probe fail
    result = ingest("csv", site=make_site(), store=store, settings=settings, policy=FAST,
                    probe_seconds=0.0)  # fmt: skip
    assert (result.rows_spooled, result.spool_pending, result.store_error) == (288, 0, None)
    assert result.spool_flushed == 288 and result.rows_stored == 6 * 24 * 3
    assert store.writes == sorted(store.writes)  # spooled (older) rows were written first
    assert len(store.read([POWER])) == 6 * 24 * 5


def test_mqtt_messages_are_stored_until_idle(tmp_path, mqtt_broker):
    from tests.connectors.test_mqtt import chirpstack, publish, up_topic

    tag = uuid.uuid4().hex[:10]

    raw = {
        "kind": "mqtt",
        "host": "127.0.0.1",
        "port": int(mqtt_broker["port"]),
        "topics": [f"application/{tag}/#"],
        "client_id": f"bms-test-{tag}",
        "batch_seconds": 0.1,
    }
    settings = Settings(home=tmp_path, connectors={"lora": raw})
    store = ParquetStore(tmp_path / "tel")
    ingest("lora", site=make_site(), store=store, settings=settings, duration_seconds=0.5)
    publish(
        int(mqtt_broker["port"]), [(up_topic(tag), chirpstack(i)) for i in range(20)]
    )  # while away
    result = ingest(
        "lora",
        site=make_site(),
        store=store,
        settings=settings,
        duration_seconds=10,
        idle_seconds=1.0,
    )
    assert result.mode == "pushed" and result.rows_stored == 60
    assert result.seconds < 9  # stopped when idle, not after the 10 s duration
    assert len(store.read(["t/b/zone-1/co2"])) == 20


class Thermometer(Connector):
    """A live source: each poll reads one value, stamped with the poll number (in minutes)."""

    kind = "thermometer"
    config_model = ConnectorConfig

    def __init__(self) -> None:
        super().__init__(ConnectorConfig(kind="thermometer", name="thermo"), [])
        self.polls = 0

    def poll(self, points=None) -> pd.DataFrame:
        self.polls += 1
        if self.polls == 2:
            raise TimeoutError("device silent")  # retried
        time_ = T0 + pd.Timedelta(minutes=self.polls)
        return pd.DataFrame({"time": [time_], "point": [POWER], "value": [float(self.polls)]})


def test_live_source_is_polled_count_times(tmp_path):
    settings, store, thermo = Settings(home=tmp_path), ParquetStore(tmp_path / "tel"), Thermometer()
    result = ingest("thermo", site=make_site(), store=store, settings=settings, count=3,
                    interval_seconds=0.0, policy=FAST, connector=thermo)  # fmt: skip
    assert (result.mode, result.chunks, result.rows_stored, thermo.polls) == ("live", 3, 3, 4)
    assert store.read([POWER])["value"].tolist() == [1.0, 3.0, 4.0]
    assert WatermarkStore(tmp_path).get("thermo") == T0 + pd.Timedelta(minutes=4, nanoseconds=1)


class Unreachable(Thermometer):
    """A live source whose every point fails, as a fieldbus gateway that is down reports it."""

    def poll(self, points=None) -> pd.DataFrame:
        from bms.connectors.fieldbus import PollReport

        self.polls += 1
        self.last_report = PollReport(n_points=3)
        self.last_report.fail(["a", "b", "c"], "cannot connect to 10.0.0.9:502")
        return pd.DataFrame({"time": [], "point": [], "value": []})


def test_a_live_source_where_no_point_answers_is_retried_then_fails_the_run(tmp_path):
    settings, store, gateway = Settings(home=tmp_path), ParquetStore(tmp_path / "t"), Unreachable()
    with pytest.raises(BmsError, match=r"no point of 3 answered \(cannot connect to 10.0.0.9"):
        ingest("thermo", site=make_site(), store=store, settings=settings, policy=FAST,
               connector=gateway)  # fmt: skip
    assert gateway.polls == FAST.attempts
    assert WatermarkStore(tmp_path).get("thermo") is None


def test_retry_backs_off_exponentially_and_gives_up():
    waits: list[float] = []
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("down")
        return "ok"

    policy = RetryPolicy(attempts=4, base_seconds=1.0, max_seconds=1.5)
    assert retry_call(flaky, policy, "test", sleep=waits.append) == "ok"
    assert len(waits) == 2 and 0.8 <= waits[0] <= 1.2 and 1.2 <= waits[1] <= 1.8
    assert policy.delays() == [1.0, 1.5, 1.5]
    with pytest.raises(ConnectionError):
        retry_call(
            lambda: (_ for _ in ()).throw(ConnectionError("x")), policy, "t", sleep=waits.append
        )
    with pytest.raises(ValueError):  # not a connection problem: no retry
        retry_call(lambda: int("x"), policy, "t", sleep=lambda s: pytest.fail("retried"))


def test_watermark_never_moves_back_and_lock_is_exclusive(tmp_path):
    marks = WatermarkStore(tmp_path)
    marks.save("a", T0 + pd.Timedelta(days=2))
    marks.save("a", T0)
    assert marks.get("a") == T0 + pd.Timedelta(days=2)
    with marks.lock("a"):
        code = "from bms.jobs.watermarks import WatermarkStore as W; W(%r).lock('a').__enter__()"
        done = subprocess.run(
            [sys.executable, "-c", code % str(tmp_path)], capture_output=True, text=True
        )
        assert "another 'bms ingest a' is running" in done.stderr


# -- The command, killed in the middle ------------------------------------------------------
def bms(args: list[str], cwd: Path, telemetry_url: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "BMS_HOME": str(cwd / "home"), "BMS_SITE": str(cwd / "site.yaml")}
    env.pop("BMS_TELEMETRY_URL", None)
    env.pop("BMS_CONFIG", None)
    if telemetry_url:
        env["BMS_TELEMETRY_URL"] = telemetry_url
    return subprocess.Popen(
        [sys.executable, "-m", "bms", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("store_kind", ["parquet", "influxdb"])
def test_sigkill_in_the_middle_then_rerun_stores_every_row_once(tmp_path, store_kind, request):
    url = request.getfixturevalue("influx_url") if store_kind == "influxdb" else None
    (tmp_path / "site.yaml").write_text(SITE_YAML)
    csv = tmp_path / "meter.csv"
    data = write_csv(csv, T0, 6 * 24 * 20)  # 20 days, 10-minute steps
    (tmp_path / "bms.toml").write_text(f'[connectors.csv]\nkind = "file"\npath = "{csv}"\n')
    state = tmp_path / "home" / "state" / "ingest-csv.json"
    proc = bms(["ingest", "csv", "--chunk-hours", "1"], tmp_path, url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text()).get("rows_total", 0) >= 300:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"finished before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    watermark = pd.Timestamp(json.loads(state.read_text())["watermark"])
    assert T0 < watermark < T0 + pd.Timedelta(days=20)

    rerun = bms(["ingest", "csv", "--chunk-hours", "24", "--json"], tmp_path, url)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["start"] == str(watermark)
    store = Influx1Store(url) if url else ParquetStore(tmp_path / "home" / "telemetry")
    stored = store.read([POWER])
    assert len(stored) == len(data) and not stored.duplicated(["time"]).any()
    assert stored["value"].tolist() == data["P_kW"].tolist()


def test_command_errors_are_one_line(tmp_path):
    (tmp_path / "site.yaml").write_text(SITE_YAML)
    proc = bms(["ingest", "nope"], tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert (
        err.strip()
        == "bms: error: no connector 'nope' in bms.toml [connectors.*] (configured: none)"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--chunk-hours", "nan"], "--chunk-hours must lie between"),
     (["--chunk-hours", "1e-15"], "--chunk-hours must lie between"),  # looped for ever
     (["--interval", "-1"], "--interval must be a number of seconds >= 0"),
     (["--since", ""], "--since must be an ISO 8601 date or time, got ''"),
     (["--since", "2026-01-06", "--until", "2026-01-05"], "--since (2026-01-06) must be before")],
)  # fmt: skip
def test_bad_ingest_options_are_one_line_errors(bms_home, capsys, args, message):
    from bms.cli import main

    with pytest.raises(SystemExit) as done:
        main(["ingest", "csv", *args])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
