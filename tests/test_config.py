"""Settings from bms.toml: a bad file or table is refused in one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bms.config import Settings, load_settings
from bms.errors import ConfigError


def test_a_toml_file_that_is_not_utf8_is_named_with_the_byte(tmp_path):
    path = tmp_path / "b.toml"
    path.write_bytes(b'# caf\xe9\n[connectors.x]\nkind="file"\n')
    with pytest.raises(ConfigError, match=r"b.toml: not UTF-8 text \(byte 0xe9 at offset 5\)"):
        load_settings(path)


@pytest.mark.parametrize("table", ["bms", "connectors"])
def test_a_top_level_key_that_must_be_a_table_is_named(tmp_path, table):
    path = tmp_path / "bms.toml"
    path.write_text(f"{table} = 5\n")
    with pytest.raises(
        ConfigError, match=rf"bms.toml: {table}: must be a table \(\[{table}\]\), got 5$"
    ):
        load_settings(path)


def test_a_connector_that_is_no_table_is_named_with_the_file(tmp_path):
    path = tmp_path / "bms.toml"
    path.write_text("[connectors]\nx = 5\n")
    with pytest.raises(ConfigError, match=r"bms.toml: connectors.x: must be a table .*got 5$"):
        load_settings(path)


def test_bms_config_naming_a_directory_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("BMS_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=rf"^{tmp_path}: is a directory, not a bms.toml file"):
        load_settings()


def test_a_bms_table_and_connectors_are_read(tmp_path):
    path = tmp_path / "bms.toml"
    path.write_text('[bms]\nlog_level = "debug"\n[connectors.x]\nkind = "file"\n')
    settings = load_settings(Path(path))
    assert settings.log_level == "DEBUG" and settings.connectors == {"x": {"kind": "file"}}


def test_an_empty_variable_is_as_unset(monkeypatch):
    # BMS_HOME= made the working directory the home: state/ and telemetry/ among the user's
    # files; BMS_TELEMETRY_URL= was refused for its scheme
    monkeypatch.setenv("BMS_HOME", "")
    monkeypatch.setenv("BMS_TELEMETRY_URL", " ")
    settings = Settings()
    assert settings.home == Path(".bms") and settings.telemetry_url is None
