"""Settings: one typed object from ``BMS_*`` environment variables and an optional ``bms.toml``.

Precedence (highest first): environment variables, ``bms.toml`` (in the working directory, or the
file named by ``BMS_CONFIG``), defaults. Every default is embedded, so a fresh machine needs no
configuration: SQLite at ``$BMS_HOME/bms.db`` and Parquet telemetry under ``$BMS_HOME/telemetry``.

A bad setting is refused at start with :class:`bms.errors.ConfigError` naming the setting.
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bms.errors import ConfigError

TELEMETRY_SCHEMES = ("parquet", "file", "influxdb", "influxdb2")


class Settings(BaseSettings):
    """Runtime settings of every ``bms`` process."""

    model_config = SettingsConfigDict(env_prefix="BMS_", extra="ignore")

    home: Path = Field(
        default=Path(".bms"),
        title="Home directory",
        description="Where embedded data lives: database, Parquet telemetry, model artifacts.",
    )
    database_url: str | None = Field(
        default=None,
        title="Database URL",
        description="SQLAlchemy URL; default sqlite:///$BMS_HOME/bms.db.",
    )
    telemetry_url: str | None = Field(
        default=None,
        title="Telemetry store URL",
        description="parquet:///path (default $BMS_HOME/telemetry), influxdb://host:port/db "
        "(1.x, InfluxQL) or influxdb2://host:port?org=..&bucket=.. (2.x, Flux).",
    )
    datasets: Path = Field(
        default=Path("../shared/datasets"),
        title="Datasets directory",
        description="Public benchmark datasets (C-MAPSS, SKAB, LBNL) for evaluation and tests.",
    )
    site: str = Field(
        default="besancon",
        title="Site",
        description="Name of a packaged site (besancon) or path to a site YAML file.",
    )
    log_level: str = Field(default="INFO", title="Log level", description="Python logging level.")
    dask_scheduler: str | None = Field(
        default=None,
        title="Dask scheduler",
        description="tcp://host:port of a Dask scheduler; unset runs in one process.",
    )
    connectors: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        title="Connectors",
        description="Connector configurations by name ([connectors.NAME] tables of bms.toml).",
    )

    @field_validator("home", "database_url", "telemetry_url", "dask_scheduler", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """``BMS_HOME=`` (set, but empty) is the default, as an unset variable: an empty home
        was the working directory, and the telemetry landed among the user's files."""
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[str(info.field_name)].get_default(call_default_factory=True)
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("telemetry_url")
    @classmethod
    def _telemetry_scheme(cls, value: str | None) -> str | None:
        if value is not None and urlparse(value).scheme not in TELEMETRY_SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(TELEMETRY_SCHEMES)}")
        return value

    # Derived locations -------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'bms.db').resolve()}"

    @property
    def telemetry_dir(self) -> Path:
        """Directory of the embedded Parquet store."""
        if self.telemetry_url and urlparse(self.telemetry_url).scheme in ("parquet", "file"):
            return Path(urlparse(self.telemetry_url).path)
        return self.home / "telemetry"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def _read_toml(path: Path) -> dict[str, Any]:
    """The tables of a TOML file, or :class:`ConfigError` naming the file and what is wrong."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a bms.toml file (BMS_CONFIG names it)")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "TOML files are UTF-8: save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def _toml_values(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Map bms.toml to settings fields: top-level keys or a [bms] table, plus [connectors]."""
    for table in ("bms", "connectors"):
        if not isinstance(data.get(table, {}), dict):
            raise ConfigError(f"{path}: {table}: must be a table ([{table}]), got {data[table]!r}")
    for name, table in data.get("connectors", {}).items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: connectors.{name}: must be a table ([connectors.{name}] with a kind), "
                f"got {table!r}"
            )
    values = dict(data.get("bms", {}))
    values.update({k: v for k, v in data.items() if k not in ("bms", "connectors")})
    if "connectors" in data:
        values["connectors"] = data["connectors"]
    return values


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the settings, or raise :class:`ConfigError` naming the first bad one."""
    path = config_file or Path(os.environ.get("BMS_CONFIG", "bms.toml"))
    file_values: dict[str, Any] = {}
    if path.exists():
        file_values = _toml_values(_read_toml(path), path)
    elif config_file is not None or "BMS_CONFIG" in os.environ:
        raise ConfigError(f"config file not found: {path}")
    env_names = {name for name in Settings.model_fields if f"BMS_{name.upper()}" in os.environ}
    init_values = {k: v for k, v in file_values.items() if k not in env_names}
    try:
        return Settings(**init_values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        source = f"BMS_{field.upper()}" if field.upper() and field in env_names else field
        raise ConfigError(f"bad setting {source}: {error['msg']}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return load_settings()
