"""A policy is described from its kind's declared fields (their words and units) wherever people read it: the
report, the classroom page, ``olsim validate`` and the ODD's appendix; facts of the world (the border closure)
are known by their class attribute, not by name (issue 27, item 2)."""

from __future__ import annotations

from typing import ClassVar, Literal

import pytest
from pydantic import Field

from conftest import ROOT
from sim.cli import main
from sim.core.fields import F, U, in_words, unit_of
from sim.core.params import load_params
from sim.core.params_toml import policy_fields_markdown
from sim.core.policies import POLICY_CLASSES, PolicyBase, describe, describe_kind, is_sanction


class Curfew(PolicyBase):
    """A kind defined here only: it must appear described with no edit outside this class."""

    title: ClassVar[str] = "Night curfew in the camps"
    kind: Literal["night_curfew"]
    nights: float = F(0.25, "assumption", "share of nights under curfew at full compliance", unit="share", ge=0, le=1)
    hours: float = F(6.0, "assumption", "length of a curfew", unit="hours a day", gt=0, le=24)


class Flood(PolicyBase):
    """A fact of the world defined here only (not a sanction), under a name no module knows."""

    title: ClassVar[str] = "The river floods"
    is_sanction: ClassVar[bool] = False
    kind: Literal["river_flood"]


class Quota(PolicyBase):
    """A kind defined here only, with one sourced setting between two assumed ones."""

    title: ClassVar[str] = "A quota of camps inspected"
    kind: Literal["camp_quota"]
    delay: float = F(3.0, "assumption", "months before the first inspection", unit="months", ge=0)
    share: float = F(0.5, "facts: UN Panel of Experts 2020", "share of camps inspected", unit="share", ge=0, le=1)
    spread: float = F(1.0, "assumption", "camps inspected a month", unit="share", ge=0, le=1)
    review: int = F(24, "assumption", "month of the review", unit="month", ge=0)


@pytest.fixture
def new_kinds(monkeypatch):
    monkeypatch.setitem(POLICY_CLASSES, "night_curfew", Curfew)
    monkeypatch.setitem(POLICY_CLASSES, "river_flood", Flood)
    monkeypatch.setitem(POLICY_CLASSES, "camp_quota", Quota)


def test_the_settings_a_policy_gives_on_an_assumption_are_named_in_declaration_order(new_kinds):
    """The report says which of a policy's settings rest on an assumption (`assumed_settings`): those its entry
    gives whose declared source is an assumption, in the order the class declares them, whatever the entry's
    order; none for a setting left at its default, a sourced one, an unknown kind or no kind. Broken on purpose
    (every given setting named, the entry's order kept, an unknown kind a KeyError): fails."""
    from sim.core.policies import assumed_settings

    assert assumed_settings({"kind": "camp_quota", "spread": 0.2, "share": 0.3, "delay": 1.0}) == ["delay", "spread"]
    assert assumed_settings({"kind": "camp_quota", "share": 0.3}) == []  # sourced: not an assumption
    assert assumed_settings({"kind": "camp_quota", "start": "2018-01"}) == []  # not an own setting
    assert assumed_settings({"kind": "night_curfew", "hours": 8.0}) == ["hours"]
    assert assumed_settings({"kind": "no_such_kind", "delay": 1.0}) == [] and assumed_settings({"delay": 1.0}) == []


def test_financial_sanctions_are_described_with_their_block_level():
    from sim.explore.report import describe_policy

    text = describe_policy(
        {"kind": "financial_sanctions", "start": "2018-01", "hosts": "all", "compliance": 0.8, "block": 0.5}
    )
    assert text == (
        "Block bank transfers, from 2018-01, every host; compliance 80% "
        "(share of bank transfers blocked at full compliance: 50%)"
    )


def test_every_own_field_is_described_with_its_unit():
    """The fields the old hand-written list dropped (route_boost, mule_seizure, block) and every other one."""
    from sim.explore.report import describe_policy

    seen = set()
    for kind, cls in POLICY_CLASSES.items():
        example = {**cls.example(24), "start": "2018-01"}
        if "deadline" in example:
            example["deadline"] = "2020-01"
        text = describe_policy(example)
        for name, f in cls.own_fields().items():
            assert unit_of(f), f"{kind}.{name}: no unit declared"
            assert f.description, f"{kind}.{name}: no words declared"
            value = example.get(name, f.get_default(call_default_factory=True))
            assert f"{f.description}: {in_words(value, unit_of(f))}" in text, (kind, name, text)
            seen.add(name)
    assert {"route_boost", "mule_seizure", "block", "seizure", "max_hours", "return_passports"} <= seen
    asylum = describe_policy({"kind": "asylum_access", "start": "2018-01", "route_boost": 0.2})
    assert "share of the remaining gap to a sure route that asylum access closes: 20%" in asylum
    cash = describe_policy({"kind": "cash_interdiction", "start": "2018-01", "mule_seizure": 0.05})
    assert "cash carried by returning workers seized at full compliance: 5%" in cash
    assert "couriers' bulk cash seized at full compliance: 50%" in cash  # not given: its default, said


