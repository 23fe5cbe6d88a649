"""The classroom page: the mesa engine in the browser (Solara, as Mesa's own visualisation uses).

    olsim classroom                   # serves http://127.0.0.1:8765 with params/classroom.toml
    olsim classroom --port 8800 params/classroom.toml

Students step the model month by month, switch sanctions on and off, move the levers, and read one worker's
story. The page runs `ClassroomModel`, the reference `OverseasLaborModel` built from a parameter file plus the
page's controls; every control is a keyword of its constructor, so Reset rebuilds the model from the controls
(``type(model)(**controls)``, as Mesa's SolaraViz does). The page is laid out here rather than by SolaraViz,
whose sidebar shows developer controls (play and render intervals, threads) and whose drawer loses its menu
button on a tablet; the controls, their values and units, a notice of changes not yet applied, the previous
run's faint lines, and an Info panel are the page's own. The charts are `charts.Charts`, updated in place.
"""

from __future__ import annotations

import inspect
import os
import threading
import uuid
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")
import solara  # noqa: E402

from ..common import shipped  # noqa: E402
from ..common.formatting import format_money  # noqa: E402
from ..results.columns import COL  # noqa: E402
from ..core.params import Params, load_params, make_params, params_to_dict  # noqa: E402
from ..core.policies import POLICY_CLASSES, DirectWages, describe_kind  # noqa: E402
from ..engines.mesa.model import OverseasLaborModel  # noqa: E402
from .assets import use_npm_registry  # noqa: E402
from .board import BOARD, Entry, outcomes  # noqa: E402
from .board_page import BoardPage  # noqa: E402
from .chart_processes import RemoteCharts, chart_processes  # noqa: E402
from .charts import STATUS_COLOURS, STATUS_WORDS, SVG_STYLE, Charts, Layers, recruits_key_words  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
use_npm_registry()  # the page's browser files, also where only package registries are reachable
PARAMS_ENV = "OLSIM_CLASSROOM_PARAMS"

# the sanctions students can switch on: every policy kind, with its plain-language title
SANCTIONS = {kind: cls.heading() for kind, cls in POLICY_CLASSES.items()}
PIPELINE_WORDS = "Recruitment takes time"  # the switch of recruitment.pipeline
# Play's speeds: the least time a month stays on screen (fast: as fast as the months are computed and drawn)
PLAY_SECONDS = {"Slow": 1.0, "Normal": 0.25, "Fast": 0.0}  # normal: about 20 s for five years


def classroom_file() -> Path:
    """The parameter file the page starts from: $OLSIM_CLASSROOM_PARAMS or params/classroom.toml."""
    return Path(os.environ.get(PARAMS_ENV) or shipped.folder("params") / "classroom.toml")


def classroom_params(
    path: str | os.PathLike | None = None,
    *,
    sanctions_start: int = 12,
    minder_ratio: int | None = None,
    plan_level: float = 1.0,
    reprisal_severity: float | None = None,
    remittance_rule: str | None = None,
    recruitment_pipeline: bool | None = None,
    selection_months: int | None = None,
    **switches,
) -> Params:
    """Parameters from a file and the page's controls.

    ``switches``: for each kind of SANCTIONS, ``<kind>=True/False`` and
    ``<kind>_compliance=0..1``; a sanction switched on is its kind's example
    (`PolicyBase.example`) starting at month ``sanctions_start`` at every host
    (repatriation with a deadline two years later). ``recruitment_pipeline`` and ``selection_months``:
    `recruitment.pipeline` and `recruitment.selection_months` (None: the file's).
    """
    path = path or classroom_file()
    overrides: dict[str, Any] = {}
    if minder_ratio is not None:
        overrides["population.minder_ratio"] = int(minder_ratio)
    if reprisal_severity is not None:
        overrides["state.reprisal_severity"] = float(reprisal_severity)
    if remittance_rule is not None:
        overrides["remittance.rule"] = remittance_rule
    if recruitment_pipeline is not None:
        overrides["recruitment.pipeline"] = bool(recruitment_pipeline)
    if selection_months is not None:
        overrides["recruitment.selection_months"] = int(selection_months)
    base = load_params(path, overrides)
    raw = params_to_dict(base)
    for host in raw["hosts"].values():
        host["plan"] = host["plan"] * float(plan_level)
    policies = list(raw.get("policies", []))
    start = int(sanctions_start)
    for kind, cls in POLICY_CLASSES.items():
        if switches.get(kind):
            policies.append(
                {
                    **cls.example(start),
                    "label": SANCTIONS[kind],
                    "compliance": float(switches.get(f"{kind}_compliance", 1.0)),
                }
            )
    raw["policies"] = policies
    return make_params(raw)


