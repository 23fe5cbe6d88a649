"""The rulebook: the behavioural equations, written once, called by both engines.

Every per-agent rule is a plain function of floats, compiled by numba
(`sim.core.compiled.rule`): the array engine calls the compiled build inside
its compiled loops over workers (`sim/engines/array/kernels.py`), the mesa
engine the plain-Python build (`plain`, at the end of this file) for one
agent at a time. Where a decision combines several rules (the
month's take, the escape chances), the combination is one function here too,
so the engines cannot drift apart. Only + - * /, min, max, math.exp and
math.pow are used: numba and Python give the same bits for them.

The state's rules (plans, deployments, money channels) work on small numpy
arrays over hosts and are called the same way by both engines; so is the
drawing of a cohort's traits (`new_worker_attributes`).

The ODD (docs/ODD.md, "Submodels") states each equation in words.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from . import draws as rnd
from .draws import Decision
from .compiled import plain_function, rule

# remittance rules as numbers, for compiled code
RULE_CODES = {"plan": 0, "share": 1, "group_quota": 2}


def total(values) -> float:
    """Plain left-to-right addition, as np.bincount and the compiled loops add.

    Python 3.12's sum() compensates rounding; the array engine cannot, so
    the mesa engine adds this way to agree with it to the last bit.
    """
    acc = 0.0
    for v in values:
        acc += v
    return acc


@rule
def clip(x, lo, hi):
    return min(max(x, lo), hi)


# ---------------------------------------------------------------- agents are born
# (always vectorised: a cohort is drawn at once, by either engine)


def new_worker_attributes(seed: int, worker_ids, params, wage, plan, months_abroad=0, legal=None) -> dict[str, np.ndarray]:
    """Traits of newly posted workers, each a pure function of (seed, trait, id).

    A new worker expects to keep ``expected_share`` of his pay: he has no
    grievance yet. Workers already abroad when the run starts (months_abroad
    > 0) have learnt what the rule leaves them at the base pressure, and have
    paid off that much of their entry bribe each month.
    """
    ids = np.asarray(worker_ids, dtype=np.int64)
    w = params.worker

    def u(trait):
        # month key -1: traits are drawn once, at birth
        return rnd.draws(seed, Decision.worker_trait(trait), -1, ids)

    def between(trait, lo, hi):
        return lo + (hi - lo) * u(trait)

    def lognormal(trait, median, sigma):
        # clip the uniform away from 0 so ndtri stays finite
        return median * np.exp(sigma * ndtri(np.clip(u(trait), 1e-12, 1 - 1e-12)))

    productivity = lognormal("productivity", 1.0, w.productivity_sigma)
    wk = params.work
    hours0 = hours_worked(params.minder.pressure_base, wk.hours_base, wk.hours_max, math.inf)
    gross0 = gross_wage(np.asarray(wage, dtype=float), productivity, hours0, wk.hours_base)
    kept0 = gross0 - expected_take(gross0, np.asarray(plan, dtype=float), params)
    entry_bribe = np.round(lognormal("entry_bribe", w.entry_bribe_median, w.entry_bribe_sigma), 2)
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


def expected_take(gross, plan, params):
    """What the remittance rule takes from each gross of a cohort, with no arrears (used to initialise veterans);
    a group quota is a plan per head on average."""
    r = params.remittance
    code = RULE_CODES["share"] if r.rule == "share" else RULE_CODES["plan"]
    return expected_takes(np.asarray(gross, dtype=float), np.broadcast_to(np.asarray(plan, dtype=float), np.shape(gross)).copy(),
                          code, r.fees_share, r.share)


def new_minder_attributes(seed: int, minder_ids, params, replacement: bool = False) -> dict[str, np.ndarray]:
    ids = np.asarray(minder_ids, dtype=np.int64)
    m = params.minder
    vig = m.vigilance_min + (m.vigilance_max - m.vigilance_min) * rnd.draws(seed, Decision.MINDER_VIGILANCE, -1, ids)
    if replacement:
        vig = np.minimum(1.0, vig + m.replacement_boost)
    greed = m.greed_min + (m.greed_max - m.greed_min) * rnd.draws(seed, Decision.MINDER_GREED, -1, ids)
    return {"vigilance": vig, "greed": greed}


# ---------------------------------------------------------------- phase 3: pressure


@rule
def minder_pressure(shortfall_ratio, pressure_base, pressure_gain):
    """Pressure in [0, 1] from the team's shortfall of the plan last month."""
    return clip(pressure_base + pressure_gain * shortfall_ratio, 0.0, 1.0)


