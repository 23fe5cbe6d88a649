"""Sanction policies as timed interventions (phase 1 of every month).

A policy is data: one entry of ``[[policies]]``, validated by its kind's
class below. Each kind owns its effect: its `apply` method turns it into the
levers a host pulls this month (`Levers`, one number per host and lever),
which both engines read. `levers_for_month` applies every policy in force;
where two policies of the same kind cover a host in the same month, the
higher compliance wins.

Adding a kind is adding a class here (registered by subclassing
`PolicyBase`): the parameter schema, the classroom page's switches, the
docking and property tests and the single-policy files all derive from
`POLICY_CLASSES`. See CONTRIBUTING.md.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, Union

import numpy as np
from pydantic import Field, field_validator

from ..common.validation import Strict
from . import rules
from .fields import F, U, check_month, in_words, source_of, unit_of


# a lever's default: None, which `Levers.__post_init__` replaces with the lever's value when no sanction pulls it
_FILLED_IN: Any = None


@dataclass
class Levers:
    """What the sanctions in force make each host do this month (arrays over hosts)."""

    month: int
    n_hosts: int
    active: list[str] = field(default_factory=list)  # labels of the policies in force
    hosts: list = field(default_factory=list)  # the hosts' parameters (params.hosts), in order
    ban: np.ndarray = _FILLED_IN  # compliance with a permit ban
    evasion: np.ndarray = _FILLED_IN  # share of banned deployments on student/tourist visas
    repatriation: np.ndarray = _FILLED_IN  # compliance with a repatriation mandate (blocks new permits too)
    repatriation_hazard: np.ndarray = _FILLED_IN  # monthly chance a unit is sent home now
    repatriation_evasion: np.ndarray = (
        _FILLED_IN  # share of the mandate evaded: postings and relabelled workers on visas
    )
    detection: np.ndarray = _FILLED_IN  # hosts x 3: monthly chance a worker on a student visa, tourist visa, other status is found and sent home
    bank_block: np.ndarray = _FILLED_IN  # share of bank transfers blocked
    courier_seizure: np.ndarray = _FILLED_IN  # extra share of bulk cash seized (before the base rate)
    mule_seizure: np.ndarray = _FILLED_IN
    direct_wages: np.ndarray = _FILLED_IN  # compliance: share of employers paying workers directly
    coercion: np.ndarray = _FILLED_IN
    inspections: np.ndarray = _FILLED_IN  # compliance: share of employers inspected
    max_hours: np.ndarray = _FILLED_IN
    return_passports: np.ndarray = _FILLED_IN  # bool per host
    asylum_boost: np.ndarray = _FILLED_IN  # share of the route's gap closed (boost x compliance)
    closed: np.ndarray = _FILLED_IN  # bool per host: North Korea's border is closed to and from it
    pay_lost: np.ndarray = _FILLED_IN  # share of the employer's payment that never reaches the worker or the state

    def __post_init__(self):
        n = self.n_hosts
        for name in (
            "ban",
            "evasion",
            "repatriation",
            "repatriation_hazard",
            "repatriation_evasion",
            "bank_block",
            "courier_seizure",
            "mule_seizure",
            "direct_wages",
            "coercion",
            "inspections",
            "asylum_boost",
            "pay_lost",
        ):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(n))
        if self.detection is None:
            self.detection = np.zeros((n, 3))
        if self.max_hours is None:
            self.max_hours = np.full(n, np.inf)
        if self.return_passports is None:
            self.return_passports = np.zeros(n, dtype=bool)
        if self.closed is None:
            self.closed = np.zeros(n, dtype=bool)

    def lose_pay(self, h: int, share: float) -> None:
        """A measure takes ``share`` of what reaches host ``h``'s workers of their employer's payment; measures
        together take 1 - (1 - a)(1 - b): each takes its share of what the others leave."""
        self.pay_lost[h] = 1.0 - (1.0 - self.pay_lost[h]) * (1.0 - share)

    def as_lists(self) -> "Levers":
        """A copy holding Python lists (fast to index one agent at a time in the mesa engine)."""
        out = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(out, name, value.tolist())
        return out


class Period(Strict):
    """From ``start`` on, the policy is complied with at ``compliance`` (until the next period)."""

    start: int | str = Field(description="first month of this period: an index or 'YYYY-MM'")
    compliance: float | dict[str, float] = Field(description="one level, or one per host")

    @field_validator("start")
    @classmethod
    def _month(cls, v):
        return check_month(v)

    @field_validator("compliance")
    @classmethod
    def _compliance(cls, v):
        return _check_levels(v)


def _check_levels(v):
    values = v.values() if isinstance(v, dict) else [v]
    for x in values:
        if not (0.0 <= x <= 1.0) or math.isnan(x):
            raise ValueError(f"compliance must be between 0 and 1 (got {x})")
    return v


class PolicyBase(Strict):
    """What every policy has: when, where, how fully the hosts comply, and a label."""

    noun: ClassVar[str] = "policy"  # for messages: "unknown policy kind"
    title: ClassVar[str] = ""  # a plain-language name (the classroom page's switch)
    # False for a fact of the world (the border closure): not a lever of the sanctions, so a "world without
    # sanctions" keeps it, the figures shade it as a period and the report lists no assumption of it
    is_sanction: ClassVar[bool] = True
    source: ClassVar[str] = ""  # a kind with no own fields: where the fact it stands for is reported

    start: int | str = U(description="first month: an index or 'YYYY-MM'", unit="month")
    end: int | str | None = U(None, description="first month it no longer applies (optional)", unit="month")
    hosts: Literal["all"] | list[str] = Field("all", description="'all' or host names")
    sectors: Literal["all"] | list[str] = Field(
        "all", description="'all' or the sectors it acts on (a host's workers in other sectors are not touched)"
    )
    compliance: float | dict[str, float] = U(1.0, description="one level, or one per host", unit="share")
    label: str = Field("", description="free text, e.g. 'UNSCR 2375'")
    schedule: list[Period] = Field(
        default_factory=list,
        description="compliance by period: from each period's start on, its levels replace the ones before (optional)",
    )

    @field_validator("compliance")
    @classmethod
    def _compliance(cls, v):
        return _check_levels(v)

    @field_validator("start", "end")
    @classmethod
    def _month(cls, v):
        return v if v is None else check_month(v)  # end = None: no end (as a dump of Params writes it)

    @classmethod
    def kind_name(cls) -> str:
        return cls.model_fields["kind"].annotation.__args__[0]  # type: ignore[union-attr]  # each kind declares kind: Literal["..."]

    @classmethod
    def own_fields(cls) -> dict:
        """The kind's own fields (how it pulls its levers), in the order declared: every field but the ones all
        policies have. Each declares its words (``description``) and its unit; the reports, the classroom page,
        ``olsim validate`` and the ODD's appendix describe a policy from them."""
        return {k: f for k, f in cls.model_fields.items() if k != "kind" and k not in PolicyBase.model_fields}

    @classmethod
    def heading(cls) -> str:
        """The kind's plain-language name: its title, else its kind in words."""
        return cls.title or cls.kind_name().replace("_", " ")

    @classmethod
    def example(cls, start: int) -> dict:
        """The fields of an example of this kind starting at month ``start`` at every host, fully
        complied with, its own fields at their defaults (the classroom page's switch, new single-policy files)."""
        return {"kind": cls.kind_name(), "start": start, "hosts": "all", "compliance": 1.0}

    def check_months(self, calendar) -> list[str]:
        """Problems with this policy's months on a run's calendar, each as 'field: problem'."""
        start = calendar.index(self.start)
        end = None if self.end is None else calendar.index(self.end)
        if end is not None and end <= start:
            return [f"end: ends ({self.end}) before or when it starts ({self.start})"]
        errors, last = [], start
        for i, period in enumerate(self.schedule):
            at = calendar.index(period.start)
            if at <= last:
                errors.append(
                    f"schedule[{i}].start: {period.start} is not after "
                    f"{'the policy start' if i == 0 else 'the period before'} ({self.start if i == 0 else self.schedule[i - 1].start})"
                )
            elif end is not None and at >= end:
                errors.append(f"schedule[{i}].start: {period.start} is not before the policy's end ({self.end})")
            last = max(last, at)
        return errors

    def levels(self) -> list:
        """Every compliance given (the policy's own and each period's), for the checks of host names."""
        return [self.compliance, *(p.compliance for p in self.schedule)]

    def in_force(self, calendar, month: int) -> bool:
        start = calendar.index(self.start)
        end = None if self.end is None else calendar.index(self.end)
        return start <= month and (end is None or month < end)

    def compliance_at(self, host: str, month: int | None = None, calendar=None) -> float:
        """Compliance of one host with this policy in ``month`` (0 if the policy does not cover it): the level
        of the latest period of the schedule begun by then, else the policy's own."""
        if self.hosts != "all" and host not in self.hosts:
            return 0.0
        c = self.compliance
        if month is not None and self.schedule:
            for period in self.schedule:
                if calendar.index(period.start) <= month:
                    c = period.compliance
        return float(c.get(host, 0.0)) if isinstance(c, dict) else float(c)

    def apply(self, lv: Levers, h: int, c: float, month: int, calendar) -> None:  # pragma: no cover - abstract
        """Pull this kind's levers for host ``h`` at compliance ``c`` (> 0) in ``month``."""
        raise NotImplementedError


