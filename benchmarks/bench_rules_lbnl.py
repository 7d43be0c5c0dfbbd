"""AHU rules on the LBNL AHU data: per-day fault share on faulted vs fault-free days, and speed.

For each file (MZVAV-2-2 simulated, SZCAV experimental; both in ``$BMS_DATASETS/lbnl_ahu``),
the rules run with their G36 defaults (nothing tuned on the labels) on the data converted to SI
units (:func:`bms.features.roles.lbnl_ahu_frame`). A day's *fault share* is the share of its
evaluated minutes in which at least one rule holds a confirmed fault. A day is *flagged* when
its share is >= 10 % (more than ~1 h of a 10 h occupied day).

Baseline in the same run: the naive alarm "|sat - sat_sp| > 1.7 K" on every minute the fan
runs, without operating states or persistence (same day threshold).

Run: ``.venv/bin/python benchmarks/bench_rules_lbnl.py``
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bms.evaluate.lbnl import LABEL, read_lbnl
from bms.features.roles import LBNL_MZVAV_ROLE_MAP, LBNL_SZ_ROLE_MAP, lbnl_ahu_frame
from bms.models.rules import daily_fault_share, evaluate_rules

DAY_THRESHOLD = 0.10
FILES = {
    "MZVAV-2-2.csv": (LBNL_MZVAV_ROLE_MAP, "America/Chicago"),
    "SZCAV.csv": (LBNL_SZ_ROLE_MAP, "America/Los_Angeles"),
}


def naive_share(ahu: pd.DataFrame, timezone: str) -> pd.Series:
    on = ahu["fan_status"] >= 0.5
    alarm = ((ahu["sat"] - ahu["sat_sp"]).abs() > 1.7) & on
    day = ahu.index.tz_convert(timezone).date
    return alarm.groupby(day).sum() / on.groupby(day).sum().where(lambda n: n > 0)


def day_figures(share: pd.Series, labels: pd.Series) -> str:
    flagged = share >= DAY_THRESHOLD
    faulted, normal = labels == 1, labels == 0
    return (
        f"faulted days flagged {int(flagged[faulted].sum())}/{int(faulted.sum())}, "
        f"fault-free days flagged {int(flagged[normal].sum())}/{int(normal.sum())}, "
        f"mean share faulted {share[faulted].mean():.3f} vs fault-free {share[normal].mean():.3f}"
    )


def main() -> None:
    root = Path(os.environ.get("BMS_DATASETS", "../shared/datasets")) / "lbnl_ahu"
    for name, (role_map, timezone) in FILES.items():
        path = root / name
        if not path.is_file():
            print(f"{name}: not found under {root}")
            continue
        raw = read_lbnl(path)
        ahu = lbnl_ahu_frame(raw, role_map, timezone)
        start = time.perf_counter()
        report = evaluate_rules(ahu)
        seconds = time.perf_counter() - start
        days = daily_fault_share(report, timezone)
        labels = raw.groupby("day")[LABEL].max().reindex(days.index)
        print(
            f"== {name}: {len(ahu)} minutes, rules in {seconds:.2f} s "
            f"({len(ahu) / seconds:,.0f} rows/s), fingerprint {report.fingerprint[:12]}"
        )
        table = days[["fault_share", "evaluated_steps", "faulted_rules"]].assign(
            label=labels.to_numpy()
        )
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
        print("rules   :", day_figures(days["fault_share"], labels))
        naive = naive_share(ahu, timezone).reindex(days.index)
        print("baseline:", day_figures(naive.fillna(0.0), labels))
        print()
    rng = np.random.default_rng(0)
    n = 1_000_000
    idx = pd.date_range("2026-01-01", periods=n, freq="1min", tz="UTC")
    synthetic = pd.DataFrame(
        {
            "fan_status": 1.0,
            "oat": rng.normal(5, 3, n),
            "rat": rng.normal(21, 0.5, n),
            "mat": rng.normal(17, 0.5, n),
            "sat": rng.normal(18, 0.5, n),
            "sat_sp": 18.0,
            "oa_damper": 20.0,
            "heating_valve": rng.uniform(0, 60, n),
            "cooling_valve": 0.0,
        },
        index=idx,
    )
    start = time.perf_counter()
    evaluate_rules(synthetic)
    seconds = time.perf_counter() - start
    print(f"speed: {n:,} synthetic minutes in {seconds:.2f} s ({n / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
