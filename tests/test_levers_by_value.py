"""Every policy lever at uneven, non-symmetric settings, against values computed by hand from the ODD's
rules (issue 19, item 1): compliance 0.3 and 0.7 on two hosts, evasion 0.5 against 0, two policies of one
kind, coercion 0.2, seizure shares, and what the state posts under them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.core import rules
from sim.core.params import Calendar, make_params
from sim.core.policies import (
    AsylumAccess,
    BorderClosure,
    CashInterdiction,
    DirectWages,
    FinancialSanctions,
    LaborInspections,
    Levers,
    PermitBan,
    Repatriation,
    channel_losses,
    levers_for_month,
)
from sim.core.state_books import StateBooks

HOSTS = ["china", "russia", "gulf", "africa", "asia", "europe"]  # the baseline's order


def close(expected, rel=1e-12, abs=1e-12):
    if isinstance(expected, list) and expected and isinstance(expected[0], (list, np.ndarray)):
        expected = np.array(expected, dtype=float)  # approx compares nested values as an array
    return pytest.approx(expected, rel=rel, abs=abs)


CHINA, RUSSIA, GULF = 0, 1, 2


def _params(*policies):
    return make_params({"policies": list(policies)})


def comp(**levels):
    """A compliance table naming every host (the schema asks for all): 0 where not given."""
    return {h: levels.get(h, 0.0) for h in HOSTS}


def _month(p, date):
    return p.calendar.index(date)


def test_a_permit_ban_pulls_compliance_and_its_evasion_only_where_and_when_in_force():
    p = _params({"kind": "permit_ban", "start": "2017-09", "evasion": 0.5, "compliance": comp(china=0.3, russia=0.7)})
    assert list(p.hosts) == HOSTS
    before, after = levers_for_month(p, _month(p, "2017-08")), levers_for_month(p, _month(p, "2017-09"))
    assert before.ban.tolist() == [0.0] * 6 and before.evasion.tolist() == [0.0] * 6
    assert after.ban.tolist() == [0.3, 0.7, 0.0, 0.0, 0.0, 0.0]
    assert after.evasion.tolist() == [0.5, 0.5, 0.0, 0.0, 0.0, 0.0]  # no ban, no evasion lever


def test_the_state_posts_the_reachable_share_under_a_ban_with_and_without_evasion():
    """reachable = 1 - compliance x (1 - evasion) (ODD 7.2.4); an empty host is filled to target x reachable (the
    pipeline off: posts filled the month they open; with it, test_recruitment.py)."""
    for evasion in (0.5, 0.0):
        ban = {"kind": "permit_ban", "start": "2016-01", "evasion": evasion, "compliance": comp(china=0.3, russia=0.7)}
        p = make_params({"policies": [ban], "recruitment": {"pipeline": False}})
        books = StateBooks.for_params(p)
        counts = books.plan_deployments(np.zeros(6), levers_for_month(p, 0))
        workers = [h.workers for h in p.hosts.values()]
        expected = [
            int(np.floor(workers[CHINA] * (1 - 0.3 * (1 - evasion)) + 1e-9)),
            int(np.floor(workers[RUSSIA] * (1 - 0.7 * (1 - evasion)) + 1e-9)),
        ]
        assert counts[:2].tolist() == expected, evasion
        assert counts[2:].tolist() == workers[2:]  # the other hosts are open
    # 50,000 x 0.85 and 30,000 x 0.65 with evasion; 50,000 x 0.7 and 30,000 x 0.3 without
    assert expected == [35_000, 9_000]


def test_of_two_policies_of_one_kind_the_higher_compliance_brings_its_own_fields():
    p = _params(
        {"kind": "permit_ban", "start": "2016-01", "evasion": 0.9, "compliance": 0.3},
        {"kind": "permit_ban", "start": "2016-01", "evasion": 0.1, "compliance": comp(russia=0.7)},
        {"kind": "direct_wages", "start": "2016-01", "coercion": 0.2, "compliance": comp(gulf=0.6)},
        {"kind": "direct_wages", "start": "2016-01", "coercion": 0.8, "compliance": comp(gulf=0.4)},
    )
    lv = levers_for_month(p, 0)
    assert lv.ban[RUSSIA] == 0.7 and lv.evasion[RUSSIA] == 0.1  # the second ban, stricter in Russia
    assert lv.ban[CHINA] == 0.3 and lv.evasion[CHINA] == 0.9  # the first elsewhere
    assert lv.direct_wages[GULF] == 0.6 and lv.coercion[GULF] == 0.2  # not the laxer one's coercion 0.8


@pytest.mark.parametrize("c", [0.3, 0.7])
def test_a_mandate_sends_home_on_a_schedule_that_leaves_one_minus_compliance(c):
    """Before the deadline a steady pace leaves 1 - c by the deadline (ODD 7.2): p = c / 24 at the start,
    c / (24 - 6 c) six months on; after it, c x the monthly chance of the yearly after_deadline rate; visa workers are found
    at c x the monthly chance of the host's detection rate; a closed border stops all of it."""
    p = _params(
        {
            "kind": "repatriation",
            "start": "2017-12",
            "deadline": "2019-12",
            "evasion": 0.4,
            "after_deadline": 0.3,
            "compliance": comp(russia=c),
        }
    )
    lv = levers_for_month(p, _month(p, "2017-12"))
    assert lv.repatriation[RUSSIA] == c and lv.repatriation_evasion[RUSSIA] == 0.4
    assert lv.repatriation_hazard[RUSSIA] == pytest.approx(c / 24)
    assert levers_for_month(p, _month(p, "2018-06")).repatriation_hazard[RUSSIA] == pytest.approx(c / (24 - 6 * c))
    russia = p.hosts["russia"]
    monthly = lambda yearly: 1 - (1 - yearly) ** (1 / 12)  # noqa: E731
    assert lv.detection[RUSSIA].tolist() == pytest.approx(
        [c * monthly(russia.detect_student), c * monthly(russia.detect_tourist), c * monthly(russia.detect_other)]
    )
    assert lv.repatriation_hazard[CHINA] == 0 and lv.detection[CHINA].tolist() == [0, 0, 0]
    late = levers_for_month(p, _month(p, "2020-06"))
    assert late.repatriation_hazard[RUSSIA] == pytest.approx(c * (1 - 0.7 ** (1 / 12)))
    closed = _params(
        {"kind": "repatriation", "start": "2017-12", "deadline": "2019-12", "compliance": comp(russia=c)},
        {"kind": "border_closure", "start": "2018-01", "end": "2018-06"},
    )
    lv = levers_for_month(closed, _month(closed, "2018-02"))
    assert lv.closed.all() and lv.repatriation_hazard[RUSSIA] == 0 and lv.detection[RUSSIA].tolist() == [0, 0, 0]