@rule
def hours_worked(pressure, hours_base, hours_max, hours_cap):
    """Hours a day: the base plus pressure's share of the way to the max, under any cap."""
    return min(hours_base + pressure * (hours_max - hours_base), hours_cap)


# ---------------------------------------------------------------- phase 4: work


@rule
def gross_wage(wage, productivity, hours, hours_base):
    """What the employer pays for this worker's month (wage is quoted at the base hours)."""
    return wage * productivity * hours / hours_base


# ---------------------------------------------------------------- phase 5: remittance


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
    """`plan_take` (or `share_take`) over a cohort's arrays, with no arrears."""
    out = np.empty(len(gross))
    for i in range(len(gross)):
        out[i] = share_take(gross[i], share) if rule_code == 1 else plan_take(gross[i], plan[i], fees_share)
    return out


# ---------------------------------------------------------------- phase 6: side jobs


@rule
def short_of_expectation(kept_avg, gross_avg, expected_share):
    """He keeps less than he expected to keep of what he earns."""
    return kept_avg < expected_share * gross_avg


@rule
def wants_side_job(kept_avg, gross_avg, expected_share, u, side_job_seek):
    """A worker who keeps less than he expected asks for a side job, with some chance."""
    return short_of_expectation(kept_avg, gross_avg, expected_share) and u < side_job_seek


@rule
def side_job_granted(greed, u):
    """The minder grants the side job with a chance equal to his greed."""
    return u < greed


@rule
def side_earnings(side_wage, side_job_share):
    return side_wage * side_job_share


# ---------------------------------------------------------------- phase 7: send-home threat


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
def repay_entry_debt(debt, retained_):
    """What a worker keeps pays off the debt he took on for his entry bribe."""
    return max(debt - max(retained_, 0.0), 0.0)


@rule
def running_average(old, new, memory):
    return (1.0 - memory) * old + memory * new


# ---------------------------------------------------------------- phases 8-9: surveillance and escape


@rule
def hardship(kept_avg, gross_avg, hours, debt, plan, expected_share, hours_base, hours_max, weight_pay, weight_hours,
             weight_debt):
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
def minder_vigilance(base, extra):
    """A minder's vigilance: his own level plus any alarm, at most 1."""
    return min(1.0, base + extra)


@rule
def alarm_extra(base, extra, boost):
    """After an escape in the camp, the alarm adds ``boost``, up to full vigilance."""
    return min(1.0 - base, extra + boost)


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
def escape_chances(kept_avg, gross_avg, hours, debt, plan, loyalty, risk_aversion, family, route, asylum_boost,
                   vigilance, passport, expected_share, hours_base, hours_max, weight_pay, weight_hours, weight_debt,
                   passport_effect, reprisal_severity, threshold, steepness, attempt_rate):
    """One worker's escape decision this month (phase 8): (chance an attempt succeeds, chance he tries).

    Grievance (hardship against loyalty) weighed against the risk of being
    caught and of reprisals on his family, with the host's route opened by
    asylum access and closed by his minder's vigilance and a held passport.
    """
    g = grievance(hardship(kept_avg, gross_avg, hours, debt, plan, expected_share, hours_base, hours_max, weight_pay,
                           weight_hours, weight_debt), loyalty)
    success = escape_success_prob(open_route(route, asylum_boost), vigilance, 1.0 if passport else 0.0, passport_effect)
    risk = escape_risk(risk_aversion, success, reprisal_severity, family)
    return success, attempt_prob(g, risk, threshold, steepness, attempt_rate)


@rule
def reported_prob(informants, report_prob):
    """Chance at least one informant in the team reports an intending teammate."""
    return 1.0 - math.pow(1.0 - report_prob, float(informants))


# ---------------------------------------------------------------- phase 10: deaths


@rule
def death_prob(hours, rate_per_10k_years, hours_slope, hours_base):
    """Monthly death hazard, rising exponentially with hours above the base."""
    return rate_per_10k_years / 120_000.0 * math.exp(hours_slope * (hours - hours_base))


# ---------------------------------------------------------------- the state (one agent; vectorised over hosts)


