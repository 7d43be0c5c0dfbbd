"""The model registry stores versioned, verified artifacts and one production version per name."""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.linear_model import Ridge

from bms.cli import main
from bms.models.registry import (
    ArtifactIntegrityError,
    ModelRegistry,
    RegistryError,
    Status,
    UnknownModelError,
)
from bms.models.registry_meta import params_fingerprint, sha256_file

FEATURES = ["supply_temp_c", "fan_speed_pct", "filter_dp_pa"]


def _fitted(rng: np.random.Generator, alpha: float = 1.0) -> tuple[Ridge, np.ndarray]:
    X = rng.normal(size=(60, len(FEATURES)))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.1, size=60)
    return Ridge(alpha=alpha).fit(X, y), X


def _register(registry: ModelRegistry, model: object, name: str = "ahu-1.anomaly", **kw):
    fields = {
        "kind": "anomaly",
        "scope": "ahu-1",
        "features": FEATURES,
        "data_start": "2026-01-01",
        "data_end": "2026-03-01",
        "metrics": {"f1": 0.8},
        **kw,
    }
    return registry.register(model, name=name, **fields)


def _register_many(root: str, count: int, start_at: float) -> list[int]:
    """Worker for the concurrency test (module level so that spawned processes can import it).

    Both workers wait for the same wall-clock instant, so that their registrations overlap.
    """
    registry = ModelRegistry(root)
    time.sleep(max(0.0, start_at - time.time()))
    return [_register(registry, {"worker": i}).version for i in range(count)]