def test_values_in_words_by_unit():
    assert in_words(0.5, "share") == "50%" and in_words(0.125, "share") == "12.5%"
    assert in_words(0.3, "share a year") == "30% a year"
    assert in_words(10.0, "hours a day") == "10 hours a day"
    assert in_words(True, "yes/no") == "yes" and in_words(False, "yes/no") == "no"
    assert in_words(24, "month") == "month 24" and in_words("2019-12", "month") == "2019-12"
    with pytest.raises(ValueError, match="unit 'percent'"):
        F(0.5, "assumption", "a share", unit="percent")


def test_drawn_fields_are_said_to_be_drawn():
    text = describe(
        {"kind": "permit_ban", "start": "2017-09", "compliance": 0.5, "evasion": 0.5}, drawn={"compliance", "evasion"}
    )
    assert "compliance as drawn from the posterior" in text
    assert "sent anyway on student or tourist visas drawn from the posterior" in text and "50%" not in text


def test_a_new_kind_is_described_everywhere_without_another_edit(new_kinds):
    from sim.classroom.app import switches_markdown
    from sim.explore.report import describe_policy

    text = describe_policy({"kind": "night_curfew", "start": "2019-01", "hosts": ["russia"], "nights": 0.4})
    assert text == (
        "Night curfew in the camps, from 2019-01, russia; compliance 100% (share of nights under curfew "
        "at full compliance: 40%; length of a curfew: 6 hours a day)"
    )
    page = switches_markdown()
    assert (
        "- Night curfew in the camps. Share of nights under curfew at full compliance: 25%; length of a curfew: "
        "6 hours a day." in page
    )
    assert "- The river floods. A fact of the world, not a sanction." in page
    # olsim validate describes a validated policy (months as indices turned into dates by the calendar)
    calendar = load_params(None).calendar
    policy = Curfew(kind="night_curfew", start=36, end=48, hosts="all", compliance={"china": 0.5})
    assert describe(policy, calendar=calendar) == (
        "Night curfew in the camps, from 2019-01 to 2020-01 (not included), every host; compliance china 50% "
        "(share of nights under curfew at full compliance: 25%; length of a curfew: 6 hours a day)"
    )
    table = policy_fields_markdown()
    assert (
        "| `policies[i].nights` (night_curfew) | `0.25` | share | share of nights under curfew at full compliance "
        "| assumption |" in table
    )
    assert (
        '| `policies[i].kind = "river_flood"` | — | — | no own fields; a fact of the world, not a sanction |' in table
    )
    assert describe_kind(Curfew).startswith(
        "Night curfew in the camps. Share of nights under curfew at full compliance (`nights`, share): 25% unless set;"
    )


def test_facts_of_the_world_are_known_by_their_class(new_kinds):
    """The border closure and any kind whose class says is_sanction = False: shaded, not a sanction start; kept in
    the world without sanctions; no assumption listed."""
    from sim.plots.report import _events

    assert not is_sanction({"kind": "border_closure"}) and not POLICY_CLASSES["border_closure"].is_sanction
    assert [k for k, c in POLICY_CLASSES.items() if not c.is_sanction] == ["border_closure", "river_flood"]
    assert is_sanction({"kind": "permit_ban"}) and is_sanction({"kind": "no_such_kind"})
    starts, periods = _events(
        {
            "a": [
                {"kind": "river_flood", "start": "2019-01", "end": "2019-04"},
                {"kind": "night_curfew", "start": "2019-02", "label": "curfew"},
            ]
        }
    )
    assert periods == [("2019-01", "2019-04")] and starts == [("2019-02", "curfew")]


def test_sanction_starts_in_the_classroom_leave_out_facts_of_the_world():
    from sim.classroom.charts import sanction_starts

    p = load_params(ROOT / "params" / "history.toml")
    assert [m for m, _ in sanction_starts(p)] == [p.calendar.index("2017-09"), p.calendar.index("2017-12")]


def test_validate_prints_each_policy_in_words(capsys):
    assert main(["validate", str(ROOT / "params" / "policies" / "financial_sanctions.toml")]) == 0
    out = capsys.readouterr().out
    assert (
        "# 1. Block bank transfers, from 2018-01, every host; compliance 100% (share of bank transfers blocked "
        "at full compliance: 90%)" in out
    )
    assert main(["validate", str(ROOT / "params" / "policies" / "asylum_access.toml")]) == 0
    assert "asylum access closes: 50%" in capsys.readouterr().out


