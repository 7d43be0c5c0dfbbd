"""Metadata of a registered model version, and the helpers that compute it.

A :class:`ModelVersion` is what the registry knows about one trained model: who it is (name,
kind, scope, version), what it learnt from (data range, features), how it was configured
(parameters and their fingerprint), how good it was (metrics), what produced it (library
versions) and which exact bytes hold it (the artifact's SHA-256). Everything here is JSON-friendly
so that the metadata files stay readable with ``cat`` and ``jq``.

Also here: the registry's low-level file helpers (SHA-256, atomic JSON writes, the write lock)
and its per-name state (production version, rollback stack, history).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import math
import os
import platform
import re
import socket
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bms.errors import BmsError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CHUNK_BYTES = 1 << 20
_LIBRARIES = ("numpy", "pandas", "scikit-learn", "scipy", "joblib", "bms")


class RegistryError(BmsError):
    """A registry operation cannot be done as asked (bad name, no such version, ...)."""


class UnknownModelError(RegistryError, KeyError):
    """No model (or no such version of it) is registered."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "unknown model"


class ArtifactIntegrityError(BmsError):
    """An artifact file differs from the one registered, or lies outside the registry."""


class Status(StrEnum):
    """Lifecycle of a model version: registered, serving, or retired from serving."""

    CANDIDATE = "candidate"
    PRODUCTION = "production"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model (immutable metadata plus its current status).

    ``data_start``/``data_end`` and ``created_at`` are ISO 8601 UTC strings; ``artifact`` is the
    artifact's file name inside the version directory; ``params_sha256`` is the fingerprint of
    ``params`` (see :func:`params_fingerprint`).
    """

    name: str
    version: int
    kind: str
    scope: str
    created_at: str
    data_start: str
    data_end: str
    features: list[str]
    params: dict[str, Any]
    params_sha256: str
    metrics: dict[str, float]
    key_metric: str | None
    model_class: str
    libraries: dict[str, str]
    artifact: str
    artifact_sha256: str
    artifact_bytes: int
    status: Status = Status.CANDIDATE
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-serialisable dict (status as its string value)."""
        payload = asdict(self)
        payload["status"] = str(self.status)
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any], status: Status) -> ModelVersion:
        """Rebuild from a metadata file's content, with the status the registry derived."""
        known = {key: payload[key] for key in cls.__dataclass_fields__ if key in payload}
        known["status"] = status
        return cls(**known)

    @property
    def key_metric_value(self) -> float | None:
        """Value of the key metric, if any."""
        return self.metrics.get(self.key_metric) if self.key_metric else None


def is_valid_name(name: str) -> bool:
    """True if ``name`` can name a model (letters, digits, ``_-.``; no ``..``)."""
    return isinstance(name, str) and bool(_NAME_RE.match(name)) and ".." not in name


def check_name(name: str) -> str:
    """Return ``name`` if it can name a model (it becomes a directory), else raise."""
    if not is_valid_name(name):
        raise RegistryError(
            f"invalid model name {name!r}: use letters, digits, '_', '-', '.' "
            "(at most 128, starting with a letter or digit)"
        )
    return name


def check_kind(kind: str) -> str:
    """Return ``kind`` (``anomaly``, ``rul``, ``health``...) if it is a lowercase identifier."""
    if not isinstance(kind, str) or not _KIND_RE.match(kind):
        raise RegistryError(f"invalid model kind {kind!r}: use a lowercase word such as 'rul'")
    return kind


def utc_iso(value: datetime | pd.Timestamp | str, field_name: str) -> str:
    """ISO 8601 UTC string of a timestamp; a naive timestamp is taken to be UTC."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise RegistryError(f"{field_name}: not a timestamp: {value!r}") from None
    if stamp is pd.NaT:
        raise RegistryError(f"{field_name}: missing timestamp")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.isoformat()


def now_utc_iso() -> str:
    """The current time as an ISO 8601 UTC string (microseconds)."""
    return datetime.now(UTC).isoformat()


def to_jsonable(value: Any) -> Any:
    """Turn a hyperparameter value into plain JSON (nested estimators become their params)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else repr(number)
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if hasattr(value, "get_params"):
        cls = type(value)
        params = value.get_params(deep=False)
        return {"class": f"{cls.__module__}.{cls.__qualname__}", "params": to_jsonable(params)}
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', repr(value))}"
    return repr(value)


def model_params(model: Any) -> dict[str, Any]:
    """The model's hyperparameters as plain JSON (``get_params(deep=False)``, nested expanded)."""
    if hasattr(model, "get_params"):
        return to_jsonable(model.get_params(deep=False))
    return {}


def params_fingerprint(params: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``params`` (sorted keys, no spaces)."""
    canonical = json.dumps(to_jsonable(params), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def clean_metrics(metrics: dict[str, Any] | None) -> dict[str, float]:
    """Metrics as ``{str: float}``, keeping their order; refuse non-finite or non-numeric ones."""
    cleaned: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RegistryError(f"metric {key!r} is not a number: {value!r}") from None
        if not math.isfinite(number):
            raise RegistryError(f"metric {key!r} is not finite: {value!r}")
        cleaned[str(key)] = number
    return cleaned


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries an artifact depends on to load and behave."""
    found = {"python": platform.python_version()}
    for package in _LIBRARIES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def class_path(model: Any) -> str:
    """``module.QualName`` of the model's class."""
    cls = type(model)
    return f"{cls.__module__}.{cls.__qualname__}"


def version_fields(
    model: Any,
    *,
    name: str,
    kind: str,
    scope: str,
    features: Sequence[str],
    data_start: Any,
    data_end: Any,
    metrics: Mapping[str, Any] | None,
    params: Mapping[str, Any] | None,
    key_metric: str | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Validated, JSON-ready metadata of a model about to be registered (no version yet)."""
    check_name(name)
    check_kind(kind)
    start, end = utc_iso(data_start, "data_start"), utc_iso(data_end, "data_end")
    if pd.Timestamp(end) < pd.Timestamp(start):
        raise RegistryError(f"data_end {end} is before data_start {start}")
    metric_values = clean_metrics(dict(metrics or {}))
    if key_metric is not None and key_metric not in metric_values:
        raise RegistryError(f"key_metric {key_metric!r} is not one of the metrics")
    param_values = model_params(model) if params is None else to_jsonable(dict(params))
    return {
        "name": name,
        "kind": kind,
        "scope": str(scope),
        "data_start": start,
        "data_end": end,
        "features": [str(feature) for feature in features],
        "params": param_values,
        "params_sha256": params_fingerprint(param_values),
        "metrics": metric_values,
        "key_metric": key_metric or next(iter(metric_values), None),
        "model_class": class_path(model),
        "libraries": library_versions(),
        "extra": to_jsonable(dict(extra or {})),
    }


# Files, lock and state -------------------------------------------------------------------
def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of a byte string."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file's content, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON beside ``path``, flush it to disk, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}: corrupt registry file: {exc}") from None


def whoami() -> str:
    """``user@host`` of the calling process, for the promotion history."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def new_state(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "production": None,
        "production_stack": [],
        "last_version": 0,
        "history": [],
    }


def derive_status(state: Mapping[str, Any], version: int) -> Status:
    if state["production"] == version:
        return Status.PRODUCTION
    served = {event["version"] for event in state["history"] if event["action"] != "reject"}
    return Status.ARCHIVED if version in served else Status.CANDIDATE


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed) while in the block."""
    import fcntl  # POSIX only: the registry's writers run on Linux (service, jobs, CLI)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
