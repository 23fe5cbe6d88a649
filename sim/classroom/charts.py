"""The classroom page's charts, made for a projector: large text, dates on the axis, zero-based money, the
sanctions' start marked, ranges that stay put from month to month, nothing empty before the first Step, and
colours that stay apart for every kind of colour vision (Okabe-Ito, Paul Tol) with a marker or a word wherever
colour carries meaning.

A `Charts` object belongs to one model: it builds its three matplotlib figures once and each month only updates
their data (lines, bars); each goes to the page in two layers (`LayeredFigure`): its still parts as a PNG drawn
once, and the month's lines as SVG over it. The camp is not a matplotlib figure but a palette PNG drawn square by
square in whole pixels (`camp_png`: crisp, exact colours, a few KB, about a millisecond). That is what keeps a Step
fast. The previous run (the model before the last Reset) is drawn faint on the series and on the workers at their posts, so a class can see what a switch changed.
The fourth figure is the recruitment pipeline (`pipeline_numbers`): the workers at their posts, the candidates
in screening, the new recruits and the veterans posted, each month's values read from the run's monthly table.
"""

from __future__ import annotations

import io
import math
import re
import threading

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from ..results.columns import COL  # noqa: E402

DPI = 100
# no date, creator or format in the charts' SVG: a month's overlay is the same text wherever it is drawn
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
# the <style> element matplotlib writes in an SVG (its joins and caps), and the page's own rule that stands for it
SVG_STYLE_ELEMENT = re.compile(r"\s*<defs>\s*<style[^>]*>.*?</style>\s*</defs>", re.S)
SVG_STYLE = ".olsim-overlay svg *{stroke-linejoin:round;stroke-linecap:butt}"
# matplotlib's settings are the process's: two sessions drawing their SVG at once (charts drawn in the server) must
# not restore each other's hash salt mid-drawing
_SVG_LOCK = threading.Lock()
TEXT, TICKS, TITLE = 13, 12, 14  # points: at the page's width about 15-18 px on screen
# a legend in two columns above its axes, at their right: never over the data
LEGEND_ABOVE: dict = dict(
    fontsize=TICKS - 1,
    loc="lower right",
    ncol=2,
    bbox_to_anchor=(1.0, 1.0),
    frameon=False,
    borderaxespad=0.2,
    columnspacing=1.0,
)

# what a square in the camp means, each also named in the legend and the Info panel. Chosen so that every two of
# them (and the empty cell's white) stay apart for a back row and for every kind of colour vision: at least 25
# CIELAB units under normal, protan, deutan and tritan vision (Machado et al. 2009's simulation; Okabe-Ito and Paul
# Tol's colours; tests/test_classroom.py checks it). The series chart draws each kind of leaver in the same colour.
STATUS_COLOURS = {
    "active": "#0072B2",
    "completed": "#999999",
    "sent_home": "#E69F00",
    "repatriated": "#882255",
    "escaped": "#33BBEE",
    "caught": "#CC3311",
    "dead": "#000000",
}
STATUS_WORDS = {
    "active": "working",
    "completed": "finished his contract",
    "sent_home": "sent home",
    "repatriated": "repatriated",
    "escaped": "escaped",
    "caught": "caught escaping",
    "dead": "died",
}
STATUS_CODE = {s: i + 1 for i, s in enumerate(STATUS_COLOURS)}  # 0 = an empty cell
FAINT = "#9A9A9A"
MINDER_COLOUR = "#444444"
# the camp's image, in pixels: drawn square by square (`camp_png`), shown at this size (not stretched) in a third of
# a 1920-pixel projector's page, and smaller only where the page is narrower
CAMP_PIXELS = (520, 330)
# a chart for the page: its still parts as PNG, its moving artists as SVG (`LayeredFigure.layers`)
Layers = tuple[bytes, str]


def _columns(heights: list[int], limit: int) -> list[tuple[int, int]]:
    """Each block's (column, y), filling columns top down in order, a new column before a block that would make
    the current one taller than ``limit`` squares (a block and its gap row: height + 1)."""
    places, col, y = [], 0, 0
    for h in heights:
        if y > 0 and y + h + 1 > limit:
            col, y = col + 1, 0
        places.append((col, y))
        y += h + 1
    return places


