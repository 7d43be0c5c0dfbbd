"""Telemetry: the canonical long frame and the stores that keep it."""

from bms.telemetry.frame import FRAME_COLUMNS, empty_frame, validate_frame
from bms.telemetry.store import PointExtent, TelemetryStore

__all__ = ["FRAME_COLUMNS", "PointExtent", "TelemetryStore", "empty_frame", "validate_frame"]