def test_odd_policy_fields_are_generated_from_the_classes():
    """docs/ODD.md's A.3 is `python -m sim.core.params_toml --odd-policy-fields`; 6.2's table names every kind
    with its own fields."""
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    assert policy_fields_markdown() in odd, (
        "docs/ODD.md A.3: regenerate with python -m sim.core.params_toml --odd-policy-fields"
    )
    section = odd[odd.index("### 6.2 Sanction policies") : odd.index("### 6.3")]
    rows = {
        line.split("|")[1].strip().split()[0].strip("`"): line.split("|")[2]
        for line in section.splitlines()
        if line.startswith("| `")
    }
    for kind, cls in POLICY_CLASSES.items():
        assert kind in rows, f"ODD 6.2: no row for {kind}"
        for name in cls.own_fields():
            assert f"`{name}`" in rows[kind], f"ODD 6.2, {kind}: own field {name} not listed"


def test_a_policy_in_a_sentence_says_every_part_of_it(new_kinds):
    """`describe`, by hand: the title and a label that adds something (one whose first word the title already has
    is left out), the months (the end not included), the hosts, one sector or several, the compliance and each
    period of its schedule (a level per host in words), then every own setting, given or default, in its unit; a
    month index as a date when a calendar is given, else as "month 24"; the settings a posterior draws said to be
    drawn; an unknown kind by its name. Broken on purpose (singular and plural sectors swapped, a schedule period
    dropped, the drawn compliance said as a level, a label always named): fails."""
    from sim.core.params import Calendar
    from sim.core.policies import describe

    strict = {"kind": "camp_quota", "label": "Inspections of 2019", "start": "2019-01", "end": "2020-06"}
    strict |= {"hosts": ["russia", "china"], "sectors": ["construction"], "compliance": 0.5, "delay": 2.0}
    strict |= {"share": 0.25, "schedule": [{"start": "2019-07", "compliance": 0.8}]}
    strict["schedule"].append({"start": "2020-01", "compliance": {"russia": 0.2, "china": 0.9}})
    assert describe(strict) == (
        "A quota of camps inspected (Inspections of 2019), from 2019-01 to 2020-06 (not included), russia, china, "
        "sector construction; compliance 50%; from 2019-07: 80%; from 2020-01: russia 20%, china 90% "
        "(months before the first inspection: 2 months; share of camps inspected: 25%; camps inspected a month: "
        "100%; month of the review: month 24)"
    )
    drawn = {"kind": "camp_quota", "start": 6, "review": 30, "spread": 0.3, "sectors": ["construction", "it"]}
    assert describe(drawn, drawn={"compliance", "spread"}, calendar=Calendar(start="2019-01", months=60)) == (
        "A quota of camps inspected, from 2019-07, every host, sectors construction, it; compliance as drawn from "
        "the posterior (months before the first inspection: 3 months; share of camps inspected: 50%; camps "
        "inspected a month drawn from the posterior; month of the review: 2021-07)"
    )
    said = describe({"kind": "camp_quota", "label": "Camp quota, strict", "start": "2019-01"})
    assert said.startswith("A quota of camps inspected, from 2019-01, every host; compliance 100% (")
    assert (
        describe({"kind": "no_such_kind", "start": "2019-01"})
        == "no such kind, from 2019-01, every host; compliance 100%"
    )


class Sweep(PolicyBase):
    """A sectoral kind defined here only, with a required month and a setting with no words of its own."""

    title: ClassVar[str] = "A sweep of the building sites"
    kind: Literal["site_sweep"]
    sectors: Literal["all"] | list[str] = Field(["construction", "logging"], description="the sectors it acts on")
    until: int | str = U(description="month the sweep ends", unit="month")
    found_share: float = F(0.2, "assumption", "", unit="share", ge=0, le=1)


def test_a_kind_is_described_from_its_declaration_with_and_without_the_names():
    """`describe_kind`, by hand: its heading; for a kind that acts on some sectors only, which; each own setting in
    words with its name and unit (the ODD, the validator) or without (the classroom's switches), a required one as
    required or set by the switch, a setting with no words by its name; and `levels_in_words` per host, for none,
    and as one level. Broken on purpose (the sectors' tag kept without the names, "unless set" said to students,
    a required setting given a default): fails."""
    from sim.core.policies import levels_in_words

    assert describe_kind(Sweep) == (
        "A sweep of the building sites. It acts only on construction and logging work (`sectors`), not on a host's "
        "other work. Month the sweep ends (`until`, month): required; found share (`found_share`, share): 20% "
        "unless set."
    )
    assert describe_kind(Sweep, names=False) == (
        "A sweep of the building sites. It acts only on construction and logging work, not on a host's other work. "
        "Month the sweep ends: set by the switch; found share: 20%."
    )
    assert levels_in_words({"russia": 0.25, "china": 1.0}) == "russia 25%, china 100%"
    assert levels_in_words({}) == "no host" and levels_in_words(0.4) == "40%"
