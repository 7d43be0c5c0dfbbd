"""Trend RUL on the simulated Besançon site, against the simulator's ground truth.

Simulates the site on seeds that were not used to choose any setting (development used seeds
1-3; this reports 201-203 unless told otherwise), 300 days from 2025-09-01 with the default
fault plan (3 run-to-failures of each of the 5 degradation types per seed), then predicts each
failing equipment's RUL 30, 14 and 7 days before its failure from the data before that instant.

Prints, by fault type and horizon: cases, share already started (onset before "as of") and
detected (a trend towards the limit found), p10-p90 coverage (all cases; cases whose
degradation had started), mean absolute and median error of rul_p50 [d]; the same for a
baseline measured in the same run (linear trend only, no shape error: the textbook
extrapolation); and the false-alarm rate (rul_p50 < 30 d while the true time to that failure
mode is over 60 d), checked weekly on every indicator.

    .venv/bin/python benchmarks/bench_site_rul.py [--seeds 201 202 203] [--days 300]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bms.evaluate.site_rul import false_alarms, rul_cases, summarise_cases
from bms.models.site_health import wide_frames
from bms.simulate import simulate_site
from bms.site.loader import load_site

BASELINE = {"models": ("linear",), "relative_error": 0.0, "holdout_fraction": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[201, 202, 203])
    parser.add_argument("--days", type=float, default=300.0)
    parser.add_argument("--start", default="2025-09-01")
    args = parser.parse_args()
    site = load_site("besancon")
    cases, baseline, alarms, base_alarms = [], [], [], []
    timings = {"simulate": 0.0, "frames": 0.0, "trend": 0.0, "baseline": 0.0}
    for seed in args.seeds:
        t0 = time.perf_counter()
        result = simulate_site(site, start=args.start, days=args.days, seed=seed)
        t1 = time.perf_counter()
        frames = wide_frames(result, site)
        t2 = time.perf_counter()
        c = rul_cases(result, site, frames=frames)
        alarms.append(false_alarms(result, site, frames=frames))
        t3 = time.perf_counter()
        b = rul_cases(result, site, frames=frames, trend_params=BASELINE)
        base_alarms.append(false_alarms(result, site, frames=frames, trend_params=BASELINE))
        t4 = time.perf_counter()
        cases.append(c.assign(seed=seed))
        baseline.append(b.assign(seed=seed))
        timings["simulate"] += t1 - t0
        timings["frames"] += t2 - t1
        timings["trend"] += t3 - t2
        timings["baseline"] += t4 - t3
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    for title, table, fa in (
        ("TrendRUL (default settings)", pd.concat(cases), pd.concat(alarms)),
        (
            "Baseline: linear trend only, no shape error",
            pd.concat(baseline),
            pd.concat(base_alarms),
        ),
    ):
        print(f"\n## {title} -- seeds {args.seeds}, {args.days:g} days from {args.start}\n")
        print(summarise_cases(table).round(2).to_string())
        detected = table[table["detected"] & (table["state"] == "degrading")]
        print(
            f"\ncoverage of p10-p90 over detected cases: {detected['covered'].mean():.2f} "
            f"(n={len(detected)}); true RUL below p10: "
            f"{(detected['true_rul'] < detected['rul_p10']).mean():.2f}, above p90: "
            f"{(detected['true_rul'] > detected['rul_p90']).mean():.2f}"
        )
        print(
            f"false alarms (rul_p50 < 30 d, true > 60 d): {fa['alarm'].mean():.3f} "
            f"of {len(fa)} weekly indicator checks"
        )
    print("\ntimings [s]: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))


if __name__ == "__main__":
    main()
