"""Every policy lever at uneven, non-symmetric settings, against values computed by hand from the ODD's
rules (issue 19, item 1): compliance 0.3 and 0.7 on two hosts, evasion 0.5 against 0, two policies of one
kind, coercion 0.2, seizure shares, and what the state posts under them."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.params import make_params
from sim.core.policies import levers_for_month
from sim.core.state_books import StateBooks

HOSTS = ["china", "russia", "gulf", "africa", "asia", "europe"]  # the baseline's order
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
    """reachable = 1 - compliance x (1 - evasion) (ODD 7.2.4); an empty host is filled to target x reachable."""
    for evasion in (0.5, 0.0):
        p = _params({"kind": "permit_ban", "start": "2016-01", "evasion": evasion, "compliance": comp(china=0.3, russia=0.7)})
        books = StateBooks.for_params(p)
        counts = books.plan_deployments(np.zeros(6), levers_for_month(p, 0))
        workers = [h.workers for h in p.hosts.values()]
        expected = [int(np.floor(workers[CHINA] * (1 - 0.3 * (1 - evasion)) + 1e-9)),
                    int(np.floor(workers[RUSSIA] * (1 - 0.7 * (1 - evasion)) + 1e-9))]
        assert counts[:2].tolist() == expected, evasion
        assert counts[2:].tolist() == workers[2:]  # the other hosts are open
    # 50,000 x 0.85 and 30,000 x 0.65 with evasion; 50,000 x 0.7 and 30,000 x 0.3 without
    assert expected == [35_000, 9_000]


def test_of_two_policies_of_one_kind_the_higher_compliance_brings_its_own_fields():
    p = _params({"kind": "permit_ban", "start": "2016-01", "evasion": 0.9, "compliance": 0.3},
                {"kind": "permit_ban", "start": "2016-01", "evasion": 0.1, "compliance": comp(russia=0.7)},
                {"kind": "direct_wages", "start": "2016-01", "coercion": 0.2, "compliance": comp(gulf=0.6)},
                {"kind": "direct_wages", "start": "2016-01", "coercion": 0.8, "compliance": comp(gulf=0.4)})
    lv = levers_for_month(p, 0)
    assert lv.ban[RUSSIA] == 0.7 and lv.evasion[RUSSIA] == 0.1  # the second ban, stricter in Russia
    assert lv.ban[CHINA] == 0.3 and lv.evasion[CHINA] == 0.9  # the first elsewhere
    assert lv.direct_wages[GULF] == 0.6 and lv.coercion[GULF] == 0.2  # not the laxer one's coercion 0.8


@pytest.mark.parametrize("c", [0.3, 0.7])
def test_a_mandate_sends_home_on_a_schedule_that_leaves_one_minus_compliance(c):
    """Before the deadline a constant hazard leaves 1 - c by the deadline (ODD 7.2): p = 1 - (1 - c)^(1/24)
    at the start; after it, c x the monthly chance of the yearly after_deadline rate; visa workers are found
    at c x the monthly chance of the host's detection rate; a closed border stops all of it."""
    p = _params({"kind": "repatriation", "start": "2017-12", "deadline": "2019-12", "evasion": 0.4,
                 "after_deadline": 0.3, "compliance": comp(russia=c)})
    lv = levers_for_month(p, _month(p, "2017-12"))
    assert lv.repatriation[RUSSIA] == c and lv.repatriation_evasion[RUSSIA] == 0.4
    assert lv.repatriation_hazard[RUSSIA] == pytest.approx(1 - (1 - c) ** (1 / 24))
    russia = p.hosts["russia"]
    monthly = lambda yearly: 1 - (1 - yearly) ** (1 / 12)  # noqa: E731
    assert lv.detection[RUSSIA].tolist() == pytest.approx([c * monthly(russia.detect_student),
                                                           c * monthly(russia.detect_tourist),
                                                           c * monthly(russia.detect_other)])
    assert lv.repatriation_hazard[CHINA] == 0 and lv.detection[CHINA].tolist() == [0, 0, 0]
    late = levers_for_month(p, _month(p, "2020-06"))
    assert late.repatriation_hazard[RUSSIA] == pytest.approx(c * (1 - 0.7 ** (1 / 12)))
    closed = _params({"kind": "repatriation", "start": "2017-12", "deadline": "2019-12", "compliance": comp(russia=c)},
                     {"kind": "border_closure", "start": "2018-01", "end": "2018-06"})
    lv = levers_for_month(closed, _month(closed, "2018-02"))
    assert lv.closed.all() and lv.repatriation_hazard[RUSSIA] == 0 and lv.detection[RUSSIA].tolist() == [0, 0, 0]


def test_money_levers_scale_with_compliance():
    p = _params({"kind": "cash_interdiction", "start": "2016-01", "seizure": 0.4, "mule_seizure": 0.1,
                 "compliance": comp(china=0.3, russia=0.7)},
                {"kind": "financial_sanctions", "start": "2016-01", "block": 0.9, "compliance": comp(gulf=0.7)},
                {"kind": "asylum_access", "start": "2016-01", "route_boost": 0.5, "compliance": comp(gulf=0.3)},
                {"kind": "labor_inspections", "start": "2016-01", "max_hours": 9.0, "return_passports": False,
                 "compliance": comp(russia=0.3)})
    lv = levers_for_month(p, 0)
    assert lv.courier_seizure[[CHINA, RUSSIA]].tolist() == pytest.approx([0.12, 0.28])
    assert lv.mule_seizure[[CHINA, RUSSIA]].tolist() == pytest.approx([0.03, 0.07])
    assert lv.bank_block[GULF] == pytest.approx(0.63) and lv.bank_block[RUSSIA] == 0
    assert lv.asylum_boost[GULF] == pytest.approx(0.15)
    assert lv.inspections[RUSSIA] == 0.3 and lv.max_hours[RUSSIA] == 9.0 and not lv.return_passports[RUSSIA]
    assert np.isinf(lv.max_hours[CHINA])
