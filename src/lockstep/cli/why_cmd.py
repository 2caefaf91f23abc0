"""`lockstep why [RESOURCE]`: the recorded updates, their reasons and order, and holds."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, tiltfile_path
from lockstep.engine.persist import StateFiles, load_inferred, load_inferred_evidence, read_history, read_holds
from lockstep.model.update import UpdateRecord
from lockstep.statedir import state_dir
from lockstep.ui.client import ApiError, call, discover


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("why", help=HELP["why"])
    add_file_arg(p)
    p.add_argument("resource", nargs="?", help="only this resource")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-n", "--last", type=int, default=50, help="show the last N updates (default 50)")
    p.add_argument(
        "--forget-inferred", metavar="UP:DOWN|all", nargs="?", const="all",
        help="forget learnt (inferred) edges: one UP:DOWN pair, or all",
    )
    p.set_defaults(func=run)


def _forget(sdir: Path, which: str, tiltfile: str) -> int:
    if which != "all" and (":" not in which or which.startswith(":") or which.endswith(":")):
        print(f"lockstep why: --forget-inferred takes UP:DOWN (an edge `lockstep graph` marks inferred) or all,"
              f" not {which!r}", file=sys.stderr)
        return 2
    try:
        api = discover(tiltfile)
    except ApiError:
        api = None
    if api is not None:
        # A running `up` holds the edges in memory: it forgets them, then persists.
        body: dict[str, object] = {"all": True}
        if which != "all":
            up, _, down = which.partition(":")
            body = {"edges": [[up, down]]}
        try:
            result = call(api, "POST", "/api/inferred/forget", body)
        except ApiError as exc:
            print(f"lockstep why: {exc}", file=sys.stderr)
            return 1
        print(f"forgot {len(result.get('forgotten', []))} inferred edge(s)")
        return 0
    edges = load_inferred(sdir)
    if which == "all":
        keep: frozenset[tuple[str, str]] = frozenset()
    else:
        up, sep, down = which.partition(":")
        if not sep or (up, down) not in edges:
            known = ", ".join(f"{u}:{d}" for u, d in sorted(edges)) or "none"
            print(f"lockstep why: no inferred edge {which!r} (known: {known})", file=sys.stderr)
            return 1
        keep = edges - {(up, down)}
    StateFiles.write_inferred(sdir, keep)
    print(f"forgot {len(edges) - len(keep)} inferred edge(s)")
    return 0


def _running(tiltfile: str, resource: str | None) -> list[UpdateRecord]:
    try:
        api = discover(tiltfile)
        query = "?limit=0" + (f"&resource={quote(resource, safe='')}" if resource else "")
        data = call(api, "GET", "/api/history" + query)
    except ApiError:
        return []
    updates = data.get("updates", [])
    return [UpdateRecord.from_json(u) for u in updates if isinstance(u, dict) and u.get("end") is None]


def _known_to_running_up(tiltfile: str) -> set[str] | None:
    """The resource names of the running `up`, or None when none runs."""
    try:
        view = call(discover(tiltfile), "GET", "/api/view")
    except ApiError:
        return None
    return {str(v.get("name")) for v in view.get("resources", []) if isinstance(v, dict)}


def _clock(t: float | None) -> str:
    if t is None:
        return "…"
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int((t % 1) * 1000):03d}"


def run(args: argparse.Namespace) -> int:
    sdir = state_dir(tiltfile_path(args), create=False)
    if args.forget_inferred:
        return _forget(sdir, args.forget_inferred, tiltfile_path(args))
    records = [r for r in read_history(sdir) if not args.resource or r.resource == args.resource]
    # The history file holds finished updates; a running `up` knows the ones in progress.
    records += [r for r in _running(tiltfile_path(args), args.resource) if r.id not in {x.id for x in records}]
    records = records[-args.last :] if args.last > 0 else records
    holds = [h for h in read_holds(sdir) if not args.resource or h.get("resource") == args.resource]
    evidence = load_inferred_evidence(sdir)
    inferred = sorted(evidence)
    if args.resource and not records and not holds and not any(args.resource in e for e in inferred):
        # Nothing on record: a typo is more likely than a resource that never ran.
        known = _known_to_running_up(tiltfile_path(args))
        if known is not None and args.resource not in known:
            print(f"lockstep why: no such resource: {args.resource}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({
            "updates": [r.to_json() for r in records],
            "holds": holds[-200:],
            "inferred_edges": [list(e) for e in inferred],
            "inferred_evidence": [[u, d, evidence[(u, d)]] for u, d in inferred],
        }, indent=1))
        return 0
    if not records:
        print("no updates recorded" + (f" for {args.resource}" if args.resource else ""))
    for r in records:
        dur = f"{(r.end - r.start):.2f}s" if r.end is not None else "running"
        taint = " (tainted: inputs changed while it ran)" if r.tainted else ""
        taint += " (live update)" if r.live_update else ""
        if r.end is None:
            print(f"#{r.id} {r.resource}: running since {_clock(r.start)}{taint}")
        else:
            print(f"#{r.id} {r.resource}: {r.result.value} in {dur}, {_clock(r.start)} → {_clock(r.end)}{taint}")
        for reason in r.reasons:
            print(f"    because {reason.describe()}")
        if r.upstreams:
            print(f"    after {', '.join(sorted(r.upstreams))}")
        if r.error:
            print(f"    error: {r.error}")
    if args.resource and holds:
        print("hold history:")
        for h in holds[-20:]:
            entries = h.get("holds")
            entries = entries if isinstance(entries, list) else []
            texts = [str(x.get("text", "")) for x in entries if isinstance(x, dict)]
            at = h.get("at")
            print(f"  {_clock(at if isinstance(at, float) else None)} {'; '.join(texts) or 'released'}")
    relevant = [e for e in inferred if not args.resource or args.resource in e]
    if relevant:
        print("inferred edges (learnt from writes; `lockstep graph` shows them):")
        for u, d in relevant:
            seen = evidence[(u, d)]
            print(f"  {u} → {d} (inferred)" + (f" learnt: {seen}" if seen else ""))
    return 0