def test_money_levers_scale_with_compliance():
    p = _params(
        {
            "kind": "cash_interdiction",
            "start": "2016-01",
            "seizure": 0.4,
            "mule_seizure": 0.1,
            "compliance": comp(china=0.3, russia=0.7),
        },
        {"kind": "financial_sanctions", "start": "2016-01", "block": 0.9, "compliance": comp(gulf=0.7)},
        {"kind": "asylum_access", "start": "2016-01", "route_boost": 0.5, "compliance": comp(gulf=0.3)},
        {
            "kind": "labor_inspections",
            "start": "2016-01",
            "max_hours": 9.0,
            "return_passports": False,
            "compliance": comp(russia=0.3),
        },
    )
    lv = levers_for_month(p, 0)
    assert lv.courier_seizure[[CHINA, RUSSIA]].tolist() == pytest.approx([0.12, 0.28])
    assert lv.mule_seizure[[CHINA, RUSSIA]].tolist() == pytest.approx([0.03, 0.07])
    assert lv.bank_block[GULF] == pytest.approx(0.63) and lv.bank_block[RUSSIA] == 0
    assert lv.asylum_boost[GULF] == pytest.approx(0.15)
    assert lv.inspections[RUSSIA] == 0.3 and lv.max_hours[RUSSIA] == 9.0 and not lv.return_passports[RUSSIA]
    assert np.isinf(lv.max_hours[CHINA])


