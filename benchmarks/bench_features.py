"""Feature-building speed on the simulated Besançon site [steps/s], with a baseline.

Simulates the site for N days (default 90) at 5 min, then times, per equipment kind, the full
:func:`bms.features.pipeline.build_features` (resample, quality flags, roles, physics, states,
rolling 1 h / 24 h statistics and slopes). Baseline in the same run: the resampling step alone
(:func:`bms.features.resample.equipment_frame`), the floor any feature pipeline pays.

Run: ``.venv/bin/python benchmarks/bench_features.py [--days N]``
"""

from __future__ import annotations

import argparse
import time

from bms.features.pipeline import build_features
from bms.features.resample import equipment_frame
from bms.simulate import simulate_site
from bms.site.loader import load_site

EQUIPMENT = ("ahu-1", "pump-1", "hx-1", "chiller-1", "zone-01")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=90.0)
    args = parser.parse_args()
    site = load_site("besancon")
    start = time.perf_counter()
    result = simulate_site(site, "2026-01-01", args.days, seed=1)
    print(
        f"simulated {args.days:g} days in {time.perf_counter() - start:.1f} s "
        f"({len(result.telemetry):,} rows)"
    )
    total_full = total_base = 0.0
    for name in EQUIPMENT:
        equipment = site.equipment_by_id(f"{site.id}/hq/{name}")
        start = time.perf_counter()
        base = equipment_frame(result.telemetry, equipment, "5min").values
        base_s = time.perf_counter() - start
        start = time.perf_counter()
        features = build_features(result.telemetry, equipment, "5min")
        full_s = time.perf_counter() - start
        total_full += full_s
        total_base += base_s
        print(
            f"{equipment.kind:15s} {name:10s} {len(features):7,} steps x {features.shape[1]:3d} "
            f"features: {full_s:5.2f} s ({len(features) / full_s:9,.0f} steps/s); "
            f"baseline resample only ({base.shape[1]} points): {base_s:5.2f} s"
        )
    print(f"total: build_features {total_full:.2f} s, resample-only baseline {total_base:.2f} s")


if __name__ == "__main__":
    main()
