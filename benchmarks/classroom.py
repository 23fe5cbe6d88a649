"""Benchmark the classroom page: is a month fast enough to feel live?

Run by hand, not by pytest:

    python benchmarks/classroom.py              # model and figures (a few seconds)
    python benchmarks/classroom.py --browser    # also the page in headless Chromium (needs /usr/bin/chromium)
    python benchmarks/classroom.py --screenshot docs/figures/classroom.png   # the README's picture of the page
    python benchmarks/classroom.py --sessions 10 --seconds 60   # capacity: 10 students at once (issue 33)
    python benchmarks/classroom.py --trace      # where one student's browser spends a month (Chromium's trace)

Prints the median and max over 30 months (params/classroom.toml, seed 0, no
sanctions) of: one model step (the mesa engine, 1,800 workers); bringing the
page's four figures to the new month as the server does after each step
(`sim.classroom.charts.Charts`: data updated in place, each chart's moving
artists drawn as SVG over its still PNG, the camp drawn as a PNG); and, with --browser, the time from clicking
Step until the page shows the new month (server, websocket, the browser
drawing the images), with `olsim classroom` on 127.0.0.1. Goal: under 0.3 s
median from click to screen.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def row(name, values):
    print(f"| {name} | {1000 * statistics.median(values):.0f} | {1000 * max(values):.0f} |")


def model_and_figures(months: int = 30):
    from sim.classroom.app import ClassroomModel, model_params
    from sim.classroom.charts import Charts

    controls = {k: (v["value"] if isinstance(v, dict) else v) for k, v in model_params().items()}
    model = ClassroomModel(**controls)
    charts = Charts(model)
    charts.layers()
    steps, figures = [], []
    for _ in range(months):
        t = time.perf_counter()
        model.step()
        steps.append(time.perf_counter() - t)
        t = time.perf_counter()
        charts.update()
        charts.layers()
        figures.append(time.perf_counter() - t)
    return steps, figures


def screenshot(path: str) -> None:
    """The README's picture: 36 months with no sanctions, then Reset with the UN repatriation order at 50%
    compliance from January 2017 and 36 months more (the first run faint beside the second)."""
    from playwright.sync_api import sync_playwright

    with _server() as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        page = b.new_page(viewport={"width": 1400, "height": 1450})
        page.set_default_timeout(90_000)
        page.goto(url)
        page.get_by_text("Before month 1").wait_for()
        for k in range(1, 37):
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text(f"(month {k} of 60)").wait_for()
        page.get_by_role("button", name="Show controls", exact=True).click()  # the controls' drawer
        page.get_by_label("Send all workers home within 2 years (UNSCR 2397)").check()
        slider = page.locator(
            ".v-input", has_text="Send all workers home within 2 years (UNSCR 2397): compliance"
        ).get_by_role("slider")
        slider.focus()
        for _ in range(10):
            slider.press("ArrowLeft")
        page.get_by_role("button", name="Hide controls", exact=True).click()
        page.get_by_role("button", name="Reset", exact=True).click()
        page.get_by_text("Before month 1").wait_for()
        for k in range(1, 37):
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text(f"(month {k} of 60)").wait_for()
        page.screenshot(path=path)
        b.close()


class _server:
    """`olsim classroom` on a free port of 127.0.0.1, for the duration of a with-block; yields its URL."""

    def __enter__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sim.cli", "classroom", "--port", str(port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        return f"http://127.0.0.1:{port}/"

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)
        return False


def browser(months: int = 30):
    from playwright.sync_api import sync_playwright

    with _server() as url, sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        page = b.new_page(viewport={"width": 1500, "height": 1100})
        page.set_default_timeout(90_000)
        page.goto(url)
        page.get_by_text("Before month 1").wait_for()
        clicks = []
        for k in range(1, months + 1):
            t = time.perf_counter()
            page.get_by_role("button", name="Step", exact=True).click()
            page.get_by_text(f"(month {k} of 60)").wait_for()
            clicks.append(time.perf_counter() - t)
        b.close()
    return clicks


def _cpu_seconds(server_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the page's server (the process and its children) and by every Chromium process."""
    import psutil

    def used(p) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0

    root = psutil.Process(server_pid)
    server = used(root) + sum(used(c) for c in root.children(recursive=True))
    browser = sum(used(p) for p in psutil.process_iter(["name"]) if "chrom" in (p.info["name"] or "").lower())
    return server, browser