def next_plans(plans: np.ndarray, initial: np.ndarray, delivered_last: float, target: float, raise_: float, cap: float,
               short_share=0.0, reach=1.0, cut=0.0, floor=1.0) -> np.ndarray:
    """Raise every plan while delivered revenue falls short of the target, up to ``cap`` x the initial plan;
    but where more than ``reach`` of a host's workers fell short of the plan last month, lower it by ``cut``
    instead, down to ``floor`` x the initial plan (never below the plan it has if that is lower)."""
    raised = np.minimum(plans * (1.0 + raise_), initial * cap) if delivered_last < target else plans.copy()
    lowered = np.maximum(plans * (1.0 - cut), np.minimum(initial * floor, plans))
    return np.where(np.asarray(short_share) > reach, lowered, raised)


def reachable_share(ban, evasion, repatriation, repatriation_evasion):
    """Share of a host's market the state can still post workers to: a permit ban closes its compliance's
    share, a mandate likewise, and a share of each closed part stays open through evasion (visas, other status)."""
    return (1.0 - ban * (1.0 - evasion)) * (1.0 - repatriation * (1.0 - repatriation_evasion))


def legal_thresholds(ban, evasion, repatriation, repatriation_evasion, routes):
    """Per host, the thresholds a posting's uniform draw is compared with to pick his legal status
    (`new_worker_attributes`): permit below the first, student below the second, tourist below the third,
    other above. Postings get a permit in the part of the market neither a ban nor a mandate closes; the
    rest arrive by the host's evasion routes (``routes``: hosts x 3 shares of student, tourist, other)."""
    reach = reachable_share(ban, evasion, repatriation, repatriation_evasion)
    open_ = (1.0 - ban) * (1.0 - repatriation)
    permit = np.where(reach > 0, open_ / np.where(reach > 0, reach, 1.0), 1.0)
    routes = np.asarray(routes, dtype=float)
    routes = routes / routes.sum(axis=1, keepdims=True)
    student = permit + (1.0 - permit) * routes[:, 0]
    tourist = student + (1.0 - permit) * routes[:, 1]
    return np.stack([permit, student, np.where(routes[:, 2] > 0, tourist, 1.0)], axis=1)


def deployments(target, active, ban, evasion, repatriation, shift_share, target_cap, repatriation_evasion=0.0,
                flow=0.0):
    """New workers per host this month, and how the state re-allocates its targets.

    A host's compliance with a permit ban or a repatriation mandate closes
    that share of its market to new workers; of each closed share, a share
    (``evasion``, ``repatriation_evasion``) stays reachable on visas or another
    status (`reachable_share`). With ``flow`` 0 the state fills each host up to
    what is reachable of its target (a cap on the stock); with ``flow`` 1 it
    fills the reachable share of each host's vacancies (target - active) every
    month (a brake on the flow); in between, ``target x reach - active x (1 -
    flow x (1 - reach))``; whole workers, rounded down. Each month it also moves a share ``shift_share`` of the
    posts it has lost to hosts more reachable than the one that closed them,
    in proportion to their target times how much more reachable they are,
    and no host's target beyond ``target_cap``; with equal compliance
    everywhere nothing moves. Returns (counts, change of each host's target).
    """
    target = np.asarray(target, dtype=float)
    reachable = reachable_share(ban, evasion, repatriation, repatriation_evasion)
    counted = np.asarray(active, dtype=float) * (1.0 - flow * (1.0 - reachable))  # flow 0: every worker counts
    counts = np.floor(np.maximum(target * reachable - counted, 0.0) + 1e-9).astype(np.int64)
    room = np.maximum(np.asarray(target_cap, dtype=float) - target, 0.0)
    lost = target * (1.0 - reachable)
    gain = np.maximum(reachable[None, :] - reachable[:, None], 0.0) * (target * (room > 0))[None, :]  # row host -> column host
    rows = gain.sum(axis=1)
    has_dest = rows > 0
    share = np.where(has_dest[:, None], gain / np.where(has_dest, rows, 1.0)[:, None], 0.0)
    flows = (shift_share * lost * has_dest)[:, None] * share
    arriving = flows.sum(axis=0)
    scale = np.where(arriving > room, room / np.where(arriving > 0, arriving, 1.0), 1.0)
    flows = flows * scale[None, :]
    return counts, flows.sum(axis=0) - flows.sum(axis=1)


