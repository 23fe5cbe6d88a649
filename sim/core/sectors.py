"""Sectors: what the workers do at a host, and how each kind of work pays the state (issue 29).

A posting is a host group and a sector (construction, logging, factories, ...). Each `Sector` is declared once
with its sourced settings, relative to its host (a logger earns less than a builder at the same host) or absolute
(an IT worker's pay is the same wherever he sits); each host gives its workers' mix over the sectors
(``hosts.<host>.sectors``; a file that gives none gets the host's default mix, `DEFAULT_MIX`).

The engines' unit is the cell, a host group's work in one sector: `expand` turns a parameter set into one whose
hosts are its cells, each a `Host` with the sector's settings applied, so the state's books, the quotas, the
recruitment pipeline, the camps and the month's totals work per cell in both engines, by the same code as before.
The relative factors are normalised over a host's mix (weighted by its workers), so that the host's own figures
(its wage, plan, side wage, escape route and death rate, which facts.md gives per country) stay its averages over
the work that is paid relative to them. The tables are kept per host group (cells added up) and, new, per cell
(`sim/results/tables.py`, the ``sectors`` table); the workers table names each worker's host group and sector.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..common.validation import Strict
from .fields import F

CELL_SEPARATOR = ":"  # a cell's name: host, separator, sector (host names are lower-case letters, digits and _)


class Sector(Strict):
    title: str = F("", "", "the sector in words (tables, reports, the classroom)")
    wage_factor: float = F(
        1.0,
        "assumption",
        "employer's payment relative to the host's other work (normalised: the host's mix averages to its wage)",
        ge=0.01,
        le=100,
    )
    wage: float | None = F(
        None,
        "",
        "employer's monthly payment, USD, the same at every host (replaces the host's wage; none: wage_factor)",
        gt=0,
        le=100_000,
    )
    plan_factor: float = F(
        1.0,
        "assumption",
        "plan relative to the host's other work (normalised: the host's mix averages to its plan)",
        ge=0.01,
        le=100,
    )
    plan: float | None = F(
        None,
        "",
        "monthly plan contribution, USD, the same at every host (replaces the host's plan; none: plan_factor)",
        ge=0,
        le=100_000,
    )
    side_factor: float = F(
        1.0,
        "assumption",
        "side-job earnings relative to the host's other work (normalised over the host's mix)",
        ge=0,
        le=100,
    )
    escape_factor: float = F(
        1.0,
        "assumption",
        "chance an escape succeeds relative to the host's other work (normalised over the host's mix; at most 1)",
        ge=0,
        le=100,
    )
    death_factor: float = F(
        1.0,
        "assumption",
        "death hazard relative to the host's other work (normalised over the host's mix)",
        ge=0,
        le=100,
    )
    bank_share: float | None = F(
        None,
        "",
        "initial share of this work's revenue sent home by bank (none: channels.bank, courier and mule as set)",
        ge=0,
        le=1,
    )
    hours_base: float | None = F(None, "", "work.hours_base in this work (none: the host's)", gt=0, le=24)
    hours_max: float | None = F(None, "", "work.hours_max in this work (none: the host's)", gt=0, le=24)
    fees_share: float | None = F(None, "", "remittance.fees_share in this work (none: the host's)", ge=0, le=1)
    team_size: int | None = F(None, "", "population.team_size in this work (none: the host's)", ge=1, le=100_000)
    minder_ratio: int | None = F(None, "", "population.minder_ratio in this work (none: the host's)", ge=1, le=100_000)
    camp_size: int | None = F(None, "", "population.camp_size in this work (none: the host's)", ge=1, le=10_000_000)
    shift_in: bool = F(
        True,
        "assumption",
        "posts that sanctions closed elsewhere may be moved to this work (state.shift_share); not to specialists' work",
    )
    route_other: float | None = F(
        None,
        "",
        "share of its postings a ban blocks that arrive under another status (false nationality, front company) "
        "rather than on student or tourist visas (none: the host's routes)",
        ge=0,
        le=1,
    )


# Sources: facts.md, "Sectors, IT work, selection and dispatch" and "Wages, the state's take, bribes".
SECTOR_SOURCES = {
    "construction": "sectors named: Middle East construction, monuments for African governments (NYT 2015); "
    "Russian construction market wage $800-1,000 (Daily NK 2015); construction plan $7,200 a year in Russia "
    "(Daily NK ~2019-21): the reference (factors 1); death factor 1.2: assumption (building sites)",
    "logging": "Russian logging camps (NYT 2015); plan factor 0.625 = forestry $4,500 against construction $7,200 a "
    "year (Daily NK ~2019-21); wage factor 0.7 ($5.30 a day against $30 for local loggers, NYT 2015, is what the "
    "worker gets, not the employer's payment: assumption); remote camps: side jobs x0.3, escape x0.6, deaths x2: "
    "assumption",
    "factory": "Chinese factories, textiles and seafood (NYT 2015); employer pays 2,500-2,800 yuan a month (Yomiuri, "
    "Asahi 2024): China's host wage is a factory wage (factor 1); deaths x0.8: assumption",
    "restaurant": "restaurants and hospitality (Japan Times 2023; UN Panel 2024); wage and plan x0.8, escape x1.2 "
    "(in town), deaths x0.5: assumption",
    "fishing": "fishing boats off Fiji (NYT 2015); at sea: side jobs 0, escape x0.2, deaths x2: assumption",
    "farming": "farms (Japan Times 2023; one Polish farm paid $20 against $850 promised, ILO via Reuters 2017); wage "
    "and plan x0.7: assumption",
    "medical": "doctors (Japan Times 2023; medicine, UN Panel 2024); wage and plan x1.5, deaths x0.5: assumption",
    "it": "IT workers, 2019: more than 1,000 abroad, ~$5,000 a month each, ~$1,700 of it submitted to the state (UN "
    "Panel 2020 via UPI, Nikkei): the plan is the whole take (no fees on top, fees_share 0); paid through banks, "
    "platforms and online, posing as other nationals (UN Panel Dec 2023 via NK News): bank share 0.9 and evading "
    "postings under another status; side jobs 0, deaths x0.3, posts lost elsewhere not moved to IT work (specialists); small teams "
    "(teams of 5, a minder per 20, units of 40, against 8, 50 and 200 elsewhere; no source gives their size): "
    "assumption",
}


def default_sectors() -> dict[str, Sector]:
    return {
        "construction": Sector(title="construction", death_factor=1.2),
        "logging": Sector(
            title="logging and forestry",
            wage_factor=0.7,
            plan_factor=0.625,
            side_factor=0.3,
            escape_factor=0.6,
            death_factor=2.0,
        ),
        "factory": Sector(title="factories (textiles, seafood)", death_factor=0.8),
        "restaurant": Sector(
            title="restaurants and hospitality", wage_factor=0.8, plan_factor=0.8, escape_factor=1.2, death_factor=0.5
        ),
        "fishing": Sector(title="fishing", side_factor=0.0, escape_factor=0.2, death_factor=2.0),
        "farming": Sector(title="farming", wage_factor=0.7, plan_factor=0.7),
        "medical": Sector(title="medical", wage_factor=1.5, plan_factor=1.5, death_factor=0.5),
        "it": Sector(
            title="IT work",
            wage=5000.0,
            plan=1700.0,
            fees_share=0.0,
            shift_in=False,
            team_size=5,
            minder_ratio=20,
            camp_size=40,
            side_factor=0.0,
            death_factor=0.3,
            bank_share=0.9,
            route_other=1.0,
        ),
    }


# each default host's workers by sector (shares). Sources: facts.md (sectors named: NYT 2015, Japan Times 2023, UN
# Panel 2024; IT workers: more than 1,000 abroad in 2019, UN Panel 2020); the shares themselves are assumptions
DEFAULT_MIX: dict[str, dict[str, float]] = {
    "china": {"factory": 0.70, "construction": 0.15, "restaurant": 0.10, "farming": 0.038, "it": 0.012},
    "russia": {"construction": 0.64, "logging": 0.25, "farming": 0.08, "restaurant": 0.02, "it": 0.01},
    "gulf": {"construction": 0.95, "restaurant": 0.05},
    "africa": {"construction": 0.85, "medical": 0.15},
    "asia": {"construction": 0.50, "restaurant": 0.20, "factory": 0.1625, "fishing": 0.10, "it": 0.0375},
    "europe": {"construction": 0.60, "factory": 0.20, "farming": 0.20},
}
MIX_SOURCES = {
    "china": "factories (textiles, seafood: NYT 2015; Yomiuri, Asahi 2024), construction, restaurants (Japan Times "
    "2023), farms; IT: ~600 of the >1,000 IT workers of 2019 (UN Panel 2020); shares: assumption",
    "russia": "construction and logging (NYT 2015; Daily NK plans by sector), farms, restaurants; IT ~300 "
    "(UN Panel 2020); shares: assumption",
    "gulf": "Middle East construction (NYT 2015), hospitality; shares: assumption",
    "africa": "monuments for African governments (NYT 2015), doctors (Japan Times 2023); shares: assumption",
    "asia": "military tunnels in Myanmar (NYT 2015), restaurants, fishing boats off Fiji, factories; IT ~150 "
    "(UN Panel 2020); shares: assumption",
    "europe": "construction, shipyards and farms (Poland: Volkskrant 2017, ILO via Reuters 2017); shares: assumption",
}
OTHER_MIX = {"construction": 1.0}  # a host not among the defaults: the sector named most often (assumption)


def default_mix(host: str) -> dict[str, float]:
    return dict(DEFAULT_MIX.get(host, OTHER_MIX))


def split_workers(workers: int, mix: dict[str, float]) -> dict[str, int]:
    """A host's workers over its sectors in proportion to the mix, in whole workers: each sector its share rounded
    down, what is left one each to the largest remainders (ties: in the mix's order)."""
    total = sum(mix.values())
    exact = {s: workers * w / total for s, w in mix.items()}
    out = {s: int(v + 1e-9) for s, v in exact.items()}
    left = workers - sum(out.values())
    for s in sorted(exact, key=lambda s: -(exact[s] - out[s]))[:left]:
        out[s] += 1
    return out


@dataclass(frozen=True)
class Cells:
    """The engines' hosts when a parameter set is expanded (`expand`): each cell's name, host group and sector."""

    names: tuple[str, ...]
    groups: tuple[str, ...]  # the host groups, in the parameter set's order
    group_of: tuple[int, ...]  # each cell's host group (index into groups)
    sector_of: tuple[str, ...]  # each cell's sector


def cells_of(params) -> Cells | None:
    """The cells of an expanded parameter set (None: not expanded)."""
    return getattr(params, "_cells", None)


# what a host (a cell: its sector) may set for itself, and the run's setting it stands in for
OWN_SETTINGS = {
    "hours_base": "work.hours_base",
    "hours_max": "work.hours_max",
    "fees_share": "remittance.fees_share",
    "team_size": "population.team_size",
    "minder_ratio": "population.minder_ratio",
    "camp_size": "population.camp_size",
}


def per_host(params, name: str) -> list:
    """Each host's value of one of `OWN_SETTINGS`: its own, else the run's (Python numbers, both engines)."""
    section, field = OWN_SETTINGS[name].split(".")
    default = getattr(getattr(params, section), field)
    return [getattr(h, name) if getattr(h, name, None) is not None else default for h in params.hosts.values()]


def cell_words(params) -> list[str]:
    """Each host of a parameter set in words: for a cell, its host group and its sector's title ("russia, logging
    and forestry"); a host that is not a cell, its name."""
    cells = cells_of(params)
    if cells is None:
        return list(params.hosts)
    return [f"{cells.groups[g]}, {params.sectors[s].title or s}" for g, s in zip(cells.group_of, cells.sector_of)]


def _weighted_mean(values: dict[str, float], weights: dict[str, float]) -> float:
    total = sum(weights.values())
    return sum(values[s] * weights[s] for s in weights) / total if total > 0 else 1.0


def expand(params):
    """The parameter set whose hosts are its cells (host group x sector with a positive share), each a copy of its
    host with the sector's settings applied; policies stay as given (`levers_for_month` reads each cell's host group
    and sector). An expanded set is returned as it is. Cells with no workers are left out, except a host's first
    when all its cells would be empty (the host keeps its rows in the tables)."""
    if cells_of(params) is not None:
        return params
    sectors = params.sectors
    cells: dict = {}
    names, group_of, sector_of = [], [], []
    for g, (name, host) in enumerate(params.hosts.items()):
        mix = {s: w for s, w in (host.sectors or default_mix(name)).items() if w > 0}
        counts = split_workers(host.workers, mix)
        kept = [s for s in mix if counts[s] > 0] or [next(iter(mix))]
        # the factors are normalised over the host's workers in the relative sectors (its mix if it has none yet)
        weights = {s: float(counts[s]) for s in mix} if host.workers else dict(mix)

        def norm(attr, only_relative_to=None):
            pool = {
                s: w
                for s, w in weights.items()
                if only_relative_to is None or getattr(sectors[s], only_relative_to) is None
            }
            if not pool or sum(pool.values()) <= 0:
                return lambda s: getattr(sectors[s], attr)
            mean = _weighted_mean({s: getattr(sectors[s], attr) for s in pool}, pool)
            return lambda s: getattr(sectors[s], attr) / mean if mean > 0 else 0.0

        wage_f, plan_f = norm("wage_factor", "wage"), norm("plan_factor", "plan")
        side_f, escape_f, death_f = norm("side_factor"), norm("escape_factor"), norm("death_factor")
        for s in kept:
            sec = sectors[s]
            wage = sec.wage if sec.wage is not None else host.wage * wage_f(s)
            update = {
                "workers": counts[s],
                "wage": wage,
                # what he was promised moves with his work's pay (an IT worker is not promised a builder's pay)
                "promised_wage": host.promised_wage * wage / host.wage,
                "plan": sec.plan if sec.plan is not None else host.plan * plan_f(s),
                "side_wage": host.side_wage * side_f(s),
                "escape_route": min(host.escape_route * escape_f(s), 1.0),
                "death_factor": host.death_factor * death_f(s),
                "sectors": {s: 1.0},
                "shift_in": host.shift_in and sec.shift_in,
            }
            if sec.bank_share is not None:
                update["bank_share"] = sec.bank_share
            for setting in OWN_SETTINGS:
                if getattr(sec, setting) is not None:
                    update[setting] = getattr(sec, setting)
            if sec.route_other is not None:
                rest = host.route_student + host.route_tourist
                x = sec.route_other
                update.update(
                    route_student=(1 - x) * (host.route_student / rest if rest > 0 else 0.5),
                    route_tourist=(1 - x) * (host.route_tourist / rest if rest > 0 else 0.5),
                    route_other=x,
                )
            cell = f"{name}{CELL_SEPARATOR}{s}"
            cells[cell] = host.model_copy(update=update)
            names.append(cell)
            group_of.append(g)
            sector_of.append(s)
    out = params.model_copy(update={"hosts": cells})
    out._cells = Cells(tuple(names), tuple(params.hosts), tuple(group_of), tuple(sector_of))
    return out
