"""The classroom page: the mesa engine in the browser (Mesa SolaraViz).

    olsim classroom                   # serves http://127.0.0.1:8765 with params/classroom.toml
    olsim classroom --port 8800 params/classroom.toml

Students step the model month by month, switch sanctions on and off, move
the levers, and read one worker's story. The page runs `ClassroomModel`, the
reference `OverseasLaborModel` built from a parameter file plus the page's
controls; every control is a keyword of its constructor, so Reset rebuilds
the model from the controls (SolaraViz calls ``type(model)(**controls)``).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import solara  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from ..common import shipped  # noqa: E402
from ..common.formatting import format_money  # noqa: E402
from ..core.params import Params, load_params, make_params, params_to_dict  # noqa: E402
from ..core.policies import POLICY_CLASSES  # noqa: E402
from ..engines.mesa.model import OverseasLaborModel  # noqa: E402
from .assets import use_npm_registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
use_npm_registry()  # the page's browser files, also where only package registries are reachable
PARAMS_ENV = "OLSIM_CLASSROOM_PARAMS"
DPI = 80  # the page's figures: sharp enough on a projector, cheap to redraw every month

# the sanctions students can switch on: every policy kind, with its plain-language title
SANCTIONS = {kind: cls.title or kind.replace("_", " ") for kind, cls in POLICY_CLASSES.items()}
STATUS_COLOURS = {
    "active": "#2ca02c", "completed": "#9ecae1", "sent_home": "#ff7f0e", "repatriated": "#9467bd",
    "escaped": "#ffd92f", "caught": "#d62728", "dead": "#111111",
}
STATUS_WORDS = {
    "active": "working", "completed": "finished his contract", "sent_home": "sent home", "repatriated": "repatriated",
    "escaped": "escaped", "caught": "caught escaping", "dead": "died",
}


def classroom_file() -> Path:
    """The parameter file the page starts from: $OLSIM_CLASSROOM_PARAMS or params/classroom.toml."""
    return Path(os.environ.get(PARAMS_ENV) or shipped.folder("params") / "classroom.toml")


def classroom_params(path: str | os.PathLike | None = None, *, sanctions_start: int = 12, minder_ratio: int | None = None,
                     plan_level: float = 1.0, reprisal_severity: float | None = None, remittance_rule: str | None = None,
                     **switches) -> Params:
    """Parameters from a file and the page's controls.

    ``switches``: for each kind of SANCTIONS, ``<kind>=True/False`` and
    ``<kind>_compliance=0..1``; a sanction switched on is its kind's example
    (`PolicyBase.example`) starting at month ``sanctions_start`` at every host
    (repatriation with a deadline two years later).
    """
    path = path or classroom_file()
    overrides = {}
    if minder_ratio is not None:
        overrides["population.minder_ratio"] = int(minder_ratio)
    if reprisal_severity is not None:
        overrides["state.reprisal_severity"] = float(reprisal_severity)
    if remittance_rule is not None:
        overrides["remittance.rule"] = remittance_rule
    base = load_params(path, overrides)
    raw = params_to_dict(base)
    for host in raw["hosts"].values():
        host["plan"] = host["plan"] * float(plan_level)
    policies = list(raw.get("policies", []))
    start = int(sanctions_start)
    for kind, cls in POLICY_CLASSES.items():
        if switches.get(kind):
            policies.append({**cls.example(start), "label": SANCTIONS[kind],
                             "compliance": float(switches.get(f"{kind}_compliance", 1.0))})
    raw["policies"] = policies
    return make_params(raw)


class ClassroomModel(OverseasLaborModel):
    """The reference model, built from the classroom file and the page's controls. Stops at the calendar's end.

    Keywords: ``seed``, ``sanctions_start``, for every policy kind ``<kind>`` (on/off) and
    ``<kind>_compliance``, ``minder_ratio``, ``plan_level``, ``reprisal_severity``,
    ``remittance_rule`` and ``params_file`` (see `classroom_params`).
    """

    def __init__(self, seed: int = 0, sanctions_start: int = 12, minder_ratio: int | None = None, plan_level: float = 1.0,
                 reprisal_severity: float | None = None, remittance_rule: str | None = None,
                 params_file: str | None = None, rng=None, **switches):
        unknown = sorted(k for k in switches if k.removesuffix("_compliance") not in SANCTIONS)
        if unknown:
            raise TypeError(f"ClassroomModel: unknown control(s) {', '.join(unknown)} (sanctions: {', '.join(SANCTIONS)})")
        params = classroom_params(params_file, sanctions_start=sanctions_start, minder_ratio=minder_ratio,
                                  plan_level=plan_level, reprisal_severity=reprisal_severity,
                                  remittance_rule=remittance_rule, **switches)
        super().__init__(params, seed=int(seed))
        self.running = self.p.calendar.months > 0

    def step(self):
        super().step()
        self.running = self.month < self.p.calendar.months


def _controls_signature():
    """ClassroomModel's signature with one keyword per policy kind's switch and compliance, derived
    from the policy classes, so that SolaraViz and help() see every control."""
    sig = inspect.signature(ClassroomModel.__init__)
    fixed = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    kw = inspect.Parameter.KEYWORD_ONLY
    for kind in SANCTIONS:
        fixed.append(inspect.Parameter(kind, kw, default=False, annotation=bool))
        fixed.append(inspect.Parameter(f"{kind}_compliance", kw, default=1.0, annotation=float))
    return sig.replace(parameters=fixed)


ClassroomModel.__init__.__signature__ = _controls_signature()


def model_params(path: str | os.PathLike | None = None) -> dict:
    """The page's controls, their defaults read from the parameter file."""
    p = load_params(path or classroom_file())
    controls: dict = {
        "seed": {"type": "SliderInt", "value": 0, "label": "Seed (the luck of the draw)", "min": 0, "max": 99, "step": 1},
        "sanctions_start": {"type": "SliderInt", "value": min(12, max(p.calendar.months - 1, 0)),
                            "label": "Sanctions start in month", "min": 0, "max": max(p.calendar.months - 1, 1), "step": 1},
    }
    for kind, label in SANCTIONS.items():
        controls[kind] = {"type": "Checkbox", "value": False, "label": label}
        controls[f"{kind}_compliance"] = {"type": "SliderFloat", "value": 1.0, "label": "  compliance of host countries",
                                          "min": 0.0, "max": 1.0, "step": 0.05}
    controls.update({
        "minder_ratio": {"type": "SliderInt", "value": p.population.minder_ratio, "label": "Workers per minder",
                         "min": 10, "max": 200, "step": 5},
        "plan_level": {"type": "SliderFloat", "value": 1.0, "label": "Plan level (x the file's plan)",
                       "min": 0.5, "max": 1.5, "step": 0.05},
        "reprisal_severity": {"type": "SliderFloat", "value": p.state.reprisal_severity,
                              "label": "Reprisals against families", "min": 0.0, "max": 1.0, "step": 0.05},
        "remittance_rule": {"type": "Select", "value": p.remittance.rule, "label": "How the state takes its share",
                            "values": ["plan", "share", "group_quota"]},
    })
    if path is not None:
        controls["params_file"] = str(path)  # fixed, not a control
    return controls


