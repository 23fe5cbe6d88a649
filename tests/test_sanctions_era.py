"""The sanctions era's mechanisms (docs/ODD.md 7.2, 7.7, 7.11, 7.12): legal status and evasion, mandates with
time, the border closure, a state that adapts both ways. Rules pinned by values; runs checked for what the
mechanism must do."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import ROOT, small_params
from sim import ParamsError, load_params, run
from sim.core import rules
from sim.core.policies import levers_for_month
from sim.core.rules import plain as rulebook
from sim.core.state_books import StateBooks

ROUTES = np.array([[0.4, 0.4, 0.2]])


# ---------------------------------------------------------------- rules, pinned by values


def test_legal_thresholds_split_postings_between_permits_and_the_evasion_routes():
    # a 0.9 ban, half of it evaded: 0.55 of the market reachable, 0.1 of it on permits
    cut = rules.legal_thresholds(np.array([0.9]), np.array([0.5]), np.array([0.0]), np.array([0.0]), ROUTES)[0]
    permit = 0.1 / 0.55
    assert cut == pytest.approx([permit, permit + (1 - permit) * 0.4, permit + (1 - permit) * 0.8], abs=1e-12)
    # no measure: every posting gets a permit; a full ban and full mandate with evasion: none does
    assert (rules.legal_thresholds(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), ROUTES) == 1.0).all()
    full = rules.legal_thresholds(np.ones(1), np.full(1, 0.5), np.ones(1), np.full(1, 0.5), ROUTES)[0]
    assert full == pytest.approx([0.0, 0.4, 0.8], abs=1e-12)
    # with no "other" route, nobody is drawn into it
    assert (
        rules.legal_thresholds(np.ones(1), np.ones(1), np.zeros(1), np.zeros(1), np.array([[1.0, 1.0, 0.0]]))[0][2]
        == 1.0
    )
    assert rules.reachable_share(0.9, 0.5, 0.8, 0.25) == pytest.approx(0.55 * (1 - 0.8 * 0.75), abs=1e-15)


@pytest.mark.parametrize("build", [rules, rulebook], ids=["compiled", "plain"])
def test_repatriation_fate(build):
    f = build.repatriation_fate
    # a permit holder: sent home (4) below the hazard, relabelled below the evasion (by route), else stays
    assert f(0, 0.1, 0.9, 0.0, 0.2, 0.0, 0.0, 0.0, 0.5, 0.4, 0.8) == 4
    assert f(0, 0.1, 0.5, 0.0, 0.2, 0.0, 0.0, 0.0, 0.5, 0.4, 0.8) == 4  # a draw at the share is not below it
    assert f(0, 0.2, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.5, 0.4, 0.8) == 0  # nor at the hazard
    assert f(0, 0.1, 0.3, 0.2, 0.2, 0.0, 0.0, 0.0, 0.5, 0.4, 0.8) == 1
    assert f(0, 0.1, 0.3, 0.5, 0.2, 0.0, 0.0, 0.0, 0.5, 0.4, 0.8) == 2
    assert f(0, 0.1, 0.3, 0.9, 0.2, 0.0, 0.0, 0.0, 0.5, 0.4, 0.8) == 3
    assert f(0, 0.3, 0.0, 0.0, 0.2, 1.0, 1.0, 1.0, 1.0, 0.4, 0.8) == 0
    # a worker on a visa or another status: sent home when found by his status's chance, never relabelled
    assert f(1, 0.05, 0.0, 0.0, 1.0, 0.1, 0.0, 0.0, 1.0, 0.4, 0.8) == 4
    assert f(1, 0.15, 0.0, 0.0, 1.0, 0.1, 0.9, 0.9, 1.0, 0.4, 0.8) == 1
    assert f(2, 0.15, 0.0, 0.0, 0.0, 0.1, 0.2, 0.0, 1.0, 0.4, 0.8) == 4
    assert f(3, 0.15, 0.0, 0.0, 0.0, 0.9, 0.9, 0.1, 1.0, 0.4, 0.8) == 3


@pytest.mark.parametrize("build", [rules, rulebook], ids=["compiled", "plain"])
def test_contract_ends(build):
    f = build.contract_ends
    assert not f(35, 36, False, 0.0, 1.0)  # not yet
    assert f(36, 36, False, 0.99, 0.0)  # at the end of the contract, for sure
    assert not f(36, 36, True, 0.0, 1.0) and not f(50, 36, True, 0.0, 1.0)  # not across a closed border
    assert f(50, 36, False, 0.1, 0.15) and not f(50, 36, False, 0.2, 0.15)  # stranded: at the return rate


def test_monthly_chance_compounds_to_the_yearly_one():
    for yearly in (0.0, 0.1, 0.4, 0.99):
        assert 1 - (1 - rules.monthly_chance(yearly)) ** 12 == pytest.approx(yearly, abs=1e-12)
    assert rules.monthly_chance(1.0) == 1.0


def test_plans_fall_where_out_of_reach_and_rise_elsewhere():
    plans, initial = np.array([100.0, 100.0, 70.0]), np.array([100.0, 100.0, 100.0])
    # revenue short of target: raise by 2%, except where 60% of workers fell short (> reach 0.5): cut by 10%
    out = rules.next_plans(plans, initial, 1.0, 2.0, 0.02, 1.5, np.array([0.6, 0.4, 0.6]), 0.5, 0.1, 0.6)
    assert out == pytest.approx([90.0, 102.0, 63.0], abs=1e-12)
    # the floor: no cut below floor x initial, and a plan already below the floor is not raised to it
    out = rules.next_plans(
        np.array([61.0, 50.0]), initial[:2], 3.0, 2.0, 0.02, 1.5, np.array([0.9, 0.9]), 0.5, 0.1, 0.6
    )
    assert out == pytest.approx([60.0, 50.0], abs=1e-12)


def test_workforce_targets_grow_while_revenue_is_short():
    p = load_params(overrides={"state.workforce_growth": 0.01})
    books = StateBooks.for_params(p)
    before = books.target_workers.copy()
    books.delivered_last = books.revenue_target / 2
    books.set_plans(np.zeros(len(before)))
    assert books.target_workers == pytest.approx(before * 1.01, rel=1e-12)
    books.delivered_last = books.revenue_target * 2
    books.set_plans(np.zeros(len(before)))
    assert books.target_workers == pytest.approx(before * 1.01, rel=1e-12)  # enough revenue: no growth
    # and never beyond the cap
    books.delivered_last = 0.0
    for _ in range(500):
        books.set_plans(np.zeros(len(before)))
    assert books.target_workers == pytest.approx(books.target_cap, rel=1e-12)


# ---------------------------------------------------------------- schedules


def _history():
    return load_params(ROOT / "params" / "history.toml")


def test_compliance_follows_the_schedule():
    p = _history()
    rep = next(x for x in p.policies if x.kind == "repatriation")
    cal = p.calendar
    assert rep.compliance_at("russia", cal.index("2019-11"), cal) == 0.8
    assert rep.compliance_at("russia", cal.index("2020-01"), cal) == 0.4
    assert rep.compliance_at("russia", cal.index("2024-01"), cal) == 0.4
    # before the deadline permit holders are sent home on the deadline schedule, after it at the enforcement level
    before, after = levers_for_month(p, cal.index("2019-01")), levers_for_month(p, cal.index("2023-09"))
    h = list(p.hosts).index("russia")
    assert before.repatriation_hazard[h] == pytest.approx(float(rules.repatriation_prob(0.8, 24, 11)), rel=1e-12)
    assert after.repatriation_hazard[h] == pytest.approx(0.4 * rules.monthly_chance(0.3), rel=1e-12)
    assert after.detection[h] == pytest.approx(
        [
            0.4 * rules.monthly_chance(p.hosts["russia"].detect_student),
            0.4 * rules.monthly_chance(p.hosts["russia"].detect_tourist),
            0.4 * rules.monthly_chance(p.hosts["russia"].detect_other),
        ],
        rel=1e-12,
    )
    # while the border is closed nobody can be sent home
    closed = levers_for_month(p, cal.index("2021-01"))
    assert closed.closed.all() and (closed.repatriation_hazard == 0).all() and (closed.detection == 0).all()


@pytest.mark.parametrize(
    "schedule, message",
    [
        (
            [{"start": "2017-01", "compliance": 0.5}],
            "policies[0].schedule[0].start: 2017-01 is not after the policy start",
        ),
        (
            [{"start": "2019-01", "compliance": 0.5}, {"start": "2018-06", "compliance": 0.2}],
            "policies[0].schedule[1].start: 2018-06 is not after the period before",
        ),
        (
            [{"start": "2019-01", "compliance": {"rusia": 0.5}}],
            "policies[0].schedule[0].compliance.rusia: unknown host",
        ),
        ([{"start": "2019-01", "compliance": 1.5}], "compliance must be between 0 and 1"),
    ],
)
def test_bad_schedules_are_named_in_one_line(schedule, message):
    raw = {"kind": "permit_ban", "start": "2018-01", "hosts": "all", "compliance": 0.9, "schedule": schedule}
    with pytest.raises(ParamsError) as err:
        load_params(overrides={"policies": [raw]})
    assert any(message in line for line in err.value.errors), err.value.errors


# ---------------------------------------------------------------- runs


def test_a_ban_sends_postings_by_the_evasion_routes():
    """Under a full ban with evasion, every posting after it starts is on a visa or another status, split by
    the routes; before it, and with no ban, every posting gets a permit."""
    p = small_params(scale=6, months=60, path="params/policies/permit_ban.toml")
    r = run(p, engine="array", seed=2)
    m = r.monthly
    after = m[m["month"] >= 24]
    assert (m.loc[m["month"] < 24, "deployed_permit"] == m.loc[m["month"] < 24, "deployed"]).all()
    assert after["deployed_permit"].sum() == 0 and after["deployed"].sum() > 300
    # the routes' shares per host (binomial: 4 standard errors of the pooled share)
    w = r.workers[(r.workers["month_deployed"] >= 24)]
    routes = np.array([[h.route_student, h.route_tourist, h.route_other] for h in p.hosts.values()])
    expected = (routes / routes.sum(axis=1, keepdims=True))[[list(p.hosts).index(h) for h in w["host"]]]
    for k, name in enumerate(("student", "tourist", "other")):
        share = expected[:, k].mean()
        se = math.sqrt(share * (1 - share) / len(w))
        assert abs((w["legal"] == name).mean() - share) <= 4 * se + 1e-12, name
    none = run(small_params(scale=1, months=24), engine="array", seed=2)
    assert (none.workers["legal"] == "permit").all()


def test_a_fully_complied_mandate_leaves_no_permit_holder_by_the_deadline():
    p = small_params(scale=3, months=60, path="params/policies/repatriation.toml", **{"policies__0__evasion": 0.5})
    m = run(p, engine="array", seed=4).monthly
    deadline = p.calendar.index(p.policies[0].deadline)
    assert m.loc[m["month"] == deadline - 1, "permit_holders"].iloc[0] == 0
    # but half of those due to go home were relabelled, and stay until found
    assert (
        m.loc[m["month"] == deadline - 1, ["workers_student", "workers_tourist", "workers_other"]].sum(axis=1).iloc[0]
        > 50
    )
    no_evasion = run(
        small_params(scale=3, months=60, path="params/policies/repatriation.toml"), engine="array", seed=4
    ).monthly
    assert no_evasion["repatriated"].sum() > m["repatriated"].sum()


def test_the_border_closure_of_the_history():
    """From 2020-03 to 2023-07 nobody is posted and nobody completes a contract; workers are stranded past
    their contracts and go home after it reopens."""
    p = load_params(
        ROOT / "params" / "history.toml",
        {
            f"hosts.{h}.workers": n
            for h, n in {"china": 500, "russia": 300, "gulf": 80, "africa": 50, "asia": 40, "europe": 30}.items()
        },
    )
    r = run(p, engine="array", seed=1)
    m = r.monthly
    closed = m[(m["date"] >= "2020-03") & (m["date"] <= "2023-07")]
    assert (closed[["deployed", "completed", "sent_home", "repatriated"]] == 0).all().all()
    assert m.loc[m["date"] >= "2023-08", "completed"].sum() > 100  # the stranded go home
    stranded = r.workers[
        (r.workers["status"] == "completed") & (r.workers["month_left"] >= p.calendar.index("2023-08"))
    ]
    assert (stranded["months_abroad"] > p.population.contract_months).mean() > 0.5
    assert m.loc[m["date"] >= "2023-08", "deployed"].sum() > 0  # postings resume


def test_couriers_do_not_cross_a_closed_border():
    w = np.array([[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]])
    out = rules.closed_border_weights(w, np.array([True, False]))
    assert np.allclose(out, [[0.8, 0.0, 0.2], [0.5, 0.3, 0.2]], rtol=0, atol=1e-15) and w[0, 1] == 0.3
    take = np.array([1000.0, 1000.0])
    loss = {"bank": np.zeros(2), "courier": np.zeros(2), "mule": np.zeros(2)}
    fees = {"bank": 0.0, "courier": 0.0, "mule": 0.0}
    *_, amounts = rules.move_money(take, out, np.zeros(2), loss, fees)
    assert amounts[0, 1] == 0.0 and amounts[0, 0] == pytest.approx(1000.0) and amounts[1, 1] > 0


def test_a_closed_border_with_no_bank_or_courier_weight_sends_nothing_by_courier():
    out = rules.closed_border_weights(np.array([[0.0, 0.0, 1.0]]), np.array([True]))
    loss = {"bank": np.zeros(1), "courier": np.zeros(1), "mule": np.zeros(1)}
    *_, amounts = rules.move_money(np.array([1000.0]), out, np.zeros(1), loss, {"bank": 0, "courier": 0, "mule": 0})
    assert amounts[0, 1] == 0.0 and amounts[0, 0] == pytest.approx(1000.0)