class ClassroomModel(OverseasLaborModel):
    """The reference model, built from the classroom file and the page's controls. Stops at the calendar's end.

    Keywords: ``seed``, ``sanctions_start``, for every policy kind ``<kind>`` (on/off) and
    ``<kind>_compliance``, ``minder_ratio``, ``plan_level``, ``reprisal_severity``,
    ``remittance_rule``, ``recruitment_pipeline``, ``selection_months`` and ``params_file`` (see
    `classroom_params`).
    """

    def __init__(
        self,
        seed: int = 0,
        sanctions_start: int = 12,
        minder_ratio: int | None = None,
        plan_level: float = 1.0,
        reprisal_severity: float | None = None,
        remittance_rule: str | None = None,
        recruitment_pipeline: bool | None = None,
        selection_months: int | None = None,
        params_file: str | None = None,
        rng=None,
        **switches,
    ):
        unknown = sorted(k for k in switches if k.removesuffix("_compliance") not in SANCTIONS)
        if unknown:
            raise TypeError(
                f"ClassroomModel: unknown control(s) {', '.join(unknown)} (sanctions: {', '.join(SANCTIONS)})"
            )
        params = classroom_params(
            params_file,
            sanctions_start=sanctions_start,
            minder_ratio=minder_ratio,
            plan_level=plan_level,
            reprisal_severity=reprisal_severity,
            remittance_rule=remittance_rule,
            recruitment_pipeline=recruitment_pipeline,
            selection_months=selection_months,
            **switches,
        )
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


ClassroomModel.__init__.__signature__ = _controls_signature()  # type: ignore[attr-defined]  # the controls solara reads


def model_params(path: str | os.PathLike | None = None) -> dict:
    """The page's controls, their defaults read from the parameter file."""
    p = load_params(path or classroom_file())
    controls: dict = {
        "seed": {
            "type": "SliderInt",
            "value": 0,
            "label": "Seed (the luck of the draw)",
            "min": 0,
            "max": 99,
            "step": 1,
        },
        "sanctions_start": {
            "type": "SliderInt",
            "value": min(12, max(p.calendar.months - 1, 0)),
            "label": "Sanctions start in month",
            "min": 0,
            "max": max(p.calendar.months - 1, 1),
            "step": 1,
        },
    }
    for kind, label in SANCTIONS.items():
        controls[kind] = {"type": "Checkbox", "value": False, "label": label}
        controls[f"{kind}_compliance"] = {
            "type": "SliderFloat",
            "value": 1.0,
            "label": "compliance of host countries",
            "min": 0.0,
            "max": 1.0,
            "step": 0.05,
        }
    controls.update(
        {
            "minder_ratio": {
                "type": "SliderInt",
                "value": p.population.minder_ratio,
                "label": "Workers per minder",
                "min": 10,
                "max": 200,
                "step": 5,
            },
            "plan_level": {
                "type": "SliderFloat",
                "value": 1.0,
                "label": "Plan level",
                "min": 0.5,
                "max": 1.5,
                "step": 0.05,
            },
            "reprisal_severity": {
                "type": "SliderFloat",
                "value": p.state.reprisal_severity,
                "label": "Reprisals against families",
                "min": 0.0,
                "max": 1.0,
                "step": 0.05,
            },
            "remittance_rule": {
                "type": "Select",
                "value": p.remittance.rule,
                "label": "How the state takes its share",
                "values": ["plan", "share", "group_quota"],
            },
            "recruitment_pipeline": {"type": "Checkbox", "value": p.recruitment.pipeline, "label": PIPELINE_WORDS},
            "selection_months": {
                "type": "SliderInt",
                "value": p.recruitment.selection_months,
                "label": "Screening a candidate takes",
                "min": 0,
                "max": max(12, p.recruitment.selection_months),
                "step": 1,
            },
        }
    )
    if path is not None:
        controls["params_file"] = str(path)  # fixed, not a control
    return controls


# a control shown, and its change counted, only while its switch is on: each sanction's compliance and these
DEPENDS = {"selection_months": "recruitment_pipeline"}


def switch_of(key: str) -> str | None:
    """The switch a control depends on, if any."""
    if key.endswith("_compliance"):
        return key.removesuffix("_compliance")
    return DEPENDS.get(key)


RULE_WORDS = {
    "plan": "a fixed plan per worker",
    "share": "a share of each worker's pay",
    "group_quota": "a quota for the whole camp",
}


def value_words(key: str, value, params: Params) -> str:
    """A control's value as the page shows it, with its unit: 'January 2017 (month 12)', '80%', '50 workers'."""
    if key == "sanctions_start":
        return f"{_month_name(params.calendar.date(int(value)))} (month {int(value)})"
    if key.endswith("_compliance"):
        return f"{float(value):.0%}"
    if key in SANCTIONS or key == "recruitment_pipeline":
        return "on" if value else "off"
    if key == "selection_months":
        return _plural(int(value), "month", "months")
    if key == "minder_ratio":
        return f"{int(value)} workers"
    if key == "plan_level":
        plan = max(cast(float, h.plan) for h in params.hosts.values())  # Host's check fills in a missing plan
        return f"x{float(value):.2f} = ${plan * float(value):,.0f} a month"
    if key == "reprisal_severity":
        return f"{float(value):.2f} (0 none, 1 the worst)"
    if key == "remittance_rule":
        return RULE_WORDS.get(value, str(value))
    return str(value)


def _month_name(ym: str) -> str:
    import calendar

    y, m = ym.split("-")
    return f"{calendar.month_name[int(m)]} {y}"


