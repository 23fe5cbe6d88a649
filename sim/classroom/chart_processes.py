"""The classroom's charts drawn in processes of their own, so that a class uses every core (issue 33, capacity).

The page's server runs every student's session in one Python process, and a Step's work there is serial (Python's
global interpreter lock): the model's month, the page's update and the charts. Drawing the three matplotlib
figures is about a third of it; here it runs in chart processes (`ChartProcesses`, one per core by default), each
holding the figures of the sessions given to it. A session's `RemoteCharts` sends each month's `snapshot` (plain
data: the new months, what each worker kept, the camp) and gets the figures' layers back (`LayeredFigure.layers`: a still
PNG and the month's SVG), byte for byte those the
page would draw itself (tests/test_classroom.py checks it). The camp is drawn where the model is (a millisecond).

``OLSIM_CLASSROOM_CHART_PROCESSES`` sets how many (0: draw in the server, as before); the default is one per core
when there are at least two. A chart process that fails is not fatal: the session draws its charts itself from then
on (`RemoteCharts.fallback`).
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
import threading

from .charts import Charts, Layers, camp_png, snapshot

PROCESSES_ENV = "OLSIM_CLASSROOM_CHART_PROCESSES"


def process_count() -> int:
    """How many chart processes: $OLSIM_CLASSROOM_CHART_PROCESSES (0 to 64), else one per core from two cores."""
    given = os.environ.get(PROCESSES_ENV, "").strip()
    if given:
        try:
            n = int(given)
        except ValueError:
            raise ValueError(f"{PROCESSES_ENV}={given!r}: must be a whole number from 0 to 64") from None
        if not 0 <= n <= 64:
            raise ValueError(f"{PROCESSES_ENV}={given!r}: must be a whole number from 0 to 64")
        return n
    cores = os.cpu_count() or 1
    return cores if cores >= 2 else 0


def _serve(conn) -> None:
    """A chart process: the figures of the sessions given to it, by id; each message answered in turn."""
    charts: dict[int, Charts] = {}
    sent: dict[int, list] = {}  # each session's still PNGs last sent: sent again only when redrawn
    while True:
        try:
            kind, sid, *rest = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = None
            if kind == "new":
                setup, previous = rest
                charts[sid] = Charts(None, previous, setup=setup)
            elif kind == "draw":
                chart = charts[sid]
                chart.apply(rest[0])
                layers = chart.charts_layers()
                last = sent.setdefault(sid, [None] * len(layers))
                reply = tuple((None if png is last[k] else png, svg) for k, (png, svg) in enumerate(layers))
                sent[sid] = [png for png, _ in layers]
            elif kind == "drop":
                charts.pop(sid, None)
                sent.pop(sid, None)
            conn.send(("ok", reply))
        except Exception as e:  # the session falls back to drawing itself
            conn.send(("error", f"{type(e).__name__}: {e}"))


class ChartProcesses:
    """``n`` chart processes (spawned: a server's threads are not forked), each behind a pipe and a lock."""

    def __init__(self, n: int):
        ctx = mp.get_context("spawn")
        self.workers = []
        for _ in range(n):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(there,), daemon=True, name="olsim-charts")
            proc.start()
            there.close()
            self.workers.append((here, threading.Lock(), proc))
        self.ids = itertools.count()

    def call(self, k: int, message: tuple):
        """Send ``message`` to chart process ``k`` and wait for its answer; RuntimeError if it failed."""
        conn, lock, _ = self.workers[k]
        try:
            with lock:
                conn.send(message)
                status, reply = conn.recv()
        except (EOFError, OSError) as e:
            raise RuntimeError(f"chart process {k} stopped: {e}") from None
        if status != "ok":
            raise RuntimeError(reply)
        return reply


_pool: ChartProcesses | None = None
_pool_lock = threading.Lock()


def chart_processes() -> ChartProcesses | None:
    """The server's chart processes, started on first use (None: charts are drawn in the server)."""
    global _pool
    n = process_count()
    if n == 0:
        return None
    with _pool_lock:
        if _pool is None:
            _pool = ChartProcesses(n)
    return _pool


class RemoteCharts:
    """`Charts` for one model, drawn in a chart process: the same `update`, `layers` and `camp_words`."""

    def __init__(self, model, previous: list[dict] | None, pool: ChartProcesses):
        self.model, self.previous, self.pool = model, previous, pool
        self.sid = next(pool.ids)
        self.worker = self.sid % len(pool.workers)
        self.camp_wrap = max(model.own["team_size"], default=1)
        self.drawn = 0  # months the chart process has drawn
        self.shown_month = -1
        self.snap: dict | None = None
        self.last: tuple[Layers, Layers, Layers] | None = None
        self.local: Charts | None = None
        self.camp_words = ""
        try:
            pool.call(self.worker, ("new", self.sid, (model.p, model.workers_initial), previous))
        except RuntimeError:
            self.fallback()
        self.update()

    def fallback(self) -> None:
        """Draw in the server from now on (the chart process failed)."""
        self.local = Charts(self.model, self.previous)

    def update(self) -> None:
        if self.local is not None:
            self.local.update()
            self.camp_words = self.local.camp_words
            return
        if self.model.month == self.shown_month:
            return
        self.shown_month = self.model.month
        self.snap = snapshot(self.model, self.drawn, self.camp_wrap)
        self.camp_words = self.snap["camp_words"]

    def layers(self) -> tuple[Layers, Layers, bytes, Layers]:
        if self.local is None and (self.snap is not None or self.last is None):
            snap = self.snap if self.snap is not None else snapshot(self.model, self.drawn, self.camp_wrap)
            try:
                reply = self.pool.call(self.worker, ("draw", self.sid, snap))
                # a still PNG not redrawn comes back as None: the one received before stands
                old = self.last or ((b"", ""),) * 3
                series, kept, recruits = (
                    (png if png is not None else old[k][0], svg) for k, (png, svg) in enumerate(reply)
                )
                self.last = (series, kept, recruits)
                self.drawn += len(snap["rows"])
                self.camp = snap["camp"]
                self.snap = None
            except RuntimeError:
                self.fallback()
        if self.local is not None:
            return self.local.layers()
        assert self.last is not None
        series, kept, recruits = self.last
        grid, minders, _ = self.camp
        return series, kept, camp_png(grid, minders), recruits

    def close(self) -> None:
        """Free this session's figures in its chart process."""
        if self.local is None:
            try:
                self.pool.call(self.worker, ("drop", self.sid))
            except RuntimeError:
                pass
