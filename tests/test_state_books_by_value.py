"""The state's books by value: plans, targets, deployments, the shortfall it counts, money sent home.

Each test feeds the code uneven, non-default inputs and compares it with values worked out by hand (the literal
numbers, with the sum written out beside them) or from the equation written out again in the test, never copied
from a run of the code. They reach the code directly (no simulation), so the file runs in a few seconds with or
without the JIT. Many were first written against the survivors of mutation testing (benchmarks/mutation.py).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.core.params import Calendar
from sim.core.policies import Levers
from sim.core.state_books import StateBooks


def close(expected, rel=1e-12, abs=1e-12):
    if isinstance(expected, list) and expected and isinstance(expected[0], (list, np.ndarray)):
        expected = np.array(expected, dtype=float)  # approx compares nested values as an array
    return pytest.approx(expected, rel=rel, abs=abs)


# ---------------------------------------------------------------- sim/core/state_books.py: the state's books


def _books_params(recruitment=None, contract_months=36, **state):
    hosts = {
        "a": SimpleNamespace(
            plan=200, workers=40, route_student=0.5, route_tourist=0.3, route_other=0.2, base_interdiction=0.02
        ),
        "b": SimpleNamespace(
            plan=450, workers=10, route_student=0.39, route_tourist=0.2, route_other=0.0, base_interdiction=0.1
        ),
    }
    s = dict(
        host_growth_cap=1.5,
        revenue_target_share=0.8,
        plan_raise=0.05,
        plan_cap=1.3,
        plan_reach=0.6,
        plan_cut=0.1,
        plan_floor=0.7,
        workforce_growth=0.02,
        target_growth=0.0,
        shift_share=0.25,
        evasion_flow=0.5,
    )
    s.update(state)
    channels = SimpleNamespace(
        bank=5.0,
        courier=2.0,
        mule=1.0,
        bank_fee=0.02,
        courier_fee=0.05,
        mule_fee=0.01,
        mule_capacity=150.0,
        adapt=2.0,
        min_weight=0.05,
    )
    r = dict(
        pipeline=False,
        selection_months=5,
        intake_share=0.28,
        screening_cost=300.0,
        veteran_share=0.5,
        rest_months=6,
        anticipate=False,
        tightened_from="never",
        selection_months_tightened=10,
        bribe_factor_tightened=2.5,
    )
    r.update(recruitment or {})
    return SimpleNamespace(
        hosts=hosts,
        state=SimpleNamespace(**s),
        channels=channels,
        recruitment=SimpleNamespace(**r),
        population=SimpleNamespace(contract_months=contract_months, stranded_return=0.15),
        minder=SimpleNamespace(send_home_unreplaced=0.5),
        calendar=Calendar(start="2016-01"),
    )


def test_books_open_with_the_plans_targets_and_channel_weights():
    books = StateBooks.for_params(_books_params())
    assert books.plans_initial.tolist() == [200.0, 450.0] and books.plans.tolist() == [200.0, 450.0]
    assert books.plans is not books.plans_initial
    assert books.target_workers.tolist() == [40.0, 10.0]
    assert books.target_cap.tolist() == close([60.0, 15.0])  # 1.5 x the initial workers
    assert books.revenue_target == close(0.8 * (200 * 40 + 450 * 10))  # 10,000
    assert books.channel_weights.tolist() == close([[5 / 8, 2 / 8, 1 / 8]] * 2)
    assert books.routes.tolist() == [[0.5, 0.3, 0.2], [0.39, 0.2, 0.0]]
    # the books hold floats, also from integer parameters (workers are counted in whole numbers)
    assert books.plans_initial.dtype == books.target_workers.dtype == books.routes.dtype == np.float64
    assert books.legal_thresholds.tolist() == [[1.0] * 3] * 2  # permits until a measure bites
    # relabelled: student below the first share, tourist below student + tourist, exactly 1 where there is no
    # "other" (0.39/0.59 + 0.2/0.59 rounds to 0.9999999999999999: a draw above it would be "other")
    assert books.relabel_thresholds.tolist() == close([[0.5, 0.8], [0.39 / 0.59, 1.0]])
    assert books.relabel_thresholds[1, 1] == 1.0
    assert books.delivered_last is None and books.loss_rate_last is None
    assert {k: v.tolist() for k, v in books.accounts.items()} == {
        k: [0.0, 0.0] for k in ("taken", "delivered", "interdicted", "costs")
    }


def test_books_set_plans_raise_cut_and_grow_the_workforce():
    books = StateBooks.for_params(_books_params())
    books.set_plans([0.9, 0.9])  # no revenue seen yet: nothing changes
    assert books.plans.tolist() == [200.0, 450.0] and books.target_workers.tolist() == [40.0, 10.0]
    books.delivered_last = 9000.0  # short of the target 10,000
    books.set_plans([0.7, 0.2])
    # a: 0.7 of its workers short (> reach 0.6): cut to max(200 x 0.9, min(0.7 x 200, 200)) = 180
    # b: raised to min(450 x 1.05, 1.3 x 450) = 472.5
    assert books.plans.tolist() == close([180.0, 472.5])
    # targets grow by 2% under the cap (1.5 x initial): 40.8 and 10.2
    assert books.target_workers.tolist() == close([40.8, 10.2])
    books.delivered_last = 10000.0  # at the target: no raise, no growth; the cut still applies
    books.set_plans([0.7, 0.2])
    assert books.plans.tolist() == close([162.0, 472.5]) and books.target_workers.tolist() == close([40.8, 10.2])
    books.delivered_last = 9999.0
    books.set_plans()  # no short shares given: nobody short, every plan raised
    assert books.plans.tolist() == close([162.0 * 1.05, 472.5 * 1.05])
    assert books.target_workers.tolist() == close([40.8 * 1.02, 10.2 * 1.02])


def test_books_count_the_share_short_of_the_plan_per_host():
    books = StateBooks.for_params(_books_params())
    assert books.short_share.tolist() == [0.0, 0.0]  # read by the state before the first month
    books.count_short(np.array([2.0, 3.0]), np.array([5, 4]))  # the month's sums of `short`, and who worked
    assert books.short_share.tolist() == close([2 / 5, 3 / 4])
    books.count_short(np.array([0.0, 3.0]), np.array([0, 4]))  # nobody worked at the first host: no share
    assert books.short_share.tolist() == close([0.0, 3 / 4])
    books.delivered_last = 10000.0  # at the target: only the cut, and only where the share passes the reach
    books.count_short(np.array([7.0, 1.0]), np.array([10, 10]))  # 0.7 > 0.6 at a; 0.1 at b
    books.set_plans()  # reads the counted shares
    assert books.plans.tolist() == close([180.0, 450.0])


def test_books_workforce_growth_stops_at_the_cap_and_at_zero_growth():
    books = StateBooks.for_params(_books_params(workforce_growth=0.4, host_growth_cap=1.3))
    books.delivered_last = 1.0
    books.set_plans()
    assert books.target_workers.tolist() == close([52.0, 13.0])  # 1.4 x would pass the cap 1.3 x
    books = StateBooks.for_params(_books_params(workforce_growth=0.0))
    books.delivered_last = 1.0
    books.set_plans()
    assert books.target_workers.tolist() == [40.0, 10.0]


def test_books_target_growth_grows_the_targets_every_month_whatever_the_revenue_up_to_the_cap():
    # revenue far above target (no shortfall growth): 12.5% a year, a twelfth root a month, up to 1.6 x
    books = StateBooks.for_params(_books_params(target_growth=0.125, host_growth_cap=1.6))
    books.delivered_last = 1e12
    books.set_plans()
    assert books.target_workers.tolist() == close([40.0 * 1.125 ** (1 / 12), 10.0 * 1.125 ** (1 / 12)])
    for _ in range(11):
        books.set_plans()
    assert books.target_workers.tolist() == close([45.0, 11.25])  # a year: 12.5%
    for _ in range(12 * 5):
        books.set_plans()
    assert books.target_workers.tolist() == close([64.0, 16.0])  # stopped at the cap, 1.6 x
    still = StateBooks.for_params(_books_params())  # target_growth 0: nothing moves
    still.delivered_last = 1e12
    still.set_plans()
    assert still.target_workers.tolist() == [40.0, 10.0]


def _levers(**kw):
    lv = Levers(month=5, n_hosts=2, hosts=[])
    for k, v in kw.items():
        setattr(lv, k, np.asarray(v))
    return lv


def test_books_plan_deployments_by_hand():
    books = StateBooks.for_params(_books_params())
    lv = _levers(ban=[0.5, 0.0], evasion=[0.2, 0.0], repatriation=[0.2, 0.0], repatriation_evasion=[0.5, 0.0])
    counts = books.plan_deployments(np.array([20.0, 3.0]), lv)
    # reachable a = (1 - 0.5 x 0.8)(1 - 0.2 x 0.5) = 0.54, b = 1; flow 0.5 counts a's 20 as 20 x (1 - 0.5 x 0.46)
    # a: floor(40 x 0.54 - 15.4) = floor(6.2) = 6; b: 10 - 3 = 7
    assert counts.tolist() == [6, 7]
    # a lost 40 x 0.46 = 18.4 posts; a quarter of them, 4.6, move to b (room 15 - 10 = 5)
    assert books.target_workers.tolist() == close([40 - 4.6, 10 + 4.6])
    # the books count the targets as they stand after the month's decisions (the tables' workers_target), in whole
    # posts rounded down as postings are: 35.4 and 14.6 posts are 35 and 14
    assert books.month_books["target"].tolist() == [35.0, 14.0]
    permit = (0.5 * 0.8) / 0.54
    student = permit + (1 - permit) * 0.5
    assert books.legal_thresholds.tolist() == close([[permit, student, student + (1 - permit) * 0.3], [1.0, 1.0, 1.0]])
    assert books.plan_deployments(np.array([20.0, 3.0]), lv).dtype.kind == "i"  # whole workers
    # nobody is posted across a closed border (the targets still move)
    books = StateBooks.for_params(_books_params())
    lv.closed = np.array([False, True])
    assert books.plan_deployments(np.array([20.0, 3.0]), lv).tolist() == [6, 0]


def test_books_send_money_home_and_adapt_the_channels():
    p = _books_params()
    books = StateBooks.for_params(p)
    books.pick_channels()  # no losses seen yet: unchanged
    assert books.channel_weights.tolist() == close([[5 / 8, 2 / 8, 1 / 8]] * 2)
    lv = _levers(bank_block=[0.3, 0.1], courier_seizure=[0.2, 0.0], mule_seizure=[0.05, 0.5], closed=[False, True])
    take, returning = np.array([1000.0, 400.0]), np.array([2.0, 0.0])
    moved = books.send_money_home(take, returning, lv)
    assert list(moved) == [
        "delivered",
        "interdicted",
        "costs",
        "recruitment",
        "approved",
        "waiting",
        "veterans",
        "target",
    ]  # the books
    delivered, interdicted, costs = moved["delivered"], moved["interdicted"], moved["costs"]
    # a: mule min(125, 2 x 150) = 125; bank 875 x 5/7 = 625; courier 250; losses 0.3, 1 - 0.98 x 0.8 = 0.216, 0.05
    #    seized 187.5 + 54 + 6.25 = 247.75; fees 437.5 x 0.02 + 196 x 0.05 + 118.75 x 0.01 = 8.75 + 9.8 + 1.1875
    # b: closed, so the courier's weight goes by bank; no one returns, no mule: bank 400, seized 40, fees 7.2
    assert interdicted.tolist() == close([247.75, 40.0])
    assert costs.tolist() == close([19.7375, 7.2])
    assert delivered.tolist() == close([1000 - 247.75 - 19.7375, 400 - 40 - 7.2])
    assert books.delivered_last == close(732.5125 + 352.8)
    # the loss rate the state sees: seized, plus the fees on what is not
    assert books.loss_rate_last.tolist() == close(
        [
            [0.3 + 0.7 * 0.02, 0.216 + 0.784 * 0.05, 0.05 + 0.95 * 0.01],
            [0.1 + 0.9 * 0.02, 0.1 + 0.9 * 0.05, 0.5 + 0.5 * 0.01],
        ]
    )
    books.send_money_home(take, returning, lv)  # the accounts add up month after month
    assert books.accounts["taken"].tolist() == [2000.0, 800.0]
    assert books.accounts["delivered"].tolist() == close([2 * 732.5125, 2 * 352.8])
    assert books.accounts["interdicted"].tolist() == close([495.5, 80.0])
    assert books.accounts["costs"].tolist() == close([2 * 19.7375, 14.4])
    # next month's weights: w exp(-2 x loss), normalised, floored at 0.05, normalised again
    loss = books.loss_rate_last
    w = np.array([5 / 8, 2 / 8, 1 / 8]) * np.exp(-2.0 * loss)
    w = w / w.sum(axis=1, keepdims=True)
    w = np.maximum(w, 0.05)
    books.pick_channels()
    assert books.channel_weights.tolist() == close((w / w.sum(axis=1, keepdims=True)).tolist())
    assert books.channel_weights[1, 2] > books.channel_weights[1, 1] * 0 and w[1, 2] < 0.1  # b's mule weight falls


def test_books_open_in_a_steady_state_when_the_state_screens_ahead():
    """With the pipeline on and ``anticipate``, the books open as if the run had gone on before month 0 (contracts
    of 4 months, selection 2 months, veterans rest 3 months, half of the completers go again). Host a: 40 workers
    posted 10 a month, so 10 contracts end in each of the next 4 months; host b: 10 workers, 2 a month and the
    remainder one each to the cohorts nearest their end (3, 3, 2, 2). The veterans of the last 3 months' completions
    rest at home, one month's each due back in 1, 2 and 3 months: a, half of 10 = 5 each; b, half of 2.5 = 1.25 a
    month, whole workers with the fraction carried (1, 1, 1, and 0.75 carried). The state has screened ahead for
    the contract ends of the next 2 months less the veterans due back by then: a, 10 - 5 = 5 ready in 1 month and
    in 2; b, 3 - 1 = 2 each. Broken on purpose (the cohorts' remainder to the newest, the veterans left in the last
    row, the veterans not subtracted): fails."""
    p = _books_params(
        {"pipeline": True, "anticipate": True, "selection_months": 2, "rest_months": 3, "veteran_share": 0.5},
        contract_months=4,
    )
    books = StateBooks.for_params(p)
    assert books.ends.T.tolist() == [[10, 10, 10, 10, 0, 0, 0], [3, 3, 2, 2, 0, 0, 0]]  # rows: months ahead
    assert books.resting.T.tolist() == [[0, 5, 5, 5], [0, 1, 1, 1]]
    assert books.veteran_carry.tolist() == close([0.0, 0.75])
    assert books.screening.T.tolist() == [[0, 5, 5], [0, 2, 2]]
    assert books.ready.tolist() == [0, 0] and books.veterans.tolist() == [0, 0]
    off = StateBooks.for_params(_books_params({"pipeline": True, "anticipate": False}, contract_months=4))
    assert off.ends.shape[0] == 1 and not off.ends.any() and not off.resting.any() and not off.screening.any()


def test_books_a_month_of_the_pipeline_screening_ahead_by_hand():
    """Two months from the steady state above (no measure in force; 10 of a's 40 and 3 of b's 10 posts open each
    month; 0.28 x 50 / 12 = 1.17 candidates a month may be approved). Month 0: no veteran is back yet and nobody is
    ready, so nobody is posted; the posts not covered (open now plus the contract ends of the next 2 months, less
    those screened and the veterans due back: a 10 + 20 - 10 - 10 = 10, b 3 + 6 - 4 - 2 = 3) pass the intake, so
    its one whole candidate goes to the first host short (a). Month 1: the veterans due back (a 5, b 1) go first;
    the candidates screened ahead are ready (a 5, b 2) and fill the rest; those posted are due home in 4 months
    and the schedule of contract ends moves a month. Broken on purpose (veterans not first, the ends not
    scheduled or not moved, the candidates ready a month late): fails."""
    p = _books_params(
        {"pipeline": True, "anticipate": True, "selection_months": 2, "rest_months": 3, "veteran_share": 0.5},
        contract_months=4,
    )
    books = StateBooks.for_params(p)
    lv = _levers()
    active = np.array([30.0, 7.0])
    assert books.plan_deployments(active, lv).tolist() == [0, 0]
    assert books.month_books["approved"].tolist() == [1.0, 0.0] and books.month_books["recruitment"].tolist() == [
        300.0,
        0.0,
    ]
    assert books.screening.T.tolist() == [[5, 6, 0], [2, 2, 0]] and books.ready.tolist() == [0, 0]
    assert books.ends.T.tolist() == [[10, 10, 10, 0, 0, 0, 0], [3, 2, 2, 0, 0, 0, 0]]
    assert books.enforce.tolist() == [0.5, 0.5]  # nobody waits to replace a worker sent home
    assert books.plan_deployments(active, lv).tolist() == [10, 3]  # veterans 5 and 1, candidates 5 and 2
    assert books.month_books["veterans"].tolist() == [5.0, 1.0] and books.month_books["approved"].tolist() == [1.0, 0.0]
    assert books.month_books["waiting"].tolist() == [7.0, 2.0]  # ready now plus in screening
    assert books.resting.T.tolist() == [[5, 5, 0, 0], [1, 1, 0, 0]] and books.veterans.tolist() == [0, 0]
    assert books.ends.T.tolist() == [[10, 10, 10, 0, 0, 0, 0], [2, 2, 3, 0, 0, 0, 0]]


def test_the_books_open_with_each_hosts_shift_and_no_bribe_multiple():
    """The opening books take each host's ``shift_in`` (a host may refuse workers shifted from elsewhere; True when
    a host says nothing) and no multiple on entry bribes yet (1: the tightening raises it later). Mutation testing
    found both unpinned, and changing either moved the README's figures."""
    p = _books_params()
    p.hosts["b"].shift_in = False
    books = StateBooks.for_params(p)
    assert books.shift_in.tolist() == [True, False] and books.shift_in.dtype == bool
    assert books.bribe_factor == 1.0
    assert StateBooks.for_params(_books_params()).shift_in.tolist() == [True, True]