# one Step, timed inside the page: click Step, then wait (a MutationObserver: no polling, so the driver's own work
# is not counted as the page's) until the month's account says the new month, the series chart shows its new month
# (its SVG layer) and the camp a new image, decoded and painted (the next animation frame); returns the milliseconds
# from the click
STEP_JS = """async (k) => {
  const want = `(month ${k} of 60)`;
  const img = (c) => document.querySelector(`img.${c}, .${c} img`);
  const svg = () => document.querySelector('.olsim-series .olsim-overlay')?.innerHTML;
  const before = [svg(), img('olsim-camp')?.src];
  const step = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Step');
  const t0 = performance.now();
  step.click();
  const ok = () => (document.querySelector('.olsim-month')?.textContent || '').includes(want)
    && svg() !== before[0] && img('olsim-camp')?.src !== before[1];
  await new Promise((resolve) => {
    if (ok()) return resolve();
    const seen = new MutationObserver(() => { if (ok()) { seen.disconnect(); resolve(); } });
    seen.observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
  });
  await img('olsim-camp').decode().catch(() => null);
  await new Promise((r) => requestAnimationFrame(() => r()));
  return performance.now() - t0;
}"""


def sessions(n: int, seconds: float) -> tuple[list[dict], dict]:
    """``n`` students at once (a browser context each: a session and a model each), each clicking Step as soon as
    the last month is on screen, for ``seconds`` once every page has loaded: each session's months, its seconds
    and the time of each Step from click to the new month shown (`STEP_JS`); and the CPU seconds the server and
    the browsers used while they played. One headless Chromium drives them all on this machine, beside the server."""
    import asyncio

    from playwright.async_api import async_playwright

    async def run(url: str) -> list[dict]:
        loaded, stop_at, out, contexts = 0, 0.0, [], []
        all_loaded, start = asyncio.Event(), asyncio.Event()

        async def student(b):
            nonlocal loaded
            ctx = await b.new_context(viewport={"width": 1280, "height": 720})
            page = await ctx.new_page()
            page.set_default_timeout(180_000)
            await page.goto(url)
            await page.get_by_text("Before month 1").wait_for()
            loaded += 1
            if loaded == n:
                all_loaded.set()
            await start.wait()
            t0, clicks, k = time.perf_counter(), [], 0
            while time.perf_counter() < stop_at and k < 59:  # the calendar's 60 months
                clicks.append(await page.evaluate(STEP_JS, k + 1) / 1000)
                k += 1
            out.append({"months": k, "seconds": time.perf_counter() - t0, "clicks": clicks})
            contexts.append(ctx)  # closed after the CPU is read: a closed tab's process takes its CPU time with it

        async with async_playwright() as p:
            b = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
            tasks = [asyncio.create_task(student(b)) for _ in range(n)]
            await all_loaded.wait()
            stop_at = time.perf_counter() + seconds
            cpu["start"] = _cpu_seconds(server.proc.pid)
            start.set()
            await asyncio.gather(*tasks)
            cpu["end"] = _cpu_seconds(server.proc.pid)
            for ctx in contexts:
                await ctx.close()
            await b.close()
        return out

    cpu: dict = {}
    server = _server()
    with server as url:
        runs = asyncio.run(run(url))
    return runs, {k: cpu["end"][i] - cpu["start"][i] for i, k in enumerate(("server", "browser"))}


# where a browser's month goes: Chromium's trace events by thread and name (nested events overlap, so the rows
# do not add up; the threads' RunTask rows are their whole work)
TRACE_ROWS = (
    ("CrRendererMain", "RunTask", "page's main thread, all"),
    ("CrRendererMain", "v8.callFunction", "  JavaScript (Solara's widgets, Vue)"),
    ("CrRendererMain", "ProxyMain::BeginMainFrame", "  a frame: style, layout, paint, commit"),
    ("CrRendererMain", "ParseHTML", "  parsing HTML and SVG set as innerHTML"),
    ("ThreadPoolForegroundWorker", "RasterTask", "rasterizing (software, worker threads)"),
    ("ThreadPoolForegroundWorker", "ImageDecodeTask", "decoding images (the camp's PNG)"),
    ("Compositor", "RunTask", "compositor thread, all"),
    ("VizCompositorThread", "RunTask", "display compositor, all"),
)


