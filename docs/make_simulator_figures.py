"""Draw the figures of docs/simulator.md (needs matplotlib).

    .venv/bin/python docs/make_simulator_figures.py [OUT_DIR]

Simulates the Besançon site for 120 days from 2026-01-05 with seed 1 and plots, for each
degradation of the default fault plan, its indicator from 10 days before onset to 5 days after
failure, plus one week of weather and of one air-handling unit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from bms.simulate import simulate_site
from bms.site.loader import load_site


def indicator(wide: pd.DataFrame, fault: str, params: dict) -> tuple[pd.Series, str, float | None]:
    """The monitored signal of a degradation, its label and its failure limit."""
    on = wide["fan_status"] > 0.5 if "fan_status" in wide else None
    if fault == "filter_clogging":
        norm = wide["filter_dp"] / (wide["supply_flow"] / params["design_flow_m3_s"]) ** 2
        limit = params["filter_final_dp_pa"]
        return norm[on & (wide["fan_speed"] > 40)], "filter_dp at design flow [Pa]", limit
    if fault == "belt_wear":
        ratio = wide["supply_flow"] / wide["fan_speed"]
        return ratio[on] / ratio[on].quantile(0.9), "flow / speed (normalised)", 0.5
    if fault == "bearing_wear":
        return wide["vibration"][wide["status"] > 0.5], "vibration [mm/s]", 7.1
    if fault == "hx_fouling":
        approach = wide["prim_return_temp"] - wide["sec_return_temp"]
        return approach, "approach [K]", 2.0 * params["clean_approach_k"]
    return wide["superheat"][wide["status"] > 0.5], "superheat [K]", 15.0


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    site = load_site("besancon")
    result = simulate_site(site, "2026-01-05", 120, seed=1)
    gt = result.ground_truth
    degradations = gt[gt["category"] == "degradation"]
    fig, axes = plt.subplots(len(degradations), 1, figsize=(9, 2.3 * len(degradations)))
    for ax, row in zip(np.atleast_1d(axes), degradations.itertuples(), strict=True):
        params = site.equipment_by_id(row.equipment).parameters
        series, label, limit = indicator(result.wide[row.equipment], row.fault, params)
        window = series[row.onset - pd.Timedelta(days=10) : row.failure + pd.Timedelta(days=5)]
        ax.plot(window.index, window.to_numpy(), ".", ms=1.5, alpha=0.4)
        ax.plot(window.resample("D").median(), "-", lw=1.5, label="daily median")
        ax.axvline(row.onset, color="tab:orange", ls="--", label="onset")
        ax.axvline(row.failure, color="tab:red", ls="--", label="failure")
        if limit is not None:
            ax.axhline(limit, color="grey", ls=":", label="limit")
        ax.set_title(f"{row.fault} — {row.equipment}", fontsize=9)
        ax.set_ylabel(label, fontsize=8)
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(out_dir / "simulator-degradations.png", dpi=90)

    week = slice(pd.Timestamp("2026-03-02", tz="UTC"), pd.Timestamp("2026-03-09", tz="UTC"))
    weather = result.wide["besancon/hq/weather"][week]
    ahu = result.wide["besancon/hq/ahu-2"][week]
    fig, axes = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True)
    axes[0].plot(weather["oat"], label="oat [°C]")
    axes[0].plot(weather["rh"] / 5, label="rh / 5 [%]")
    axes[0].plot(weather["ghi"] / 50, label="ghi / 50 [W/m2]")
    for name in ("oat", "rat", "mat", "sat", "sat_sp"):
        axes[1].plot(ahu[name], label=name, lw=1)
    for name in ("oa_damper", "heating_valve", "cooling_valve", "fan_speed"):
        axes[2].plot(ahu[name], label=name, lw=1)
    for ax in axes:
        ax.legend(fontsize=7, ncol=5, loc="upper left")
    axes[1].set_ylabel("°C")
    axes[2].set_ylabel("%")
    fig.tight_layout()
    fig.savefig(out_dir / "simulator-week.png", dpi=90)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "img")
