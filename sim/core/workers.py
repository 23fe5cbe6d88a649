"""What a worker is, declared once: his fields, his statuses and the month's flows collected from him.

Both engines build their workers from `FIELDS`: the mesa engine's `Worker` sets one attribute per field,
the array engine keeps one column per field, and both build the workers table (`results.tables.workers_table`)
from the fields marked ``archived``, under the same names, in the order declared here. The phase-by-phase
docking test (tests/test_docking.py) compares the engines field by field after every phase.
"""

from __future__ import annotations

from dataclasses import dataclass

EXITS = ("completed", "sent_home", "repatriated", "escaped", "caught", "dead")
STATUSES = ("active", *EXITS)
STATUS_CODE = {name: i for i, name in enumerate(STATUSES)}

# a worker's legal status in the host country: what he was posted on, or relabelled to (docs/ODD.md 7.2)
LEGAL = ("permit", "student", "tourist", "other")
LEGAL_CODE = {name: i for i, name in enumerate(LEGAL)}

TRAIT = "trait"  # drawn at posting by `rules.new_worker_attributes`
POSTING = "posting"  # set at posting: his id, host, camp, team, minder, month posted, months abroad


LEAVING = (2, 7, 9, 10, 11)  # the phases in which a worker may leave (and his ledger and cash are settled)


@dataclass(frozen=True)
class Update:
    """A field's monthly update by a rule of the rulebook, both engines: after phase ``after`` (3, 7 or 11: the end
    of one of the array engine's passes), every worker still posted gets ``field = rule(*reads)``, where each of
    ``reads`` is a worker field or a parameter's dotted key (``"escape.memory"``) and ``rule`` names a `@rule` of
    `sim.core.rules` taking and returning numbers (float64; an int or bool field takes the result cast, as numpy
    casts). The mesa engine calls it per worker, the array engine in a compiled loop over the rows."""

    after: int
    rule: str
    reads: tuple


@dataclass(frozen=True)
class Field:
    """One field of a worker.

    ``dtype`` is the array engine's column type (numpy's code: ``f8``, ``i8``, ``i4``, ``i2``, ``i1``, ``b1``:
    narrow where the values allow); ``initial`` is the value at posting, or TRAIT / POSTING; ``phases`` are the
    phases of the month (sim/core/phases.py) that read or write it (tests/test_engine_state.py checks them against
    the array engine's loops); ``archived`` fields are kept once he has left and are the columns of the workers
    table (``host``, ``status`` and ``legal`` as names there, codes in the array engine); a ``derived`` column is
    computed from archived fields, not stored; a ``month`` field is one of the month's flows, set afresh every
    month for those who work (`FLOWS`).
    """

    name: str
    dtype: str
    initial: object
    doc: str
    phases: tuple = ()
    archived: bool = False
    derived: bool = False
    month: bool = False
    update: Update | None = None  # a monthly update by a rule (the way to add a field without touching the engines)

    @property
    def kind(self) -> type:
        """float, int or bool."""
        return {"f": float, "i": int, "b": bool}[self.dtype[0]]