def test_books_two_pipeline_months_with_room_to_approve_by_hand():
    """The steady state above with room to approve every post not covered (an intake of 12 x 50 / 12 = 50 a month)
    and hosts nearly full (active 38 of a's 40, 7 of b's 10: 2 and 3 posts open). Month 0: no veteran is back and
    nobody ready, so nobody is posted; not covered: open now plus the contract ends of the next 2 months (reached
    whole: no measure in force), less those screened and the veterans due back within the lag: a 2 + 20 - 10 - 10
    = 2, b 3 + 6 - 4 - 2 = 3, all approved, ready in 2 months. Month 1: the veterans back (a 5, b 1) go first, 2
    and 1 of them (a keeps 3 waiting); a's posts are then all filled, b's other 2 by its 2 candidates ready;
    nothing is left to approve (a 0 + 20 - 12 - 3 - 10 < 0; b 2 + 5 - 7 - 0 - 2 < 0). Mutation testing found the
    signs of the waiting veterans and of those due back, the posts the veterans took, and the rounding of the
    contract ends ahead unpinned (the intake of 1 above hid them), and each moved the README's figures."""
    p = _books_params(
        {
            "pipeline": True,
            "anticipate": True,
            "selection_months": 2,
            "rest_months": 3,
            "veteran_share": 0.5,
            "intake_share": 12.0,
        },
        contract_months=4,
    )
    books = StateBooks.for_params(p)
    lv, active = _levers(), np.array([38.0, 7.0])
    assert books.plan_deployments(active, lv).tolist() == [0, 0]
    assert books.month_books["approved"].tolist() == [2.0, 3.0]
    assert books.screening.T.tolist() == [[5, 7, 0], [2, 5, 0]]
    assert books.plan_deployments(active, lv).tolist() == [2, 3]
    assert books.month_books["veterans"].tolist() == [2.0, 1.0] and books.month_books["approved"].tolist() == [0.0, 0.0]
    assert books.veterans.tolist() == [3, 0]


