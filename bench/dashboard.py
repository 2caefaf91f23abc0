"""Dashboard/API benchmark at 1,000 resources, chatty servers and 1,000,000 log lines (a script, not a test).

    .venv/bin/python bench/dashboard.py [--resources 1000] [--lines 1000000] [--stream-secs 300] [--no-browser]
                                        [--parallel N] [--json FILE]

The suite's `dashboard` scenario (lsbench/s_dashboard.py) runs it at 10,000 resources.

A real Engine (real Tiltfile loader, a function runner) runs in a background
thread with the real server. The Tiltfile has 10 labels, 30 resources that
fail (printing an error among other lines), 40 manual ones, and 5 "servers"
that chatter 100 lines/s in all. This thread measures:
  - API view latency (GET /api/view, full view of every resource; plain, and gzip as a browser asks),
  - stream delta latency (trigger dispatched -> delta for that resource received over the WebSocket),
  - page load in Chromium (navigation -> the resource list drawn and the log tail shown), and the first
    view (the snapshot frame arrived -> the list painted),
  - filter per keystroke and switching resources (input -> next frame painted), and one full pass of
    the resource list's model,
  - selecting a failed resource whose lines left the page's replay window -> its last 500 lines shown,
  - stream delta -> DOM (the frame naming a resource arrived -> its drawn row's status changed),
  - DOM update latency (trigger fetched from the page -> the row's status changes in the DOM),
  - after `--stream-secs` of chatter: frame rate and JS heap,
  - live log throughput to the page (a flood, last).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import aiohttp

from lockstep.adapters.process import Stream
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome, UpdateJob
from lockstep.logs.store import LogSource, LogStore
from lockstep.store import actions as A
from lockstep.tiltfile import load
from lockstep.ui.security import TOKEN_HEADER
from lockstep.ui.server import GUARD, start

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--enable-precise-memory-info"]


# Every figure printed, for `--json` (the suite's dashboard scenario reads it): seconds, or lists of them.
OUT: dict[str, Any] = {}


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def fmt(xs: list[float]) -> str:
    return f"p50 {pct(xs, 50) * 1000:7.1f} ms   p95 {pct(xs, 95) * 1000:7.1f} ms   (n={len(xs)})"


GROUPS = ["api", "web", "data", "infra", "tools", "jobs", "docs", "auth", "search", "billing"]
FAILING = 30
MANUAL = 40
SERVERS = 5
CHATTER_PER_SEC = 100


def failing(i: int) -> bool:
    return i % 33 == 7 and i // 33 < FAILING


def manual(i: int) -> bool:
    return i % 25 == 11 and not failing(i)


class Rig:
    """The engine and server on their own event loop thread."""

    def __init__(self, n: int, tmp: Path, parallel: int = 0) -> None:
        # parallel > 0: every resource allow_parallel, that many at once, so that the first round of
        # 10,000 updates takes seconds rather than minutes (the figures measured after it do not depend on it).
        lines = [f"update_settings(max_parallel_updates={parallel})"] if parallel else []
        par = ", allow_parallel=True" if parallel else ""
        for i in range(n):
            # Upstreams only on resources that will succeed: the rest would hold their dependents for good.
            ok_up = i >= 5 and i % 3 == 0 and not failing(i - 5) and not manual(i - 5)
            extra = f", resource_deps=['r{i - 5:04d}']" if ok_up else ""
            if manual(i):
                extra += ", trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False"
            lines.append(f"local_resource('r{i:04d}', cmd='true', labels=['{GROUPS[i % len(GROUPS)]}']{extra}{par})")
        self.failing = {f"r{i:04d}" for i in range(n) if failing(i)}
        self.manual = {f"r{i:04d}" for i in range(n) if manual(i)}
        self.servers = [f"r{i:04d}" for i in range(n) if not failing(i) and not manual(i)][:SERVERS]
        (tmp / "Tiltfile").write_text("\n".join(lines) + "\n")
        self.tiltfile = str(tmp / "Tiltfile")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine: Engine = self.call(self._start())

    def call(self, coro: Any, timeout: float = 600) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> Engine:
        async def ok(job: UpdateJob, log: LogFn) -> Outcome:
            if job.resource.name in self.failing:
                log(f"building {job.resource.name}", Stream.STDOUT)
                log(f"{job.resource.name}/config.yaml: ERROR: yaml: line 3: mapping values are not allowed",
                    Stream.STDERR)
                log("cleaning up", Stream.STDOUT)
                return Outcome(False, "cmd exited with code 2")
            return Outcome(True)

        engine = Engine(EngineOptions(tiltfile=self.tiltfile), loader=lambda p, a: load(p, a),
                        runner=FunctionRunner(ok), logs=LogStore(None))
        started = asyncio.Event()
        self.task = asyncio.ensure_future(engine.run(started))
        await started.wait()
        engine.initial_load()
        self.runner, port = await start(engine, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{port}/"
        self.token = self.runner.app[GUARD].token
        self.login_url = f"{self.url}?token={self.token}"  # what `up` prints: the page logs in with it
        return engine

    async def settled(self) -> None:
        def done(s: Any) -> bool:
            return bool(s.statuses) and all(
                (n in self.manual or x.last is not None) and not (x.pending and n not in self.manual)
                and x.running is None for n, x in s.statuses.items())

        await self.engine.store.wait_for(done, 600)

    async def chatter(self) -> None:
        """The servers' output: 100 lines/s in all, in 10 ms ticks, until cancelled."""
        logs, i = self.engine.logs, 0
        while True:
            now = time.time()
            logs.append(self.servers[i % len(self.servers)], LogSource.RUNTIME,
                        f"\x1b[32mINFO\x1b[0m GET /api/items?page={i % 97} 200 in {i % 13} ms (request {i})", now)
            i += 1
            await asyncio.sleep(1 / CHATTER_PER_SEC)

    def start_chatter(self) -> None:
        self.chatter_task = asyncio.run_coroutine_threadsafe(self.chatter(), self.loop)

    async def fill_logs(self, count: int, names: list[str]) -> float:
        t0 = time.perf_counter()
        logs, now = self.engine.logs, time.time()
        for i in range(count):
            logs.append(names[i % len(names)], LogSource.RUNTIME if i % 2 else LogSource.BUILD,
                        f"line {i} of the flood: GET /api/items?page={i % 97} 200 in {i % 13} ms", now)
            if i % 20_000 == 0:
                await asyncio.sleep(0)  # let the server breathe, as a real flood would
        return time.perf_counter() - t0


