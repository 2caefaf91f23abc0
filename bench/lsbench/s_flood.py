"""Log flood: a server printing 1M lines/min; lockstep's RSS and API latency while it lasts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsbench.common import LOCKSTEP, Context, goal_row, metric, rss_mb, stop, wait_for

GOAL_API_P95_MS = 100.0
LINES_PER_MIN = 1_000_000

FLOOD = '''\
import sys, time
rate, secs = float(sys.argv[1]), float(sys.argv[2])
line = " GET /api/pets?limit=20 200 in 3.2ms user=42 a typical access log line of moderate length\\n"
t0, n = time.monotonic(), 0
while (el := time.monotonic() - t0) < secs:
    target = int(el * rate)
    if target > n:
        sys.stdout.write("".join(f"{i}{line}" for i in range(n, target)))
        sys.stdout.flush()
        n = target
    time.sleep(0.005)
print(f"flood done: {n} lines", flush=True)
time.sleep(1e6)
'''


def _api(state: Path, tiltfile: Path) -> Any:
    # The CLI's own client: it finds the port and token (and whatever auth the API asks for) in api.json.
    from lockstep.ui import client

    os.environ["LOCKSTEP_STATE_DIR"] = str(state)
    return client, client.discover(str(tiltfile))


def run(ctx: Context) -> dict[str, Any]:
    seconds = ctx.pick(120.0, 10.0, 2.0)
    rate = LINES_PER_MIN / 60
    (ctx.tmp / "flood.py").write_text(FLOOD)
    tf = ctx.tmp / "Tiltfile"
    tf.write_text(f"local_resource('flood', serve_cmd={f'{sys.executable} flood.py {rate:g} {seconds:g}'!r})\n")
    state = ctx.tmp / ".state"
    saved = os.environ.get("LOCKSTEP_STATE_DIR")
    proc = subprocess.Popen([LOCKSTEP, "up", "--port", "0", "--stream", "-f", str(tf)], cwd=ctx.tmp,
                            env={**os.environ, "LOCKSTEP_STATE_DIR": str(state)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    view_ms: list[float] = []
    logs_ms: list[float] = []
    rss: list[tuple[float, float]] = []
    received = 0
    try:
        wait_for(lambda: next(state.rglob("api.json"), None), 60, 0.01)
        client, info = _api(state, tf)
        baseline = rss_mb([proc.pid])
        t0 = time.monotonic()
        last_rss = -1.0
        while (el := time.monotonic() - t0) < seconds + 1.0:
            for path, into in (("/api/view", view_ms), ("/api/logs?tail=100", logs_ms)):
                started = time.perf_counter()
                body = client.call(info, "GET", path)
                into.append((time.perf_counter() - started) * 1000)
                if path.startswith("/api/logs") and body.get("lines"):
                    received = max(received, int(body["lines"][-1]["seq"]))
            if el - last_rss >= 0.5:
                rss.append((round(el, 2), rss_mb([proc.pid])))
                last_rss = el
            time.sleep(0.1)
    finally:
        stop(proc)
        if saved is None:
            os.environ.pop("LOCKSTEP_STATE_DIR", None)
        else:
            os.environ["LOCKSTEP_STATE_DIR"] = saved
    half = [m for t, m in rss if t >= seconds / 2]
    first = [m for t, m in rss if t < seconds / 2]
    growth = (max(half) - max(first)) / max(first) * 100 if half and first else None
    rows = [metric("GET /api/view during the flood", "lockstep", "ms", view_ms),
            metric("GET /api/logs?tail=100 during the flood", "lockstep", "ms", logs_ms),
            metric("engine RSS", "lockstep", "MB", [m for _, m in rss], baseline_mb=baseline, series=rss,
                   growth_second_half_pct=growth, lines_emitted=int(rate * seconds), lines_received=received)]
    summary = [goal_row(rows, f"GET /api/view during a {LINES_PER_MIN:,}-lines/min log flood (p95)", "p95",
                        GOAL_API_P95_MS, "ms",
                        "GET /api/view during the flood")]
    bounded = goal_row(rows, "engine RSS growth over the second half of the flood", "p95", 10.0, "%", "engine RSS")
    bounded.update(lockstep=growth, met=growth is not None and growth <= 10.0, goal="≤ 10 % (bounded)")
    summary.append(bounded)
    return {
        "title": "Log flood: 1M lines/min from a server",
        "method": (f"A `serve_cmd` writes {rate:,.0f} lines/s for {seconds:g} s under `lockstep up`. Meanwhile "
                   f"the harness calls GET /api/view and GET /api/logs?tail=100 every 100 ms through the CLI's "
                   f"client and samples lockstep's RSS every 0.5 s."),
        "metrics": rows,
        "summary": summary,
    }
