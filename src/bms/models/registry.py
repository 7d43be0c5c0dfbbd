"""The model registry: versioned joblib artifacts with their metadata, on local disk.

Layout under the registry root (``$BMS_HOME/models`` by default)::

    <root>/.lock                          lock file: writers hold an exclusive flock on it
    <root>/index.json                     summary of every name and version (derived, atomic)
    <root>/.tmp/                          artifacts being written, before they get a version
    <root>/<name>/state.json              production version, its stack, history (atomic)
    <root>/<name>/v000001/model.joblib    the artifact
    <root>/<name>/v000001/meta.json       its metadata (written once, last: it commits the version)

Plain files rather than a database: they need no server and no migration, they can be read with
``cat``/``jq``, copied with ``rsync`` and backed up with the models they describe. Each version's
``meta.json`` is immutable; what changes (which version serves) lives in one ``state.json`` per
name that is replaced atomically, so there is exactly one production version even after a crash.

Loading an artifact runs code (joblib is pickle), so :meth:`ModelRegistry.load` reads the file
once, checks its SHA-256 against the registered one and only then unpickles those same bytes;
it refuses a file that differs or that resolves outside the registry
(:class:`ArtifactIntegrityError`). Writers take an exclusive lock (POSIX ``flock``) and create
each version directory with an atomic ``mkdir``, so concurrent registrations get distinct
versions. See ``docs/registry.md``.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from bms.config import get_settings
from bms.models.registry_meta import (
    ArtifactIntegrityError,
    ModelVersion,
    RegistryError,
    Status,
    UnknownModelError,
    check_name,
    derive_status,
    file_lock,
    is_valid_name,
    new_state,
    now_utc_iso,
    read_json,
    sha256_bytes,
    sha256_file,
    version_fields,
    whoami,
    write_json_atomic,
)

__all__ = [
    "ArtifactIntegrityError",
    "ModelRegistry",
    "ModelVersion",
    "RegistryError",
    "Status",
    "UnknownModelError",
]

logger = logging.getLogger(__name__)

ARTIFACT_FILE = "model.joblib"
META_FILE = "meta.json"
STATE_FILE = "state.json"
INDEX_FILE = "index.json"
_VERSION_DIR_RE = re.compile(r"^v(\d+)$")
_INDEX_FIELDS = ("version", "kind", "scope", "status", "created_at", "key_metric", "metrics")

Timestamp = datetime | pd.Timestamp | str


class ModelRegistry:
    """Versioned models on disk (see the module docstring for the layout).

    Parameters
    ----------
    root : path, optional
        Registry directory; default ``get_settings().models_dir`` (``$BMS_HOME/models``).
        Reading never creates it.
    """

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else get_settings().models_dir

    # Paths and files ----------------------------------------------------------------------
    def _name_dir(self, name: str) -> Path:
        return self.root / check_name(name)

    def _version_dir(self, name: str, version: int) -> Path:
        return self._name_dir(name) / f"v{version:06d}"

    def _disk_versions(self, name: str) -> builtins.list[int]:
        """Committed versions of ``name`` (a directory without ``meta.json`` is not one)."""
        folder = self._name_dir(name)
        if not folder.is_dir():
            return []
        found = []
        for child in folder.iterdir():
            match = _VERSION_DIR_RE.match(child.name)
            if match and (child / META_FILE).is_file():
                found.append(int(match.group(1)))
        return sorted(found)

    def _read_state(self, name: str) -> dict[str, Any]:
        path = self._name_dir(name) / STATE_FILE
        return read_json(path) if path.is_file() else new_state(name)

    def _write_state(self, name: str, state: dict[str, Any]) -> None:
        write_json_atomic(self._name_dir(name) / STATE_FILE, state)

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        """The registry's exclusive write lock (blocks until free; released on exit)."""
        return file_lock(self.root / ".lock")

    def _meta(self, name: str, version: int, state: Mapping[str, Any]) -> ModelVersion:
        path = self._version_dir(name, version) / META_FILE
        return ModelVersion.from_dict(read_json(path), derive_status(state, version))

    # Reading ------------------------------------------------------------------------------
    def names(self) -> builtins.list[str]:
        """Names that have at least one committed version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            child.name
            for child in self.root.iterdir()
            if child.is_dir() and is_valid_name(child.name) and self._disk_versions(child.name)
        )

    def _require_name(self, name: str) -> builtins.list[int]:
        versions = self._disk_versions(name)
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise UnknownModelError(f"no model named {name!r} in {self.root} (known: {known})")
        return versions

    def list(self, name: str | None = None) -> builtins.list[ModelVersion]:
        """Every registered version (of ``name`` only, if given), sorted by name and version."""
        names = [name] if name is not None else self.names()
        found: builtins.list[ModelVersion] = []
        for each in names:
            versions = self._require_name(each)
            state = self._read_state(each)
            found.extend(self._meta(each, version, state) for version in versions)
        return found

    def get(self, name: str, version: int) -> ModelVersion:
        """Metadata of one version; :class:`UnknownModelError` if there is no such version."""
        versions = self._require_name(name)
        if version not in versions:
            raise UnknownModelError(
                f"model {name!r} has no version {version} (versions {versions[0]}..{versions[-1]})"
            )
        return self._meta(name, version, self._read_state(name))

    def production(self, name: str) -> ModelVersion | None:
        """The version of ``name`` in production, or None if none was promoted yet."""
        self._require_name(name)
        state = self._read_state(name)
        return None if state["production"] is None else self._meta(name, state["production"], state)

    def history(self, name: str) -> builtins.list[dict[str, Any]]:
        """Promotions, rollbacks and rejections of ``name``, oldest first (at, by, reason...)."""
        self._require_name(name)
        return builtins.list(self._read_state(name)["history"])

    # Integrity and loading ----------------------------------------------------------------
    def artifact_path(self, meta: ModelVersion) -> Path:
        """Path of a version's artifact; refuse one that resolves outside the registry."""
        path = self._version_dir(meta.name, meta.version) / meta.artifact
        resolved, root = path.resolve(), self.root.resolve()
        if not resolved.is_relative_to(root):
            raise ArtifactIntegrityError(
                f"refusing artifact {resolved}: it lies outside the model registry {root}"
            )
        if not resolved.is_file():
            raise ArtifactIntegrityError(f"artifact {path} is missing")
        return resolved

    def _verified_bytes(self, meta: ModelVersion) -> bytes:
        path = self.artifact_path(meta)
        data = path.read_bytes()
        found = sha256_bytes(data)
        if found != meta.artifact_sha256:
            raise ArtifactIntegrityError(
                f"artifact {path} does not match its registered SHA-256 "
                f"(expected {meta.artifact_sha256[:16]}..., found {found[:16]}...): refusing to "
                "load it (modified or corrupted)"
            )
        return data

    def verify(self, name: str, version: int) -> ModelVersion:
        """Check a version's artifact (location and hash) without loading it; return its meta."""
        meta = self.get(name, version)
        self._verified_bytes(meta)
        return meta

    def load_version(self, name: str, version: int | None = None) -> tuple[Any, ModelVersion]:
        """Load a verified artifact and its metadata (default: the production version)."""
        if version is None:
            meta = self.production(name)
            if meta is None:
                raise RegistryError(
                    f"model {name!r} has no production version: promote one with "
                    f"'bms models promote {name} VERSION'"
                )
        else:
            meta = self.get(name, version)
        data = self._verified_bytes(meta)  # hash checked BEFORE unpickling these same bytes
        return joblib.load(io.BytesIO(data)), meta

    def load(self, name: str, version: int | None = None) -> Any:
        """Load a verified model (default: the production version)."""
        return self.load_version(name, version)[0]

    # Writing ------------------------------------------------------------------------------
    def register(
        self,
        model: Any,
        *,
        name: str,
        kind: str,
        scope: str,
        features: Sequence[str],
        data_start: Timestamp,
        data_end: Timestamp,
        metrics: Mapping[str, float] | None,
        params: Mapping[str, Any] | None = None,
        key_metric: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Store ``model`` as the next version of ``name`` (status ``candidate``).

        Parameters
        ----------
        model : object
            Any joblib-serialisable object, usually a fitted sklearn estimator or pipeline.
        name, kind, scope : str
            Model name (a directory name), kind (``anomaly``, ``rul``...), scope (an equipment
            id or ``site``).
        features : sequence of str
            Input feature names, in order.
        data_start, data_end : timestamp
            Time range of the training data [UTC; naive timestamps are taken as UTC].
        metrics : mapping of str to float
            Evaluation figures; the first one is the key metric unless ``key_metric`` says.
        params : mapping, optional
            Hyperparameters; default ``model.get_params(deep=False)``.
        extra : mapping, optional
            Any further JSON-serialisable facts (e.g. training job id).

        Returns
        -------
        ModelVersion
            The committed version, numbered ``max(previous) + 1``.
        """
        fields = version_fields(
            model,
            name=name,
            kind=kind,
            scope=scope,
            features=features,
            data_start=data_start,
            data_end=data_end,
            metrics=metrics,
            params=params,
            key_metric=key_metric,
            extra=extra,
        )
        fields["artifact"] = ARTIFACT_FILE

        staging = self.root / ".tmp"
        staging.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=staging, suffix=".joblib")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            joblib.dump(model, tmp)  # slow part, outside the lock
            fields["artifact_sha256"] = sha256_file(tmp)
            fields["artifact_bytes"] = tmp.stat().st_size
            with self._locked():
                meta = self._commit(name, tmp, fields)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        logger.info("registered %s version %d (%s)", name, meta.version, meta.artifact_sha256[:12])
        return meta

    def _commit(self, name: str, artifact: Path, fields: dict[str, Any]) -> ModelVersion:
        """Give the staged artifact the next free version number (caller holds the lock)."""
        self._name_dir(name).mkdir(parents=True, exist_ok=True)
        state = self._read_state(name)
        on_disk = [
            int(m.group(1))
            for child in self._name_dir(name).iterdir()
            if (m := _VERSION_DIR_RE.match(child.name))
        ]
        version = max([state["last_version"], *on_disk]) + 1
        while True:  # mkdir is atomic: even an unlocked writer cannot take the same number
            try:
                self._version_dir(name, version).mkdir()
                break
            except FileExistsError:
                version += 1
        folder = self._version_dir(name, version)
        os.replace(artifact, folder / ARTIFACT_FILE)
        payload = {"version": version, "created_at": now_utc_iso(), **fields}
        write_json_atomic(folder / META_FILE, payload)
        state["last_version"] = version
        self._write_state(name, state)
        self._write_index()
        return ModelVersion.from_dict(payload, derive_status(state, version))

    def _event(
        self, action: str, version: int, previous: int | None, reason: str, by: str | None
    ) -> dict[str, Any]:
        return {
            "at": now_utc_iso(),
            "action": action,
            "version": version,
            "previous": previous,
            "by": by or whoami(),
            "reason": reason,
        }

    def promote(
        self, name: str, version: int, *, reason: str = "", by: str | None = None
    ) -> ModelVersion:
        """Make ``version`` the one production version of ``name`` (its artifact is verified).

        The previous production version becomes ``archived`` and stays on the rollback stack.
        Promoting the version already in production changes nothing.
        """
        with self._locked():
            meta = self.verify(name, version)
            state = self._read_state(name)
            if state["production"] == version:
                logger.debug("%s version %d is already in production", name, version)
                return meta
            state["history"].append(
                self._event("promote", version, state["production"], reason, by)
            )
            state["production"] = version
            state["production_stack"].append(version)
            self._write_state(name, state)
            self._write_index()
        logger.info("promoted %s version %d to production", name, version)
        return self.get(name, version)

    def rollback(self, name: str, *, reason: str = "", by: str | None = None) -> ModelVersion:
        """Put the previous production version of ``name`` back in production."""
        with self._locked():
            self._require_name(name)
            state = self._read_state(name)
            stack = state["production_stack"]
            if len(stack) < 2:
                raise RegistryError(
                    f"model {name!r} has no previous production version to roll back to"
                )
            current, target = stack[-1], stack[-2]
            self.verify(name, target)
            stack.pop()
            state["history"].append(self._event("rollback", target, current, reason, by))
            state["production"] = target
            self._write_state(name, state)
            self._write_index()
        logger.info("rolled %s back from version %d to %d", name, current, target)
        return self.get(name, target)

    def record_rejection(
        self, name: str, version: int, *, reason: str, by: str | None = None
    ) -> None:
        """Record in the history why ``version`` was kept as a candidate (not promoted)."""
        with self._locked():
            self.get(name, version)
            state = self._read_state(name)
            state["history"].append(self._event("reject", version, state["production"], reason, by))
            self._write_state(name, state)

    def _write_index(self) -> None:
        """Rewrite ``index.json`` (a derived summary for people and tools; caller holds lock)."""
        models: dict[str, Any] = {}
        for name in self.names():
            state = self._read_state(name)
            rows = [self._meta(name, version, state) for version in self._disk_versions(name)]
            models[name] = {
                "production": state["production"],
                "versions": [{key: meta.to_dict()[key] for key in _INDEX_FIELDS} for meta in rows],
            }
        write_json_atomic(self.root / INDEX_FILE, {"updated_at": now_utc_iso(), "models": models})