async def api_latency(url: str, token: str, rounds: int, gzip: bool) -> tuple[list[float], int]:
    """GET /api/view `rounds` times; with gzip (what a browser asks for) the time includes inflating it."""
    out: list[float] = []
    size = 0
    headers = {TOKEN_HEADER: token, "Accept-Encoding": "gzip" if gzip else "identity"}
    async with aiohttp.ClientSession(headers=headers, auto_decompress=False) as s:
        for _ in range(rounds):
            t0 = time.perf_counter()
            async with s.get(url + "api/view") as r:
                body = await r.read()
                if r.headers.get("Content-Encoding") == "gzip":
                    zlib.decompress(body, 16 + zlib.MAX_WBITS)
            out.append(time.perf_counter() - t0)
            size = len(body)
    return out, size


async def stream_latency(rig: Rig, names: list[str], rounds: int) -> list[float]:
    out: list[float] = []
    ws_url = rig.url.replace("http", "ws") + f"api/stream?logs=none&token={rig.token}"
    async with aiohttp.ClientSession() as s, s.ws_connect(ws_url, max_msg_size=0) as ws:
        await ws.receive_json()  # snapshot
        for i in range(rounds):
            name = names[(i * 7) % len(names)]
            last = rig.engine.state.statuses[name].last
            before = last.id if last else 0
            t0 = time.perf_counter()
            rig.loop.call_soon_threadsafe(rig.engine.dispatch, A.Trigger(name, rig.engine.now()))
            while True:
                msg = json.loads((await ws.receive()).data)
                # The update shows as running, or (deltas coalesce) as already finished.
                if msg["type"] == "delta" and any(
                    v["name"] == name and (v["running"] or (v["last"] or {}).get("id", 0) > before)
                    for v in msg["changed"]
                ):
                    break
            out.append(time.perf_counter() - t0)
            while rig.engine.state.statuses[name].running is not None or rig.engine.state.statuses[name].pending:
                await ws.receive()
    return out


