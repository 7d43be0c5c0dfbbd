"""Open the telemetry store named by ``BMS_TELEMETRY_URL`` (default: Parquet under BMS_HOME).

=======================================  ======================================================
``BMS_TELEMETRY_URL``                    store
=======================================  ======================================================
unset, ``parquet:///path``, ``file://``   :class:`~bms.telemetry.parquet.ParquetStore`
``influxdb://[user@]host:port/db``       :class:`~bms.telemetry.influx.Influx1Store` (1.x,
                                         password in ``BMS_INFLUX_PASSWORD``)
``influxdb2://host:port?org=O&bucket=B`` :class:`~bms.telemetry.influx.Influx2Store` (2.x,
                                         token in ``BMS_INFLUX_TOKEN``)
=======================================  ======================================================

Add ``ssl=true`` to the query string of an InfluxDB URL for HTTPS.
"""

from __future__ import annotations

from urllib.parse import urlparse

from bms.config import Settings
from bms.telemetry.store import TelemetryStore


def open_store(settings: Settings) -> TelemetryStore:
    """The telemetry store configured by ``settings.telemetry_url``.

    Raises
    ------
    ConfigError
        The URL is malformed, or a needed credential or library is missing.
    """
    url = settings.telemetry_url
    scheme = urlparse(url).scheme if url else "parquet"
    if scheme == "influxdb":
        from bms.telemetry.influx import Influx1Store

        assert url is not None
        return Influx1Store(url)
    if scheme == "influxdb2":
        from bms.telemetry.influx import Influx2Store

        assert url is not None
        return Influx2Store(url)
    from bms.telemetry.parquet import ParquetStore

    return ParquetStore(settings.telemetry_dir)