def control_label(key: str, spec: dict) -> str:
    """A control's words, with its sanction's name for a compliance slider."""
    if key.endswith("_compliance"):
        return f"{SANCTIONS[key.removesuffix('_compliance')]}: compliance of host countries"
    return spec["label"]


def pending_changes(pending: dict, applied: dict, params: Params, specs: dict) -> list[str]:
    """The controls set differently from the running model, in words: 'Workers per minder: 60 workers (running: 50
    workers)'. A compliance slider of a sanction that is off on both sides does not count."""
    out = []
    for k, v in pending.items():
        if k not in specs or not isinstance(specs[k], dict) or applied.get(k) == v:
            continue
        if (switch := switch_of(k)) and not pending.get(switch):
            continue  # the compliance of a sanction that will be off (or the selection's months) does not matter
        out.append(
            f"{control_label(k, specs[k])}: {value_words(k, v, params)} "
            f"(running: {value_words(k, applied.get(k), params)})"
        )
    return out


# ---------------------------------------------------------------- what the page says


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def month_story(model) -> str:
    """A short plain-language account of the last month (no 'nan': an empty camp says so)."""
    if not model.month:
        return (
            f"**Before month 1** ({model.calendar.start}). {model.workers_initial:,} workers are posted abroad, "
            f"watched by {len(model.active_minders())} minders (one per {model.p.population.minder_ratio} workers) "
            f"under the '{model.p.remittance.rule}' rule, seed {model.seed}. "
            + (
                f"Recruitment takes time: a post is filled only by a candidate screened for "
                f"{_plural(model.p.recruitment.selection_months, 'month', 'months')}. "
                if model.p.recruitment.pipeline
                else ""
            )
            + "Press **Step** to run one month, or **Play** to run month after month."
        )
    r = model.aggregator.monthly[-1]
    lines = [f"### {r['date']} (month {r['month'] + 1} of {model.p.calendar.months})"]
    if r[COL.workers_working]:
        lines.append(
            f"{_plural(r[COL.workers_working], 'worker', 'workers')} worked about {r['hours_mean']:.1f} hours a day and "
            f"earned {format_money(r[COL.wages_gross] + r[COL.side_earnings])}. The state took {format_money(r[COL.state_take])}; "
            f"{format_money(r[COL.revenue_delivered])} reached it at home"
            + (
                f" ({format_money(r[COL.revenue_interdicted])} was seized on the way)"
                if r[COL.revenue_interdicted] >= 1
                else ""
            )
            + f". Minders took {format_money(r[COL.bribes_paid])} in bribes. The typical worker kept "
            f"{format_money(r[COL.retained_median])}."
        )
    else:
        lines.append(
            "**The camp is empty**: no one worked this month, the state took nothing from it"
            + (
                f", and {format_money(r[COL.revenue_delivered])} of earlier takings reached it"
                if r[COL.revenue_delivered] >= 1
                else ""
            )
            + "."
        )
    events = []
    if r[COL.escape_attempts]:
        events.append(
            f"{_plural(r[COL.escape_attempts], 'worker tried', 'workers tried')} to escape: "
            f"{r['escaped']:,} got away, {r['caught']:,} {'was' if r['caught'] == 1 else 'were'} caught"
        )
    for col, one, many in (
        ("sent_home", "was sent home by his minder", "were sent home by their minders"),
        ("repatriated", "was repatriated under the UN order", "were repatriated under the UN order"),
        ("deaths", "died", "died"),
        ("completed", "finished his contract", "finished their contracts"),
    ):
        if r[col]:
            events.append(f"{r[col]:,} {one if r[col] == 1 else many}")
    recruits, veterans = r[COL.deployed] - r[COL.veterans_posted], r[COL.veterans_posted]
    if recruits:
        events.append(_plural(recruits, "new worker arrived", "new workers arrived"))
    if veterans:
        events.append(_plural(veterans, "veteran was sent again", "veterans were sent again"))
    if events:
        lines.append("This month: " + "; ".join(events) + ".")
    if model.p.recruitment.pipeline:
        lines.append(
            f"{_plural(r[COL.candidates_waiting], 'candidate is', 'candidates are')} in screening; screening new "
            f"ones cost the state {format_money(r[COL.recruitment_costs])} this month."
        )
    lines.append(f"Sanctions in force: {r['policies'] or 'none'}.")
    return "\n\n".join(lines)


