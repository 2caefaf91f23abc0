"""`lockstep args -- ARGS…`: replace the Tiltfile arguments of the running instance.

As Tilt's: the Tiltfile is re-evaluated with the new arguments (what
`config.parse()` sees). With no arguments, prints the current ones; `--clear`
sets them to none.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, tiltfile_path
from lockstep.ui.client import ApiError, call, discover


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("args", help=HELP["args"])
    add_file_arg(p)
    p.add_argument("--clear", action="store_true", help="set the Tiltfile arguments to none")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    new: list[str] = list(getattr(args, "tiltfile_args", []) or [])
    try:
        info = discover(tiltfile_path(args))
        if not new and not args.clear:
            current = call(info, "GET", "/api/args")["args"]
            print(shlex.join(current))
            return 0
        result = call(info, "POST", "/api/args", {"args": new})
    except ApiError as exc:
        print(f"lockstep args: {exc}", file=sys.stderr)
        return 1
    print(f"Tiltfile arguments set to: {shlex.join(result['args']) or '(none)'}")
    return 0
