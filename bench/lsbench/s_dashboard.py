"""The dashboard at 10,000 resources: GET /api/view, trigger -> stream delta, and the page in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsbench.common import Context, goal_row, measured, metric

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard.py"
GOAL_VIEW_P95_MS = 100.0
GOAL_DELTA_P95_MS = 20.0
# (key in dashboard.py's --json, case)
API_CASES = (("view", "GET /api/view, plain"), ("view_gzip", "GET /api/view, gzip (inflated by the client)"),
             ("stream", "one trigger -> stream delta received"))
# Issue 12's goals for the page at 10,000 rows (on a quiet machine).
GOAL_VIEW_RENDER_MS = 500.0
GOAL_FILTER_P95_MS = 50.0
GOAL_SWITCH_P95_MS = 50.0
GOAL_DELTA_DOM_P95_MS = 16.0
PAGE_CASES = (("page_load", "page load: navigation -> rows drawn and the log tail painted"),
              ("view_render", "first view: snapshot frame arrived -> resource list painted"),
              ("filter", "resource filter, per keystroke -> painted"),
              ("switch", "switch resource: click (or select, for a row not drawn) -> painted"),
              ("delta_dom", "stream delta arrived -> row status in the DOM"),
              ("list_pass", "a full pass of the resource list model, as on a filter change (JS)"),
              ("dom_update", "trigger from the page -> row status changes"))
# (figure key, summary line, statistic, goal in ms)
PAGE_GOALS = (("view_render", "dashboard first view after the snapshot arrives", "median", GOAL_VIEW_RENDER_MS),
              ("filter", "dashboard filter per keystroke (p95)", "p95", GOAL_FILTER_P95_MS),
              ("switch", "dashboard switching resources (p95)", "p95", GOAL_SWITCH_P95_MS),
              ("delta_dom", "dashboard stream delta -> DOM (p95)", "p95", GOAL_DELTA_DOM_P95_MS))


def run(ctx: Context) -> dict[str, Any]:
    n = ctx.pick(10_000, 2_000, 50)
    lines = ctx.pick(1_000_000, 100_000, 1_000)
    rounds = ctx.pick(50, 20, 3)
    browser = not ctx.smoke and Path("/usr/bin/chromium").exists()
    out = ctx.tmp / "dashboard.json"
    argv = [sys.executable, str(DASHBOARD), "--resources", str(n), "--lines", str(lines), "--rounds", str(rounds),
            "--parallel", "16", "--stream-secs", "0", "--live-lines", "0", "--json", str(out)]
    if not browser:
        argv.append("--no-browser")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=ctx.pick(1200, 400, 120))
    for line in proc.stdout.splitlines():
        ctx.log(f"  {line}")
    if proc.returncode != 0:
        raise RuntimeError(f"bench/dashboard.py exited {proc.returncode}: {proc.stderr[-3000:]}")
    figures = json.loads(out.read_text())

    def ms(key: str) -> list[float]:
        value = figures.get(key)
        return [x * 1000 for x in (value if isinstance(value, list) else [value] if value is not None else [])]

    rows = [metric(case, "lockstep", "ms", ms(key)) for key, case in API_CASES]
    rows[0]["bytes"], rows[1]["bytes"] = figures.get("view_bytes"), figures.get("view_gzip_bytes")
    rows += [metric(case, "lockstep", "ms", ms(key)) for key, case in PAGE_CASES if key in figures]
    summary = [
        goal_row(rows, f"`up` with {n:,} resources: GET /api/view (p95)", "p95", GOAL_VIEW_P95_MS, "ms",
                 API_CASES[0][1]),
        goal_row(rows, f"`up` with {n:,} resources: one trigger → stream delta (p95)", "p95", GOAL_DELTA_P95_MS,
                 "ms", API_CASES[2][1]),
    ]
    cases = dict(PAGE_CASES)
    if "page_load" in figures:
        summary.append(measured([r for r in rows if r["case"] == cases["page_load"]],
                                f"dashboard page load, {n:,} rows", "median", "ms"))
    for key, measure, stat, goal in PAGE_GOALS:
        if key in figures:
            summary.append(goal_row(rows, f"{measure}, {n:,} rows", stat, goal, "ms", cases[key]))
    plain_mb, gzip_mb = (figures.get(k, 0) / 1e6 for k in ("view_bytes", "view_gzip_bytes"))
    return {
        "title": f"Dashboard at {n:,} resources",
        "method": (f"`bench/dashboard.py` in a fresh process: a real Engine (real Tiltfile loader, updates that "
                   f"succeed at once, 30 that fail with output, 4 % manual, 10 labels, a dependency every "
                   f"third resource) and the real server, {n:,} resources. The first round of updates runs 16 "
                   f"at a time ({figures.get('settle', 0):.1f} s here), then {lines:,} log lines are appended. "
                   f"Measured over {rounds} rounds each: GET /api/view over HTTP (plain, {plain_mb:.1f} MB, "
                   f"and gzip as a browser asks, {gzip_mb:.2f} MB, inflated by the client), "
                   f"and a trigger dispatched into the engine until the WebSocket delta naming that resource "
                   f"arrives. "
                   + ("Then headless Chromium opens the dashboard: page load and first view after the snapshot "
                      "frame arrived (one sample each; painted = two animation frames later), the resource filter "
                      "per keystroke, switching resources, a stream delta until the drawn row's status changes, "
                      "and the row update after a trigger from the page. The resource list and table are "
                      f"virtual: {figures.get('dom_rows', '?')} of {n:,} resource rows were in the DOM."
                      if browser else "No browser in this mode.")),
        "metrics": rows,
        "summary": summary,
    }