class _RunsCodeOnLoad:
    """Unpickling this creates a file: proof that code would have run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


# Storing and loading ------------------------------------------------------------------------
def test_register_then_load_round_trips_the_model_and_its_metadata(tmp_path, rng):
    registry = ModelRegistry(tmp_path / "models")
    model, X = _fitted(rng)

    meta = _register(registry, model, data_start="2026-01-01T01:00:00+01:00", metrics={"f1": 0.8})
    loaded, loaded_meta = registry.load_version("ahu-1.anomaly", 1)

    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert loaded_meta == meta
    assert (meta.name, meta.version, meta.kind) == ("ahu-1.anomaly", 1, "anomaly")
    assert meta.scope == "ahu-1"
    assert meta.status is Status.CANDIDATE
    assert meta.features == FEATURES
    assert meta.data_start == "2026-01-01T00:00:00+00:00"  # converted to UTC
    assert meta.created_at.endswith("+00:00")
    assert meta.params["alpha"] == 1.0
    assert meta.params_sha256 == params_fingerprint(model.get_params())
    assert meta.metrics == {"f1": 0.8} and meta.key_metric == "f1"
    assert {"python", "numpy", "pandas", "scikit-learn", "bms"} <= set(meta.libraries)
    artifact = tmp_path / "models" / "ahu-1.anomaly" / "v000001" / "model.joblib"
    assert meta.artifact_sha256 == sha256_file(artifact)
    on_disk = json.loads((artifact.parent / "meta.json").read_text())
    assert on_disk["artifact_sha256"] == meta.artifact_sha256 and "status" not in on_disk


def test_versions_are_monotonic_per_name_and_fingerprints_follow_params(tmp_path, rng):
    registry = ModelRegistry(tmp_path)
    first = _register(registry, _fitted(rng, alpha=1.0)[0])
    second = _register(registry, _fitted(rng, alpha=1.0)[0])
    third = _register(registry, _fitted(rng, alpha=5.0)[0])
    other = _register(registry, _fitted(rng)[0], name="pump-2.rul", kind="rul")

    assert [first.version, second.version, third.version, other.version] == [1, 2, 3, 1]
    assert first.params_sha256 == second.params_sha256 != third.params_sha256
    assert [m.version for m in registry.list("ahu-1.anomaly")] == [1, 2, 3]
    assert registry.names() == ["ahu-1.anomaly", "pump-2.rul"]
    index = json.loads((tmp_path / "index.json").read_text())
    assert [v["version"] for v in index["models"]["ahu-1.anomaly"]["versions"]] == [1, 2, 3]


@pytest.mark.slow  # ~6 s: two interpreters start, then 120 registrations race
def test_concurrent_registrations_from_two_processes_get_distinct_versions(tmp_path):
    # 60 each: with the lock and the exclusive mkdir disabled, this many collide (checked)
    context = multiprocessing.get_context("spawn")
    start_at = time.time() + 3.0  # after both interpreters have started
    with context.Pool(2) as pool:
        results = pool.starmap(_register_many, [(str(tmp_path), 60, start_at)] * 2)

    versions = sorted(results[0] + results[1])
    assert versions == list(range(1, 121))
    assert [m.version for m in ModelRegistry(tmp_path).list()] == versions


def test_registration_refuses_bad_names_ranges_and_metrics(tmp_path):
    registry = ModelRegistry(tmp_path)
    with pytest.raises(RegistryError, match="invalid model name '../evil'"):
        _register(registry, {}, name="../evil")
    with pytest.raises(RegistryError, match="data_end .* is before data_start"):
        _register(registry, {}, data_start="2026-03-01", data_end="2026-01-01")
    with pytest.raises(RegistryError, match="metric 'rmse' is not finite"):
        _register(registry, {}, metrics={"rmse": float("nan")})
    assert registry.names() == []


def test_unknown_names_and_versions_are_reported(tmp_path, rng):
    registry = ModelRegistry(tmp_path)
    _register(registry, _fitted(rng)[0])
    with pytest.raises(UnknownModelError, match="no model named 'nope'.*known: ahu-1.anomaly"):
        registry.get("nope", 1)
    with pytest.raises(UnknownModelError, match="has no version 7"):
        registry.load("ahu-1.anomaly", 7)
    with pytest.raises(RegistryError, match="has no production version"):
        registry.load("ahu-1.anomaly")


# Integrity ----------------------------------------------------------------------------------
def test_a_tampered_artifact_is_refused_naming_the_file(tmp_path, rng):
    registry = ModelRegistry(tmp_path)
    _register(registry, _fitted(rng)[0])
    artifact = tmp_path / "ahu-1.anomaly" / "v000001" / "model.joblib"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artifact.write_bytes(bytes(data))

    with pytest.raises(ArtifactIntegrityError, match=rf"{artifact}.*does not match"):
        registry.load("ahu-1.anomaly", 1)


def test_the_hash_is_checked_before_any_code_in_the_file_runs(tmp_path):
    registry = ModelRegistry(tmp_path)
    _register(registry, {"harmless": True})
    artifact = tmp_path / "ahu-1.anomaly" / "v000001" / "model.joblib"
    marker = tmp_path / "code-ran"
    joblib.dump(_RunsCodeOnLoad(marker), artifact)  # swapped for a file that runs code

    with pytest.raises(ArtifactIntegrityError):
        registry.load("ahu-1.anomaly", 1)
    assert not marker.exists()
    joblib.load(artifact)  # the same file, loaded blindly, does run code
    assert marker.exists()


def test_an_artifact_outside_the_registry_is_refused(tmp_path, rng):
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    _register(registry, _fitted(rng)[0])
    _register(registry, _fitted(rng)[0])
    version_dir = root / "ahu-1.anomaly" / "v000001"
    outside = tmp_path / "elsewhere.joblib"
    outside.write_bytes((version_dir / "model.joblib").read_bytes())  # same bytes, same hash

    (version_dir / "model.joblib").unlink()
    (version_dir / "model.joblib").symlink_to(outside)
    with pytest.raises(ArtifactIntegrityError, match="outside the model registry"):
        registry.load("ahu-1.anomaly", 1)

    meta_file = root / "ahu-1.anomaly" / "v000002" / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["artifact"] = "../../../elsewhere.joblib"
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ArtifactIntegrityError, match=r"refusing artifact .*elsewhere\.joblib"):
        registry.load("ahu-1.anomaly", 2)


# Promotion ----------------------------------------------------------------------------------
def test_promote_and_rollback_keep_exactly_one_production_and_a_history(tmp_path, rng):
    registry = ModelRegistry(tmp_path)
    for _ in range(3):
        _register(registry, _fitted(rng)[0])

    def statuses() -> list[str]:
        return [str(m.status) for m in registry.list("ahu-1.anomaly")]

    registry.promote("ahu-1.anomaly", 1, reason="first", by="alice")
    assert statuses() == ["production", "candidate", "candidate"]
    registry.promote("ahu-1.anomaly", 2, reason="better f1", by="bob")
    registry.promote("ahu-1.anomaly", 3, reason="new data", by="bob")
    assert statuses() == ["archived", "archived", "production"]
    assert registry.production("ahu-1.anomaly").version == 3

    assert registry.rollback("ahu-1.anomaly", reason="false alarms").version == 2
    assert statuses() == ["archived", "production", "archived"]
    assert registry.rollback("ahu-1.anomaly").version == 1
    with pytest.raises(RegistryError, match="no previous production version"):
        registry.rollback("ahu-1.anomaly")

    history = registry.history("ahu-1.anomaly")
    assert [(e["action"], e["version"], e["previous"]) for e in history] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("promote", 3, 2),
        ("rollback", 2, 3),
        ("rollback", 1, 2),
    ]
    assert history[1]["by"] == "bob" and history[3]["reason"] == "false alarms"
    assert all(e["at"].endswith("+00:00") for e in history)


def test_a_tampered_version_cannot_be_promoted(tmp_path, rng):
    registry = ModelRegistry(tmp_path)
    _register(registry, _fitted(rng)[0])
    (tmp_path / "ahu-1.anomaly" / "v000001" / "model.joblib").write_bytes(b"not the model")
    with pytest.raises(ArtifactIntegrityError):
        registry.promote("ahu-1.anomaly", 1)
    assert registry.production("ahu-1.anomaly") is None


# The `bms models` command -------------------------------------------------------------------
def _bms(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return exit_info.value.code or 0, captured.out, captured.err


def _error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("bms: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    return lines[0]


def test_cli_lists_shows_promotes_and_rolls_back(bms_home, capsys, rng):
    code, out, _ = _bms(capsys, "models", "list")
    assert (code, out.strip()) == (0, "no models registered yet")
    registry = ModelRegistry(bms_home / "models")
    _register(registry, _fitted(rng)[0], metrics={"f1": 0.81234})
    _register(registry, _fitted(rng)[0], metrics={"f1": 0.9})

    assert _bms(capsys, "models", "promote", "ahu-1.anomaly", "1")[:2] == (
        0,
        "promoted ahu-1.anomaly version 1 to production\n",
    )
    code, out, _ = _bms(capsys, "models", "promote", "ahu-1.anomaly", "2", "--reason", "better")
    assert "version 2 to production (was version 1)" in out
    code, out, _ = _bms(capsys, "models", "list")
    header, first, second = out.strip().splitlines()
    assert header.split()[:6] == ["NAME", "VERSION", "KIND", "SCOPE", "STATUS", "CREATED"]
    assert first.split()[:5] == ["ahu-1.anomaly", "1", "anomaly", "ahu-1", "archived"]
    assert "production" in second and second.endswith("f1=0.9")

    code, out, _ = _bms(capsys, "models", "show", "ahu-1.anomaly", "--json")
    shown = json.loads(out.strip().splitlines()[-1])
    assert (shown["version"], shown["status"], shown["features"]) == (2, "production", FEATURES)
    assert shown["history"][-1]["reason"] == "better"

    code, out, _ = _bms(capsys, "models", "rollback", "ahu-1.anomaly", "--reason", "drift")
    assert (code, out) == (0, "rolled ahu-1.anomaly back to version 1 (was version 2)\n")
    code, out, _ = _bms(capsys, "models", "list", "--name", "ahu-1.anomaly", "--json")
    listed = json.loads(out.strip().splitlines()[-1])["models"]
    assert [m["status"] for m in listed] == ["production", "archived"]


def test_cli_errors_are_one_line_with_exit_code_2(bms_home, capsys, rng):
    registry = ModelRegistry(bms_home / "models")
    _register(registry, _fitted(rng)[0])

    code, _, err = _bms(capsys, "models", "show", "nope")
    assert code == 2 and "no model named 'nope'" in _error_line(err)
    code, _, err = _bms(capsys, "models", "promote", "ahu-1.anomaly", "5")
    assert code == 2 and "has no version 5" in _error_line(err)
    code, _, err = _bms(capsys, "models", "rollback", "ahu-1.anomaly")
    assert code == 2 and "no previous production version" in _error_line(err)

    artifact = bms_home / "models" / "ahu-1.anomaly" / "v000001" / "model.joblib"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    code, _, err = _bms(capsys, "models", "promote", "ahu-1.anomaly", "1")
    assert code == 2 and str(artifact) in _error_line(err)
