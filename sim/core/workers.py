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


@dataclass(frozen=True)
class Field:
    """One field of a worker.

    ``kind`` is float, int or bool (the array engine's column type); ``initial`` is the value at posting, or
    TRAIT / POSTING; ``archived`` fields are kept once he has left and are the columns of the workers table
    (``host`` and ``status`` as names there, codes in the array engine); a ``derived`` column is computed
    from archived fields, not stored.
    """

    name: str
    kind: type
    initial: object
    doc: str
    archived: bool = False
    derived: bool = False


FIELDS_AND_DERIVED = (
    # the workers table, in its column order
    Field("worker_id", int, POSTING, "his id, in order of posting", archived=True),
    Field("host", int, POSTING, "the host country (index into params.hosts)", archived=True),
    Field("status", int, "active", "active, or how he left (STATUSES)", archived=True),
    Field("month_deployed", int, POSTING, "the month he was posted (negative: before the run)", archived=True),
    Field("month_left", int, -1, "the month he left; -1 while posted", archived=True),
    Field("entry_bribe", float, TRAIT, "what he paid to be selected (USD)", archived=True),
    Field("retained_total", float, 0.0, "what he has kept, summed over his months (USD)", archived=True),
    Field("bribes_total", float, 0.0, "bribes paid to his minder (USD)", archived=True),
    Field("side_earnings_total", float, 0.0, "side-job earnings before the minder's cut (USD)", archived=True),
    Field("forfeited_total", float, 0.0, "ledger and cash lost on leaving (USD)", archived=True),
    Field("net_gain", float, None, "retained_total - forfeited_total - entry_bribe (USD)", archived=True, derived=True),
    Field("months_abroad", int, POSTING, "months of his contract served", archived=True),
    Field("productivity", float, TRAIT, "output per hour relative to the host's wage", archived=True),
    Field("loyalty", float, TRAIT, "loyalty to the state (lowers grievance)", archived=True),
    Field("legal", int, TRAIT, "legal status: permit, student, tourist or other (LEGAL; names in the table)", archived=True),
    # the rest of his state while posted
    Field("camp", int, POSTING, "his camp (the unit of a group quota)"),
    Field("team", int, POSTING, "his team (informants report within it)"),
    Field("minder", int, POSTING, "his minder"),
    Field("risk_aversion", float, TRAIT, "how much the risk of escaping deters him"),
    Field("family", float, TRAIT, "family at home (reprisal risk)"),
    Field("informant", bool, TRAIT, "whether he informs on his team"),
    Field("passport_held", bool, TRAIT, "whether his minder holds his passport"),
    Field("entry_debt", float, TRAIT, "what he still owes for the entry bribe (USD)"),
    Field("kept_avg", float, TRAIT, "running average of what he keeps a month (USD)"),
    Field("gross_avg", float, TRAIT, "running average of what he earns a month (USD)"),
    Field("cash", float, 0.0, "cash he holds (USD)"),
    Field("ledger", float, 0.0, "wages credited to him, paid on return (USD)"),
    Field("plan_arrears", float, 0.0, "what he owes the plan from earlier months (USD)"),
    Field("ledger_paid", float, 0.0, "ledger paid out on his return (USD)"),
    Field("shortfall", float, 0.0, "this month's gross short of the plan (USD); his minder reads it next month"),
    Field("plan", float, 0.0, "this month's plan (USD); his minder reads it next month"),
    Field("lost", float, 0.0, "what he lost on leaving (USD), counted in the month's forfeited"),
)

FIELDS = tuple(f for f in FIELDS_AND_DERIVED if not f.derived)  # what each engine stores
FIELD = {f.name: f for f in FIELDS}
ARCHIVED = tuple(f.name for f in FIELDS if f.archived)  # what the array engine keeps of those who left
TRAITS = tuple(f.name for f in FIELDS if f.initial == TRAIT)
COLUMNS = [f.name for f in FIELDS_AND_DERIVED if f.archived]  # the workers table

# The month's flows collected from every worker who worked (results.tables.MonthAggregator), in USD a month
# except hours (a day). Both engines hold them under these names: the mesa engine as attributes of each worker,
# the array engine as arrays over rows (`ArrayModel.flows`).
FLOWS = {
    "gross": "wages earned",
    "side": "side-job earnings",
    "take": "taken by the state",
    "bribes": "paid to the minder (side-job cut and threat bribe)",
    "retained": "what he kept",
    "hours": "hours worked a day",
    "short": "1 if his gross fell short of the plan this month, else 0 (counted as workers_short)",
}


def net_gain(retained_total, forfeited_total, entry_bribe):
    """What a worker took home over his posting, net of what he lost and the bribe he paid to go."""
    return retained_total - forfeited_total - entry_bribe
