"""The state's rules (one agent; arrays over hosts): plans, deployments and where workers may go, filling camps and units, repatriation under a mandate (phase 2)."""

from __future__ import annotations


import numpy as np

from ..compiled import rule


def next_plans(
    plans: np.ndarray,
    initial: np.ndarray,
    delivered_last: float,
    target: float,
    raise_: float,
    cap: float,
    short_share=0.0,
    reach=1.0,
    cut=0.0,
    floor=1.0,
) -> np.ndarray:
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


def deployments(
    target,
    active,
    ban,
    evasion,
    repatriation,
    shift_share,
    target_cap,
    repatriation_evasion=0.0,
    flow=0.0,
    shift_in=None,
):
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
    and no host's target beyond ``target_cap``, nor to a host closed to them (``shift_in`` False: specialists'
    work such as IT's is not filled with the posts lost elsewhere); with equal compliance
    everywhere nothing moves. Returns (counts, change of each host's target).
    """
    target = np.asarray(target, dtype=float)
    reachable = reachable_share(ban, evasion, repatriation, repatriation_evasion)
    counted = np.asarray(active, dtype=float) * (1.0 - flow * (1.0 - reachable))  # flow 0: every worker counts
    counts = np.floor(np.maximum(target * reachable - counted, 0.0) + 1e-9).astype(np.int64)
    room = np.maximum(np.asarray(target_cap, dtype=float) - target, 0.0)
    if shift_in is not None:
        room = np.where(np.asarray(shift_in, dtype=bool), room, 0.0)
    lost = target * (1.0 - reachable)
    gain = (
        np.maximum(reachable[None, :] - reachable[:, None], 0.0) * (target * (room > 0))[None, :]
    )  # row host -> column host
    rows = gain.sum(axis=1)
    has_dest = rows > 0
    share = np.where(has_dest[:, None], gain / np.where(has_dest, rows, 1.0)[:, None], 0.0)
    flows = (shift_share * lost * has_dest)[:, None] * share
    arriving = flows.sum(axis=0)
    scale = np.where(arriving > room, room / np.where(arriving > 0, arriving, 1.0), 1.0)
    flows = flows * scale[None, :]
    return counts, flows.sum(axis=0) - flows.sum(axis=1)


def initial_cohort(workers: int, contract_months: int, k: int) -> int:
    """Of a host's ``workers`` at month 0, those posted ``k`` months before (``months_abroad`` k): the workforce
    spread evenly over the contract so completions are steady, the remainder one each to the cohorts nearest the
    end of their contract (both engines post them; the state's books schedule their contract ends)."""
    return workers // contract_months + (1 if (contract_months - 1 - k) < workers % contract_months else 0)


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
    """Monthly chance a permit holder still due is sent home under a mandate: a steady pace.

    The state sends home the same number each month, so that a share ``compliance`` of the permit holders
    the mandate found has gone by the deadline (other leavings aside): after ``e`` of the ``T`` months,
    ``c / (T - c e)`` of those remaining. The chances telescope, prod_e (T - c (e + 1)) / (T - c e) = 1 - c,
    and at full compliance the chance is 1 / (months left): none are left at the deadline. (Before issue 30 a
    constant hazard, 1 - (1 - c)^(1/T), front-loaded them (at c = 0.95 over 24 months, 82% in the first year; at
    c = 0.999, nearly all in the first months) and jumped to a steady pace at c = 1.)
    """
    c = np.minimum(np.asarray(compliance, dtype=float), 1.0)
    total = max(total_months, 1)
    elapsed = total - min(max(months_left, 1), total)
    return c / (total - c * elapsed)


def monthly_chance(yearly):
    """The monthly chance that gives a yearly chance ``yearly`` over twelve months."""
    return 1.0 - (1.0 - min(float(yearly), 1.0)) ** (1.0 / 12.0)


@rule
def repatriation_fate(
    legal,
    u,
    u_relabel,
    u_route,
    permit_hazard,
    detect_student,
    detect_tourist,
    detect_other,
    evasion,
    cut_student,
    cut_tourist,
):
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


def approvals(uncovered: np.ndarray, room: int) -> np.ndarray:
    """Candidates the state approves for each host this month: every post not yet covered by a candidate
    (``uncovered``), unless that passes ``room`` (whole candidates it can still approve, all hosts together); then
    each host gets its share of the room, rounded down, and what the rounding leaves goes one each to the hosts
    still short, in host order."""
    uncovered = np.maximum(np.asarray(uncovered, dtype=np.int64), 0)
    total = int(uncovered.sum())
    if total <= room:
        return uncovered
    given = (uncovered * room) // total
    left = room - int(given.sum())
    for h in range(len(given)):
        if left <= 0:
            break
        if given[h] < uncovered[h]:
            given[h] += 1
            left -= 1
    return given


def stranded_release(stranded_return: float, stranded: np.ndarray, arrivals: np.ndarray) -> np.ndarray:
    """Phase 2, per host: the chance this month that a worker kept past his contract by a closed border goes home
    (phase 11 reads it, `contract_ends`). He waits for his replacement: the month's arrivals at his host
    (``arrivals``) replace the ``stranded`` first, at most ``stranded_return`` of them a month, so the expected
    number going home is min(stranded_return x stranded, arrivals). With nobody stranded, ``stranded_return``."""
    stranded = np.asarray(stranded, dtype=float)
    arrivals = np.asarray(arrivals, dtype=float)
    share = np.minimum(arrivals, stranded) / np.maximum(stranded, 1.0)
    return np.where(stranded > 0, np.minimum(stranded_return, share), stranded_return)
