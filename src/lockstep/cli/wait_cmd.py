"""`lockstep wait --for=condition=Ready NAME… [--timeout 30s]`: block until resources are ready.

Ready means: enabled, last update succeeded with nothing pending, and the
runtime (if any) ready. Follows the live stream, so it returns as soon as the
condition holds; on timeout it says what each resource is still waiting for.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, parse_duration, tiltfile_path
from lockstep.ui.client import ApiError, ApiInfo, discover, stream

CONDITIONS = ("Ready",)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("wait", help=HELP["wait"])
    add_file_arg(p)
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--for", dest="condition", required=True, help="condition=Ready")
    p.add_argument("--all", action="store_true", help="wait for every resource")
    p.add_argument("--timeout", type=parse_duration, default=30.0, help="e.g. 30s, 5m (default 30s)")
    p.set_defaults(func=run)


async def _wait(info: ApiInfo, names: list[str], wait_all: bool, views: dict[str, dict[str, Any]]) -> bool:
    reloading = False
    async for msg in stream(info, logs="none"):
        if msg["type"] == "snapshot":
            views.clear()
            views.update((v["name"], v) for v in msg["view"]["resources"])
            reloading = bool(msg["view"].get("config", {}).get("reloading"))
        elif msg["type"] == "delta":
            for v in msg["changed"]:
                views[v["name"]] = v
            for n in msg["removed"]:
                views.pop(n, None)
            if "config" in msg:
                reloading = bool(msg["config"].get("reloading"))
        # A name the running Tiltfile lacks is an error, unless the Tiltfile is being re-read
        # (e.g. right after `lockstep args`): the new evaluation may add it.
        missing = [n for n in names if n not in views]
        if missing and not reloading:
            raise ApiError(f"no such resource: {', '.join(missing)}")
        wanted = list(views) if wait_all else names
        if all(n in views and views[n]["ready"] for n in wanted):
            return True
    # The stream ended before the condition held: the `up` it watched has stopped.
    raise ApiError("`lockstep up` stopped before the condition was met")


def run(args: argparse.Namespace) -> int:
    kind, _, cond = str(args.condition).partition("=")
    if kind != "condition" or cond not in CONDITIONS:
        print(f"lockstep wait: unsupported --for={args.condition} (supported: condition=Ready)", file=sys.stderr)
        return 2
    # Tilt scripts name resources as `uiresource/NAME`: accept that form too.
    args.names = [n.split("/", 1)[1] if n.startswith(("uiresource/", "uiresources/")) else n
                  for n in args.names or []]
    if bool(args.names) == bool(args.all):
        print("lockstep wait: give resource names or --all (not both)", file=sys.stderr)
        return 2
    views: dict[str, dict[str, Any]] = {}

    async def main() -> bool:
        try:
            return await asyncio.wait_for(_wait(info, args.names, args.all, views), args.timeout)
        except TimeoutError:
            return False

    try:
        info = discover(tiltfile_path(args))
        ok = asyncio.run(main())
    except ApiError as exc:
        print(f"lockstep wait: {exc}", file=sys.stderr)
        return 1
    if ok:
        for n in args.names or []:
            print(f"{n}: condition met")
        if args.all:
            print("all resources: condition met")
        return 0
    print(f"lockstep wait: timed out after {args.timeout:g}s", file=sys.stderr)
    for n in args.names or list(views):
        v = views.get(n)
        if v is not None and not v["ready"]:
            runtime = f", runtime {v['runtime_status']}" if v["has_runtime"] else ""
            if v.get("probe_text"):
                runtime += f", readiness probe {v['probe_text']}"
            why = v["hold_text"] or v["update_status"] + runtime
            print(f"  {n}: not ready ({why})", file=sys.stderr)
    return 1