# ---------------------------------------------------------------- sim/core/policies.py: schedules, months, levers

HOSTS = ["china", "russia", "gulf", "africa", "asia", "europe"]


def _lv(*policies, month=0):
    p = make_params({"policies": list(policies)})
    return levers_for_month(p, p.calendar.index(month) if isinstance(month, str) else month), p


def test_compliance_must_be_a_share():
    for ok in (0.0, 1.0, {h: 1.0 for h in HOSTS}):
        make_params({"policies": [{"kind": "permit_ban", "start": 0, "compliance": ok}]})
    for bad in (1.5, -0.1, {**{h: 0.5 for h in HOSTS}, "china": 1.2}):
        with pytest.raises(Exception, match="compliance must be between 0 and 1"):
            PermitBan(kind="permit_ban", start=0, compliance=bad)
    with pytest.raises(Exception, match="finite"):  # NaN: pydantic refuses it first (allow_inf_nan=False)
        PermitBan(kind="permit_ban", start=0, compliance=float("nan"))
    with pytest.raises(Exception, match="compliance must be between 0 and 1"):
        PermitBan(kind="permit_ban", start=0, schedule=[{"start": 3, "compliance": 1.01}])


def test_levers_name_the_month_and_label_the_policies_in_force():
    lv, _ = _lv(
        {"kind": "permit_ban", "start": 0, "label": "UNSCR 2375"},
        {"kind": "cash_interdiction", "start": 0},
        {"kind": "direct_wages", "start": 9},
        month=4,
    )
    assert lv.month == 4 and lv.n_hosts == 6 and lv.active == ["UNSCR 2375", "cash_interdiction"]


def test_a_schedule_changes_compliance_from_each_period_on():
    policy = {
        "kind": "financial_sanctions",
        "start": "2017-01",
        "end": "2018-01",
        "block": 0.8,
        "hosts": ["russia", "gulf"],
        "compliance": 0.25,
        "schedule": [
            {"start": "2017-04", "compliance": 0.5},
            {"start": "2017-09", "compliance": {**{h: 0.0 for h in HOSTS}, "gulf": 0.75}},
        ],
    }
    blocks = {
        m: _lv(policy, month=m)[0].bank_block.tolist()
        for m in ("2016-12", "2017-01", "2017-03", "2017-04", "2017-09", "2017-12", "2018-01")
    }
    assert blocks["2016-12"] == [0.0] * 6
    assert blocks["2017-01"] == close([0.0, 0.2, 0.2, 0.0, 0.0, 0.0])  # 0.8 x 0.25 on the two hosts named
    assert blocks["2017-03"] == blocks["2017-01"]
    assert blocks["2017-04"] == close([0.0, 0.4, 0.4, 0.0, 0.0, 0.0])  # 0.8 x 0.5 from the period's start
    assert blocks["2017-09"] == close([0.0, 0.0, 0.6, 0.0, 0.0, 0.0])  # per host: 0.8 x 0.75 in the gulf only
    assert blocks["2017-12"] == blocks["2017-09"]
    assert blocks["2018-01"] == [0.0] * 6  # the end month is the first it no longer applies
    p = make_params({"policies": [policy]})
    pol, cal = p.policies[0], p.calendar
    assert pol.compliance_at("russia") == 0.25 and pol.compliance_at("china") == 0.0  # no month: its own level
    assert pol.compliance_at("gulf", cal.index("2017-05"), cal) == 0.5
    assert pol.in_force(cal, cal.index("2017-12")) and not pol.in_force(cal, cal.index("2018-01"))
    assert pol.levels() == [0.25, 0.5, {**{h: 0.0 for h in HOSTS}, "gulf": 0.75}]
    open_ended = make_params({"policies": [{"kind": "permit_ban", "start": 5}]})
    assert open_ended.policies[0].in_force(open_ended.calendar, 119) and not open_ended.policies[0].in_force(
        open_ended.calendar, 4
    )