FRAME = "() => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(() => res())))"

FILTER = """async (q) => {
    const el = document.getElementById('res-filter');
    const t0 = performance.now();
    el.value = q; el.dispatchEvent(new Event('input'));
    await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
    return performance.now() - t0;
}"""

# A click on the row when it is drawn; otherwise what j/k or a link does (the list is virtual: a far row is not
# in the DOM until the list scrolls to it, which select() does).
SWITCH = """async (name) => {
    const t0 = performance.now();
    const row = document.querySelector(`#groups .row[data-resource="${name}"] .name`);
    if (row) row.click(); else select(name);
    await new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
    return performance.now() - t0;
}"""

# Before any script of the page: note when the snapshot frame (the whole view) has arrived, and when the frame
# drawn from it has been painted (the second animation frame after the page handled it, as for the filter).
TIMING = """(() => {
    window.__lsTiming = {};
    const Base = window.WebSocket;
    window.WebSocket = class extends Base {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', (ev) => {
                const t = window.__lsTiming;
                if (t.watch && !t.watchAt && typeof ev.data === 'string' && ev.data.includes(t.watch)) {
                    t.watchAt = performance.now();
                }
                if (t.snapshot !== undefined || typeof ev.data !== 'string') return;
                if (!ev.data.slice(0, 40).includes('"snapshot"')) return;
                t.snapshot = performance.now();
                const done = () => { t.painted = performance.now(); };
                setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(done)));
            });
        }
    };
})();"""

# A stream delta -> the row's status in the DOM: the arrival of the first frame naming the resource (noted by
# TIMING's listener, which runs before the page's) to the mutation, for a row drawn in the list. The trigger goes
# to the server from the page.
DELTA_DOM = """async (name) => {
    const row = document.querySelector(`#groups .row[data-resource="${name}"]`);
    const before = row.dataset.status;
    const t = window.__lsTiming;
    t.watch = `"${name}"`; t.watchAt = 0;
    const t0 = performance.now();
    const changedAt = await new Promise((resolve) => {
        const obs = new MutationObserver(() => {
            if (row.dataset.status !== before) { obs.disconnect(); resolve(performance.now()); }
        });
        obs.observe(row, { attributes: true, attributeFilter: ["data-status"] });
        Api.post('/api/trigger', {resources: [name]});
        setTimeout(() => { obs.disconnect(); resolve(-1); }, 10000);  // running and done in one delta: no change
    });
    const arrived = t.watchAt;
    t.watch = null;
    if (changedAt < 0) return [-1, -1];
    return [changedAt - t0, arrived ? changedAt - arrived : -1];
}"""

# Click a resource, then wait until its own last lines (fetched from the server) are painted.
SELECT_FAILED = """async (name) => {
    const t0 = performance.now();
    const row = document.querySelector(`#groups .row[data-resource="${name}"] .name`);
    if (row) row.click(); else select(name);
    for (;;) {
        await new Promise((res) => requestAnimationFrame(res));
        const shown = [...document.querySelectorAll('#log .ln')].filter((e) => e.style.display !== 'none');
        if (!logs.src.loading && shown.some((e) => e.textContent.includes('mapping values'))) break;
        if (performance.now() - t0 > 10000) return -1;
    }
    return performance.now() - t0;
}"""

FPS = """async (ms) => {
    const times = [];
    const t0 = performance.now();
    await new Promise((res) => {
        const f = (t) => { times.push(t); if (t - t0 < ms) requestAnimationFrame(f); else res(); };
        requestAnimationFrame(f);
    });
    const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
    const secs = (times[times.length - 1] - times[0]) / 1000;
    return { fps: (times.length - 1) / secs, p95: gaps[Math.floor(gaps.length * 0.95)] };
}"""