def recruitment_words(model) -> str:
    """Why a worker who leaves is not replaced at once, and what the state pays for each recruit, with the running
    model's numbers (the recruitment panel's caption)."""
    r = model.p.recruitment
    plan = max(cast(float, h.plan) for h in model.p.hosts.values())
    if not r.pipeline:
        return (
            "**In this run recruitment takes no time**: a post is filled, free, the month it opens, so the camp "
            "stays full. In reality the state screens every candidate and his family for months (four rounds, 4-6 "
            f"months in reports) and pays for it. Switch on *{PIPELINE_WORDS}* and press **Reset** to see posts "
            f"left empty while candidates are screened, and what each recruit costs the state "
            f"({format_money(r.screening_cost)} here)."
        )
    rows = model.aggregator.monthly
    spent = sum(row[COL.recruitment_costs] for row in rows)
    month = r.intake_share * sum(h.workers for h in model.p.hosts.values()) / 12
    return (
        "**Why a post stays empty.** The state posts only workers it has screened: a candidate and his family are "
        f"checked for {_plural(r.selection_months, 'month', 'months')}, so a worker sent home, repatriated, escaped "
        "or dead is replaced only when a candidate approved months earlier is ready, and the state can approve only "
        f"about {month:,.0f} candidates a month. Each candidate costs the state "
        f"**{format_money(r.screening_cost)}** to screen, move and place ({format_money(spent)} so far in this "
        f"run), and while a post is empty the state misses the plan its worker would pay (about "
        f"{format_money(plan)} a month). Of the workers who finish a contract, {r.veteran_share:.0%} are sent again "
        f"after {_plural(r.rest_months, 'month', 'months')} at home, without new screening."
    )


def worker_story(model, worker_id: int) -> str:
    """One worker's story so far."""
    if not 0 <= worker_id < len(model.everyone):
        return f"No worker {worker_id} yet (ids run from 0 to {len(model.everyone) - 1})."
    w = model.everyone[worker_id]
    earned = w.gross_total + w.side_earnings_total
    lines = [
        f"**Worker {w.worker_id}**, {model.cell_words[w.host]}, team {w.team}, minder {w.minder.minder_id}: "
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


def layered(layers: Layers, name: str):
    """A chart in its two layers (`LayeredFigure.layers`): the still PNG, and the month's SVG stretched over it.
    Only the SVG changes from month to month, so the page sends and the browser decodes no image but the camp."""
    png, svg = layers
    with solara.Div(classes=["olsim-layered", name]):
        solara.Image(png)
        solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["olsim-overlay"])


def show(markdown_text: str, classes: list[str]):
    """Markdown as HTML: solara.Markdown would typeset '$1.4M ... $1.1M' as mathematics."""
    import html

    import markdown

    solara.HTML(tag="div", unsafe_innerHTML=markdown.markdown(html.escape(markdown_text, quote=False)), classes=classes)


# ---------------------------------------------------------------- the page
INFO = """
### What this is

A camp of North Korean workers abroad, month by month: the state demands a fixed sum (the *plan*) from each
worker, minders watch them and take bribes, workers take side jobs, some try to escape, and the money goes home
past sanctions. Every number comes from the model's assumptions and the reports they rest on (your teacher has
the list), not from data about this camp.

**Start a lesson** in one click: *the sanctions as this host applied them* (no new permits, most workers sent
home), *the UN's measures, fully applied*, or *pay the workers directly*. Each starts a new run with its sanctions
in force from the first month; press Play and watch the money and the camp.

### What to try

1. **Where does the money go?** Step a few months; read *The month* and the histogram; open a worker's story.
2. **Send them all home, with half the countries complying.** Switch on *Send all workers home*; run five
   years at compliance 100%, then Reset at 50%. Watch the plan.
3. **Pay the workers, not the state.** Only *Employers pay workers directly* on; compare with exercise 1.
4. **Inspections.** Only *Labour inspections* on: hours and deaths fall, but what do workers keep?
5. **Fear, minders and escape.** *Reprisals against families* at 0 and 0.5; *Workers per minder* at 10 and 150.
6. **Who bears the risk?** The three ways the state takes its share; then the plan level at 1.3.

**Recruitment takes time** is on: a worker sent home is replaced only by a candidate screened for months. Watch
*Filling the posts*: how many workers are at their posts while candidates are screened? Try 2 and 10 months of
screening; then switch it off and Reset to see a camp where every replacement arrives at once and free.

After Reset, the previous run stays on the charts as faint dashed lines, so you can see what a switch changed.

### What the colours mean
"""


def switches_markdown() -> str:
    """What each sanction switch does, from its kind's declared fields (their words, units and defaults)."""
    return (
        "### What each switch does\n\nA switch turns its policy on at every host from the month chosen, at the "
        "compliance of its slider, its other settings at these levels:\n\n"
        + "\n".join(f"- {describe_kind(cls, names=False)}" for cls in POLICY_CLASSES.values())
        + "\n\n"
    )


def info_markdown() -> str:
    swatches = "\n".join(
        f"- <span class='olsim-swatch' style='background:{c}'></span> {STATUS_WORDS[k]}"
        for k, c in STATUS_COLOURS.items()
    )
    colours = "### What the colours mean"
    before, after = INFO.split(colours)
    return (
        before
        + switches_markdown()
        + colours
        + after
        + "In the camp, each square is a worker:\n\n"
        + swatches
        + "\n- ▲ a minder (grey once he has left)\n\nIn the charts: the revenue that reached the state is the solid "
        "blue line, the state's take the dash-dotted orange one; each kind of exit has its own marker and its camp colour "
        "(circle escaped, cross caught, square sent home, triangle repatriated); dashed vertical lines mark when "
        "the sanctions start. In *Filling the posts*: the workers at their posts (black, with the posts at the start "
        "dotted) and, below, "
        + ", ".join(recruits_key_words())
        + ".\n\nThe page is built with Mesa (the model) and Solara (the page).\n"
    )