def test_the_months_of_a_policy_are_checked_on_the_calendar():
    cal = Calendar(start="2016-01", months=60)
    ok = PermitBan(
        kind="permit_ban",
        start="2016-06",
        end="2017-06",
        schedule=[{"start": "2016-09", "compliance": 0.5}, {"start": "2017-01", "compliance": 0.7}],
    )
    assert ok.check_months(cal) == []
    assert PermitBan(kind="permit_ban", start=5, end=5).check_months(cal) == [
        "end: ends (5) before or when it starts (5)"
    ]
    assert PermitBan(kind="permit_ban", start=5, end=4).check_months(cal) == [
        "end: ends (4) before or when it starts (5)"
    ]
    bad = PermitBan(
        kind="permit_ban",
        start=5,
        end=20,
        schedule=[
            {"start": 5, "compliance": 0.5},
            {"start": 9, "compliance": 0.6},
            {"start": 9, "compliance": 0.7},
            {"start": 20, "compliance": 0.8},
        ],
    )
    assert bad.check_months(cal) == [
        "schedule[0].start: 5 is not after the policy start (5)",
        "schedule[2].start: 9 is not after the period before (9)",
        "schedule[3].start: 20 is not before the policy's end (20)",
    ]
    late = PermitBan(
        kind="permit_ban",
        start=5,
        schedule=[{"start": 12, "compliance": 0.5}, {"start": 8, "compliance": 0.6}, {"start": 10, "compliance": 0.7}],
    )
    # each period after the latest before it: 8 and 10 both come before 12
    assert late.check_months(cal) == [
        "schedule[1].start: 8 is not after the period before (12)",
        "schedule[2].start: 10 is not after the period before (8)",
    ]
    assert (
        PermitBan(kind="permit_ban", start=5, end=30, schedule=[{"start": 29, "compliance": 0.5}]).check_months(cal)
        == []
    )


def test_a_mandate_deadline_is_after_its_start_and_the_first_month():
    cal = Calendar(start="2016-01", months=60)
    same = Repatriation(kind="repatriation", start=6, deadline=6)
    assert same.check_months(cal) == ["deadline: deadline (6) is not after the start (6)"]
    early = Repatriation(kind="repatriation", start=-5, deadline=0)
    assert early.check_months(cal) == ["deadline: deadline (0) is not after the first month of the run (2016-01)"]
    assert Repatriation(kind="repatriation", start=-5, deadline=1).check_months(cal) == []


def _levers_of(policy, month=0, hosts=HOSTS):
    lv = Levers(month=month, n_hosts=len(hosts), hosts=list(make_params({}).hosts.values()))
    cal = Calendar(start="2016-01", months=60)
    for h in range(len(hosts)):
        c = policy.compliance_at(hosts[h], month, cal)
        if c > 0:
            policy.apply(lv, h, c, month, cal)
    return lv, cal


