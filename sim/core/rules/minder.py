"""The minder's rules: his traits, the pressure he sets (phase 3), the side jobs he grants (6), his vigilance, alarms and informants (8-9)."""

from __future__ import annotations

import math

import numpy as np

from .. import draws as rnd
from ..draws import Decision
from ..compiled import rule
from .common import clip


def new_minder_attributes(seed: int, minder_ids, params, replacement: bool = False) -> dict[str, np.ndarray]:
    ids = np.asarray(minder_ids, dtype=np.int64)
    m = params.minder
    vig = m.vigilance_min + (m.vigilance_max - m.vigilance_min) * rnd.draws(seed, Decision.MINDER_VIGILANCE, -1, ids)
    if replacement:
        vig = np.minimum(1.0, vig + m.replacement_boost)
    greed = m.greed_min + (m.greed_max - m.greed_min) * rnd.draws(seed, Decision.MINDER_GREED, -1, ids)
    return {"vigilance": vig, "greed": greed}


@rule
def minder_pressure(shortfall_ratio, pressure_base, pressure_gain):
    """Pressure in [0, 1] from the team's shortfall of the plan last month."""
    return clip(pressure_base + pressure_gain * shortfall_ratio, 0.0, 1.0)


@rule
def side_job_granted(greed, u):
    """The minder grants the side job with a chance equal to his greed."""
    return u < greed


@rule
def carries_out_threat(u, threat_prob, enforce):
    """A threatened worker who cannot pay is sent home with chance ``enforce`` (his host's this month,
    `StateBooks.enforce`: 1 while a replacement waits, or with the pipeline off). It reads the draw that threatened
    him (u < threat_prob), rescaled, so no draw is added and ``enforce`` = 1 sends home every such worker."""
    return u < threat_prob * enforce


@rule
def minder_vigilance(base, extra):
    """A minder's vigilance: his own level plus any alarm, at most 1."""
    return min(1.0, base + extra)


@rule
def alarm_extra(base, extra, boost):
    """After an escape in the camp, the alarm adds ``boost``, up to full vigilance."""
    return min(1.0 - base, extra + boost)


@rule
def reported_prob(informants, report_prob):
    """Chance at least one informant in the team reports an intending teammate."""
    return 1.0 - math.pow(1.0 - report_prob, float(informants))
