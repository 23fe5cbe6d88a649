"""The money's rules: how the remittance rule splits a worker's gross (phase 5) and the ledger, the take a worker expects, and how the take moves home by bank, courier and mule (phase 12)."""

from __future__ import annotations


import numpy as np

from ..compiled import rule
from .common import RULE_CODES


@rule
def plan_take(gross, due, fees_share):
    """Fixed plan: the state takes what is due (plan + arrears), up to the gross,
    then fees and 'voluntary' contributions as a share of what is left."""
    paid = min(gross, due)
    return paid + fees_share * (gross - paid)


@rule
def plan_arrears(gross, due):
    """What is still owed to the plan after this month: the shortfall becomes a debt."""
    return due - min(gross, due)


@rule
def share_take(gross, share):
    return gross * share


@rule
def group_quota_take(gross, camp_gross, camp_due, fees_share):
    """Group quota: each worker pays his share of what the camp owes (up to his gross),
    then fees as a share of what is left."""
    ratio = min(camp_due / max(camp_gross, 1e-300) if camp_gross > 0 else 0.0, 1.0)
    return gross * ratio + fees_share * (gross - gross * ratio)


@rule
def direct_wage_take(take, coercion):
    """Paid directly by a complying employer, the worker hands back only part."""
    return take * coercion


@rule
def ledger_credit(kept, ledger_monthly):
    """Part of what is kept that is written in the ledger, paid only on return."""
    return min(max(kept, 0.0), ledger_monthly)


@rule
def coupons(free, coupon_share, direct):
    """What of the pay left him beyond the take and the ledger (``free``) goes to his family in coupons for state
    stores rather than to him in cash; none when a complying employer pays him directly (``direct``)."""
    return 0.0 if direct else max(free, 0.0) * coupon_share


@rule
def payday(months_abroad, cash_months, direct):
    """Whether he is handed the pay held for him this month (phase 5; ``months_abroad`` counts the months before
    this one): every ``cash_months``-th month of his posting, and every month when his employer pays him directly."""
    return direct or cash_months == 1 or (months_abroad + 1) % cash_months == 0


@rule
def remit(rule_code, gross, plan, arrears, camp_gross, camp_due, fees_share, share, direct, coercion, ledger_monthly):
    """The month's split of one worker's gross (phase 5): (take, arrears after, ledger credit).

    The remittance rule (0 plan, 1 share, 2 group quota: `RULE_CODES`) takes
    its share; a worker paid directly by a complying employer hands back only
    ``coercion`` of it and has nothing written in the ledger.
    """
    if rule_code == 0:
        due = plan + arrears
        take = plan_take(gross, due, fees_share)
        arrears = plan_arrears(gross, due)
    elif rule_code == 1:
        take = share_take(gross, share)
    else:
        take = group_quota_take(gross, camp_gross, camp_due, fees_share)
    if direct:
        return direct_wage_take(take, coercion), arrears, 0.0
    return take, arrears, ledger_credit(gross - take, ledger_monthly)


@rule
def expected_takes(gross, plan, rule_code, fees_share, share):
    """`plan_take` (or `share_take`) over a cohort's arrays, with no arrears (``fees_share``: one per worker)."""
    out = np.empty(len(gross))
    for i in range(len(gross)):
        out[i] = share_take(gross[i], share) if rule_code == 1 else plan_take(gross[i], plan[i], fees_share[i])
    return out


def expected_take(gross, plan, params, fees_share=None):
    """What the remittance rule takes from each gross of a cohort, with no arrears (used to initialise veterans);
    a group quota is a plan per head on average. ``fees_share``: his host's (a value or one per worker; default
    the run's)."""
    r = params.remittance
    code = RULE_CODES["share"] if r.rule == "share" else RULE_CODES["plan"]
    fees = r.fees_share if fees_share is None else fees_share
    return expected_takes(
        np.asarray(gross, dtype=float),
        np.broadcast_to(np.asarray(plan, dtype=float), np.shape(gross)).copy(),
        code,
        np.broadcast_to(np.asarray(fees, dtype=float), np.shape(gross)).copy(),
        r.share,
    )


CHANNELS = ("bank", "courier", "mule")


def move_money(
    take: np.ndarray,
    weights: np.ndarray,
    mule_capacity: np.ndarray,
    loss: dict[str, np.ndarray],
    fees: dict[str, float],
):
    """Send each host's take home through the channels.

    weights: hosts x 3 (bank, courier, mule); mule_capacity: cash the
    returning workers can carry per host; loss: share seized or blocked per
    channel and host. Returns (delivered, interdicted, costs, amounts) per
    host, with delivered = take - interdicted - costs exactly.
    """
    take = np.asarray(take, dtype=float)
    mule = np.minimum(weights[:, 2] * take, mule_capacity)
    rest = take - mule
    bc = weights[:, 0] + weights[:, 1]
    bank = np.where(bc > 0, rest * weights[:, 0] / np.where(bc > 0, bc, 1.0), rest * 0.5)
    courier = rest - bank
    amounts = np.stack([bank, courier, mule], axis=1)
    seized = np.stack([bank * loss["bank"], courier * loss["courier"], mule * loss["mule"]], axis=1)
    costs = np.stack(
        [
            (bank - seized[:, 0]) * fees["bank"],
            (courier - seized[:, 1]) * fees["courier"],
            (mule - seized[:, 2]) * fees["mule"],
        ],
        axis=1,
    )
    interdicted = seized.sum(axis=1)
    cost = costs.sum(axis=1)
    delivered = take - interdicted - cost
    return delivered, interdicted, cost, amounts


def closed_border_weights(weights: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """This month's channel weights where the border is closed: the couriers' share goes by bank."""
    if not np.any(closed):
        return weights
    w = weights.copy()
    w[closed, 0] += w[closed, 1]
    w[closed, 1] = 0.0
    # with no bank weight either, what the (absent) mules do not carry still goes by bank, not by courier
    w[closed & (w[:, 0] <= 0), 0] = 1.0
    return w


def next_channel_weights(weights: np.ndarray, loss_rate: np.ndarray, adapt: float, min_weight: float) -> np.ndarray:
    """Move money away from channels that lose it: w <- w exp(-adapt x loss), normalised, floored."""
    w = weights * np.exp(-adapt * loss_rate)
    w = w / w.sum(axis=1, keepdims=True)
    w = np.maximum(w, min_weight)
    return w / w.sum(axis=1, keepdims=True)