def test_each_kind_pulls_its_levers_at_the_hosts_it_covers_only():
    one = {"hosts": ["gulf"], "compliance": 0.4, "start": 0}
    lv, _ = _levers_of(AsylumAccess(kind="asylum_access", route_boost=0.25, **one))
    assert lv.asylum_boost.tolist() == close([0, 0, 0.1, 0, 0, 0])
    lv, _ = _levers_of(BorderClosure(kind="border_closure", **one))
    assert lv.closed.tolist() == [False, False, True, False, False, False]
    lv, _ = _levers_of(DirectWages(kind="direct_wages", coercion=0.2, **one))
    assert lv.direct_wages.tolist() == [0, 0, 0.4, 0, 0, 0] and lv.coercion.tolist() == [0, 0, 0.2, 0, 0, 0]
    lv, _ = _levers_of(LaborInspections(kind="labor_inspections", max_hours=9.5, **one))
    assert lv.inspections.tolist() == [0, 0, 0.4, 0, 0, 0] and lv.max_hours[2] == 9.5 and np.isinf(lv.max_hours[3])
    assert lv.return_passports.tolist() == [False, False, True, False, False, False]
    lv, _ = _levers_of(PermitBan(kind="permit_ban", evasion=0.35, **one))
    assert lv.ban.tolist() == [0, 0, 0.4, 0, 0, 0] and lv.evasion.tolist() == [0, 0, 0.35, 0, 0, 0]
    lv, _ = _levers_of(CashInterdiction(kind="cash_interdiction", seizure=0.5, mule_seizure=0.25, **one))
    assert lv.courier_seizure.tolist() == close([0, 0, 0.2, 0, 0, 0]) and lv.mule_seizure.tolist() == close(
        [0, 0, 0.1, 0, 0, 0]
    )
    lv, _ = _levers_of(FinancialSanctions(kind="financial_sanctions", block=0.5, **one))
    assert lv.bank_block.tolist() == close([0, 0, 0.2, 0, 0, 0])


def test_a_mandate_at_one_host_before_and_after_its_deadline():
    gulf = make_params({}).hosts["gulf"]
    monthly = lambda yearly: 1 - (1 - yearly) ** (1 / 12)  # noqa: E731
    m = Repatriation(
        kind="repatriation", start=2, deadline=14, evasion=0.3, after_deadline=0.45, hosts=["gulf"], compliance=1.0
    )
    lv, _ = _levers_of(m, month=5)
    # full compliance: 1 / (months left) of those still there each month: 1 / (14 - 5)
    assert lv.repatriation_hazard.tolist() == close([0, 0, 1 / 9, 0, 0, 0])
    assert lv.repatriation.tolist() == [0, 0, 1.0, 0, 0, 0] and lv.repatriation_evasion.tolist() == [0, 0, 0.3, 0, 0, 0]
    assert lv.detection[2].tolist() == close(
        [monthly(gulf.detect_student), monthly(gulf.detect_tourist), monthly(gulf.detect_other)]
    )
    assert lv.detection[[0, 1, 3, 4, 5]].tolist() == [[0.0] * 3] * 5
    lv, _ = _levers_of(m, month=14)  # at the deadline: the yearly after_deadline rate, per month
    assert lv.repatriation_hazard.tolist() == close([0, 0, monthly(0.45), 0, 0, 0])


def test_of_two_policies_of_one_kind_at_equal_compliance_the_later_one_brings_its_fields():
    lv, _ = _lv(
        {"kind": "permit_ban", "start": 0, "evasion": 0.9, "compliance": 0.4},
        {"kind": "permit_ban", "start": 0, "evasion": 0.1, "compliance": 0.4},
        {"kind": "direct_wages", "start": 0, "coercion": 0.7, "compliance": 0.4},
        {"kind": "direct_wages", "start": 0, "coercion": 0.2, "compliance": 0.4},
        {"kind": "labor_inspections", "start": 0, "max_hours": 11.0, "return_passports": True, "compliance": 0.4},
        {"kind": "labor_inspections", "start": 0, "max_hours": 9.0, "return_passports": False, "compliance": 0.4},
        {"kind": "repatriation", "start": 0, "deadline": 24, "evasion": 0.6, "compliance": 0.4},
        {"kind": "repatriation", "start": 0, "deadline": 24, "evasion": 0.2, "compliance": 0.4},
    )
    assert lv.evasion.tolist() == [0.1] * 6 and lv.coercion.tolist() == [0.2] * 6
    assert lv.max_hours.tolist() == [9.0] * 6 and not lv.return_passports.any()
    assert lv.repatriation_evasion.tolist() == [0.2] * 6


