"""Speed of :func:`bms.telemetry.frame.validate_frame` [rows/s], against the old per-row check.

A frame shaped like a simulated year of the Besançon site (190 points every 5 min: ~20M rows
for 365 days; ``--days`` scales it), rows grouped by point as the simulator writes them, with
the site's point ids as a known-points set. Baseline in the same run, on the same frame: the
previous implementation (a per-row ``point.map(lambda ...)`` check, ``isin`` on every row,
then ``drop_duplicates`` and a two-column ``sort_values``), copied here as it was. Both
results are checked equal before any figure is printed.

Run: ``.venv/bin/python benchmarks/bench_frame.py [--days 90] [--shuffle]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from bms.errors import SchemaError
from bms.telemetry.frame import FRAME_COLUMNS, _coerce_time, _rows, validate_frame

N_POINTS = 190


def old_validate_frame(frame: pd.DataFrame, known_points: set[str] | None = None) -> pd.DataFrame:
    """The validate_frame of before the vectorised point check (baseline, unchanged)."""
    data = frame.loc[:, list(FRAME_COLUMNS)].reset_index(drop=True)
    time_ = _coerce_time(data["time"])
    point = data["point"]
    bad_point = point.isna() | ~point.map(lambda p: isinstance(p, str) and p.strip() != "")
    if bad_point.any():
        raise SchemaError(
            f"column 'point': missing or empty point id at {_rows(data.index[bad_point])}"
        )
    if known_points is not None:
        unknown_mask = ~point.isin(set(known_points))
        if unknown_mask.any():
            first = point[unknown_mask].iloc[0]
            raise SchemaError(f"unknown point {first!r} at {_rows(data.index[unknown_mask])}")
    value = pd.to_numeric(data["value"], errors="coerce").astype("float64")
    if not np.isfinite(value.to_numpy()).all():
        raise SchemaError("column 'value': missing, non-numeric or infinite value")
    clean = pd.DataFrame({"time": time_, "point": point.astype(object), "value": value})
    clean = clean.drop_duplicates(subset=["point", "time"], keep="last")
    return clean.sort_values(["point", "time"], kind="stable").reset_index(drop=True)


def old_point_check(point: pd.Series) -> bool:
    """The old per-row point-id check alone."""
    bad = point.isna() | ~point.map(lambda p: isinstance(p, str) and p.strip() != "")
    return bool(bad.any())


def site_frame(days: float, shuffle: bool, seed: int = 0) -> tuple[pd.DataFrame, set[str]]:
    """A long frame of N_POINTS points at 5 min over ``days`` [d]."""
    steps = int(days * 288)
    rng = np.random.default_rng(seed)
    ids = np.array(
        [f"besancon/hq/eq-{i // 8:02d}/point_{i:03d}" for i in range(N_POINTS)], dtype=object
    )
    t0 = pd.Timestamp("2026-01-01", tz="UTC").value
    t_ns = t0 + np.arange(steps, dtype=np.int64) * 300_000_000_000
    frame = pd.DataFrame(
        {
            "time": pd.DatetimeIndex(np.tile(t_ns, N_POINTS).view("datetime64[ns]")).tz_localize(
                "UTC"
            ),
            "point": pd.Series(np.repeat(ids, steps), dtype=object),
            "value": rng.standard_normal(steps * N_POINTS),
        }
    )
    if shuffle:  # arrival order, with 1 % of rows sent again with a new value
        again = frame.sample(frac=0.01, random_state=seed).assign(value=1.0)
        frame = pd.concat([frame, again]).sample(frac=1.0, random_state=seed + 1)
    return frame, set(ids)


def _timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=90.0)
    parser.add_argument("--shuffle", action="store_true", help="arrival order with duplicates")
    args = parser.parse_args()
    frame, known = site_frame(args.days, args.shuffle)
    rows = len(frame)
    print(f"{rows:,} rows, {N_POINTS} points, {'shuffled' if args.shuffle else 'grouped'}")
    old_check_s, _ = _timed(old_point_check, frame["point"])
    old_s, old = _timed(old_validate_frame, frame, known)
    new_s, new = _timed(validate_frame, frame, known)
    pd.testing.assert_frame_equal(new, old)  # same result, dtypes included
    print(f"{'what':<40} {'seconds':>8} {'rows_per_s':>12}")
    for label, seconds in [
        ("old per-row point check alone", old_check_s),
        ("old validate_frame (baseline)", old_s),
        ("validate_frame", new_s),
    ]:
        print(f"{label:<40} {seconds:8.2f} {rows / seconds:12,.0f}")
    print(f"speed-up of validate_frame: x{old_s / new_s:.1f}")


if __name__ == "__main__":
    main()
