"""Decode MQTT payloads: LoRaWAN network-server uplinks and plain JSON readings.

Recognised shapes (``format = "auto"`` tries them in this order):

* **ChirpStack v4** uplink event (topic ``application/<app>/device/<devEui>/event/up``)::

    {"time": "2026-11-28T10:00:00.123Z", "deviceInfo": {"devEui": "a840410001810001", ...},
     "object": {"temperature": 21.4, "humidity": 43, "co2": 612}, ...}

* **The Things Stack v3** uplink (topic ``v3/<app>@<tenant>/devices/<device>/up``)::

    {"end_device_ids": {"device_id": "...", "dev_eui": "A840410001810001"},
     "received_at": "2026-11-28T10:00:00.123456789Z",
     "uplink_message": {"decoded_payload": {"temperature": 21.4}, ...}}

* **plain JSON**: ``{"point": "<point id>", "time": "<ISO 8601 with offset>", "value": 21.4}`` or
  a list of such objects. A numeric ``time`` is POSIX seconds.

For LoRaWAN, each site point whose source is ``{connector: mqtt, dev_eui: ..., field: ...}``
takes the decoded field (a dotted path such as ``sensors.0.temp`` reaches nested values).
Anything else is a :class:`DecodeError` whose message is the reason, counted by the connector.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

Reading = tuple[pd.Timestamp, str, float]


class DecodeError(ValueError):
    """A message that cannot be turned into readings; the message says why."""


def get_path(obj: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.0.c``) of nested dicts and lists; KeyError if absent."""
    current = obj
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(path)
    return current


def as_value(raw: Any, what: str) -> float:
    """A finite float from a JSON number or boolean; DecodeError otherwise."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if isinstance(raw, int | float) and math.isfinite(raw):
        return float(raw)
    raise DecodeError(f"{what}: not a finite number: {raw!r}")


def as_time(raw: Any, what: str) -> pd.Timestamp:
    """A UTC timestamp from an ISO 8601 string with an offset or POSIX seconds."""
    stamp = None
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return pd.Timestamp(float(raw), unit="s", tz="UTC")
        if isinstance(raw, str):
            stamp = pd.Timestamp(raw)
    except (ValueError, OverflowError):
        pass
    if stamp is None or pd.isna(stamp):
        raise DecodeError(f"{what}: bad time {raw!r}")
    if stamp.tzinfo is None:
        raise DecodeError(f"{what}: time {raw!r} has no UTC offset")
    return stamp.tz_convert("UTC")


def parse_json(payload: bytes) -> Any:
    """The JSON document of a payload; DecodeError when it is not UTF-8 JSON."""
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}") from None


def envelope_kind(doc: Any) -> str | None:
    """``"chirpstack"``, ``"tts"`` or None for a document that is neither uplink envelope."""
    if isinstance(doc, Mapping):
        if isinstance(doc.get("deviceInfo"), Mapping):
            return "chirpstack"
        if isinstance(doc.get("end_device_ids"), Mapping):
            return "tts"
    return None


def decode_uplink(doc: Any, kind: str, received: pd.Timestamp) -> tuple[str, pd.Timestamp, Any]:
    """Device EUI (lower case), time and decoded payload of a LoRaWAN uplink envelope.

    Parameters
    ----------
    doc : dict
        The parsed envelope.
    kind : {"chirpstack", "tts"}
    received : Timestamp
        Arrival time, used when the envelope carries none.
    """
    if kind == "chirpstack":
        eui = doc.get("deviceInfo", {}).get("devEui")
        decoded = doc.get("object")
        stamp = doc.get("time")
    else:
        eui = doc.get("end_device_ids", {}).get("dev_eui")
        uplink = doc.get("uplink_message")
        if not isinstance(uplink, Mapping):
            raise DecodeError("The Things Stack message without uplink_message (not an uplink)")
        decoded = uplink.get("decoded_payload")
        stamp = doc.get("received_at") or uplink.get("received_at")
    if not isinstance(eui, str) or not eui:
        raise DecodeError(f"{kind} uplink without a device EUI")
    if not isinstance(decoded, Mapping):
        raise DecodeError(f"{kind} uplink of {eui} without a decoded payload (no payload codec?)")
    time = as_time(stamp, f"{kind} uplink of {eui}") if stamp is not None else received
    return eui.lower(), time, decoded


def decode_plain(doc: Any, known_points: set[str], received: pd.Timestamp) -> list[Reading]:
    """Readings of a plain JSON message: one ``{point, time, value}`` object or a list of them."""
    items = doc if isinstance(doc, list) else [doc]
    readings: list[Reading] = []
    for item in items:
        if not isinstance(item, Mapping) or "point" not in item or "value" not in item:
            raise DecodeError("plain JSON reading needs 'point' and 'value' (and 'time')")
        point = item["point"]
        if not isinstance(point, str) or point not in known_points:
            raise DecodeError(f"unknown point {point!r}")
        time = as_time(item["time"], f"point {point}") if "time" in item else received
        readings.append((time, point, as_value(item["value"], f"point {point}")))
    return readings
