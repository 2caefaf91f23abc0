"""Shared by `enable` and `disable`: flags, request and output."""

from __future__ import annotations

import argparse
import sys

from lockstep.cli.common import add_file_arg, tiltfile_path
from lockstep.ui.client import ApiError, call, discover


def register_toggle(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, enabled: bool, help_text: str
) -> None:
    p = sub.add_parser(name, help=help_text)
    add_file_arg(p)
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help=f"{name} every resource")
    if enabled:
        p.add_argument("--only", action="store_true", help="enable these and disable every other resource")
        p.add_argument("--with-deps", action="store_true",
                       help="also enable their resource_deps (transitively)")

    def run(args: argparse.Namespace) -> int:
        if bool(args.names) == bool(args.all):
            print(f"lockstep {name}: give resource names or --all (not both)", file=sys.stderr)
            return 2
        body: dict[str, object] = {"enabled": enabled}
        if args.all:
            body["all"] = True
        else:
            body["resources"] = args.names
        if getattr(args, "only", False):
            body["only"] = True
        if getattr(args, "with_deps", False):
            body["with_deps"] = True
        try:
            result = call(discover(tiltfile_path(args)), "POST", "/api/enable", body)
        except ApiError as exc:
            print(f"lockstep {name}: {exc}", file=sys.stderr)
            return 1
        word = "enabled" if enabled else "disabled"
        for n in result.get("resources", []):
            print(f"{n}: {word}")
        blocked = result.get("disabled_upstreams") or {}
        for n, ups in sorted(blocked.items()):
            print(f"{n}: waits on disabled {', '.join(ups)}; enable them too with "
                  f"`lockstep enable --with-deps {n}`")
        return 0

    p.set_defaults(func=run)