# ---------------------------------------------------------------- what the page shows


def camp_figure(model) -> Figure:
    """Every worker ever posted, grouped by minder (a block) and team (a row), coloured by status."""
    fig = Figure(figsize=(9, 6.2), dpi=DPI)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.1)
    by_team: dict[int, list] = {}
    for w in model.everyone:
        by_team.setdefault(w.team, []).append(w)
    by_minder: dict[int, list[int]] = {}
    minder_of = {}
    for team, members in by_team.items():
        minder = members[-1].minder  # the minder of the newest member
        minder_of[team] = minder
        by_minder.setdefault(minder.minder_id, []).append(team)
    minders = sorted(by_minder)
    cols = max(1, int(np.ceil(np.sqrt(len(minders) * 1.5))))
    widest = max((len(m) for m in by_team.values()), default=1)
    deepest = max((len(t) for t in by_minder.values()), default=1)
    xs, ys, colours, mx, my, mc = [], [], [], [], [], []
    for k, minder_id in enumerate(minders):
        bx, by = (k % cols) * (widest + 3), -(k // cols) * (deepest + 2)
        teams = sorted(by_minder[minder_id])
        m = minder_of[teams[0]]
        mx.append(bx)
        my.append(by - (len(teams) - 1) / 2)
        mc.append("#444444" if m.status == "active" else "#bbbbbb")
        for r, team in enumerate(teams):
            for c, w in enumerate(by_team[team]):
                xs.append(bx + 1.5 + c)
                ys.append(by - r)
                colours.append(STATUS_COLOURS[w.status])
    # squares that fill about 80% of a cell: the cell's side in points, from the axes' size
    width_cells = cols * (widest + 3)
    height_cells = int(np.ceil(len(minders) / cols)) * (deepest + 2)
    box = ax.get_position()
    cell = min(box.width * fig.get_figwidth() * 72 / max(width_cells, 1),
               box.height * fig.get_figheight() * 72 / max(height_cells, 1))
    size = (0.8 * cell) ** 2
    ax.scatter(xs, ys, c=colours, s=size, marker="s", linewidths=0)
    ax.scatter(mx, my, c=mc, s=size * 3, marker="^", linewidths=0)
    ax.set_xlim(-1, width_cells)
    ax.set_ylim(-height_cells + 1, 1)
    handles = [Line2D([], [], ls="", marker="s", color=c, label=STATUS_WORDS[k]) for k, c in STATUS_COLOURS.items()]
    handles.append(Line2D([], [], ls="", marker="^", color="#444444", label="minder"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncol=4, fontsize=8, frameon=False)
    ax.set_axis_off()
    active = sum(1 for w in model.everyone if w.active)
    ax.set_title(f"{model.calendar.date(model.month - 1) if model.month else 'before month 1'}: {active:,} workers in "
                 f"{len(minders)} minders' units (a block) and teams (a row); every worker ever posted", fontsize=9)
    return fig


def series_figure(model) -> Figure:
    """Revenue and take; escapes, catches and send-homes; the plan."""
    rows = model.aggregator.monthly
    fig = Figure(figsize=(9, 6.2), dpi=DPI)
    ax_money, ax_people, ax_plan = fig.subplots(3, 1, sharex=True)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.96, bottom=0.08, hspace=0.12)
    months = [r["month"] for r in rows]
    ax_money.plot(months, [r["state_take"] / 1e3 for r in rows], label="state take", color="#d62728")
    ax_money.plot(months, [r["revenue_delivered"] / 1e3 for r in rows], label="revenue delivered home", color="#1f77b4")
    ax_money.set_ylabel("$k a month")
    ax_money.legend(fontsize=8)
    for col, colour, label in (("escaped", "#e6ab02", "escaped"), ("caught", "#d62728", "caught"),
                               ("sent_home", "#ff7f0e", "sent home"), ("repatriated", "#9467bd", "repatriated")):
        ax_people.plot(months, np.cumsum([r[col] for r in rows]), color=colour, label=label)
    ax_people.set_ylabel("workers, total so far")
    ax_people.legend(fontsize=8, ncol=4)
    ax_plan.plot(months, [r["plan_mean"] for r in rows], color="#333333")
    ax_plan.set_ylabel("plan, $ a month")
    ax_plan.set_xlabel("month")
    for ax in (ax_money, ax_people, ax_plan):
        ax.grid(alpha=0.3)
    if not rows:
        ax_money.set_title("press Step to run the first month", fontsize=9)
    return fig


def kept_figure(model) -> Figure:
    """What each worker kept this month (after the state's take, bribes and side jobs)."""
    kept = [w.retained for w in model.workers if w.active]
    fig = Figure(figsize=(6, 3.6), dpi=DPI)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)
    if model.month and kept:
        ax.hist(kept, bins=40, color="#2ca02c")
        ax.axvline(float(np.median(kept)), color="k", lw=1, label=f"median ${np.median(kept):,.0f}")
        ax.legend(fontsize=8)
    ax.set_xlabel("kept this month, $")
    ax.set_ylabel("workers")
    ax.set_title("what workers kept this month", fontsize=9)
    return fig