def test_channel_losses_and_levers_as_lists():
    lv, p = _lv(
        {"kind": "cash_interdiction", "start": 0, "seizure": 0.5, "mule_seizure": 0.3, "hosts": ["russia"]},
        {"kind": "financial_sanctions", "start": 0, "block": 0.6, "hosts": ["china"]},
    )
    loss = channel_losses(p, lv)
    base = [h.base_interdiction for h in p.hosts.values()]
    assert loss["bank"].tolist() == close([0.6, 0, 0, 0, 0, 0])
    assert loss["courier"].tolist() == close([base[0], 1 - (1 - base[1]) * 0.5, *base[2:]])
    assert loss["mule"].tolist() == close([0, 0.3, 0, 0, 0, 0])
    loss["bank"][0] = 0.0  # a copy: the levers stay as they are
    assert lv.bank_block[0] == 0.6
    listed = lv.as_lists()
    assert listed.bank_block == lv.bank_block.tolist() and isinstance(listed.closed, list)
    assert listed.detection == [[0.0] * 3] * 6 and listed.month == lv.month and isinstance(lv.bank_block, np.ndarray)
    fresh = Levers(month=2, n_hosts=3)
    assert fresh.detection.shape == (3, 3) and fresh.max_hours.tolist() == [math.inf] * 3
    assert fresh.closed.dtype == bool and fresh.return_passports.dtype == bool and fresh.ban.tolist() == [0.0] * 3


def test_a_host_missing_from_a_compliance_table_does_not_comply():
    ban = PermitBan(kind="permit_ban", start=0, compliance={"russia": 0.6})  # built directly, not via a parameter file
    assert ban.compliance_at("russia") == 0.6 and ban.compliance_at("gulf") == 0.0


def test_total_adds_left_to_right_without_compensation():
    assert rules.total([]) == 0.0 and isinstance(rules.total([]), float)
    assert rules.total([0.25, 1.5, -0.125]) == 1.625
    # plain addition loses the 1 next to 1e16 (math.fsum would keep it): the order of the bincount and the loops
    assert rules.total([1e16, 1.0, -1e16]) == 0.0
    assert rules.total(np.array([3.0, 4.5])) == 7.5


def test_fill_units_fills_rooms_in_order_then_opens_new_units():
    # 23 newcomers: 3 into unit 4, none into the full unit 7, 5 into unit 9, then new units of 6, 6 and 3
    assert rules.fill_units(23, [(4, 3), (7, 0), (9, 5.0)], 6) == [(4, 3), (9, 5), (None, 6), (None, 6), (None, 3)]
    assert rules.fill_units(2, [(1, 5), (2, 4)], 6) == [(1, 2)]  # the first unit with room takes both
    assert rules.fill_units(3, [(1, 3), (2, 4)], 6) == [(1, 3)]  # nobody left for unit 2
    assert rules.fill_units(0, [(1, 3)], 6) == [] and rules.fill_units(7, [], 4) == [(None, 4), (None, 3)]
    # one at a time: a room of one, a last one left over
    assert rules.fill_units(1, [(3, 2)], 6) == [(3, 1)] and rules.fill_units(5, [(8, 1)], 3) == [
        (8, 1),
        (None, 3),
        (None, 1),
    ]
    assert rules.fill_units(4, [(1, 3), (2, 4)], 6) == [(1, 3), (2, 1)]


def test_default_arguments_of_the_state_rules_and_the_cohort():
    # no mandate evasion given: a mandate at 0.5 closes half the market
    counts, _ = rules.deployments(
        np.array([80.0]), np.array([0.0]), np.zeros(1), np.zeros(1), np.array([0.5]), 0.0, np.array([100.0])
    )
    assert counts.tolist() == [40]
    # a cohort with no months abroad given is new: he expects his share and owes his whole bribe
    p = make_params({}, {"worker.expected_share": 0.55})
    got = rules.new_worker_attributes(3, np.array([5, 6, 7]), p, 700.0, 300.0)
    assert got["kept_avg"].tolist() == close((0.55 * got["gross_avg"]).tolist())
    assert got["entry_debt"].tolist() == got["entry_bribe"].tolist()
