"""The worker's rules: his traits at birth, hours and wage (phase 4), side jobs he seeks (6), the send-home threat and his books (7), hardship and escape (8-9), death (10), the end of his contract (11)."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from .. import draws as rnd
from ..draws import Decision
from ..compiled import rule
from .common import clip
from .money import expected_take


_TRAITS = ("productivity", "loyalty", "risk_aversion", "family", "informant", "passport", "entry_bribe", "legal")
_TRAIT_DECISIONS = tuple(Decision.worker_trait(t) for t in _TRAITS)
_TRAIT_ROW = {t: k for k, t in enumerate(_TRAITS)}


def new_worker_attributes(
    seed: int, worker_ids, params, wage, plan, months_abroad=0, legal=None, bribe_factor=1.0, own=None
) -> dict[str, np.ndarray]:
    """Traits of newly posted workers, each a pure function of (seed, trait, id).

    A new worker expects to keep ``expected_share`` of his pay: he has no
    grievance yet. Workers already abroad when the run starts (months_abroad
    > 0) have learnt what the rule leaves them at the base pressure, and have
    paid off that much of their entry bribe each month. Entry bribes are ``bribe_factor`` times the drawn one
    (after the 2024 tightening: `StateBooks.bribe_factor`). ``own``: his host's own settings
    (``hours_base``, ``hours_max``, ``fees_share``: a value or one per worker; default: the run's).
    """
    ids = np.asarray(worker_ids, dtype=np.int64)
    w = params.worker
    # month key -1: traits are drawn once, at birth; all of a cohort's in one compiled call
    drawn = rnd.draws_many(seed, _TRAIT_DECISIONS, -1, ids)

    def u(trait):
        return drawn[_TRAIT_ROW[trait]]

    def between(trait, lo, hi):
        return lo + (hi - lo) * u(trait)

    def lognormal(trait, median, sigma):
        # clip the uniform away from 0 so ndtri stays finite
        return median * np.exp(sigma * ndtri(np.minimum(np.maximum(u(trait), 1e-12), 1 - 1e-12)))  # np.clip, faster

    productivity = lognormal("productivity", 1.0, w.productivity_sigma)
    own = own or {}
    base = np.asarray(own.get("hours_base", params.work.hours_base), dtype=float)
    top = np.asarray(own.get("hours_max", params.work.hours_max), dtype=float)
    hours0 = base + params.minder.pressure_base * (top - base)  # hours_worked, uncapped
    gross0 = gross_wage(np.asarray(wage, dtype=float), productivity, hours0, base)
    fees = own.get("fees_share", params.remittance.fees_share)
    kept0 = gross0 - expected_take(gross0, np.asarray(plan, dtype=float), params, fees)
    entry_bribe = np.round(lognormal("entry_bribe", w.entry_bribe_median, w.entry_bribe_sigma) * bribe_factor, 2)
    veteran = np.asarray(months_abroad) > 0
    # legal status: the posting's draw against his host's thresholds this month (`legal_thresholds`; None: permits)
    status = np.zeros(len(ids), dtype=np.int64)
    if legal is not None:
        cut = np.broadcast_to(np.asarray(legal, dtype=float), (len(ids), 3))
        v = u("legal")
        status = (v >= cut[:, 0]).astype(np.int64) + (v >= cut[:, 1]) + (v >= cut[:, 2])
    return {
        "legal": status,
        "productivity": productivity,
        "loyalty": between("loyalty", w.loyalty_min, w.loyalty_max),
        "risk_aversion": between("risk_aversion", w.risk_aversion_min, w.risk_aversion_max),
        "family": between("family", w.family_min, w.family_max),
        "informant": u("informant") < w.informant_share,
        "passport_held": u("passport") < w.passport_confiscation,
        "entry_bribe": entry_bribe,
        "entry_debt": np.where(veteran, np.maximum(entry_bribe - np.asarray(months_abroad) * kept0, 0.0), entry_bribe),
        "kept_avg": np.where(veteran, kept0, w.expected_share * gross0),
        "gross_avg": gross0,
    }


@rule
def hours_worked(pressure, hours_base, hours_max, hours_cap):
    """Hours a day: the base plus pressure's share of the way to the max, under any cap."""
    return min(hours_base + pressure * (hours_max - hours_base), hours_cap)


@rule
def gross_wage(wage, productivity, hours, hours_base):
    """What the employer pays for this worker's month (wage is quoted at the base hours)."""
    return wage * productivity * hours / hours_base


@rule
def short_of_expectation(kept_avg, gross_avg, expected_share):
    """He keeps less than he expected to keep of what he earns."""
    return kept_avg < expected_share * gross_avg


@rule
def wants_side_job(kept_avg, gross_avg, expected_share, u, side_job_seek):
    """A worker who keeps less than he expected asks for a side job, with some chance."""
    return short_of_expectation(kept_avg, gross_avg, expected_share) and u < side_job_seek


@rule
def side_earnings(side_wage, side_job_share):
    return side_wage * side_job_share


@rule
def plan_shortfall(gross, plan):
    return max(plan - gross, 0.0)


@rule
def threatened(shortfall, u, threat_prob):
    return shortfall > 0 and u < threat_prob


@rule
def pays_to_stay(cash, bribe):
    return cash >= bribe


@rule
def retained(gross, side, take, side_bribe, threat_bribe):
    """What he kept this month after the state and the bribes."""
    return gross + side - take - side_bribe - threat_bribe


@rule
def debt_payment(debt, cash, share):
    """What he pays this month toward the debt he took on for his entry bribe: ``share`` of the cash he holds
    (after the month's bribes), up to what he still owes. Pay held by the company, ledger credits and coupons
    pay nothing until they are cash."""
    return min(debt, max(cash, 0.0) * share)


@rule
def running_average(old, new, memory):
    return (1.0 - memory) * old + memory * new


@rule
def hardship(
    kept_avg, gross_avg, hours, debt, plan, expected_share, hours_base, hours_max, weight_pay, weight_hours, weight_debt
):
    """Hardship in [0, 1]: pay gap, overwork and debt, weighted."""
    expected = max(expected_share * gross_avg, 1e-9)
    pay_gap = clip(1.0 - kept_avg / expected, 0.0, 1.0)
    span = hours_max - hours_base
    overwork = clip((hours - hours_base) / span, 0.0, 1.0) if span > 0 else 0.0 * hours
    debt_load = debt / (debt + 6.0 * max(plan, 1.0))  # half-saturates at six months of plan
    weights = weight_pay + weight_hours + weight_debt
    return (weight_pay * pay_gap + weight_hours * overwork + weight_debt * debt_load) / weights


@rule
def grievance(hardship_, loyalty):
    """Epstein (2002): grievance = hardship x (1 - legitimacy); here loyalty plays legitimacy."""
    return hardship_ * (1.0 - loyalty)


@rule
def open_route(route, asylum_boost):
    """Asylum access closes a share of the gap between the host's route and a sure one."""
    return route + (1.0 - route) * asylum_boost


@rule
def escape_success_prob(route, vigilance, passport_held, passport_effect):
    """Chance an attempt succeeds: the host's route, cut by vigilance and a held passport."""
    return route * (1.0 - vigilance) * (1.0 - passport_effect * passport_held)


@rule
def escape_risk(risk_aversion, success_prob, reprisal_severity, family):
    """Epstein's net risk (risk aversion x chance of arrest) plus reprisals on the family."""
    return risk_aversion * (1.0 - success_prob) + reprisal_severity * family


@rule
def attempt_prob(grievance_, risk, threshold, steepness, attempt_rate):
    """Epstein's rule G - N > T, smoothed: a logistic in (G - N - T), times an opportunity rate."""
    z = clip((grievance_ - risk - threshold) / steepness, -50.0, 50.0)
    return attempt_rate / (1.0 + math.exp(-z))


@rule
def escape_chances(
    kept_avg,
    gross_avg,
    hours,
    debt,
    plan,
    loyalty,
    risk_aversion,
    family,
    route,
    asylum_boost,
    vigilance,
    passport,
    expected_share,
    hours_base,
    hours_max,
    weight_pay,
    weight_hours,
    weight_debt,
    passport_effect,
    reprisal_severity,
    threshold,
    steepness,
    attempt_rate,
):
    """One worker's escape decision this month (phase 8): (chance an attempt succeeds, chance he tries).

    Grievance (hardship against loyalty) weighed against the risk of being
    caught and of reprisals on his family, with the host's route opened by
    asylum access and closed by his minder's vigilance and a held passport.
    """
    g = grievance(
        hardship(
            kept_avg,
            gross_avg,
            hours,
            debt,
            plan,
            expected_share,
            hours_base,
            hours_max,
            weight_pay,
            weight_hours,
            weight_debt,
        ),
        loyalty,
    )
    success = escape_success_prob(open_route(route, asylum_boost), vigilance, 1.0 if passport else 0.0, passport_effect)
    risk = escape_risk(risk_aversion, success, reprisal_severity, family)
    return success, attempt_prob(g, risk, threshold, steepness, attempt_rate)


def death_prob_longest(params, rates) -> float:
    """The death hazard at the longest hours of any host: a draw above it cannot be a death (both engines)."""
    from ..sectors import per_host

    return max(
        death_prob(top, rate, params.deaths.hours_slope, base)
        for rate, base, top in zip(rates, per_host(params, "hours_base"), per_host(params, "hours_max"))
    )


def death_rates(params) -> list[float]:
    """Each host's death rate per 10,000 worker-years: ``deaths.rate`` x its ``death_factor`` (a sector's, for a
    cell). Both engines read these, as Python floats."""
    return [params.deaths.rate * h.death_factor for h in params.hosts.values()]


@rule
def pay_received(gross, lost):
    """What the employer's payment comes to when a share ``lost`` of it never arrives (frozen accounts, jobs lost to
    identity checks: `Levers.pay_lost`)."""
    return gross * (1.0 - lost) if lost > 0.0 else gross


@rule
def death_prob(hours, rate_per_10k_years, hours_slope, hours_base):
    """Monthly death hazard, rising exponentially with hours above the base."""
    return rate_per_10k_years / 120_000.0 * math.exp(hours_slope * (hours - hours_base))


@rule
def contract_extended(months_abroad, contract, closed, u, extension_prob, extension_months, max_months):
    """Phase 11, at the end of his contract (``months_abroad`` = ``contract``, this month counted), the border open:
    whether he stays for another ``extension_months`` (chance ``extension_prob``), if that keeps him within
    ``max_months`` abroad."""
    return (
        (not closed) and months_abroad == contract and u < extension_prob and contract + extension_months <= max_months
    )


@rule
def contract_ends(months_abroad, contract_months, closed, u, release):
    """Phase 11: whether a worker goes home this month (``months_abroad`` counts this month). Not across a
    closed border; at the end of his contract, for sure; kept past it by a closure, with chance ``release`` (his
    host's this month, `StateBooks.release`: as replacements arrive) once the border is open."""
    if closed or months_abroad < contract_months:
        return False
    return months_abroad == contract_months or u < release
