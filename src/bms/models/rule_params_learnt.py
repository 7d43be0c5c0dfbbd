"""Rule parameters read off a unit's normal operation when its design values are not known.

G36's FC6 compares the outdoor-air fraction at the minimum damper position with the unit's
design minimum. A site AHU carries that value (:func:`bms.models.rules.rule_params_for`); a CSV
export does not, so without it FC6 never runs, and a damper that leaks or sticks part-open in
the heating season is seen only if it upsets the supply temperature.
:func:`learn_damper_positions` reads the value off rows of normal operation (``bms detect``'s
TRAIN): the outdoor-air fraction ``(mat - rat) / (oat - rat)`` at each damper position those
rows hold, over the rows FC6 could judge (its operating states, ``|oat - rat|`` at least G36's
ΔT_min). A unit often holds more than one: LBNL's FLEXLAB unit (SZCAV) keeps its damper shut
(fraction 0.01) at night and at 15 % (fraction 0.27) by day; one minimum would put every row of
the other position in fault.

FC6 then says "the outdoor-air fraction left the one this unit shows at this damper position
in normal operation by more than the tolerance", with the rules' tolerance (0.1, ours) and
G36's 30-minute persistence unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bms.features import physics as ph
from bms.features.states import ahu_states
from bms.models.rules_ahu import AHU_RULES, RuleParams

__all__ = ["MIN_POSITION_ROWS", "DamperPositions", "learn_damper_positions"]

#: Fewest rows FC6 could judge at one damper command (rounded to 1 %) for the fraction there to
#: be learnt: an hour of minutes. A modulating damper passes through positions; a held one sits.
MIN_POSITION_ROWS = 60
#: The states FC6 judges (G36: heating, cooling and ventilation, damper at its minimum).
_FC6_STATES = [state.value for rule in AHU_RULES if rule.code == "FC6" for state in rule.states]


@dataclass(frozen=True)
class DamperPositions:
    """The outdoor-air fraction at each damper position rows of normal operation hold."""

    #: (damper command [%], median outdoor-air fraction there [0-1], rows), by position
    positions: tuple[tuple[float, float, int], ...]

    def params(self, base: RuleParams) -> RuleParams:
        """``base`` with FC6 judging at these positions (``oa_fraction_at_damper``) and
        ``min_oa_fraction`` the fraction at the lowest."""
        pairs = tuple((damper, fraction) for damper, fraction, _ in self.positions)
        return dataclasses.replace(base, oa_fraction_at_damper=pairs, min_oa_fraction=pairs[0][1])

    def open_when_shut(self, params: RuleParams | None = None) -> tuple[float, float] | None:
        """The (damper command [%], fraction) of a position at which the damper is shut (within
        ``damper_tolerance_pct`` of 0 %) yet lets in more outdoor air than FC6's tolerance, or
        None. Normal operation would let in next to none: a damper that leaks or does not
        close while TRAIN was recorded (learnt as normal), or a separate minimum outdoor-air
        path the export does not show."""
        p = params or RuleParams()
        for damper, fraction, _ in self.positions:
            if damper <= p.damper_tolerance_pct and fraction > p.oa_fraction_tolerance:
                return damper, fraction
        return None

    def describe(self) -> str:
        """``"0.01 at 0 % open, 0.27 at 15 %"``."""
        parts = [f"{fraction:.2f} at {damper:g} %" for damper, fraction, _ in self.positions]
        return parts[0] + " open" + "".join(f", {part}" for part in parts[1:])


def learn_damper_positions(
    normal: pd.DataFrame, params: RuleParams | None = None
) -> DamperPositions | None:
    """The outdoor-air fraction at each damper position rows of normal operation hold.

    Parameters
    ----------
    normal : DataFrame
        Role frame in canonical units (°C, %; :func:`bms.features.role_names.ahu_role_frame`)
        of normal operation, indexed by time.
    params : RuleParams, optional
        Thresholds (``oat_rat_min_delta_k``, state detection).

    Returns
    -------
    DamperPositions or None
        None when a role is missing (``oa_damper``, ``mat``, ``oat``, ``rat``) or no damper
        command (rounded to 1 %) holds :data:`MIN_POSITION_ROWS` rows FC6 could judge.
    """
    p = params or RuleParams()
    if not all(role in normal for role in ("oa_damper", "mat", "oat", "rat")):
        return None
    states = ahu_states(normal, p.state_params())
    fraction = ph.oa_fraction(normal["mat"], normal["oat"], normal["rat"], p.oat_rat_min_delta_k)
    judged = np.isin(states.to_numpy(), _FC6_STATES) & fraction.notna().to_numpy()
    judged &= normal["oa_damper"].notna().to_numpy()
    held = (
        pd.DataFrame(
            {"damper": normal["oa_damper"].to_numpy()[judged].round(), "fraction": fraction[judged]}
        )
        .groupby("damper")["fraction"]
        .agg(["median", "size"])
    )
    held = held[held["size"] >= MIN_POSITION_ROWS]
    if held.empty:
        return None
    return DamperPositions(
        tuple((float(d), float(row["median"]), int(row["size"])) for d, row in held.iterrows())
    )
