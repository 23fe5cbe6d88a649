"""Sanction policies as timed interventions (phase 1 of every month).

A policy is data (an entry of ``[[policies]]``); `policy_levers` turns the
list into what each host does this month, as one number per host and lever.
Both engines read the same `Levers`. Where two policies of the same kind
cover a host in the same month, the higher compliance wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .params import Params


@dataclass
class Levers:
    """What the sanctions in force make each host do this month (arrays over hosts)."""

    month: int
    n_hosts: int
    active: list[str] = field(default_factory=list)  # labels of the policies in force
    ban: np.ndarray = None  # compliance with a permit ban
    evasion: np.ndarray = None  # share of banned deployments on student/tourist visas
    repatriation: np.ndarray = None  # compliance with a repatriation mandate (blocks new permits too)
    repatriation_hazard: np.ndarray = None  # monthly chance a unit is sent home now
    bank_block: np.ndarray = None  # share of bank transfers blocked
    courier_seizure: np.ndarray = None  # extra share of bulk cash seized (before the base rate)
    mule_seizure: np.ndarray = None
    direct_wages: np.ndarray = None  # compliance: share of employers paying workers directly
    coercion: np.ndarray = None
    inspections: np.ndarray = None  # compliance: share of employers inspected
    max_hours: np.ndarray = None
    return_passports: np.ndarray = None  # bool per host
    asylum_boost: np.ndarray = None  # share of the route's gap closed (boost x compliance)

    def __post_init__(self):
        n = self.n_hosts
        for name in ("ban", "evasion", "repatriation", "repatriation_hazard", "bank_block", "courier_seizure",
                     "mule_seizure", "direct_wages", "coercion", "inspections", "asylum_boost"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(n))
        if self.max_hours is None:
            self.max_hours = np.full(n, np.inf)
        if self.return_passports is None:
            self.return_passports = np.zeros(n, dtype=bool)


    def as_lists(self) -> "Levers":
        """A copy holding Python lists (fast to index one agent at a time in the mesa engine)."""
        import copy

        out = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(out, name, value.tolist())
        return out


def is_active(params: Params, policy, month: int) -> bool:
    start = params.calendar.index(policy.start)
    end = None if policy.end is None else params.calendar.index(policy.end)
    return start <= month and (end is None or month < end)


def policy_levers(params: Params, month: int) -> Levers:
    from . import rules

    hosts = list(params.hosts)
    lv = Levers(month=month, n_hosts=len(hosts))
    for policy in params.policies:
        if not is_active(params, policy, month):
            continue
        lv.active.append(policy.label or policy.kind)
        for h, host in enumerate(hosts):
            c = params.compliance(policy, host)
            if c <= 0:
                continue
            kind = policy.kind
            if kind == "permit_ban" and c >= lv.ban[h]:
                lv.ban[h], lv.evasion[h] = c, policy.evasion
            elif kind == "repatriation" and c >= lv.repatriation[h]:
                lv.repatriation[h] = c
                start = params.calendar.index(policy.start)
                deadline = params.calendar.index(policy.deadline)
                if month < deadline:
                    lv.repatriation_hazard[h] = float(rules.repatriation_prob(c, deadline - start, deadline - month))
                else:
                    lv.repatriation_hazard[h] = 0.0
            elif kind == "cash_interdiction":
                lv.courier_seizure[h] = max(lv.courier_seizure[h], policy.seizure * c)
                lv.mule_seizure[h] = max(lv.mule_seizure[h], policy.mule_seizure * c)
            elif kind == "financial_sanctions":
                lv.bank_block[h] = max(lv.bank_block[h], policy.block * c)
            elif kind == "direct_wages" and c >= lv.direct_wages[h]:
                lv.direct_wages[h], lv.coercion[h] = c, policy.coercion
            elif kind == "labor_inspections" and c >= lv.inspections[h]:
                lv.inspections[h], lv.max_hours[h] = c, policy.max_hours
                lv.return_passports[h] = policy.return_passports
            elif kind == "asylum_access":
                lv.asylum_boost[h] = max(lv.asylum_boost[h], policy.route_boost * c)
    return lv


def channel_losses(params: Params, lv: Levers) -> dict[str, np.ndarray]:
    """Share of each channel's money seized or blocked, per host."""
    base = np.array([h.base_interdiction for h in params.hosts.values()])
    return {
        "bank": lv.bank_block.copy(),
        "courier": 1.0 - (1.0 - base) * (1.0 - lv.courier_seizure),
        "mule": lv.mule_seizure.copy(),
    }