CSS = """
.olsim-page{padding:10px 18px;font-size:17px;line-height:1.45;max-width:1800px;margin:0 auto}
.olsim-title{font-size:clamp(1.3rem,2.3vw,2.0rem);font-weight:600;margin:2px 0 8px;line-height:1.2;white-space:normal}
.olsim-buttons{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin-bottom:8px}
.olsim-buttons .v-btn{font-size:16px !important;text-transform:none !important;min-height:42px}
.olsim-controls{border:1px solid #ddd;border-radius:6px;padding:8px 12px;background:#fafafa}
.olsim-controls .v-label{font-size:15px !important;color:#222 !important;white-space:normal;height:auto !important}
.olsim-controls .v-input{margin-top:2px}
.olsim-controls .v-input.v-slider{display:flex;flex-direction:column;align-items:stretch;margin-top:10px}
.olsim-controls .v-slider .v-input__prepend{margin:0 0 0 0;padding:0}
.olsim-controls .v-slider .v-input__control{width:100%}
.olsim-controls .v-slider .v-label{font-size:15px !important;color:#222 !important;opacity:1 !important;white-space:normal}
.olsim-controls .v-slider.v-input--horizontal .v-slider__container{margin:0 8px}
.olsim-controls .v-selection-control .v-label{font-size:15px !important;color:#222 !important;opacity:1 !important}
.olsim-controls .v-checkbox .v-input__details,.olsim-controls .v-slider .v-input__details{display:none}
.olsim-controls .v-checkbox{margin-top:0}
.olsim-controls .v-checkbox .v-selection-control{min-height:36px}
.olsim-controls>.v-sheet{row-gap:4px !important}
b:has(> a[href="https://solara.dev"]){display:none}
.olsim-main{display:grid;gap:10px 18px;align-items:start;grid-template-columns:minmax(0,1fr) minmax(0,1.3fr) minmax(0,1fr);
  grid-template-areas:"month series right" "camp series right" "worker worker right"}
.olsim-at-right{grid-area:right}
.olsim-at-month{grid-area:month}.olsim-at-kept{grid-area:kept}.olsim-at-series{grid-area:series}
.olsim-at-pipeline{grid-area:pipeline}.olsim-at-camp{grid-area:camp}.olsim-at-worker{grid-area:worker}
.olsim-main img{width:100%;height:auto;display:block}
.olsim-layered{position:relative}.olsim-layered img{margin:0 !important}
.olsim-overlay{position:absolute;inset:0;pointer-events:none}.olsim-overlay svg{width:100%;height:100%;display:block}
.olsim-main img.olsim-camp,.olsim-camp img{width:auto !important;max-width:100%;image-rendering:pixelated}
.olsim-camp-title{font-size:16px;line-height:1.3;margin:0 0 6px}
.olsim-pipeline h3{margin:0}
.olsim-caption{font-size:15px;color:#333;margin:2px 0 10px}
.olsim-notice{background:#fff4d6;border:2px solid #E69F00;border-radius:6px;padding:8px 12px;margin:6px 0 10px}
.olsim-info{background:#eef6fb;border:1px solid #56B4E9;border-radius:6px;padding:4px 16px;margin:6px 0 10px}
.olsim-swatch{display:inline-block;width:18px;height:18px;border:1px solid #666;vertical-align:middle;margin-right:4px}
.olsim-legend{font-size:16px}.olsim-legend span{margin-right:12px;white-space:nowrap}
.olsim-lessons-label{font-weight:600;margin-right:2px}
.olsim-hidden{display:none}
/* no ripples or transitions: every click and every month would otherwise animate for a few hundred milliseconds,
   frames a classroom of browsers and a projector's laptop pay for (issue 33, capacity) */
.olsim-page .v-ripple__container{display:none !important}
*{transition:none !important;animation:none !important}
.olsim-notice ul{margin:4px 0 0;padding-left:1.4em}
.olsim-page strong{font-weight:700}
/* the controls in a drawer on the right, over the page, at every width: opening them moves no chart */
.olsim-grid{display:block}
.olsim-closed{display:none}
.olsim-controls{position:fixed;top:0;right:0;bottom:0;width:min(380px,88vw);overflow-y:auto;z-index:20;
  box-shadow:-4px 0 14px rgba(0,0,0,.25)}
@media (max-width:1499px){
  .olsim-at-right{display:contents}
  img.olsim-camp,.olsim-camp img{max-height:46vh}
  .olsim-main{grid-template-columns:minmax(0,1fr) minmax(0,1fr);
    grid-template-areas:"month series" "camp series" "kept pipeline" "worker worker"}
}
@media (max-width:1179px){.olsim-main{grid-template-columns:minmax(0,1fr);
  grid-template-areas:"month" "series" "camp" "kept" "pipeline" "worker"}}
@media (max-height:820px){.olsim-title{font-size:1.3rem;margin:0 0 4px}.olsim-page{padding-top:4px}
  .olsim-buttons{margin-bottom:4px}.olsim-buttons .v-btn{min-height:36px}.olsim-page{font-size:16px}}
"""
CSS += SVG_STYLE + "\n"  # the joins and caps of the charts' SVG layers (`LayeredFigure.overlay`)