def fill_units(n: int, open_camps, camp_size: int) -> list:
    """Split n newcomers over the units (camps, minders, teams) that have room, in id
    order (``open_camps``: (id, room) pairs), then over new units of ``camp_size``
    (the unit's size). Returns (id or None for a new unit, how many) chunks."""
    chunks, left = [], int(n)
    for camp_id, room in open_camps:
        if left == 0:
            break
        k = min(int(room), left)
        if k > 0:
            chunks.append((camp_id, k))
            left -= k
    while left > 0:
        k = min(camp_size, left)
        chunks.append((None, k))
        left -= k
    return chunks


def repatriation_prob(compliance, total_months, months_left):
    """Monthly chance a minder's unit is sent home under a mandate.

    A constant hazard leaves a share (1 - compliance) by the deadline. At
    full compliance that hazard would be 1 at once, so instead 1/(months
    left) of those remaining go each month, and none are left at the deadline.
    """
    c = np.asarray(compliance, dtype=float)
    partial = 1.0 - (1.0 - np.minimum(c, 1.0)) ** (1.0 / max(total_months, 1))
    return np.where(c >= 1.0, 1.0 / max(months_left, 1), partial)


def monthly_chance(yearly):
    """The monthly chance that gives a yearly chance ``yearly`` over twelve months."""
    return 1.0 - (1.0 - min(float(yearly), 1.0)) ** (1.0 / 12.0)


@rule
def repatriation_fate(legal, u, u_relabel, u_route, permit_hazard, detect_student, detect_tourist, detect_other,
                      evasion, cut_student, cut_tourist):
    """Phase 2 under a mandate, for one worker: his legal status after this month's enforcement, or 4 if he is
    sent home. A permit holder is sent home with chance ``permit_hazard``, unless (chance ``evasion``) he is
    relabelled instead: student if ``u_route < cut_student``, tourist if below ``cut_tourist``, else other.
    A worker on a visa or another status is sent home when found (his status's monthly detection chance)."""
    if legal == 0:
        if u < permit_hazard:
            if u_relabel < evasion:
                return 1 if u_route < cut_student else (2 if u_route < cut_tourist else 3)
            return 4
        return 0
    detect = detect_student if legal == 1 else (detect_tourist if legal == 2 else detect_other)
    return 4 if u < detect else legal


CHANNELS = ("bank", "courier", "mule")


def move_money(take: np.ndarray, weights: np.ndarray, mule_capacity: np.ndarray, loss: dict[str, np.ndarray], fees: dict[str, float]):
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
        [(bank - seized[:, 0]) * fees["bank"], (courier - seized[:, 1]) * fees["courier"], (mule - seized[:, 2]) * fees["mule"]], axis=1
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


@rule
def contract_ends(months_abroad, contract_months, closed, u, stranded_return):
    """Phase 11: whether a worker goes home this month (``months_abroad`` counts this month). Not across a
    closed border; at the end of his contract, for sure; kept past it by a closure, with chance
    ``stranded_return`` a month once the border is open."""
    if closed or months_abroad < contract_months:
        return False
    return months_abroad == contract_months or u < stranded_return


def next_channel_weights(weights: np.ndarray, loss_rate: np.ndarray, adapt: float, min_weight: float) -> np.ndarray:
    """Move money away from channels that lose it: w <- w exp(-adapt x loss), normalised, floored."""
    w = weights * np.exp(-adapt * loss_rate)
    w = w / w.sum(axis=1, keepdims=True)
    w = np.maximum(w, min_weight)
    return w / w.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- the same rules as plain Python


def _plain_rulebook():
    """Every rule above as plain Python: the same code objects, calling each other's plain versions.

    The mesa engine calls these, one agent at a time: a plain call costs less than a call into compiled code
    from Python, and a reader can step through them. They give the compiled rules' results to the last bit
    (tests/test_rules.py). The array engine's compiled loops call the compiled rules.
    """
    import types

    namespace = dict(globals())
    names = [name for name, obj in namespace.items() if plain_function(obj) is not None]
    for name in names:
        f = plain_function(namespace[name])
        namespace[name] = types.FunctionType(f.__code__, namespace, name, f.__defaults__, f.__closure__)
    return types.SimpleNamespace(**{name: namespace[name] for name in names})


plain = _plain_rulebook()