def test_books_open_with_nothing_screened_where_veterans_cover_the_ends():
    """With every completer going again (veteran share 1), host a's veterans due back (10 a month) cover its
    contract ends (10 a month), so nothing is screened ahead for it; b's 2.5 a month come back 2, 3, 2 (the
    fraction carried) against ends of 3 and 3: one candidate screened for b, ready in 1 month (3 less 2; then 3 less
    3). Mutation testing found this floor at 0 unpinned (at 1, it moved the README's figures)."""
    p = _books_params(
        {"pipeline": True, "anticipate": True, "selection_months": 2, "rest_months": 3, "veteran_share": 1.0},
        contract_months=4,
    )
    books = StateBooks.for_params(p)
    assert books.resting.T.tolist() == [[0, 10, 10, 10], [0, 2, 3, 2]]
    assert books.screening.T.tolist() == [[0, 0, 0], [0, 1, 0]]


def test_the_stranded_go_home_only_as_replacements_arrive_by_hand():
    """rules.stranded_release: of 40 stranded at a, 3 arrivals let 3/40 = 0.075 a month go (below the 0.15 cap);
    at b, 10 arrivals for 20 stranded would let half go, capped at stranded_return 0.15; at c, nobody stranded:
    the cap (the chance read by nobody, as nobody is past his contract); at d, arrivals but nobody stranded."""
    from sim.core import rules

    got = rules.stranded_release(0.15, np.array([40.0, 20.0, 0.0, 0.0]), np.array([3, 10, 0, 5]))
    assert got.tolist() == close([3 / 40, 0.15, 0.15, 0.15])
    # more arrivals than stranded still send home at most stranded_return of them
    assert rules.stranded_release(0.15, np.array([4.0]), np.array([9])).tolist() == close([0.15])
    # no arrivals, nobody goes (the closure's strandees wait for their replacements)
    assert rules.stranded_release(0.15, np.array([7.0]), np.array([0])).tolist() == [0.0]


