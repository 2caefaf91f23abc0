"""`lockstep describe NAME…`: one resource in full, including why it waits and its recent updates."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any
from urllib.parse import quote

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, tiltfile_path
from lockstep.ui.client import ApiError, call, discover


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("describe", help=HELP["describe"])
    add_file_arg(p)
    p.add_argument("names", nargs="+", metavar="NAME")
    p.add_argument("--history", type=int, default=10, help="how many recent updates to show")
    p.set_defaults(func=run)


def _when(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "-"


def render(d: dict[str, Any], history: int) -> str:
    out = [f"Name:             {d['name']}"]
    add = out.append
    add(f"Kind:             {d['kind']}")
    add(f"Labels:           {', '.join(d['labels']) or '<none>'}")
    add(f"Enabled:          {'yes' if d['enabled'] else 'no'}")
    add(f"Trigger mode:     {d['trigger_mode']}")
    add(f"Update status:    {d['update_status']}")
    add(f"Runtime status:   {d['runtime_status']}" + (f" ({d['restarts']} restarts)" if d["restarts"] else ""))
    add(f"Ready:            {'yes' if d['ready'] else 'no'}")
    probe = d.get("probe")
    if probe:
        state = "ok" if probe["ok"] else f"failing ({probe['failures']} failures in a row)"
        add(f"Readiness probe:  {state} since {_when(probe['since'])}, last check {_when(probe.get('at'))}: "
            f"{probe['detail']}")
    add(f"Waiting:          {d['hold_text'] or d.get('note') or '-'}")
    add(f"Pending changes:  {'; '.join(d['pending']) or '-'}")
    add(f"Next update:      {_when(d['next_update'])}")
    last = d.get("last")
    if last:
        add(f"Last update:      #{last['id']} {last['result']} at {_when(last['start'])}, {d['last_duration']} s"
            + (f": {last['error']}" if last["error"] else ""))
    for i, line in enumerate(d.get("excerpt") or []):
        add(("Failure:          " if i == 0 else " " * 18) + line)
    add(f"Upstreams:        {', '.join(d['upstreams']) or '-'}")
    add(f"Inferred ups:     {', '.join(d['inferred_upstreams']) or '-'}")
    for up, seen in sorted((d.get("inferred_evidence") or {}).items()):
        add(f"  learnt from {up}: {seen or 'an earlier run'}")
    add(f"Downstreams:      {', '.join(d['downstreams']) or '-'}")
    for e in d["endpoints"]:
        add(f"Endpoint:         {e['url']}")
    defn = d["definition"]
    add("Definition:")
    for key in ("cmd", "dir", "env", "serve_cmd", "serve_dir", "serve_env", "deps", "ignore", "resource_deps",
                "allow_parallel", "readiness_probe", "objects", "images", "location"):
        if key in defn and defn[key] not in (None, "", [], ()):
            value = defn[key]
            add(f"  {key + ':':<17} {', '.join(value) if isinstance(value, list) else value}")
    records = d["history"][-history:] if history > 0 else []
    if records:
        add("Recent updates:")
        for r in records:
            dur = f"{r['duration']:.2f}s" if r["duration"] is not None else "running"
            add(f"  #{r['id']:<5} {_when(r['start'])}  {r['result']:<10} {dur:>8}  {r['reason_text']}")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    try:
        info = discover(tiltfile_path(args))
        details = [call(info, "GET", "/api/resources/" + quote(n, safe="")) for n in args.names]
    except ApiError as exc:
        print(f"lockstep describe: {exc}", file=sys.stderr)
        return 1
    print("\n\n".join(render(d, args.history) for d in details))
    return 0