def browser(rig: Rig, n: int, rounds: int, live_lines: int, names: list[str], stream_secs: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        ctx = b.new_context(viewport={"width": 1400, "height": 900})
        first = ctx.new_page()
        t0 = time.perf_counter()
        first.goto(rig.login_url)
        first.wait_for_function(f"S.views.size >= {n} && document.querySelector('#groups .row') !== null",
                                timeout=120_000)
        secs = time.perf_counter() - t0
        print(f"first visit (login URL -> cookie -> {n} rows, in a new browser): {secs * 1000:.0f} ms")
        OUT["first_visit"] = secs
        first.close()
        # What a user sees from then on: the dashboard opened in a tab of a running browser, logged in.
        page = ctx.new_page()
        page.add_init_script(TIMING)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        t0 = time.perf_counter()
        page.goto(rig.url)
        page.wait_for_function(f"S.views.size >= {n} && document.querySelector('#groups .row') !== null && "
                               "document.querySelectorAll('#log .ln').length > 0", timeout=120_000)
        OUT["page_load"] = time.perf_counter() - t0
        print(f"page load (navigation -> {n} rows + log tail rendered): {OUT['page_load'] * 1000:.0f} ms")
        page.wait_for_function("window.__lsTiming.painted !== undefined")
        timing = page.evaluate("window.__lsTiming")
        OUT["view_render"] = (timing["painted"] - timing["snapshot"]) / 1000
        print(f"first view (snapshot frame arrived -> list painted): {OUT['view_render'] * 1000:.0f} ms")
        OUT["dom_rows"] = page.evaluate("document.querySelectorAll('#groups .row').length")
        print(f"resource rows in the DOM: {OUT['dom_rows']} of {n}")
        summary = page.locator("#summary").inner_text().replace("\n", " ")
        print(f"header: {summary}")
        page.evaluate(FRAME)
        keys: list[float] = []
        for q in ("r", "r0", "r01", "r012", "r0", "", "status:failed", "label:web", "label:web r1", ""):
            keys.append(page.evaluate(FILTER, q) / 1000)
        print(f"filter per keystroke (input -> painted): {fmt(keys)}")
        OUT["filter"] = keys
        # What every frame with a delta costs the resource list: counts, filter, groups, layout, the drawn rows.
        OUT["list_pass"] = page.evaluate("""() => { const t0 = performance.now();
            for (let i = 0; i < 20; i++) summarise(); return (performance.now() - t0) / 20 / 1000; }""")
        print(f"a full pass of the resource list (as on a filter change; JS only): {OUT['list_pass'] * 1000:.1f} ms")
        switches: list[float] = []
        for i in range(rounds):
            name = names[(i * 37 + 5) % len(names)]
            switches.append(page.evaluate(SWITCH, name) / 1000)
        print(f"switch resource (click -> painted): {fmt(switches)}")
        OUT["switch"] = switches
        failed = sorted(rig.failing)
        picks: list[float] = []
        for name in failed[:10]:
            dt = page.evaluate(SELECT_FAILED, name)
            if dt >= 0:
                picks.append(dt / 1000)
        print(f"select a failed resource whose lines left the replay window -> its lines shown: {fmt(picks)}")
        page.locator("#all-row").click()
        allowed = set(names)
        dom: list[float] = []
        delta_dom: list[float] = []
        for i in range(rounds):
            # A row drawn in the list (the others are not in the DOM): one near the top, in turn.
            drawn = page.evaluate("() => [...document.querySelectorAll('#groups .row')].map((r) => r.dataset.resource)")
            pool = [x for x in drawn if x in allowed]
            name = pool[i % len(pool)]
            total, from_delta = page.evaluate(DELTA_DOM, name)
            if total >= 0:
                dom.append(total / 1000)
            if from_delta >= 0:
                delta_dom.append(from_delta / 1000)
            page.wait_for_function(f"document.querySelector('#groups .row[data-resource=\"{name}\"]')"
                                   ".dataset.status === 'ok'")
        print(f"stream delta -> row status in the DOM: {fmt(delta_dom) if delta_dom else 'no sample'}")
        OUT["delta_dom"] = delta_dom
        print(f"DOM update latency (trigger from page -> row status changes): {fmt(dom)}")
        OUT["dom_update"] = dom
        if stream_secs > 0:
            rig.start_chatter()
            t_end = time.monotonic() + stream_secs
            while time.monotonic() < t_end:
                page.wait_for_timeout(min(10_000, max(1, (t_end - time.monotonic()) * 1000)))
            frames = page.evaluate(FPS, 3000)
            heap = page.evaluate("() => performance.memory.usedJSHeapSize")
            kept = page.evaluate("() => document.getElementById('log-count').textContent")
            print(f"after {stream_secs:.0f} s of {CHATTER_PER_SEC} lines/s: {frames['fps']:.0f} fps "
                  f"(p95 frame {frames['p95']:.1f} ms), JS heap {heap / 1e6:.1f} MB, log pane {kept}")
            rig.chatter_task.cancel()
        print(f"console errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
        OUT["console_errors"] = len(errors)
        if live_lines <= 0:
            b.close()
            return
        target = rig.engine.logs.checkpoint + live_lines
        t0 = time.perf_counter()
        rig.call(rig.fill_logs(live_lines, names))
        page.wait_for_function(f"Number(document.querySelector('#log .ln:last-child')?.dataset.seq || 0) >= {target}"
                               f" || [...document.querySelectorAll('#log .ln')].some(e => +e.dataset.seq >= {target})",
                               timeout=300_000)
        secs = time.perf_counter() - t0
        print(f"live logs: {live_lines:,} lines appended and shown in the page in {secs:.2f} s "
              f"({live_lines / secs:,.0f} lines/s)")
        frame = page.evaluate("""() => new Promise((res) => { const t = performance.now();
            requestAnimationFrame(() => requestAnimationFrame(() => res(performance.now() - t))); })""")
        heap = page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")
        kept = page.evaluate("() => document.getElementById('log-count').textContent")
        print(f"page after the flood: two frames in {frame:.1f} ms; JS heap {heap / 1e6:.0f} MB; log pane: {kept}")
        b.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--live-lines", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--stream-secs", type=float, default=300.0)
    ap.add_argument("--parallel", type=int, default=0,
                    help="settle the first round N at a time, every resource allow_parallel (default: serial)")
    ap.add_argument("--json", type=Path, help="also write the figures here (seconds)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        rig = Rig(a.resources, Path(tmp), a.parallel)
        rig.call(rig.settled())
        names = sorted(n for n in rig.engine.state.resources if n not in rig.failing and n not in rig.manual)
        OUT["settle"] = time.perf_counter() - t0
        print(f"{a.resources} resources loaded and updated once in {OUT['settle']:.1f} s")
        secs = rig.call(rig.fill_logs(a.lines, names))
        print(f"{a.lines:,} log lines appended in {secs:.1f} s ({a.lines / secs:,.0f} lines/s)")
        for gzip in (False, True):
            lat, size = asyncio.run(api_latency(rig.url, rig.token, a.rounds, gzip))
            key = "view_gzip" if gzip else "view"
            OUT[key], OUT[key + "_bytes"] = lat, size
            how = "gzip, inflated" if gzip else "plain"
            print(f"API view latency (GET /api/view, {how}, {size / 1e6:.2f} MB): {fmt(lat)}")
        t1 = time.perf_counter()
        req = urllib.request.Request(rig.url + "api/logs?tail=5000", headers={TOKEN_HEADER: rig.token})
        with urllib.request.urlopen(req) as r:
            r.read()
        print(f"API log tail (5,000 lines): {(time.perf_counter() - t1) * 1000:.1f} ms")
        lat = asyncio.run(stream_latency(rig, names, a.rounds))
        OUT["stream"] = lat
        print(f"stream delta latency (trigger -> delta received): {fmt(lat)}")
        if not a.no_browser and Path(CHROMIUM).exists():
            browser(rig, a.resources, min(a.rounds, 30), a.live_lines, names, a.stream_secs)
        rig.loop.call_soon_threadsafe(rig.task.cancel)
    if a.json is not None:
        a.json.write_text(json.dumps({"resources": a.resources, **OUT}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