def camp_layout(heights: list[int], width: int) -> tuple[list[tuple[int, int]], int, int]:
    """Where each block (``heights[k]`` rows of ``width`` squares, in order) goes: down each column, then across,
    in the number of columns, each as short as it can be (the least tallest column, by bisection), that makes each
    square largest in the camp's image, in whole pixels (ties: the larger before rounding, then fewer columns). Returns each block's (x, y) and the grid's width and
    height, in squares; a column before each column of blocks (the gap, where the minder's triangle goes) and a gap
    row after each block."""
    box_w, box_h = CAMP_PIXELS
    if not heights:
        return [], width + 1, 1
    best: tuple[list[tuple[int, int]], int, int] = ([], width + 1, 1)
    best_size = 0.0
    for cols in range(1, len(heights) + 1):
        if box_w / (cols * (width + 1)) <= best_size:  # wider grids only make the squares smaller
            break
        lo, hi = max(heights) + 1, sum(h + 1 for h in heights)  # the least limit that fits in ``cols`` columns
        while lo < hi:
            mid = (lo + hi) // 2
            if _columns(heights, mid)[-1][0] < cols:
                hi = mid
            else:
                lo = mid + 1
        places = _columns(heights, lo)
        used = places[-1][0] + 1
        tallest = max(y + h + 1 for (_, y), h in zip(places, heights))
        fit = min(box_w / (used * (width + 1)), box_h / tallest)
        size = math.floor(fit) + fit / 1e6  # whole pixels a square first, then what is left over
        if size > best_size + 1e-12:
            best = ([(c * (width + 1), y) for c, y in places], used * (width + 1), tallest)
            best_size = size
    return best


# the series: (column, colour, marker, words); counts are totals so far
PEOPLE = [
    ("escaped", STATUS_COLOURS["escaped"], "o", "escaped"),
    ("caught", STATUS_COLOURS["caught"], "X", "caught escaping"),
    ("sent_home", STATUS_COLOURS["sent_home"], "s", "sent home"),
    ("repatriated", STATUS_COLOURS["repatriated"], "^", "repatriated"),
]

# the recruitment panel's lower axes: (key of `pipeline_numbers`, colour, line style, marker, words)
RECRUITS = [
    ("screening", "#E69F00", "-", "s", "candidates in screening (at the month's end)"),
    ("recruits", "#0072B2", "--", "o", "new recruits posted this month"),
    ("veterans", "#009E73", ":", "^", "veterans sent again this month"),
]
LINE_WORDS = {
    "#E69F00": "orange",
    "#0072B2": "blue",
    "#009E73": "green",
    "-": "solid",
    "--": "dashed",
    ":": "dotted",
    "s": "squares",
    "o": "circles",
    "^": "triangles",
}


# the camp image's palette: white (an empty cell), the statuses in STATUS_CODE's order, then a minder posted and one
# who has left
CAMP_PALETTE = ["#FFFFFF", *STATUS_COLOURS.values(), MINDER_COLOUR, STATUS_COLOURS["completed"]]
MINDER_ON, MINDER_OFF = len(STATUS_COLOURS) + 1, len(STATUS_COLOURS) + 2


def _triangle(size: int):
    """An upward triangle filling a square of ``size`` pixels (a boolean mask)."""
    row, col = np.mgrid[0:size, 0:size]
    return np.abs(col + 0.5 - size / 2) <= (row + 1) / 2  # each row half a pixel wider on each side