class PermitBan(PolicyBase):
    title: ClassVar[str] = "No new work permits (UNSCR 2375)"
    kind: Literal["permit_ban"]
    evasion: float = F(
        0.3,
        "facts: Russia 2018, 700+ permits but 10,000+ registrations (RFA, WSJ); share: assumption",
        "share of blocked deployments sent anyway on student or tourist visas",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        if c >= lv.ban[h]:
            lv.ban[h], lv.evasion[h] = c, self.evasion


class Repatriation(PolicyBase):
    title: ClassVar[str] = "Send all workers home within 2 years (UNSCR 2397)"
    kind: Literal["repatriation"]
    deadline: int | str = U(
        description="month by which complying hosts have sent the workers home (UNSCR 2397: 2019-12)", unit="month"
    )
    evasion: float = F(
        0.0,
        "assumption; facts: workers relabelled and sent on student and tourist visas (RFA, WSJ, UN Panel 2024)",
        "share of the permit holders a complying host would send home who are relabelled (student, tourist, other) instead, and of the postings the mandate closes that still arrive that way",
        unit="share",
        ge=0,
        le=1,
    )
    after_deadline: float = F(
        0.3,
        "assumption",
        "yearly chance a permit holder still there after the deadline is sent home, at full compliance",
        unit="share a year",
        ge=0,
        le=1,
    )

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, v):
        return check_month(v)

    @classmethod
    def example(cls, start: int) -> dict:
        return {**super().example(start), "deadline": start + 24}  # UNSCR 2397 gave two years

    def check_months(self, calendar) -> list[str]:
        errors = super().check_months(calendar)
        start, deadline = calendar.index(self.start), calendar.index(self.deadline)
        if deadline <= start:
            errors.append(f"deadline: deadline ({self.deadline}) is not after the start ({self.start})")
        elif deadline <= 0:
            errors.append(
                f"deadline: deadline ({self.deadline}) is not after the first month of the run ({calendar.start})"
            )
        return errors

    def apply(self, lv, h, c, month, calendar):
        if c >= lv.repatriation[h]:
            lv.repatriation[h] = c
            lv.repatriation_evasion[h] = self.evasion
            start, deadline = calendar.index(self.start), calendar.index(self.deadline)
            if month < deadline:  # permit holders: sent home on a schedule that leaves 1 - c of them by the deadline
                lv.repatriation_hazard[h] = float(rules.repatriation_prob(c, deadline - start, deadline - month))
            else:  # after it, at the enforcement level in force
                lv.repatriation_hazard[h] = c * rules.monthly_chance(self.after_deadline)
            # workers on visas or another status: sent home when found
            host = lv.hosts[h]
            lv.detection[h] = [
                c * rules.monthly_chance(getattr(host, f"detect_{k}")) for k in ("student", "tourist", "other")
            ]