def _defaults(specs: dict) -> dict:
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in specs.items()}


# the lessons a teacher starts in one click (issue 33): each a sanction in force from the first month, the other
# controls at the file's defaults; the history's compliance is params/history.toml's for the camp's host
PRESETS = {
    "history": "The sanctions as this host applied them",
    "full": "The UN's measures, fully applied",
    "direct": "Pay the workers directly",
}


def full_compliance_kinds() -> tuple[str, ...]:
    """The measures of the shipped full-compliance scenario (params/full_compliance.toml), in its order."""
    full = load_params(shipped.folder("params") / "full_compliance.toml")
    return tuple(dict.fromkeys(p.kind for p in full.policies))  # type: ignore[attr-defined]  # each class's kind


def history_compliance(params: Params) -> dict[str, float]:
    """The compliance params/history.toml gives the camp's host (the file's first host; a host the history does not
    name: its default) for each of the UN's measures on workers, when each starts."""
    history = load_params(shipped.folder("params") / "history.toml")
    host = next(iter(params.hosts))
    measures = full_compliance_kinds()  # the UN's measures on workers (UNSCR 2375, 2397)
    out = {}
    for policy in history.policies:
        kind = policy.kind  # type: ignore[attr-defined]  # every policy class declares its kind
        if kind in measures and kind not in out:
            start = history.calendar.index(policy.start)
            out[kind] = float(policy.compliance_at(host, start, history.calendar))
    return out


def preset_settings(name: str, specs: dict, params: Params) -> dict:
    """The page's settings for a lesson of `PRESETS`: the defaults, sanctions from the first month, and its own."""
    settings = {**_defaults(specs), "sanctions_start": 0}
    if name == "history":
        changes = {k: True for k in full_compliance_kinds()} | {
            f"{k}_compliance": c for k, c in history_compliance(params).items()
        }
    elif name == "full":
        kinds = full_compliance_kinds()
        changes = {k: True for k in kinds} | {f"{k}_compliance": 1.0 for k in kinds}
    elif name == "direct":
        kind = DirectWages.kind_name()
        changes = {kind: True, f"{kind}_compliance": 1.0}
    else:
        raise ValueError(f"no lesson {name!r}: {', '.join(PRESETS)}")
    return settings | changes


@solara.component
def Controls(specs: dict, pending: solara.Reactive, params: Params):
    """Every control a lesson needs, each with its value and unit in its label; a sanction's compliance slider
    appears when the sanction is switched on."""
    values = pending.value

    def setter(key):
        def set_value(v):
            pending.set({**pending.value, key: v})

        return set_value

    solara.HTML(tag="h2", unsafe_innerHTML="Controls", style={"font-size": "1.2rem", "margin": "4px 0"})
    solara.HTML(
        tag="p",
        unsafe_innerHTML="Set them, then press <b>Reset</b> to start again with them.",
        classes=["olsim-caption"],
    )
    for key, spec in specs.items():
        if not isinstance(spec, dict):
            continue
        if (switch := switch_of(key)) and not values.get(switch):
            continue
        label = f"{control_label(key, spec)}: {value_words(key, values[key], params)}"
        if spec["type"] == "Checkbox":
            solara.Checkbox(label=spec["label"], value=bool(values[key]), on_value=setter(key))
        elif spec["type"] == "SliderInt":
            solara.SliderInt(
                label,
                value=int(values[key]),
                min=spec["min"],
                max=spec["max"],
                step=spec["step"],
                on_value=setter(key),
                thumb_label=False,
            )
        elif spec["type"] == "SliderFloat":
            solara.SliderFloat(
                label,
                value=float(values[key]),
                min=spec["min"],
                max=spec["max"],
                step=spec["step"],
                on_value=setter(key),
                thumb_label=False,
            )
        elif spec["type"] == "Select":
            solara.Select(label=spec["label"], values=spec["values"], value=values[key], on_value=setter(key))
            solara.HTML(
                tag="p", unsafe_innerHTML=f"now: {value_words(key, values[key], params)}", classes=["olsim-caption"]
            )


@solara.component
def WorkerView(model, tick: int):
    worker_id, set_worker_id = solara.use_state(0)
    with solara.Column(classes=["olsim-worker"]):
        solara.HTML(tag="h3", unsafe_innerHTML="One worker's story")
        solara.HTML(
            tag="p",
            unsafe_innerHTML="Type a worker's id (0 is the first posted) and press Enter.",
            classes=["olsim-caption"],
        )
        solara.InputInt(
            "worker id", value=worker_id, on_value=lambda v: set_worker_id(int(v or 0)), continuous_update=False
        )
        show(worker_story(model, worker_id), ["olsim-worker-story"])


