"""Connectors: one module per source, registered by kind for ``bms.toml`` and ``bms ingest``.

``import bms.connectors`` registers every kind without importing any optional protocol library
(paho-mqtt, influxdb-client, bacpypes3, pymodbus): each connector module imports its library
lazily, when a connector is built, and says which extra to install when it is missing.
"""

from __future__ import annotations

import importlib
import logging

from bms.connectors.base import CONNECTOR_KINDS, Connector, ConnectorConfig, parse_config

log = logging.getLogger(__name__)

_MODULES = [
    "bms.connectors.files",  # kind "file"
    "bms.connectors.influx",  # kind "influxdb"
    "bms.connectors.influx2",  # kind "influxdb2"
    "bms.connectors.mqtt",  # kind "mqtt"
    # --- field-bus kinds (BACnet/IP, Modbus TCP): one line each ---------------------------
    "bms.connectors.bacnet",  # kind "bacnet"
    "bms.connectors.modbus",  # kind "modbus"
    # ---------------------------------------------------------------------------------------
]

for _name in _MODULES:
    try:
        importlib.import_module(_name)
    except ImportError as exc:  # a kind whose module needs a missing package at import time
        log.debug("connector module %s not available: %s", _name, exc)

__all__ = ["CONNECTOR_KINDS", "Connector", "ConnectorConfig", "parse_config"]