class CashInterdiction(PolicyBase):
    title: ClassVar[str] = "Seize cash at the border"
    kind: Literal["cash_interdiction"]
    seizure: float = F(
        0.5, "assumption", "share of couriers' bulk cash seized at full compliance", unit="share", ge=0, le=1
    )
    mule_seizure: float = F(
        0.2,
        "assumption",
        "share of cash carried by returning workers seized at full compliance",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        lv.courier_seizure[h] = max(lv.courier_seizure[h], self.seizure * c)
        lv.mule_seizure[h] = max(lv.mule_seizure[h], self.mule_seizure * c)


class FinancialSanctions(PolicyBase):
    title: ClassVar[str] = "Block bank transfers"
    kind: Literal["financial_sanctions"]
    block: float = F(0.9, "assumption", "share of bank transfers blocked at full compliance", unit="share", ge=0, le=1)

    def apply(self, lv, h, c, month, calendar):
        lv.bank_block[h] = max(lv.bank_block[h], self.block * c)


class DirectWages(PolicyBase):
    title: ClassVar[str] = "Employers pay workers directly"
    kind: Literal["direct_wages"]
    coercion: float = F(
        0.5,
        "assumption; facts: remedy suggested by a researcher (NYT 2015)",
        "share of the usual take the state still extracts from a worker paid directly",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        if c >= lv.direct_wages[h]:
            lv.direct_wages[h], lv.coercion[h] = c, self.coercion


class LaborInspections(PolicyBase):
    title: ClassVar[str] = "Labour inspections (10-hour days, passports back)"
    kind: Literal["labor_inspections"]
    max_hours: float = F(10.0, "assumption", "hours per day inspectors allow", unit="hours a day", gt=0, le=24)
    return_passports: bool = F(True, "assumption", "inspectors return confiscated passports", unit="yes/no")

    def apply(self, lv, h, c, month, calendar):
        if c >= lv.inspections[h]:
            lv.inspections[h], lv.max_hours[h] = c, self.max_hours
            lv.return_passports[h] = self.return_passports


class AsylumAccess(PolicyBase):
    title: ClassVar[str] = "Open embassies and refugee agencies to escapees"
    kind: Literal["asylum_access"]
    route_boost: float = F(
        0.5,
        "assumption; facts: escape into an embassy (Kuwait 1997, NYT 2015)",
        "share of the remaining gap to a sure route that asylum access closes",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        lv.asylum_boost[h] = max(lv.asylum_boost[h], self.route_boost * c)


class SectorBan(PolicyBase):
    title: ClassVar[str] = "Ban a sector's goods (UNSCR 2371/2375: seafood, textiles)"
    kind: Literal["sector_ban"]
    sectors: Literal["all"] | list[str] = Field(
        ["factory"],
        description="'all' or the sectors it acts on (UNSCR 2371 banned seafood, 2375 textiles: factory work)",
    )
    work_lost: float = F(
        0.5,
        "assumption; facts: UNSCR 2371 (Aug 2017) and 2375 (Sep 2017) banned North Korea's seafood and textile "
        "exports; Chinese seafood and textile factories employed its workers (NYT 2015)",
        "share of the sector's pay lost at full compliance (the orders its workers filled are gone)",
        unit="share",
        ge=0,
        le=1,
    )
    evasion: float = F(
        0.1,
        "assumption",
        "share of the sector's blocked postings still made (other work on paper)",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        # no new postings to the banned work (the state's targets move to other work, state.shift_share) and the
        # work that remains pays less
        if c >= lv.ban[h]:
            lv.ban[h], lv.evasion[h] = c, self.evasion
        lv.lose_pay(h, self.work_lost * c)


class PlatformChecks(PolicyBase):
    title: ClassVar[str] = "Platforms and employers check IT workers' identities"
    kind: Literal["platform_checks"]
    sectors: Literal["all"] | list[str] = Field(["it"], description="'all' or the sectors it acts on (IT work)")
    found: float = F(
        0.5,
        "assumption; facts: IT workers pose as other nationals, paid through platforms (UN Panel Dec 2023)",
        "share of the work of those posing as other nationals that identity checks find and cut off, at full "
        "compliance",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        lv.lose_pay(h, self.found * c)


class AccountFreeze(PolicyBase):
    title: ClassVar[str] = "Freeze the accounts that receive IT workers' pay"
    kind: Literal["account_freeze"]
    sectors: Literal["all"] | list[str] = Field(["it"], description="'all' or the sectors it acts on (IT work)")
    frozen: float = F(
        0.3,
        "assumption; facts: IT workers are paid through banks, platforms and online (UN Panel Dec 2023)",
        "share of the payments frozen in the accounts that receive them, at full compliance",
        unit="share",
        ge=0,
        le=1,
    )

    def apply(self, lv, h, c, month, calendar):
        lv.lose_pay(h, self.frozen * c)


class BorderClosure(PolicyBase):
    title: ClassVar[str] = "North Korea closes its border (COVID-19, 2020-23)"
    is_sanction: ClassVar[bool] = False  # a fact of the world, not a sanction
    source: ClassVar[str] = "facts: border closure (COVID-19), Reuters, AP, NK News 2020-2023"
    kind: Literal["border_closure"]

    # a closed border: no postings and no candidate approved for it, no one goes home (contracts run on: stranded
    # workers, who go home once it is open as replacements arrive; no repatriation, no sending home), no cash
    # crosses by courier or mule (docs/ODD.md 7.2, 7.2.4a, 7.7, 7.11, 7.12)
    @classmethod
    def example(cls, start: int) -> dict:
        return {**super().example(start), "end": start + 43}  # as long as 2020-01 to 2023-08

    def apply(self, lv, h, c, month, calendar):
        lv.closed[h] = True


# every kind, in the order of definition: the schema, the page and the tests derive from this
POLICY_CLASSES: dict[str, type[PolicyBase]] = {cls.kind_name(): cls for cls in PolicyBase.__subclasses__()}
POLICY_KINDS = tuple(POLICY_CLASSES)
if TYPE_CHECKING:  # to a type checker a policy is one of the kinds; pydantic reads the tagged union below
    Policy: TypeAlias = PolicyBase
else:
    Policy = Annotated[Union[tuple(POLICY_CLASSES.values())], Field(discriminator="kind")]


def levels_in_words(c) -> str:
    """A compliance (one level, or one per host) in words: '25%', 'china 25%, russia 90%'."""
    if isinstance(c, dict):
        return ", ".join(f"{h} {in_words(v, 'share')}" for h, v in c.items()) if c else "no host"
    return in_words(c, "share")


def field_words(cls: type[PolicyBase], name: str, value) -> str:
    """One own field of a kind and its value, in words: 'share of bank transfers blocked at full compliance: 50%'."""
    f = cls.model_fields[name]
    return f"{f.description or name.replace('_', ' ')}: {in_words(value, unit_of(f))}"


def own_settings(p) -> dict:
    """A policy's own fields (a validated policy or a raw entry): the values given, else the kind's defaults."""
    raw = p if isinstance(p, dict) else p.model_dump(mode="json")
    cls = POLICY_CLASSES.get(raw.get("kind"))  # type: ignore[arg-type]  # no kind given: None, no class
    if cls is None:
        return {}
    out = {}
    for k, f in cls.own_fields().items():
        if raw.get(k) is not None:
            out[k] = raw[k]
        elif not f.is_required() and f.get_default(call_default_factory=True) is not None:
            out[k] = f.get_default(call_default_factory=True)
    return out


def describe(p, drawn=frozenset(), calendar=None) -> str:
    """One policy in a sentence, every field it has said with its unit: its title (and label), its months, its
    hosts, its compliance (and schedule), then each of its own fields (`PolicyBase.own_fields`: the value given or
    the default). ``p``: a validated policy or a raw ``[[policies]]`` entry (months as dates, or indices turned
    into dates by ``calendar``). The fields in ``drawn`` (e.g. 'compliance', 'evasion') vary over a posterior's
    draws and are said to."""
    raw = p if isinstance(p, dict) else p.model_dump(mode="json", exclude_none=True)
    kind = raw.get("kind")
    cls = POLICY_CLASSES.get(kind)  # type: ignore[arg-type]  # no kind given: None, no class
    title = cls.heading() if cls is not None else str(kind).replace("_", " ")

    def when(m):
        return calendar.date(m) if calendar is not None and isinstance(m, int) else in_words(m, "month")

    label = raw.get("label") or ""
    named = label and label not in title and label.split()[0].lower() not in title.lower()
    end = raw.get("end")
    hosts = "every host" if raw.get("hosts", "all") == "all" else ", ".join(raw["hosts"])
    default_sectors = cls.model_fields["sectors"].default if cls is not None else "all"
    sectors = raw.get("sectors", default_sectors)
    text = (
        f"{title}"
        + (f" ({label})" if named else "")
        + f", from {when(raw['start'])}"
        + (f" to {when(end)} (not included)" if end is not None else "")
        + f", {hosts}"
        + ("" if sectors == "all" else f", {'sector' if len(sectors) == 1 else 'sectors'} {', '.join(sectors)}")
    )
    if "compliance" in drawn:
        text += "; compliance as drawn from the posterior"
    else:
        text += f"; compliance {levels_in_words(raw.get('compliance', 1.0))}"
        for period in raw.get("schedule") or []:
            text += f"; from {when(period['start'])}: {levels_in_words(period['compliance'])}"
    extras = []
    for k, v in own_settings(raw).items():
        assert cls is not None  # own_settings has nothing for an unknown kind
        if k in drawn:
            f = cls.model_fields[k]
            extras.append(f"{f.description or k.replace('_', ' ')} drawn from the posterior")
        elif unit_of(cls.model_fields[k]) == "month" and calendar is not None:
            extras.append(field_words(cls, k, when(v)))
        else:
            extras.append(field_words(cls, k, v))
    return text + (f" ({'; '.join(extras)})" if extras else "")


def describe_kind(cls: type[PolicyBase], names: bool = True) -> str:
    """What a kind is, from its declaration: its heading, whether it is a sanction, and each own field with its
    unit and default ('share of bank transfers blocked at full compliance (`block`, share): 90% unless set');
    ``names=False`` says only the words and the default (the classroom page's switches, which set no field but a
    required one, as `example` does)."""
    parts = []
    for k, f in cls.own_fields().items():
        unit = unit_of(f)
        if f.is_required():
            default = "required" if names else "set by the switch"
        else:
            default = in_words(f.get_default(call_default_factory=True), unit) + (" unless set" if names else "")
        tag = f" (`{k}`, {unit or 'no unit'})" if names else ""
        parts.append(f"{f.description or k.replace('_', ' ')}{tag}: {default}")
    what = "" if cls.is_sanction else " A fact of the world, not a sanction."
    sectors = cls.model_fields["sectors"].default
    if sectors != "all":  # a sectoral measure: a host's other work is not touched (a camp of builders, for one)
        tag = " (`sectors`)" if names else ""
        what += f" It acts only on {' and '.join(sectors)} work{tag}, not on a host's other work."
    said = "; ".join(parts)
    return f"{cls.heading()}.{what}" + (f" {said[:1].upper()}{said[1:]}." if parts else "")


def assumed_settings(p: dict) -> list[str]:
    """The own fields a policy (a raw entry) gives a value whose source is an assumption, in declaration order."""
    cls = POLICY_CLASSES.get(p.get("kind"))  # type: ignore[arg-type]  # no kind given: None, no class
    if cls is None:
        return []
    return [k for k, f in cls.own_fields().items() if k in p and "assumption" in source_of(f)]


def is_sanction(policy) -> bool:
    """Whether a policy (a validated one, or a raw ``[[policies]]`` entry with its ``kind``) is a sanction rather
    than a fact of the world (its class's `is_sanction`); an unknown kind counts as a sanction."""
    kind = policy.get("kind") if isinstance(policy, dict) else policy.kind
    cls = POLICY_CLASSES.get(kind)  # type: ignore[arg-type]  # no kind given: None, no class
    return True if cls is None else cls.is_sanction


def levers_for_month(params, month: int) -> Levers:
    """The levers of every policy in force in ``month``, per host; where the hosts are cells (host group x sector,
    `sim.core.sectors.expand`), per cell: a policy covers a cell when it covers its host group and its sector."""
    hosts = list(params.hosts)
    cells = getattr(params, "_cells", None)
    groups = hosts if cells is None else [cells.groups[g] for g in cells.group_of]
    sectors = None if cells is None else cells.sector_of
    lv = Levers(month=month, n_hosts=len(hosts), hosts=list(params.hosts.values()))
    for policy in params.policies:
        if not policy.in_force(params.calendar, month):
            continue
        lv.active.append(policy.label or policy.kind)
        for h, group in enumerate(groups):
            if sectors is not None and policy.sectors != "all" and sectors[h] not in policy.sectors:
                continue
            c = policy.compliance_at(group, month, params.calendar)
            if c > 0:
                policy.apply(lv, h, c, month, params.calendar)
    # a closed border lets no one out: a mandate cannot be carried out while it is closed
    lv.repatriation_hazard[lv.closed] = 0.0
    lv.detection[lv.closed] = 0.0
    return lv


def channel_losses(params, lv: Levers) -> dict[str, np.ndarray]:
    """Share of each channel's money seized or blocked, per host."""
    base = np.array([h.base_interdiction for h in params.hosts.values()])
    return {
        "bank": lv.bank_block.copy(),
        "courier": 1.0 - (1.0 - base) * (1.0 - lv.courier_seizure),
        "mule": lv.mule_seizure.copy(),
    }