def _previous_words(model, applied: dict, specs: dict) -> str:
    rows = model.aggregator.monthly
    rev = sum(r[COL.revenue_delivered] for r in rows) / max(1, len(rows)) * 12
    on = [SANCTIONS[k] for k in SANCTIONS if applied.get(k)]
    pipeline = model.p.recruitment
    return (
        f"{', '.join(on) if on else 'no sanctions'}; seed {applied.get('seed')}; {len(rows)} months run; "
        f"revenue {format_money(rev)} a year"
        + (f"; screening took {_plural(pipeline.selection_months, 'month', 'months')}" if pipeline.pipeline else "")
    )


def package_words(applied: dict) -> str:
    """The sanctions a run has in force, each with its compliance ("no sanctions" when none)."""
    on = [
        f"{SANCTIONS[k]} at {100 * float(applied.get(f'{k}_compliance', 1.0)):.0f}%"
        for k in SANCTIONS
        if applied.get(k)
    ]
    return "; ".join(on) if on else "no sanctions"


CLASS_ENV = "OLSIM_CLASS"  # set by `olsim classroom --class`: each page posts its run to the teacher's board


def in_class() -> bool:
    return os.environ.get(CLASS_ENV) == "1"


def make_charts(model, previous: list[dict] | None):
    """A page's charts: drawn in the server's chart processes when it has them (`chart_processes`), else here."""
    pool = chart_processes()
    return RemoteCharts(model, previous, pool) if pool is not None else Charts(model, previous)