def month_story(model) -> str:
    """A short plain-language account of the last month."""
    if not model.month:
        return (f"**Before month 1** ({model.calendar.start}). {model.workers_initial:,} workers are posted abroad, "
                f"watched by {len(model.active_minders())} minders (one per {model.p.population.minder_ratio} workers) "
                f"under the '{model.p.remittance.rule}' rule, seed {model.seed}. Press **Step** to run one month, or ▶ to play.")
    r = model.aggregator.monthly[-1]
    lines = [f"### {r['date']} (month {r['month'] + 1} of {model.p.calendar.months})",
             f"{r['workers_working']:,} workers worked about {r['hours_mean']:.1f} hours a day and earned "
             f"{format_money(r['wages_gross'] + r['side_earnings'])}. The state took {format_money(r['state_take'])}; "
             f"{format_money(r['revenue_delivered'])} reached it at home"
             + (f" ({format_money(r['revenue_interdicted'])} was seized on the way)" if r["revenue_interdicted"] >= 1 else "") + ". "
             f"Minders took {format_money(r['bribes_paid'])} in bribes. The typical worker kept ${r['retained_median']:,.0f}."]
    events = []
    if r["escape_attempts"]:
        events.append(f"{r['escape_attempts']} tried to escape: {r['escaped']} got away, {r['caught']} were caught")
    for col, words in (("sent_home", "were sent home by their minders"), ("repatriated", "were repatriated under the UN mandate"),
                       ("deaths", "died"), ("completed", "finished their contracts"), ("deployed", "new workers arrived")):
        if r[col]:
            events.append(f"{r[col]} {words}" if col != "deployed" else f"{r[col]} {words}")
    if events:
        lines.append("This month: " + "; ".join(events) + ".")
    lines.append(f"Sanctions in force: {r['policies'] or 'none'}.")
    return "\n\n".join(lines)