def trace(months: int = 20) -> dict[str, float]:
    """One student alone: Chromium's trace over ``months`` Steps (after three to warm up), each row of `TRACE_ROWS`
    in ms a month, and the websocket frames the page received a month and their KB."""
    import asyncio
    import collections
    import json
    import tempfile

    from playwright.async_api import async_playwright

    counting, frames = {"on": False}, []  # the websocket frames the page receives while traced: their sizes

    async def run(url: str, path: str) -> None:
        async with async_playwright() as p:
            b = await p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
            page = await (await b.new_context(viewport={"width": 1280, "height": 720})).new_page()
            page.set_default_timeout(120_000)
            page.on("websocket", lambda ws: ws.on("framereceived", lambda f: counting["on"] and frames.append(len(f))))
            await page.goto(url)
            await page.get_by_text("Before month 1").wait_for()
            for k in range(1, 4):
                await page.evaluate(STEP_JS, k)
            counting["on"] = True
            await b.start_tracing(
                page=page,
                path=path,
                categories=[
                    "toplevel",
                    "devtools.timeline",
                    "disabled-by-default-devtools.timeline",
                    "blink",
                    "cc",
                    "v8",
                ],
            )
            for k in range(4, 4 + months):
                await page.evaluate(STEP_JS, k)
            await b.stop_tracing()
            await b.close()

    with tempfile.TemporaryDirectory() as tmp, _server() as url:
        path = str(Path(tmp) / "trace.json")
        asyncio.run(run(url, path))
        events = json.loads(Path(path).read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    threads = {
        (e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    total: collections.Counter = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            total[(threads.get((e["pid"], e["tid"]), "?"), e["name"])] += e["dur"]
    out = {label: total[(thread, name)] / months / 1000 for thread, name, label in TRACE_ROWS}
    out["websocket frames received"] = len(frames) / months
    out["their KB"] = sum(frames) / months / 1000
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--screenshot", metavar="PNG", help="write the README's picture of the page (and nothing else)")
    ap.add_argument("--sessions", type=int, metavar="N", help="N students at once, each clicking Step (capacity)")
    ap.add_argument("--seconds", type=float, default=60.0, help="with --sessions: how long they play (default 60)")
    ap.add_argument("--trace", action="store_true", help="where one browser's month goes (Chromium's trace)")
    args = ap.parse_args(argv)
    if args.trace:
        print("| one student's browser, 20 months (Chromium trace; nested rows overlap) | ms (or count) a month |")
        print("|---|---:|")
        for label, value in trace().items():
            print(f"| {label} | {value:.1f} |")
        return 0
    if args.sessions:
        runs, cpu = sessions(args.sessions, args.seconds)
        months = sum(r["months"] for r in runs)
        rates = sorted(r["months"] / r["seconds"] for r in runs)
        clicks = sorted(c for r in runs for c in r["clicks"])
        p95 = clicks[min(len(clicks) - 1, int(0.95 * len(clicks)))]
        print(
            f"{args.sessions} sessions at once for {args.seconds:.0f} s, each clicking Step as soon as its month shows"
        )
        print(
            "| months a second per session: min | median | Step click -> new month: median s | p95 s | max s "
            "| CPU ms a month: server | browsers |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        print(
            f"| {rates[0]:.2f} | {statistics.median(rates):.2f} | {statistics.median(clicks):.2f} | {p95:.2f} "
            f"| {clicks[-1]:.2f} | {1000 * cpu['server'] / months:.0f} | {1000 * cpu['browser'] / months:.0f} |"
        )
        return 0
    if args.screenshot:
        screenshot(args.screenshot)
        return 0
    steps, figures = model_and_figures()
    print("| per month (30 months, 1,800 workers) | median ms | max ms |")
    print("|---|---:|---:|")
    row("model step (mesa engine)", steps)
    row("four figures brought to the month (matplotlib's moving artists as SVG, the camp as PNG)", figures)
    if args.browser:
        row("click Step -> new month shown (headless Chromium)", browser())
    return 0


if __name__ == "__main__":
    sys.exit(main())