@solara.component
def ClassroomPage(path: str | None = None):
    path = str(path or classroom_file())
    specs = solara.use_memo(lambda: model_params(path), [path])
    params = solara.use_memo(lambda: load_params(path), [path])
    first = solara.use_memo(lambda: ClassroomModel(**_defaults(specs)), [path])
    model: solara.Reactive[ClassroomModel] = solara.use_reactive(first)
    pending = solara.use_reactive(_defaults(specs))
    applied = solara.use_reactive(_defaults(specs))
    previous: solara.Reactive[dict | None] = solara.use_reactive(
        None
    )  # {"rows": the previous run's months, "words": its settings}
    tick = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("Normal")
    open_controls = solara.use_reactive(False)
    show_info = solara.use_reactive(False)
    m = model.value
    charts = solara.use_memo(lambda: make_charts(m, previous.value["rows"] if previous.value else None), [m])
    solara.use_effect(lambda: getattr(charts, "close", lambda: None), [charts])  # a replaced or closed page frees them

    # one lock per page: a month is computed whole before it is drawn or told (Play steps in a thread)
    lock = solara.use_memo(threading.Lock, [])

    def images():
        with lock:
            charts.update()
            return charts.layers(), charts.camp_words

    (series, kept, camp_png, recruits), camp_words = solara.use_memo(images, [charts, m.month])
    with lock:
        story = month_story(m)
        recruiting = recruitment_words(m)

    def step_once():
        with lock:
            if not model.value.running:
                return
            model.value.step()
        tick.set(tick.value + 1)

    def play(cancel: threading.Event):
        """Month after month until Pause (the cancel event, checked between months: a month is never cut in
        half, which would leave the model stuck mid-step) or the calendar's end."""
        import time

        while playing.value and model.value.running and not cancel.is_set():
            t = time.perf_counter()
            step_once()
            if cancel.wait(max(0.02, PLAY_SECONDS[speed.value] - (time.perf_counter() - t))):
                return
        if not cancel.is_set():
            playing.set(False)

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)

    def reset():
        start(dict(pending.value))

    def start(settings: dict):
        """A new run with ``settings`` (the previous one kept, faint, on the charts)."""
        playing.set(False)
        if model.value.month:
            previous.set(
                {
                    "rows": list(model.value.aggregator.monthly),
                    "words": _previous_words(model.value, applied.value, specs),
                }
            )
        pending.set(settings)
        model.set(ClassroomModel(**settings))
        applied.set(settings)
        tick.set(tick.value + 1)

    student = solara.use_reactive("")  # in class: the name the student gives
    session = solara.use_memo(lambda: uuid.uuid4().hex, [])

    def post():
        if in_class() and student.value.strip():
            with lock:
                revenue, kept = outcomes(list(m.aggregator.monthly))
                month = m.month
            BOARD.post(
                Entry(
                    session,
                    student.value.strip(),
                    package_words(applied.value),
                    month,
                    m.p.calendar.months,
                    revenue,
                    kept,
                )
            )

    solara.use_effect(post, [tick.value, m, student.value])
    solara.use_effect(lambda: lambda: BOARD.leave(session), [])  # a closed page leaves the board

    changes = pending_changes(pending.value, applied.value, params, specs)
    solara.Style(CSS)
    with solara.Div(classes=["olsim-page"]):
        solara.HTML(
            tag="h1", unsafe_innerHTML="Overseas labour under sanctions: a classroom model", classes=["olsim-title"]
        )
        with solara.Div(classes=["olsim-buttons"]):
            solara.Button("Step", on_click=step_once, disabled=playing.value or not m.running, outlined=True)
            solara.Button(
                "Pause" if playing.value else "Play",
                on_click=lambda: playing.set(not playing.value),
                disabled=not m.running and not playing.value,
                outlined=True,
            )
            solara.ToggleButtonsSingle(value=speed.value, values=list(PLAY_SECONDS), on_value=speed.set, dense=True)
            solara.Button("Reset", on_click=reset, outlined=not changes, color="warning" if changes else None)
            solara.Button(
                "Hide controls" if open_controls.value else "Show controls",
                classes=["olsim-toggle"],
                on_click=lambda: open_controls.set(not open_controls.value),
                outlined=True,
            )
            solara.Button(
                "Close info" if show_info.value else "Info",
                on_click=lambda: show_info.set(not show_info.value),
                outlined=True,
            )
        if in_class():
            with solara.Div(classes=["olsim-buttons", "olsim-student"]):
                solara.InputText(
                    "Your name (for the class board)",
                    value=student.value,
                    on_value=student.set,
                    continuous_update=False,
                )
        with solara.Div(classes=["olsim-buttons", "olsim-lessons"]):
            solara.HTML(tag="span", unsafe_innerHTML="Start a lesson:", classes=["olsim-lessons-label"])
            for key, words in PRESETS.items():
                solara.Button(words, on_click=lambda key=key: start(preset_settings(key, specs, params)), outlined=True)
        # the notice and the Info panel always hold their place in the page (empty and hidden when not needed),
        # so that showing them does not make Solara rebuild the charts below
        with solara.Div(classes=["olsim-notice"] + ([] if changes else ["olsim-hidden"])):
            show(
                "**Not in force yet: these changes take effect when you press Reset** (the run on screen "
                "keeps its settings until then).\n\n" + "\n".join(f"- {c}" for c in changes)
                if changes
                else "",
                ["olsim-notice-text"],
            )
        with solara.Div(classes=["olsim-info"] + ([] if show_info.value else ["olsim-hidden"])):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=_markdown_html(info_markdown()) if show_info.value else "",
                classes=["olsim-info-text"],
            )
        with solara.Div(classes=["olsim-grid"]):
            with solara.Div(classes=["olsim-controls"] + ([] if open_controls.value else ["olsim-closed"])):
                Controls(specs, pending, params)
            with solara.Div(classes=["olsim-main"]):
                # placed by the CSS grid's areas: on a projector the month's account, the money and the camp
                # share the first screen (tests/test_classroom.py checks it at 1920 x 1080 and 1280 x 720)
                with solara.Div(classes=["olsim-at-month"]):
                    show(story, ["olsim-month"])
                with solara.Div(classes=["olsim-at-series"]):
                    layered(series, "olsim-series")
                    note = (
                        f"Faint dashed lines: the previous run ({previous.value['words']})."
                        if previous.value
                        else "After Reset, this run stays on the charts as faint dashed lines."
                    )
                    solara.HTML(tag="p", unsafe_innerHTML=note, classes=["olsim-caption", "olsim-previous"])
                # the right-hand column on a wide screen (one box, so the camp is not pushed below the kept
                # chart's row); on narrower screens its charts take their own places in the grid
                with solara.Div(classes=["olsim-at-right"]):
                    with solara.Div(classes=["olsim-at-kept"]):
                        layered(kept, "olsim-kept")
                        solara.HTML(
                            tag="p",
                            unsafe_innerHTML="What each worker kept this month, after the state's take, "
                            "bribes and side jobs; the dashed line is the median.",
                            classes=["olsim-caption"],
                        )
                    with solara.Div(classes=["olsim-at-pipeline", "olsim-pipeline"]):
                        solara.HTML(tag="h3", unsafe_innerHTML="Filling the posts: recruitment")
                        layered(recruits, "olsim-recruits")
                        show(recruiting, ["olsim-caption", "olsim-recruits-text"])
                with solara.Div(classes=["olsim-at-camp"]):
                    solara.HTML(
                        tag="p",
                        unsafe_innerHTML=f"<b>{camp_words}</b><br>every worker ever posted, a square each; a block: one "
                        "minder's unit, his teams row after row",
                        classes=["olsim-camp-title"],
                    )
                    solara.Image(camp_png, classes=["olsim-camp"])
                    legend = "".join(
                        f"<span><span class='olsim-swatch' style='background:{c}'></span>{STATUS_WORDS[k]}</span>"
                        for k, c in STATUS_COLOURS.items()
                    )
                    solara.HTML(
                        tag="p",
                        unsafe_innerHTML=legend + "<span>▲ minder</span>",
                        classes=["olsim-caption", "olsim-legend"],
                    )
                with solara.Div(classes=["olsim-at-worker"]):
                    WorkerView(m, tick.value)


def _markdown_html(text: str) -> str:
    import markdown

    return markdown.markdown(text)


@solara.component
def StudentPage():
    ClassroomPage(os.environ.get(PARAMS_ENV))


@solara.component
def Layout(children=[]):  # noqa: B006  (Solara's signature): the pages alone, no app bar or tabs
    solara.Div(children=children)


# each route names its layout: Solara skips the module's own when the module lists routes (then: its app bar, tabs)
routes = [
    solara.Route(path="/", component=StudentPage, label="Classroom", layout=Layout),
    solara.Route(path="board", component=BoardPage, label="Board", layout=Layout),
]