def worker_story(model, worker_id: int) -> str:
    """One worker's story so far."""
    if not 0 <= worker_id < len(model.everyone):
        return f"No worker {worker_id} yet (ids run from 0 to {len(model.everyone) - 1})."
    w = model.everyone[worker_id]
    earned = w.gross_total + w.side_earnings_total
    lines = [
        f"**Worker {w.worker_id}**, {model.host_names[w.host]}, team {w.team}, minder {w.minder.minder_id}: "
        f"**{STATUS_WORDS[w.status]}**.",
        "",
        f"- months abroad: {w.months_abroad} (contract {w.contract_months})",
        f"- in the months simulated he earned {format_money(earned)}, the state took {format_money(w.take_total)}, he kept {format_money(w.retained_total)}"
        + (f" ({100 * w.retained_total / earned:.0f}%)" if earned > 0 else ""),
        f"- bribes paid: entry {format_money(w.entry_bribe)}, to his minder {format_money(w.bribes_total)}",
        f"- on the ledger, paid only when he returns: {format_money(w.ledger)}",
        f"- loyalty {w.loyalty:.2f}, passport held by the minder: {'yes' if w.passport_held else 'no'}",
        "",
        "What happened to him:",
        "",
        *[f"1. {line}" for line in (w.history or ["nothing notable yet"])],
    ]
    return "\n".join(lines)


def show(markdown_text: str, classes: list[str]):
    """Markdown as HTML: solara.Markdown would typeset '$1.4M ... $1.1M' as mathematics."""
    import html

    import markdown

    solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(html.escape(markdown_text, quote=False)), classes=classes)


@solara.component
def CampView(model):
    update_counter.get()
    solara.FigureMatplotlib(camp_figure(model), format="png", dependencies=[update_counter.value, model])


@solara.component
def SeriesView(model):
    update_counter.get()
    solara.FigureMatplotlib(series_figure(model), format="png", dependencies=[update_counter.value, model])


@solara.component
def KeptView(model):
    update_counter.get()
    solara.FigureMatplotlib(kept_figure(model), format="png", dependencies=[update_counter.value, model])


@solara.component
def MonthView(model):
    update_counter.get()
    show(month_story(model), ["olsim-month"])


@solara.component
def WorkerView(model):
    update_counter.get()
    worker_id, set_worker_id = solara.use_state(0)
    with solara.Column(classes=["olsim-worker"]):
        solara.Markdown("### One worker's story\nType a worker's id (0 is the first posted) to read what happened to him.")
        solara.InputInt("worker id", value=worker_id, on_value=lambda v: set_worker_id(int(v or 0)), continuous_update=False)
        show(worker_story(model, worker_id), ["olsim-worker-story"])


def make_page(path: str | os.PathLike | None = None):
    """The page for a parameter file (default: $OLSIM_CLASSROOM_PARAMS or params/classroom.toml).

    Mesa's SolaraViz gives the controls (Reset, Play/Pause, Step) and the
    model's parameters in the sidebar; the views are laid out here in fixed
    rows rather than in SolaraViz's draggable grid, which does not render in
    this Solara version's front end.
    """
    path = path or classroom_file()
    controls = solara.use_memo(lambda: model_params(path), [str(path)])
    defaults = {k: (v["value"] if isinstance(v, dict) else v) for k, v in controls.items()}
    first = solara.use_memo(lambda: ClassroomModel(**defaults), [str(path)])
    model = solara.use_reactive(first)
    SolaraViz(model, components=[], model_params=controls,
              name="Overseas labour under sanctions: a classroom model", play_interval=150)
    with solara.Column(style={"padding": "8px 16px"}):
        with solara.Columns([5, 4]):
            MonthView(model.value)
            KeptView(model.value)
        with solara.Columns([1, 1]):
            CampView(model.value)
            SeriesView(model.value)
        WorkerView(model.value)


@solara.component
def Page():
    make_page(os.environ.get(PARAMS_ENV))
