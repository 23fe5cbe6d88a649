"""The recruitment pipeline (issue 28, item 1; `recruitment.*`, `StateBooks.plan_deployments`), by value.

With the pipeline on, a post that opens is filled only when a candidate is ready: the state approves candidates
for the posts no candidate covers yet, at most ``intake_share`` of the initial workforce a year (the room accrues
month by month), pays ``screening_cost`` for each, and posts them ``selection_months`` later, never across a
closed border (they wait). Off, a post is filled the month it opens, free, as before.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small_params
from sim import run
from sim.core import rules
from sim.core.sectors import expand
from sim.core.state_books import StateBooks
from test_state_books_by_value import _books_params, _levers


def _books(**recruitment):
    return StateBooks.for_params(_books_params(recruitment={"pipeline": True, **recruitment}))


def test_approvals_share_the_room_and_give_what_rounding_leaves_in_host_order():
    assert rules.approvals(np.array([3, 0, 5]), 100).tolist() == [3, 0, 5]  # room for all
    assert rules.approvals(np.array([3, -2, 5]), 100).tolist() == [3, 0, 5]  # nothing for a host over its target
    # room 5 of 8: floor(3 x 5 / 8) = 1, floor(5 x 5 / 8) = 3; one left, to the first host still short
    assert rules.approvals(np.array([3, 0, 5]), 5).tolist() == [2, 0, 3]
    assert rules.approvals(np.array([1, 1, 1]), 2).tolist() == [1, 1, 0]
    # what the rounding leaves skips a host with nothing uncovered (it would get a candidate it has no post for)
    assert rules.approvals(np.array([0, 3, 3]), 5).tolist() == [0, 3, 2]
    assert rules.approvals(np.array([4, 4]), 0).tolist() == [0, 0]


def test_a_post_is_filled_selection_months_after_its_candidate_is_approved():
    books = _books(selection_months=2, intake_share=10.0, screening_cost=300.0)
    lv = _levers()
    # 40 and 10 posts, 30 and 10 filled: host a has 10 open posts (evasion_flow 0.5 counts every worker: no sanction)
    posted = [books.plan_deployments(np.array([30.0, 10.0]), lv).tolist() for _ in range(3)]
    assert posted == [[0, 0], [0, 0], [10, 0]]  # approved in month 0, posted in month 2
    # month 0 approved 10 (cost 10 x $300); months 1 and 2 none (the open posts are covered by those in screening)
    books = _books(selection_months=2, intake_share=10.0, screening_cost=300.0)
    seen = []
    for _ in range(3):
        books.plan_deployments(np.array([30.0, 10.0]), lv)
        seen.append(
            (
                books.month_books["approved"].tolist(),
                books.month_books["waiting"].tolist(),
                books.month_books["recruitment"].tolist(),
            )
        )
    assert seen == [([10, 0], [10, 0], [3000.0, 0.0]), ([0, 0], [10, 0], [0.0, 0.0]), ([0, 0], [0, 0], [0.0, 0.0])]


def test_the_intake_limits_approvals_and_its_room_accrues_month_by_month():
    # 50 initial workers, intake_share 0.6 a year: 2.5 candidates a month; whole candidates, the rest carried
    books = _books(selection_months=0, intake_share=0.6, screening_cost=0.0)
    lv = _levers()
    posted = [books.plan_deployments(np.array([30.0, 10.0]), lv).tolist() for _ in range(4)]
    # room 2.5 -> 2 (0.5 left), 3.0 -> 3, 2.5 -> 2, 3.0 -> 3: the ten open posts of host a, filled over four months
    # (the workforce given is the same each month: the posts stay open, so the approvals continue)
    assert posted == [[2, 0], [3, 0], [2, 0], [3, 0]]


def test_across_a_closed_border_the_approved_wait_and_nobody_more_is_approved():
    books = _books(selection_months=1, intake_share=10.0, screening_cost=0.0)
    assert books.plan_deployments(np.array([30.0, 7.0]), _levers()).tolist() == [0, 0]
    assert books.month_books["approved"].tolist() == [10, 3]  # ready next month
    lv = _levers(closed=[True, False])
    assert books.plan_deployments(np.array([30.0, 7.0]), lv).tolist() == [0, 3]
    assert books.month_books["waiting"].tolist() == [10, 0]  # a's approved wait across its closed border
    assert books.plan_deployments(np.array([25.0, 10.0]), lv).tolist() == [0, 0]
    # a's 5 more open posts get no candidate while its border is closed
    assert books.month_books["approved"].tolist() == [0, 0] and books.month_books["waiting"].tolist() == [10, 0]
    lv = _levers()
    assert books.plan_deployments(np.array([30.0, 10.0]), lv).tolist() == [10, 0]  # the border open: they go
    assert books.month_books["approved"].tolist() == [0, 0]  # already approved: no second approval, no cost


def test_recruiting_costs_count_against_the_revenue_the_state_sees():
    books = _books(selection_months=0, intake_share=10.0, screening_cost=300.0)
    lv = _levers()
    books.plan_deployments(np.array([30.0, 10.0]), lv)  # 10 approved: $3,000
    books.send_money_home(np.array([50_000.0, 20_000.0]), np.zeros(2), lv)
    delivered = books.month_books["delivered"]
    assert books.delivered_last == pytest.approx(float(delivered.sum()) - 3000.0, rel=1e-12)


def test_off_a_post_is_filled_the_month_it_opens_and_free():
    books = StateBooks.for_params(_books_params())
    posted = books.plan_deployments(np.array([30.0, 10.0]), _levers())
    assert posted.tolist() == [10, 0]
    assert books.month_books["approved"].tolist() == [10, 0] and books.month_books["waiting"].tolist() == [0, 0]
    assert books.month_books["recruitment"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("lag, ahead", [(0, False), (3, False), (3, True)])
def test_in_a_run_each_posting_was_approved_selection_months_before(lag, ahead):
    """Per host and month: the candidates waiting are those approved (and, screening ahead, those screened before
    the run) and not yet posted; nobody is posted before his candidacy is lag months old; without screening ahead,
    a post left open stays open until a candidate is ready (no one is posted in the first lag months after the
    first vacancies)."""
    p = small_params(
        scale=0.3,
        months=30,
        recruitment__pipeline=True,
        recruitment__selection_months=lag,
        recruitment__intake_share=0.2,
        recruitment__screening_cost=200.0,
        recruitment__anticipate=ahead,
        minder__threat_prob=0.5,
    )
    r = run(p, seed=4)
    cells = expand(p)  # the engines' hosts: a host group's work in one sector, each with its own books
    before = StateBooks.for_params(cells).screening  # row j: screened before the run, ready in month j
    assert (before.sum() > 0) == ahead
    for (group, sector), g in r.sectors.groupby(["host", "sector"]):
        host = f"{group}:{sector}"
        k = list(cells.hosts).index(host)
        approved, deployed, waiting, again = (
            g[c].to_numpy() for c in ("candidates_approved", "deployed", "candidates_waiting", "veterans_posted")
        )
        posted = deployed - again  # new candidates (veterans need no approval)
        assert (before[:, k].sum() + np.cumsum(approved) - np.cumsum(posted) == waiting).all(), host
        # what is posted by month t was approved by month t - lag (or screened before the run, ready by month t)
        ready_by = np.concatenate([np.zeros(lag, dtype=np.int64), np.cumsum(approved)[: len(approved) - lag]])
        early = np.cumsum(np.pad(before[:, k], (0, len(approved))))[: len(approved)]
        assert (np.cumsum(posted) <= ready_by + early).all(), host
        assert (g["recruitment_costs"].to_numpy() == approved * 200.0).all(), host
    m = r.monthly
    if not ahead:
        first = int(np.flatnonzero(m["candidates_approved"].to_numpy() > 0)[0])  # the first month with open posts
        assert m["deployed"].iloc[: first + lag].sum() == 0  # no replacement before a candidate is ready
        if lag:
            assert m["deployed"].iloc[first + lag] > 0
    else:  # the contracts that end in month 0 are filled in month 1 by candidates screened before the run
        assert m["deployed"].iloc[1] - m["veterans_posted"].iloc[1] > 0
    # the intake: at most 0.2 x the initial workforce a year, accrued monthly
    initial = r.manifest["workers_initial"]
    months = np.arange(1, len(m) + 1)
    assert (np.cumsum(m["candidates_approved"].to_numpy()) <= 0.2 * initial / 12 * months + 1e-9).all()


def test_veterans_rest_then_go_first_to_the_host_they_served():
    # an intake too small to approve anyone for months (0.1 a month), so only veterans can fill the open posts
    books = _books(selection_months=0, intake_share=0.024, rest_months=2, veteran_share=0.5)
    books.count_returns(np.array([5, 2]))  # half of 5 and 2 completers, whole: 2 and 1 (a half carried at a)
    lv = _levers()
    posted = [books.plan_deployments(np.array([30.0, 10.0]), lv).tolist() for _ in range(3)]
    assert posted == [[0, 0], [0, 0], [2, 0]]  # home two months, then back to host a's open posts
    assert books.month_books["veterans"].tolist() == [2, 0] and books.month_books["approved"].tolist() == [0, 0]
    assert books.veterans.tolist() == [0, 1]  # host b has no open post: its veteran waits
    assert books.month_books["recruitment"].tolist() == [0.0, 0.0]  # no screening for a veteran
    books.count_returns(np.array([1, 0]))  # the carried half and this half make one more
    assert books.resting[-1].tolist() == [1, 0]
    off = StateBooks.for_params(_books_params())
    off.count_returns(np.array([5, 2]))  # the pipeline off: nobody is counted
    assert off.resting.sum() == 0


def test_a_month_of_unused_screening_is_lost_not_banked():
    # 2.5 candidates a month; three quiet months (every post filled), then ten posts open at once
    books = _books(selection_months=0, intake_share=0.6, screening_cost=0.0)
    lv = _levers()
    for _ in range(3):
        assert books.plan_deployments(np.array([40.0, 10.0]), lv).tolist() == [0, 0]
    # this month's 2.5 and at most a part of one carried: 3, not the 10 that three quiet months would have banked
    assert books.plan_deployments(np.array([30.0, 10.0]), lv).tolist() == [3, 0]


def _month(books, active, month, **levers):
    lv = _levers(**levers)
    lv.month = month
    return books.plan_deployments(np.array(active, dtype=float), lv).tolist()


def test_screening_ahead_fills_a_contract_end_on_time_but_not_a_worker_sent_home():
    """With ``anticipate`` the state screens for the contracts it knows will end within the selection time (the
    initial workforce spread over a 4-month contract: 10 of host a's 40 and 2 or 3 of host b's 10 a month), so a
    post a completed contract opens is filled the month it opens; a post opened by a worker sent home waits
    selection_months for its candidate."""
    kw = dict(selection_months=2, intake_share=10.0, veteran_share=0.0, rest_months=0, screening_cost=0.0)
    books = StateBooks.for_params(
        _books_params(recruitment={"pipeline": True, "anticipate": True, **kw}, contract_months=4)
    )
    assert books.ends[:4].tolist() == [[10, 3], [10, 3], [10, 2], [10, 2]]  # due home in 0, 1, 2, 3 months
    # candidates screened before month 0 for the ends of months 0 and 1 (ready in months 1 and 2)
    assert books.screening.tolist() == [[0, 0], [10, 3], [10, 3]]
    assert _month(books, [40, 10], 0) == [0, 0]
    # month 1: month 0's ten and three went home (ends due now: 10 and 3), and one more of host a was sent home
    assert _month(books, [29, 7], 1) == [10, 3]  # the completed contracts' posts: filled the month they open
    assert books.month_books["approved"].tolist() == [11, 2]  # month 2's ends (10, 2), and the sent-home post
    # month 2: 39 and 10 after the postings, less month 1's ends (10, 3); the sent-home post is still open
    assert _month(books, [29, 7], 2) == [10, 3]
    # month 3: month 2's ends (10, 2) and, two months after its approval, the sent-home worker's replacement
    assert _month(books, [29, 8], 3) == [11, 2]
    # without screening ahead the same ends wait selection_months
    reactive = StateBooks.for_params(_books_params(recruitment={"pipeline": True, **kw}, contract_months=4))
    assert reactive.screening.sum() == 0
    assert [_month(reactive, a, m) for m, a in enumerate([[40, 10], [30, 7], [30, 7], [30, 7]])] == [
        [0, 0],
        [0, 0],
        [0, 0],
        [10, 3],
    ]


def test_the_tightening_lengthens_selection_and_multiplies_entry_bribes_from_its_month():
    kw = dict(selection_months=1, selection_months_tightened=3, bribe_factor_tightened=2.5, intake_share=10.0)
    books = _books(tightened_from="2016-03", **kw)  # month 2 of a run from 2016-01
    assert books.screening.shape[0] == 4  # room for the longest selection
    seen = []
    for m in range(7):  # ten posts of host a open all along (each filled is replaced by another opening)
        seen.append((_month(books, [30, 10], m), books.bribe_factor, books.month_books["approved"].tolist()))
    # month 0: ten approved, posted a month later; month 2 (tightened): ten more approved, posted three months later
    assert seen == [
        ([0, 0], 1.0, [10, 0]),
        ([10, 0], 1.0, [0, 0]),
        ([0, 0], 2.5, [10, 0]),
        ([0, 0], 2.5, [0, 0]),
        ([0, 0], 2.5, [0, 0]),
        ([10, 0], 2.5, [0, 0]),
        ([0, 0], 2.5, [10, 0]),
    ]
    never = _books(tightened_from="never", **kw)
    assert [(_month(never, [40, 10], m), never.bribe_factor) for m in range(4)][-1] == ([0, 0], 1.0)


def test_the_threat_is_carried_out_at_full_chance_only_while_a_replacement_waits():
    """ODD 7.7: per host, ``enforce`` is 1 while a candidate or a rested veteran waits after the month's postings
    (or with the pipeline off), else minder.send_home_unreplaced (0.5 here)."""
    books = _books(selection_months=2, intake_share=10.0, screening_cost=0.0, veteran_share=0.0)
    assert books.enforce.tolist() == [1.0, 1.0]  # before any month: nothing decided yet
    lv = _levers()
    # months 0 and 1: host a's 10 open posts are screened for, nobody is ready: a minder who sends a worker home
    # leaves his post empty
    for _ in range(2):
        books.plan_deployments(np.array([30.0, 10.0]), lv)
        assert books.enforce.tolist() == [0.5, 0.5]
    # month 2: the 10 are ready and posted to the 10 open posts (none left); then one more candidate than posts
    books.plan_deployments(np.array([30.0, 10.0]), lv)
    assert books.ready.tolist() == [0, 0] and books.enforce.tolist() == [0.5, 0.5]
    books.ready[0] = 3  # three ready beyond the posts: host a's minders send home at full chance
    books.plan_deployments(np.array([40.0, 10.0]), lv)
    assert books.enforce.tolist() == [1.0, 0.5]
    books.veterans[1] = 1  # a rested veteran waits for host b
    books.plan_deployments(np.array([40.0, 10.0]), lv)
    assert books.enforce.tolist() == [1.0, 1.0]
    off = StateBooks.for_params(_books_params())
    off.plan_deployments(np.array([0.0, 0.0]), lv)
    assert off.enforce.tolist() == [1.0, 1.0]  # a post is filled the month it opens


def test_in_a_run_minders_send_home_less_when_nobody_waits_and_the_same_with_the_pipeline_off():
    """Workers short of the plan and without the bribe: with the pipeline on (no screening ahead, so a post opened
    waits), send_home_unreplaced = 0 keeps most of them; with the pipeline off it changes nothing, to the bit."""
    kw = {"scale": 1.0, "months": 24, "minder.threat_prob": 0.9, "minder.threat_bribe": 5000.0, "hosts.china.plan": 900}
    sent = {}
    for chance in (1.0, 0.0):
        r = run(small_params(**kw, recruitment__anticipate=False, minder__send_home_unreplaced=chance), seed=3)
        sent[chance] = r.monthly["sent_home"].sum()
    assert sent[1.0] > 100 and sent[0.0] < 0.5 * sent[1.0]
    off = [
        run(small_params(**kw, recruitment__pipeline=False, minder__send_home_unreplaced=c), seed=3).monthly
        for c in (1.0, 0.0)
    ]
    assert off[0]["sent_home"].sum() > 100
    assert off[0].equals(off[1])


def test_in_a_run_entry_bribes_of_those_posted_after_the_tightening_are_multiplied():
    p = small_params(
        scale=0.2,
        months=14,
        recruitment__pipeline=True,
        recruitment__selection_months=1,
        recruitment__tightened_from="2016-07",
        recruitment__selection_months_tightened=2,
        recruitment__bribe_factor_tightened=3.0,
    )
    r = run(p, seed=2)
    w = r.workers
    posted = w[w["month_deployed"] >= 0]
    drawn = rules.new_worker_attributes(2, posted["worker_id"].to_numpy(), p, 1.0, 0.0)["entry_bribe"]
    factor = np.where(posted["month_deployed"].to_numpy() >= 6, 3.0, 1.0)
    assert (posted["month_deployed"] >= 6).any() and (posted["month_deployed"] < 6).any()
    # the same draw, times the factor of the month he was posted (rounded to the cent, as drawn)
    raw = rules.new_worker_attributes(2, posted["worker_id"].to_numpy(), p, 1.0, 0.0, bribe_factor=1e6)["entry_bribe"]
    assert np.allclose(posted["entry_bribe"].to_numpy(), np.round(raw / 1e6 * factor, 2), atol=0.011)
    assert not np.allclose(posted["entry_bribe"].to_numpy(), drawn)


def test_the_tables_count_the_target_workforce_and_the_posts_left_empty_follow():
    """workers_target is the state's target after each month's decisions; with the pipeline on, a worker sent home
    leaves his post empty (workers_target - workers_active) until a candidate is ready."""
    p = small_params(scale=0.3, months=24, recruitment__pipeline=True, minder__threat_prob=0.5)
    r = run(p, seed=4)
    m, h = r.monthly, r.hosts
    assert np.allclose(m["workers_target"], h.groupby("month")["workers_target"].sum().to_numpy())
    initial = r.manifest["workers_initial"]
    assert m["workers_target"].iloc[0] >= initial  # the targets only grow without sanctions (revenue short)
    empty = m["workers_target"] - m["workers_active"]
    assert (empty > 0).all()  # exits after the month's postings leave posts empty at every month's end
    off = run(small_params(scale=0.3, months=24, recruitment__pipeline=False, minder__threat_prob=0.5), seed=4).monthly
    # filled at once the month they open, the posts left empty at the month's end are only that month's exits
    exits = ["completed", "sent_home", "repatriated", "escaped", "caught", "deaths"]
    assert ((off["workers_target"] - off["workers_active"]).round(6) <= off[exits].sum(axis=1) + 1).all()
    assert empty.mean() > (off["workers_target"] - off["workers_active"]).mean()
