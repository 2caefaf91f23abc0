"""`lockstep trigger NAME…`: ask the running instance to update resources now."""

from __future__ import annotations

import argparse
import sys

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, tiltfile_path
from lockstep.ui.client import ApiError, call, discover


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("trigger", help=HELP["trigger"])
    add_file_arg(p)
    p.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = call(discover(tiltfile_path(args)), "POST", "/api/trigger", {"resources": args.names})
    except ApiError as exc:
        print(f"lockstep trigger: {exc}", file=sys.stderr)
        return 1
    waiting = result.get("waiting") or {}
    for name in result.get("triggered", []):
        if name in waiting:
            print(f"Triggered update for resource: {name}, but it cannot start yet: {'; '.join(waiting[name])}")
        else:
            print(f"Successfully triggered update for resource: {name}")
    return 0
