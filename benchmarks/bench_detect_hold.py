"""What holding an alarm while an AHU's fan is stopped gains and costs, on continuous data.

``bms detect`` keeps an alarm raised while the fan ran through the rows where it is stopped
(:mod:`bms.evaluate.detect_stopped`). LBNL's test days are cut apart, so its nights are rarely
followed by the next morning; here TEST is continuous: the simulated Besançon site's three AHUs
(:func:`bms.simulate.simulate_site`, seeds not used in development), trained on the first 28
days and scored on the next 92, from the winter (2026-01-05) and the summer (2026-08-01) starts:
the scored months run into another season, which TRAIN does not describe (``bms detect`` says
so: most TEST rows lie outside TRAIN's range). Rows within an injected fault of the AHU
(degradation, abrupt or sensor; to its end or failure, plus a day) are faulted, the others
normal. Printed per start: FAR and recall [% of rows] of the flags ``bms detect`` outputs
(the default detector and the AHU rules), without and with the hold.

    .venv/bin/python benchmarks/bench_detect_hold.py [--seeds 101 102 103]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from bms.evaluate.detect_rules import ahu_rule_flags
from bms.evaluate.detect_stopped import held_flags
from bms.models.anomaly_pipeline import TimeSeriesDetector
from bms.models.equipment_detection import equipment_frames
from bms.simulate import simulate_site
from bms.site.loader import load_site

STARTS = ("2026-01-05", "2026-08-01")
TRAIN_DAYS = 28
SCORED_DAYS = 92
FAULT_CATEGORIES = ("degradation", "abrupt", "sensor")


def faulted_rows(truth: pd.DataFrame, equipment: str, index: pd.DatetimeIndex) -> NDArray[np.bool_]:
    """Rows of ``index`` inside a fault of ``equipment`` (to its end or failure, plus a day)."""
    faulted = np.zeros(len(index), dtype=bool)
    mine = truth[(truth["equipment"] == equipment) & truth["category"].isin(FAULT_CATEGORIES)]
    for fault in mine.itertuples():
        stop = fault.end if pd.notna(fault.end) else fault.failure
        stop = index[-1] if pd.isna(stop) else stop
        faulted |= (index >= fault.onset) & (index < stop + pd.Timedelta(days=1))
    return faulted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    args = parser.parse_args()
    site = load_site("besancon")
    print("start       flags                 FAR %   recall %   (rows of the 3 AHUs, all seeds)")
    for start in STARTS:
        counts = {"bms detect, no hold": np.zeros(4), "bms detect (held)": np.zeros(4)}
        for seed in args.seeds:
            result = simulate_site(site, start=start, days=TRAIN_DAYS + SCORED_DAYS, seed=seed)
            for equipment, frame in equipment_frames(result.telemetry, site).items():
                if not equipment.rsplit("/", 1)[-1].startswith("ahu"):
                    continue
                frame = frame.loc[:, frame.notna().any()]
                cut = frame.index[0] + pd.Timedelta(days=TRAIN_DAYS)
                train, test = frame[frame.index < cut], frame[frame.index >= cut]
                scored = TimeSeriesDetector().fit(train).score(test, contributions=False)
                flags = scored["anomaly"].to_numpy() == 1
                rules = ahu_rule_flags(train, test)
                if rules is not None:
                    flags = flags | rules.flags
                faulted = faulted_rows(result.ground_truth, equipment, test.index)
                for name, found in (
                    ("bms detect, no hold", flags),
                    ("bms detect (held)", held_flags(flags, train, test)),
                ):
                    counts[name] += [
                        found[~faulted].sum(),
                        (~faulted).sum(),
                        found[faulted].sum(),
                        faulted.sum(),
                    ]
        for name, (fp, normal, tp, positive) in counts.items():
            print(f"{start}  {name:20s}  {100 * fp / normal:6.1f}   {100 * tp / positive:6.1f}")


if __name__ == "__main__":
    main()
