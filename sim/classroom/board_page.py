"""The teacher's board (/board in `olsim classroom --class`): every student's package and outcome side by side."""

from __future__ import annotations

import functools
import html
import math
import threading

import solara
from matplotlib.figure import Figure

from ..common.formatting import format_money
from .board import BOARD, Entry

REFRESH_SECONDS = 0.5
BLUE, ORANGE = "#0072B2", "#D55E00"  # Okabe-Ito: told apart by colour-blind eyes and a back row alike


def board_png(entries: list[Entry], frozen: Entry | None) -> bytes:
    """The class's runs as points: revenue reaching the state (x) against what workers kept (y), each named; the
    run under discussion in orange. Both axes from zero."""
    import io

    fig = Figure(figsize=(9.0, 5.6), dpi=100)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.14)
    shown = [e for e in entries if math.isfinite(e.revenue_per_year) and math.isfinite(e.kept_per_month)]
    if frozen is not None and math.isfinite(frozen.revenue_per_year):
        shown = [e for e in shown if e.session != frozen.session] + [frozen]
    xs = [e.revenue_per_year / 1e6 for e in shown]
    ys = [e.kept_per_month for e in shown]
    colours = [ORANGE if frozen is not None and e.session == frozen.session else BLUE for e in shown]
    ax.scatter(xs, ys, s=140, c=colours, zorder=3)
    for e, x, y in zip(shown, xs, ys):
        ax.annotate(e.name, (x, y), xytext=(8, 6), textcoords="offset points", fontsize=15)
    ax.set_xlim(0, max([1.0, *xs]) * 1.25)
    ax.set_ylim(0, max([100.0, *ys]) * 1.25)
    ax.set_xlabel("revenue reaching the state, $ million a year (the camp of the run)", fontsize=14)
    ax.set_ylabel("kept per worker, $ a month worked", fontsize=14)
    ax.tick_params(labelsize=13)
    ax.grid(alpha=0.3)
    ax.set_title(
        "Each student's run: better for the workers is up, worse for the state is left", fontsize=15, loc="left"
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def entry_words(e: Entry) -> str:
    return (
        f"{format_money(e.revenue_per_year)} a year reached the state; workers kept "
        f"{format_money(e.kept_per_month)} per month worked ({e.month} of {e.months} months run)"
    )


BOARD_CSS = """
.olsim-board{padding:10px 18px;font-size:18px;max-width:1800px;margin:0 auto}
.olsim-board h1{font-size:1.8rem;margin:4px 0 8px}
.olsim-board table{border-collapse:collapse;font-size:17px;margin-top:8px}
.olsim-board td,.olsim-board th{border-bottom:1px solid #ccc;padding:6px 10px;text-align:left;vertical-align:middle}
.olsim-board td.num{text-align:right;font-variant-numeric:tabular-nums}
.olsim-board img{max-width:100%;height:auto}
.olsim-frozen{background:#fff4d6;border:2px solid #E69F00;border-radius:6px;padding:8px 12px;margin:6px 0 10px}
.olsim-hidden{display:none}
.olsim-board-grid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px;align-items:start}
@media (max-width:1180px){.olsim-board-grid{grid-template-columns:minmax(0,1fr)}}
"""


@solara.component
def BoardPage():
    # the board's version drawn: a use_state, set from the refresh thread (a use_reactive set from that thread
    # did not reach the page: the board stayed as first drawn)
    seen, set_seen = solara.use_state(-1)

    def refresh(cancel: threading.Event):
        while not cancel.wait(REFRESH_SECONDS):
            set_seen(BOARD.version)

    def freeze(session: str | None):
        BOARD.freeze(session)
        set_seen(BOARD.version)

    solara.use_thread(refresh, dependencies=[], intrusive_cancel=False)
    entries, frozen = BOARD.entries(), BOARD.frozen
    solara.Style(BOARD_CSS)
    with solara.Div(classes=["olsim-board"]):
        solara.HTML(tag="h1", unsafe_innerHTML="The class board")
        # the notice and the panel always hold their place (hidden when not needed): the elements after them are
        # not rebuilt when they come and go
        solara.HTML(
            tag="p",
            unsafe_innerHTML="No student yet: each student opens the join address, gives a name and picks a "
            "lesson or sets the controls; their runs appear here as they play.",
            classes=[] if not entries else ["olsim-hidden"],
        )
        with solara.Div(classes=["olsim-frozen"] + ([] if frozen is not None else ["olsim-hidden"])):
            solara.HTML(
                tag="p",
                unsafe_innerHTML=(
                    f"<b>Discussing {html.escape(frozen.name)}</b> ({html.escape(frozen.package)}): "
                    f"{html.escape(entry_words(frozen))}. Held as it was when frozen; the student plays on."
                )
                if frozen is not None
                else "",
            )
            solara.Button("Let go", on_click=functools.partial(freeze, None), outlined=True)
        with solara.Div(classes=["olsim-board-grid"]):
            solara.Image(board_png(entries, frozen), classes=["olsim-board-chart"])
            with solara.Div():
                for e in entries:
                    with solara.Div(classes=["olsim-board-row"]):
                        solara.HTML(
                            tag="p",
                            unsafe_innerHTML=f"<b>{html.escape(e.name)}</b>: {html.escape(e.package)}. "
                            f"{html.escape(entry_words(e))}.",
                        )
                        solara.Button(
                            f"Freeze {e.name}",
                            on_click=functools.partial(freeze, e.session),
                            outlined=True,
                            small=True,
                        )