FIELDS_AND_DERIVED = (
    # the workers table, in its column order
    Field(
        "worker_id",
        "i8",
        POSTING,
        "his id, in order of posting (the key of his every draw)",
        (2, 4, 5, 6, 7, 8, 9, 10, 11),
        archived=True,
    ),
    Field(
        "host",
        "i2",
        POSTING,
        "the host country (index into params.hosts)",
        (2, 4, 5, 6, 7, 9, 10, 11, 12, 13),
        archived=True,
    ),
    Field(
        "sector",
        "i2",
        None,
        "the sector he works in (params.sectors; his host's cell, sim/core/sectors.py)",
        archived=True,
        derived=True,
    ),
    Field(
        "status",
        "i1",
        "active",
        "active, or how he left (STATUSES)",
        (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13),
        archived=True,
    ),
    Field("month_deployed", "i2", POSTING, "the month he was posted (negative: before the run)", (2,), archived=True),
    Field("month_left", "i2", -1, "the month he left; -1 while posted", (*LEAVING, 13), archived=True),
    Field("entry_bribe", "f8", TRAIT, "what he paid to be selected (USD)", (2, 13), archived=True),
    Field("retained_total", "f8", 0.0, "what he has kept, summed over his months (USD)", (7,), archived=True),
    Field("bribes_total", "f8", 0.0, "bribes paid to his minder (USD)", (7,), archived=True),
    Field("side_earnings_total", "f8", 0.0, "side-job earnings before the minder's cut (USD)", (7,), archived=True),
    Field("forfeited_total", "f8", 0.0, "ledger and cash lost on leaving (USD)", LEAVING, archived=True),
    Field(
        "coupons_total",
        "f8",
        0.0,
        "what he kept that was paid to his family in coupons for state stores, at face value (USD)",
        (5,),
        archived=True,
    ),
    Field(
        "net_gain",
        "f8",
        None,
        "retained_total - forfeited_total - entry_bribe - (1 - coupon_value) x coupons_total (USD)",
        archived=True,
        derived=True,
    ),
    Field("months_abroad", "i2", POSTING, "months of his contract served", (2, 5, 11), archived=True),
    Field(
        "extended",
        "i2",
        0,
        "months his contract was extended by (population.extension_months at a time)",
        (2, 11),
        archived=True,
    ),
    Field("productivity", "f8", TRAIT, "output per hour relative to the host's wage", (2, 4), archived=True),
    Field("loyalty", "f8", TRAIT, "loyalty to the state (lowers grievance)", (2, 9), archived=True),
    Field(
        "legal",
        "i1",
        TRAIT,
        "legal status: permit, student, tourist or other (LEGAL; names in the table)",
        (2, 13),
        archived=True,
    ),
    # the rest of his state while posted
    Field("camp", "i4", POSTING, "his camp (the unit of a group quota)", (2, 5, 9) + LEAVING),
    Field("team", "i4", POSTING, "his team (informants report within it)", (2, 7, 8)),
    Field("minder", "i4", POSTING, "his minder", (2, 3, 4, 6, 9, 11)),
    Field("risk_aversion", "f8", TRAIT, "how much the risk of escaping deters him", (2, 9)),
    Field("family", "f8", TRAIT, "family at home (reprisal risk)", (2, 9)),
    Field("informant", "b1", TRAIT, "whether he informs on his team", (2, 7, 8)),
    Field("passport_held", "b1", TRAIT, "whether his minder holds his passport", (2, 9)),
    Field("entry_debt", "f8", TRAIT, "what he still owes for the entry bribe (USD)", (2, 7, 9)),
    Field("kept_avg", "f8", TRAIT, "running average of what he keeps a month (USD)", (2, 6, 7, 9)),
    Field("gross_avg", "f8", TRAIT, "running average of what he earns a month (USD)", (2, 6, 7, 9)),
    Field("cash", "f8", 0.0, "cash he holds (USD)", (5, 6, 7) + LEAVING),
    Field("ledger", "f8", 0.0, "wages credited to him, paid on return (USD)", (5,) + LEAVING),
    Field("plan_arrears", "f8", 0.0, "what he owes the plan from earlier months (USD)", (5, 9)),
    Field("ledger_paid", "f8", 0.0, "ledger paid out on his return (USD)", (*LEAVING, 13)),
    Field("held", "f8", 0.0, "pay the company holds for him until his next payday (USD)", (5,) + LEAVING),
    Field(
        "shortfall",
        "f8",
        0.0,
        "this month's gross short of the plan (USD); his minder reads it next month",
        (3, 5, 7) + LEAVING,
    ),
    Field("plan", "f8", 0.0, "this month's plan (USD); his minder reads it next month", (3, 5, 9) + LEAVING),
    Field("lost", "f8", 0.0, "what he lost on leaving (USD), counted in the month's forfeited", (*LEAVING, 13)),
    # the month's flows, set afresh for every worker who works (`FLOWS`; the mesa worker's attributes of the month)
    Field("gross", "f8", 0.0, "wages earned (USD)", (4, 5, 6, 7, 13), month=True),
    Field("side", "f8", 0.0, "side-job earnings (USD)", (6, 7, 13), month=True),
    Field("take", "f8", 0.0, "taken by the state (USD)", (5, 12, 13), month=True),
    Field("bribes", "f8", 0.0, "paid to the minder: side-job cut and threat bribe (USD)", (6, 7, 13), month=True),
    Field("retained", "f8", 0.0, "what he kept (USD)", (7, 13), month=True),
    Field("hours", "f8", 0.0, "hours worked a day", (4, 9, 10, 13), month=True),
    Field(
        "short", "b1", False, "whether his gross fell short of the plan (counted as workers_short)", (7, 13), month=True
    ),
    Field(
        "inspected",
        "b1",
        False,
        "whether his employer is inspected this month (hours capped, passport returned)",
        (4, 9),
        month=True,
    ),
)

STORED = tuple(f for f in FIELDS_AND_DERIVED if not f.derived)  # the array engine's columns
FIELDS = tuple(f for f in STORED if not f.month)  # his state across months: each engine stores these
FIELD = {f.name: f for f in STORED}
ARCHIVED = tuple(f.name for f in FIELDS if f.archived)  # what the array engine keeps of those who left
TRAITS = tuple(f.name for f in FIELDS if f.initial == TRAIT)
COLUMNS = [f.name for f in FIELDS_AND_DERIVED if f.archived]  # the workers table
UPDATE_AFTER = (3, 7, 11)  # the phases after which a declared update may run (ends of the array engine's passes)

# The month's flows collected from every worker who worked (results.tables), in USD a month except hours (a day)
# and short (a count). Both engines hold them under these names: the mesa engine as attributes of each worker,
# the array engine as columns.
FLOWS = {f.name: f.doc for f in STORED if f.month and f.name != "inspected"}
FLOW_INDEX = {name: k for k, name in enumerate(FLOWS)}  # each flow's row in the month's per-host sums


def updates_after(phase: int) -> tuple:
    """The fields updated after ``phase``, in declaration order."""
    return tuple(f for f in FIELDS if f.update is not None and f.update.after == phase)


def check_updates() -> None:
    """Each declared update runs at the end of a pass, names a rule of the rulebook, reads declared fields or
    parameters, and is declared for its phase (a mistake in the declaration, found at import)."""
    from . import rules

    for f in FIELDS:
        u = f.update
        if u is None:
            continue
        if u.after not in UPDATE_AFTER:
            raise ValueError(f"workers.{f.name}: an update runs after phase 3, 7 or 11, not {u.after}")
        if getattr(rules, u.rule, None) is None:
            raise ValueError(f"workers.{f.name}: sim.core.rules has no rule {u.rule!r}")
        for name in u.reads:
            if "." not in name and name not in FIELD:
                raise ValueError(f"workers.{f.name}: its update reads {name!r}, neither a field nor a parameter key")
        if u.after not in f.phases:
            raise ValueError(f"workers.{f.name}: declare phase {u.after} (its update) among its phases")


def net_gain(retained_total, forfeited_total, entry_bribe, coupons_total=0.0, coupon_value=1.0):
    """What a worker took home over his posting, net of what he lost and the bribe he paid to go, with the coupons
    his family was paid counted at what they buy (``coupon_value`` a dollar)."""
    return retained_total - forfeited_total - entry_bribe - (1.0 - coupon_value) * coupons_total