def test_books_count_the_stranded_posts_as_open_and_release_them_as_replacements_come():
    """Without the pipeline (posts filled at once) a's 20 active include 12 stranded: the state counts their posts
    as open (a: 40 - (20 - 12) = 32 to post) and each of the 12 goes home with chance min(0.15, 12/12) = 0.15; b has
    3 active, 2 stranded: 10 - (3 - 2) = 9 posted, release min(0.15, 2/2)."""
    books = StateBooks.for_params(_books_params())
    lv = _levers()
    assert books.plan_deployments(np.array([20.0, 3.0]), lv, np.array([12.0, 2.0])).tolist() == [32, 9]
    assert books.release.tolist() == close([0.15, 0.15])
    # none stranded: the targets' gaps (40 - 20, 10 - 3), the release at its cap
    books = StateBooks.for_params(_books_params())
    assert books.plan_deployments(np.array([20.0, 3.0]), lv, np.zeros(2)).tolist() == [20, 7]
    assert books.release.tolist() == close([0.15, 0.15])


def test_books_approve_nobody_for_a_closed_host_and_release_the_stranded_as_the_ready_are_posted():
    """The pipeline with room to approve 50 a month (intake 12 x 50 / 12), b's border closed: b gets no candidate
    (its 3 open posts would otherwise be approved), a gets its 2. A month later b reopens with 5 stranded of its 7
    active: its posts to fill are 10 - (7 - 5) = 8, nobody is ready for it, so none is posted and none of the 5
    may go home (release 0); a's 2 candidates are not ready before month 2 (selection 2 months)."""
    p = _books_params({"pipeline": True, "selection_months": 2, "intake_share": 12.0})
    books = StateBooks.for_params(p)
    lv = _levers()
    lv.closed = np.array([False, True])
    assert books.plan_deployments(np.array([38.0, 7.0]), lv).tolist() == [0, 0]
    assert books.month_books["approved"].tolist() == [2.0, 0.0]
    lv = _levers()
    assert books.plan_deployments(np.array([38.0, 7.0]), lv, np.array([0.0, 5.0])).tolist() == [0, 0]
    assert books.release.tolist() == close([0.15, 0.0])
    # b's 8 posts are approved now (a's 2 are still screening: nothing more for a), ready in 2 months
    assert books.month_books["approved"].tolist() == [0.0, 8.0]
    books.plan_deployments(np.array([38.0, 7.0]), lv, np.array([0.0, 5.0]))  # month 2: a's 2 ready and posted
    posted = books.plan_deployments(np.array([38.0, 7.0]), lv, np.array([0.0, 5.0]))  # month 3: b's 8 ready
    assert posted.tolist() == [0, 8]
    assert books.release.tolist() == close([0.15, 0.15])  # 8 arrivals for 5 stranded: capped at 0.15
