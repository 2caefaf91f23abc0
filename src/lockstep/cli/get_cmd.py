"""`lockstep get [-o json|wide|name] [NAME…]`: the resources' view models, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, tiltfile_path
from lockstep.ui.client import ApiError, call, discover
from lockstep.ui.printable import printable

# Tilt's `get` takes a resource type first; accept its names for muscle memory.
_TYPES = {"uiresource", "uiresources", "resource", "resources", "all"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("get", help=HELP["get"])
    add_file_arg(p)
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("-o", "--output", choices=("json", "wide", "name"), default=None)
    p.set_defaults(func=run)


def _ago(t: float | None) -> str:
    if t is None:
        return "-"
    secs = max(0.0, time.time() - t)
    if secs < 60:
        return f"{secs:.0f}s"
    if secs < 3600:
        return f"{secs / 60:.0f}m"
    return f"{secs / 3600:.1f}h"


def _probe(v: dict[str, Any]) -> str:
    probe = v.get("probe")
    if not probe:
        return "-"
    if probe["ok"]:
        return "ok"
    return f"failing ({probe['failures']} in a row): {probe['detail']}"


def _row(v: dict[str, Any], wide: bool) -> list[str]:
    last = v.get("last") or {}
    cols = [
        printable(v["name"]),
        v["update_status"],
        v["runtime_status"],
        "yes" if v["ready"] else "no",
        _ago(last.get("end") or last.get("start")),
        _probe(v),
        v["hold_text"] or ("; ".join(v["pending"]) if v["pending"] else v.get("note", ""))
        or v.get("failure", ""),
    ]
    if wide:
        cols += [
            ",".join(v["labels"]),
            v["trigger_mode"],
            "yes" if v["enabled"] else "no",
            " ".join(e["url"] for e in v["endpoints"]),
        ]
    return cols


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def run(args: argparse.Namespace) -> int:
    names = list(args.names)
    if names and names[0].lower() in _TYPES:
        names = names[1:]
    try:
        view = call(discover(tiltfile_path(args)), "GET", "/api/view")
    except ApiError as exc:
        print(f"lockstep get: {exc}", file=sys.stderr)
        return 1
    # By name, as `kubectl get`: the engine's order moves as edges are learnt.
    resources = sorted(view["resources"], key=lambda v: str(v["name"]))
    if names:
        known = {v["name"] for v in resources}
        missing = [n for n in names if n not in known]
        if missing:
            print(f"lockstep get: no such resource: {', '.join(missing)}", file=sys.stderr)
            return 1
        resources = [v for v in resources if v["name"] in names]
    if args.output == "json":
        print(json.dumps({"resources": resources, "config": view["config"]}, indent=2))
    elif args.output == "name":
        for v in resources:
            print(printable(v["name"]))
    else:
        wide = args.output == "wide"
        header = ["NAME", "UPDATE", "RUNTIME", "READY", "LAST", "PROBE", "WHY"]
        if wide:
            header += ["LABELS", "TRIGGER", "ENABLED", "ENDPOINTS"]
        print(table([header, *(_row(v, wide) for v in resources)]))
    return 0
