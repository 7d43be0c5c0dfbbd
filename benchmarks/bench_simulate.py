"""Speed of the site simulator: seconds and rows/s for 30 and 365 days of the Besançon site.

    .venv/bin/python benchmarks/bench_simulate.py [--days 30 365] [--seed 1]

Baselines measured in the same run, on the same number of values:
- ``numpy_normal``: drawing that many standard normal numbers with numpy (the cost of noise
  alone, a floor no simulator with per-value noise can beat);
- ``pandas_frame``: building a canonical long frame (time, point, value) of that many rows from
  ready arrays (the cost of the output format alone).
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from bms.simulate import simulate_site
from bms.site.loader import load_site


def _baselines(n_rows: int, n_points: int) -> tuple[float, float]:
    start = time.perf_counter()
    values = np.random.default_rng(0).standard_normal(n_rows)
    numpy_s = time.perf_counter() - start
    per_point = n_rows // n_points
    start = time.perf_counter()
    times = pd.date_range("2026-01-01", periods=per_point, freq="5min", tz="UTC").as_unit("ns")
    ids = np.array([f"site/b/eq/p{i:03d}" for i in range(n_points)], dtype=object)
    pd.DataFrame(
        {
            "time": pd.DatetimeIndex(
                np.tile(times.asi8, n_points).astype("datetime64[ns]")
            ).tz_localize("UTC"),
            "point": pd.Series(np.repeat(ids, per_point), dtype=object),
            "value": values[: per_point * n_points],
        }
    )
    return numpy_s, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    site = load_site("besancon")
    print(f"{'days':>5} {'points':>6} {'rows':>11} {'simulate_s':>10} {'rows_per_s':>11} "
          f"{'numpy_normal_s':>14} {'pandas_frame_s':>14} {'max_rss_mb':>10}")  # fmt: skip
    for days in args.days:
        start = time.perf_counter()
        result = simulate_site(site, "2026-01-01", days, seed=args.seed)
        seconds = time.perf_counter() - start
        rows = len(result.telemetry)
        points = result.telemetry["point"].nunique()
        numpy_s, pandas_s = _baselines(rows, points)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{days:>5} {points:>6} {rows:>11,} {seconds:>10.2f} {rows / seconds:>11,.0f} "
            f"{numpy_s:>14.2f} {pandas_s:>14.2f} {rss_mb:>10.0f}"
        )
        del result


if __name__ == "__main__":
    main()