def camp_png(grid, minders) -> bytes:
    """The camp as a palette PNG of CAMP_PIXELS: each cell of ``grid`` (codes of STATUS_CODE, 0 empty) a square of
    the largest whole number of pixels that fits (crisp: no resampling), the grid centred across the top; each
    minder (x, y, posted) a triangle in his cell. Colours exact (a palette, not quantized), a few KB."""
    from PIL import Image

    width, height = CAMP_PIXELS
    rows, cols = grid.shape
    cell = max(1, min(width // max(cols, 1), height // max(rows, 1)))
    canvas = np.zeros((height, width), dtype=np.uint8)
    drawn = np.repeat(np.repeat(grid.astype(np.uint8), cell, axis=0), cell, axis=1)[:height, :width]
    x0 = (width - drawn.shape[1]) // 2
    canvas[: drawn.shape[0], x0 : x0 + drawn.shape[1]] = drawn
    mask = _triangle(cell)
    for x, y, posted in zip(*minders):
        px, py = x0 + int(x) * cell, int(round(y * cell))
        box = canvas[py : py + cell, px : px + cell]
        box[mask[: box.shape[0], : box.shape[1]]] = MINDER_ON if posted else MINDER_OFF
    image = Image.fromarray(canvas, mode="P")
    image.putpalette([int(c[i : i + 2], 16) for c in CAMP_PALETTE for i in (1, 3, 5)])
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def recruits_key_words() -> list[str]:
    """Each line of the recruitment panel in words, with its colour, style and marker (for the Info panel)."""
    return [
        f"{words.split(' (')[0]} ({LINE_WORDS[c]}, {LINE_WORDS[ls]}, {LINE_WORDS[mk]})"
        for _, c, ls, mk, words in RECRUITS
    ]


def pipeline_numbers(rows: list[dict]) -> dict[str, list[float]]:
    """The recruitment panel's numbers, month by month, from the run's monthly table: the workers at their posts,
    the approved candidates not yet posted, the new recruits posted (those posted less the veterans among them)
    and the veterans posted again."""
    return {
        "posted": [r[COL.workers_active] for r in rows],
        "screening": [r[COL.candidates_waiting] for r in rows],
        "recruits": [r[COL.deployed] - r[COL.veterans_posted] for r in rows],
        "veterans": [r[COL.veterans_posted] for r in rows],
    }


def month_date(start: str, month: int) -> float:
    """The middle of month ``month`` of a calendar starting at ``start`` (YYYY-MM), as a decimal year: plain
    numbers on the axis draw far faster than dates, and the ticks are labelled with the years."""
    y, m = (int(x) for x in start.split("-"))
    return y + (m - 1 + month + 0.5) / 12


class LayeredFigure:
    """A figure in two layers for the page: its still parts (axes, ticks, grid, legends) as a PNG, drawn once and
    again only after `invalidate` (an axis grew), and its moving artists (lines, bars, the month's words) as SVG over
    it, drawn each month by matplotlib's own SVG renderer. A month then costs a few milliseconds of SVG, not a
    whole figure rasterized and PNG-encoded in the server and decoded again in every student's browser; the
    background's bytes do not change, so the page does not send them again (issue 33, capacity)."""

    def __init__(self, fig: Figure, moving: list):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig, self.moving = fig, moving
        self.canvas = FigureCanvasAgg(fig)
        for a in moving:
            a.set_animated(True)  # left out of the figure's own drawing: the background
        self.background: bytes | None = None

    def invalidate(self):
        self.background = None

    def layers(self) -> tuple[bytes, str]:
        """(the still parts as a palette PNG, the moving artists as an SVG element of the same size)."""
        if self.background is None:
            self.background = self._background()
        return self.background, self.overlay()

    def _background(self) -> bytes:
        from PIL import Image

        self.canvas.draw()  # everything but the moving artists
        w, h = self.canvas.get_width_height()
        buf = io.BytesIO()
        image = Image.frombuffer("RGBA", (w, h), bytes(self.canvas.buffer_rgba()), "raw", "RGBA", 0, 1)
        # a palette of 256 colours (a chart has a dozen, plus their anti-aliased edges): less than half the bytes
        # of RGBA to send, and less for every student's browser to inflate
        image = image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        image.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()

    def overlay(self) -> str:
        """The moving artists as an ``<svg>`` element whose view box is the figure in points, drawn at the figure's
        72 points an inch as matplotlib's SVG output is (the page stretches it over the background, the same box).
        Ids are hashed with a fixed salt and there is no metadata, so the same month gives the same text."""
        from matplotlib.backends.backend_svg import RendererSVG

        buf = io.StringIO()
        dpi = self.fig.dpi
        with _SVG_LOCK, matplotlib.rc_context({"svg.hashsalt": "olsim", "svg.fonttype": "path"}):
            self.fig.set_dpi(72)
            try:
                w, h = self.fig.get_size_inches() * 72
                renderer = RendererSVG(w, h, buf, metadata=SVG_METADATA)
                for a in self.moving:
                    a.draw(renderer)
                renderer.finalize()
            finally:
                self.fig.set_dpi(dpi)
        svg = buf.getvalue()
        # the page's stylesheet sets the joins and caps (SVG_STYLE): a <style> element in every month's overlay
        # would change the document's stylesheets and make the browser restyle the whole page each month
        return SVG_STYLE_ELEMENT.sub("", svg[svg.index("<svg") :], count=1)


def bar_path(edges, heights) -> Path:
    """A histogram's bars as one path: for each bin, the rectangle from ``edges[k]`` to ``edges[k + 1]`` and from 0
    to ``heights[k]``, each closed (an empty bin is a rectangle of no height: only its white edge, along the axis)."""
    n = len(heights)
    x0, x1, h = np.asarray(edges[:-1], float), np.asarray(edges[1:], float), np.asarray(heights, float)
    verts = np.zeros((n, 5, 2))
    verts[:, :, 0] = np.column_stack([x0, x0, x1, x1, x0])
    verts[:, 1:3, 1] = h[:, None]
    codes = np.tile([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], n)
    return Path(verts.reshape(-1, 2), codes)


def _nice_top(x: float) -> float:
    """A round upper bound at or above ``x`` (1, 2 or 5 times a power of ten)."""
    if not x > 0 or not math.isfinite(x):
        return 1.0
    p = 10 ** math.floor(math.log10(x))
    return next(m * p for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * p >= x)


def sanction_starts(params) -> list[tuple[int, str]]:
    """(month, words) of each sanction's start within the calendar (facts of the world such as the border
    closure aside: their class says they are not sanctions)."""
    from ..core.policies import is_sanction

    out = []
    for p in params.policies:
        if not is_sanction(p):
            continue
        m = params.calendar.index(p.start)
        if 0 <= m < params.calendar.months:
            out.append((m, p.label or type(p).heading()))
    return out


def camp_grid(model, wrap: int):
    """The camp as an image: every worker ever posted, grouped by minder (a block: his triangle, then his teams
    one after another, each from a new row of `wrap` squares, the host's team size) in the blocks' order of
    `camp_layout`."""
    by_team: dict[int, list] = {}
    for w in model.everyone:
        by_team.setdefault(w.team, []).append(w)
    by_minder: dict[int, list[int]] = {}
    minder_of = {}
    for team, members in by_team.items():
        minder = members[-1].minder
        minder_of[team] = minder
        by_minder.setdefault(minder.minder_id, []).append(team)
    minders = sorted(by_minder)
    heights = [sum(-(-len(by_team[t]) // wrap) for t in by_minder[m]) for m in minders]
    places, grid_w, grid_h = camp_layout(heights, wrap)  # the triangle in the gap column, then the teams
    grid = np.zeros((grid_h, grid_w), dtype=np.int8)
    mx, my, mc = [], [], []
    for minder_id, (x0, y0), height in zip(minders, places, heights):
        teams = sorted(by_minder[minder_id])
        m = minder_of[teams[0]]
        mx.append(x0)
        my.append(y0 + (height - 1) / 2)
        mc.append(m.status == "active")
        y = y0
        for team in teams:
            codes = [STATUS_CODE[w.status] for w in by_team[team]]
            for start in range(0, len(codes), wrap):
                row = codes[start : start + wrap]
                grid[y, x0 + 1 : x0 + 1 + len(row)] = row
                y += 1
    return grid, (mx, my, mc), len(minders)


def snapshot(model, drawn: int, wrap: int) -> dict:
    """What the figures need of the model's current month: the months after the first ``drawn``, what each posted
    worker kept, the camp (`camp_grid`, rows of ``wrap``) and its words. Plain data: a chart process draws from it
    (`Charts.apply`)."""
    kept = np.array([w.retained for w in model.workers if w.active], dtype=float)
    when = model.calendar.date(model.month - 1) if model.month else "before month 1"
    grid = camp_grid(model, wrap)
    active = sum(1 for w in model.everyone if w.active)
    at = f"in {when}" if model.month else "at the start"
    return {
        "month": model.month,
        "rows": list(model.aggregator.monthly[drawn:]),
        "kept": kept,
        "when": when,
        "camp": grid,
        "camp_words": f"The camp {at}: {active:,} working, {grid[2]} minders",
    }


class Charts:
    """The page's four figures for one model, updated in place each month."""

    def __init__(self, model, previous: list[dict] | None = None, setup: tuple | None = None):
        """Figures for ``model`` (None in a chart process: ``setup``, its parameters and workers at the start,
        stands for it; `ChartProcesses`), the previous run's months drawn faint."""
        self.model = model
        p, workers_initial = setup if setup is not None else (model.p, model.workers_initial)
        self.p = p
        self.rows: list[dict] = []
        self.months = p.calendar.months
        self.start = p.calendar.start
        self.dates = [month_date(self.start, k) for k in range(self.months)]
        self.previous = previous or []
        self.shown_month = -1
        workers = max(1, workers_initial)
        take = sum(h.workers * h.plan for h in p.hosts.values()) / 1e3  # $k a month the state expects
        self.money_top = _nice_top(max(1.35 * take, *[1.1 * r[COL.state_take] / 1e3 for r in self.previous] or [0]))
        self.people_top = _nice_top(
            max(0.05 * workers, *[1.1 * self._cum(self.previous, c)[-1] for c, *_ in PEOPLE if self.previous] or [0])
        )
        self.plan_top = _nice_top(1.6 * max(h.plan for h in p.hosts.values()))
        wage = max(h.wage for h in p.hosts.values())
        top = _nice_top(wage)
        self.kept_edges = np.arange(0.0, top + 1e-9, 25.0 if top <= 1000 else top / 40)  # $25 bars
        self.kept_top = _nice_top(workers / 4)
        self._series()
        self._kept()
        self._camp()
        self._recruits()
        self.series_layers = LayeredFigure(
            self.series_fig, [self.l_take, self.l_rev, *self.l_people.values(), self.l_plan, self.waiting]
        )
        self.kept_layers = LayeredFigure(self.kept_fig, [self.bars, self.median_line, self.kept_title, self.kept_note])
        self.recruits_layers = LayeredFigure(self.recruits_fig, [self.l_posted, *self.l_recruits.values()])
        self.camp_grid: tuple | None = None
        if model is not None:
            self.update()

    @staticmethod
    def _cum(rows, col):
        return np.cumsum([r[col] for r in rows]) if rows else np.zeros(0)

    # ---------------------------------------------------------------- series
    def _series(self):
        fig = Figure(figsize=(8.4, 8.0), dpi=DPI)
        ax_m, ax_p, ax_plan = fig.subplots(3, 1, sharex=True)
        fig.subplots_adjust(left=0.12, right=0.97, top=0.91, bottom=0.06, hspace=0.62)
        self.series_fig, self.ax_money, self.ax_people, self.ax_plan = fig, ax_m, ax_p, ax_plan
        lo, hi = self.dates[0] - 0.5 / 12, self.dates[-1] + 0.5 / 12
        years = [y for y in range(math.ceil(lo), math.floor(hi) + 1) if hi - y > 0.1]  # no label cut at the edge
        for ax in (ax_m, ax_p, ax_plan):
            ax.set_xlim(self.dates[0] - 0.5 / 12, self.dates[-1] + 0.5 / 12)
            ax.set_xticks(years, [str(y) for y in years])
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=TICKS)
            for m, _ in sanction_starts(self.p):
                ax.axvline(self.dates[m], color="#000000", ls=(0, (5, 4)), lw=1.2)
        prev = self.previous
        if prev:
            pd_ = [month_date(self.start, r["month"]) for r in prev]
            ax_m.plot(pd_, [r[COL.revenue_delivered] / 1e3 for r in prev], color=FAINT, lw=1.6, ls="--")
            for col, *_ in PEOPLE:
                ax_p.plot(pd_, self._cum(prev, col), color=FAINT, lw=1.3, ls="--")
            ax_plan.plot(pd_, [r[COL.plan_mean] for r in prev], color=FAINT, lw=1.6, ls="--")
        # the latest month also as a dot: a line of one month would not show
        (self.l_take,) = ax_m.plot(
            [], [], color="#D55E00", lw=2.2, ls="-.", label="the state's take", marker="o", markevery=[-1], ms=5
        )
        (self.l_rev,) = ax_m.plot(
            [], [], color="#0072B2", lw=2.6, label="reached the state", marker="o", markevery=[-1], ms=6
        )
        self.l_people = {
            col: ax_p.plot([], [], color=c, lw=2.2, marker=mk, markevery=6, ms=7, label=w)[0]
            for col, c, mk, w in PEOPLE
        }
        (self.l_plan,) = ax_plan.plot([], [], color="#000000", lw=2.4, marker="o", markevery=[-1], ms=5)
        ax_m.set_title(r"money, \$ thousand a month", fontsize=TITLE, loc="left")
        ax_p.set_title("workers so far", fontsize=TITLE, loc="left")
        rule = self.p.remittance.rule
        plan_words = {
            "plan": r"the plan each worker must pay, \$ a month",
            "share": r"the plan, \$ a month (not used: the state takes a share of pay)",
            "group_quota": r"the plan, \$ a month (what the camp owes, per worker)",
        }.get(rule, "the plan")
        ax_plan.set_title(plan_words + (" (faint: previous run)" if prev else ""), fontsize=TITLE, loc="left")
        extra = [Line2D([], [], color=FAINT, ls="--", lw=1.6, label="previous run")] if prev else []
        # legends above the axes, right of the titles: never over the data
        ax_m.legend(
            handles=[self.l_rev, self.l_take, *extra],
            **LEGEND_ABOVE,
        )
        ax_p.legend(
            **LEGEND_ABOVE,
        )
        ax_m.set_ylim(0, self.money_top)
        ax_p.set_ylim(0, self.people_top)
        ax_plan.set_ylim(0, self.plan_top)
        self.waiting = ax_m.text(
            0.5,
            0.5,
            "press Step to run the first month",
            transform=ax_m.transAxes,
            ha="center",
            va="center",
            fontsize=TEXT,
            color="#444444",
        )
        starts = sanction_starts(self.p)
        if starts:
            ax_plan.text(
                self.dates[starts[0][0]],
                self.plan_top * 0.04,
                "  sanctions start",
                fontsize=TICKS - 1,
                ha="left",
                va="bottom",
            )

    # ---------------------------------------------------------------- kept histogram
    def _kept(self):
        fig = Figure(figsize=(6.0, 3.9), dpi=DPI)
        ax = fig.subplots()
        fig.subplots_adjust(left=0.15, right=0.97, top=0.87, bottom=0.2)
        e = self.kept_edges
        # the bars as one path (a rectangle a bar, white edges between them): one SVG element a month, not forty
        self.bars = PathPatch(bar_path(e, np.zeros(len(e) - 1)), facecolor="#0072B2", edgecolor="white", lw=0.6)
        ax.add_patch(self.bars)
        self.median_line = ax.axvline(np.nan, color="#000000", lw=2.0, ls="--")
        ax.set_xlim(e[0], e[-1])
        ax.set_ylim(0, self.kept_top)
        ax.set_xlabel(rf"kept this month, \$ (the last bar: \${e[-2]:,.0f} or more)", fontsize=TEXT)
        ax.set_ylabel("workers", fontsize=TEXT)
        ax.tick_params(labelsize=TICKS)
        ax.grid(alpha=0.3, axis="y")
        self.kept_title = ax.set_title("", fontsize=TITLE, loc="left")
        self.kept_fig, self.ax_kept = fig, ax
        self.kept_note = ax.text(
            0.5, 0.55, "", transform=ax.transAxes, ha="center", va="center", fontsize=TEXT, color="#444444"
        )

    # ---------------------------------------------------------------- the recruitment pipeline
    def _recruits(self):
        """Two axes over the five years: the workers at their posts against the posts at the start, and the
        pipeline (candidates in screening, new recruits posted, veterans sent again), all in workers, from zero."""
        p = self.p
        fig = Figure(figsize=(8.4, 5.4), dpi=DPI)
        ax_w, ax_r = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [0.8, 1.2]})
        fig.subplots_adjust(left=0.12, right=0.97, top=0.91, bottom=0.21, hspace=0.55)
        self.recruits_fig, self.ax_posted, self.ax_recruits = fig, ax_w, ax_r
        lo, hi = self.dates[0] - 0.5 / 12, self.dates[-1] + 0.5 / 12
        years = [y for y in range(math.ceil(lo), math.floor(hi) + 1) if hi - y > 0.1]
        for ax in (ax_w, ax_r):
            ax.set_xlim(lo, hi)
            ax.set_xticks(years, [str(y) for y in years])
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=TICKS)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
            for m, _ in sanction_starts(p):
                ax.axvline(self.dates[m], color="#000000", ls=(0, (5, 4)), lw=1.2)
        self.posts_start = sum(h.workers for h in p.hosts.values())
        ax_w.axhline(self.posts_start, color="#555555", lw=1.6, ls=(0, (1, 2)))
        handles = [
            Line2D([], [], color="#555555", lw=1.6, ls=(0, (1, 2)), label=f"{self.posts_start:,} posts at the start")
        ]
        prev = pipeline_numbers(self.previous)
        if self.previous:
            pd_ = [month_date(self.start, r["month"]) for r in self.previous]
            ax_w.plot(pd_, prev["posted"], color=FAINT, lw=1.6, ls="--")
            ax_r.plot(pd_, prev["screening"], color=FAINT, lw=1.3, ls="--")
            handles.append(Line2D([], [], color=FAINT, ls="--", lw=1.6, label="previous run"))
        (self.l_posted,) = ax_w.plot([], [], color="#000000", lw=2.4, marker="o", markevery=[-1], ms=5)
        self.l_recruits = {
            key: ax_r.plot(
                [], [], color=c, lw=2.4 if key == "screening" else 2.0, ls=ls, marker=mk, markevery=6, ms=7, label=words
            )[0]
            for key, c, ls, mk, words in RECRUITS
        }
        ax_w.set_title("workers at their posts", fontsize=TITLE, loc="left")
        ax_r.set_title("recruitment, workers", fontsize=TITLE, loc="left")
        ax_w.legend(
            handles=handles,
            **LEGEND_ABOVE,
        )
        # the pipeline's words below its axes, in one row each: never over the data
        ax_r.legend(
            fontsize=TICKS - 1,
            loc="upper left",
            ncol=1,
            bbox_to_anchor=(0.0, -0.14),
            frameon=False,
            borderaxespad=0.2,
            handlelength=3.0,
        )
        self.posted_top = _nice_top(1.1 * max([self.posts_start, *prev["posted"]]))
        self.recruits_top = _nice_top(
            max([0.1 * self.posts_start, *(1.1 * v for key, *_ in RECRUITS for v in prev[key])])
        )
        ax_w.set_ylim(0, self.posted_top)
        ax_r.set_ylim(0, self.recruits_top)

    # ---------------------------------------------------------------- camp
    def _camp(self):
        self.camp_wrap = max(self.model.own["team_size"], default=1) if self.model is not None else 1
        self.camp_words = ""

    # ---------------------------------------------------------------- each month
    def update(self) -> None:
        """Bring the four figures to the model's current month (only what changed is redrawn)."""
        model = self.model
        if model.month == self.shown_month:
            return
        self.apply(self.snapshot())

    def snapshot(self) -> dict:
        return snapshot(self.model, len(self.rows), self.camp_wrap)

    def apply(self, snap: dict) -> None:
        """Bring the figures to a month's `snapshot`."""
        if snap["month"] == self.shown_month:
            return
        self.shown_month = snap["month"]
        self.rows.extend(snap["rows"])
        self.camp_grid, self.camp_words = snap["camp"], snap["camp_words"]
        rows = self.rows
        d = self.dates[: len(rows)]
        take = [r[COL.state_take] / 1e3 for r in rows]
        rev = [r[COL.revenue_delivered] / 1e3 for r in rows]
        self.l_take.set_data(d, take)
        self.l_rev.set_data(d, rev)
        self.waiting.set_visible(not rows)
        top = max([self.money_top, *(1.1 * v for v in take)])
        if top > self.money_top:  # only ever grows: the axis does not jump about
            self.money_top = _nice_top(top)
            self.ax_money.set_ylim(0, self.money_top)
            self.series_layers.invalidate()
        for col, *_ in PEOPLE:
            y = self._cum(rows, col)
            self.l_people[col].set_data(d, y)
            if len(y) and 1.1 * y[-1] > self.people_top:
                self.people_top = _nice_top(1.1 * y[-1])
                self.ax_people.set_ylim(0, self.people_top)
                self.series_layers.invalidate()
        plan = [r[COL.plan_mean] for r in rows]
        self.l_plan.set_data(d, plan)
        if plan and max(plan) * 1.1 > self.plan_top:
            self.plan_top = _nice_top(max(plan) * 1.1)
            self.ax_plan.set_ylim(0, self.plan_top)
            self.series_layers.invalidate()
        # the recruitment pipeline
        numbers = pipeline_numbers(rows)
        self.l_posted.set_data(d, numbers["posted"])
        top = max(numbers["posted"], default=0)
        if 1.05 * top > self.posted_top:
            self.posted_top = _nice_top(1.1 * top)
            self.ax_posted.set_ylim(0, self.posted_top)
            self.recruits_layers.invalidate()
        for key, *_ in RECRUITS:
            self.l_recruits[key].set_data(d, numbers[key])
        top = max((v for key, *_ in RECRUITS for v in numbers[key]), default=0)
        if 1.05 * top > self.recruits_top:
            self.recruits_top = _nice_top(1.1 * top)
            self.ax_recruits.set_ylim(0, self.recruits_top)
            self.recruits_layers.invalidate()
        # kept this month
        kept, month, when = snap["kept"], snap["month"], snap["when"]
        e = self.kept_edges
        counts = (
            np.histogram(np.clip(kept, e[0], e[-1] - 1e-9), bins=e)[0]
            if month and len(kept)
            else np.zeros(len(e) - 1, dtype=int)
        )
        self.bars.set_path(bar_path(e, counts))
        if counts.max(initial=0) > 0.95 * self.kept_top:
            self.kept_top = _nice_top(counts.max() / 0.95)
            self.ax_kept.set_ylim(0, self.kept_top)
            self.kept_layers.invalidate()
        if month and len(kept):
            med = float(np.median(kept))
            self.median_line.set_xdata([med, med])
            self.kept_title.set_text(rf"kept in {when}: median \${med:,.0f} (dashed)")
            self.kept_note.set_text("")
        else:
            self.median_line.set_xdata([np.nan, np.nan])
            self.kept_title.set_text("what workers kept this month")
            self.kept_note.set_text("no one is in the camp" if month else "press Step to run the first month")

    def charts_layers(self) -> tuple[Layers, Layers, Layers]:
        """The three matplotlib figures as layers (`LayeredFigure.layers`): series, kept, recruitment."""
        return self.series_layers.layers(), self.kept_layers.layers(), self.recruits_layers.layers()

    def layers(self) -> tuple[Layers, Layers, bytes, Layers]:
        """The page's four figures: series, kept and recruitment as layers (a still PNG, a moving SVG), the camp as
        one PNG drawn square by square."""
        assert self.camp_grid is not None  # set by every month's `apply`, the first in the constructor
        grid, minders, _ = self.camp_grid
        series, kept, recruits = self.charts_layers()
        return series, kept, camp_png(grid, minders), recruits
