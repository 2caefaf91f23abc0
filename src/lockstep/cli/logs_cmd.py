"""`lockstep logs [NAME…] [-f] [--since D] [--tail N] [--json]`: the running instance's logs.

Lines come from the engine's in-memory log (the last lines of each resource);
the complete log stays on disk in the state dir. `-f` follows the live stream
from the checkpoint of the last line printed, so nothing is missed or repeated.

When no engine answers for the Tiltfile, the lines come from the newest run
log in the state dir (the last run's, read whole from disk), with a note on
stderr saying so; there is nothing to follow then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from lockstep.cli.catalog import HELP
from lockstep.cli.common import parse_duration, tiltfile_path
from lockstep.model.update import SystemLog
from lockstep.ui.client import ApiError, ApiInfo, call, discover, stream
from lockstep.ui.printable import printable


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("logs", help=HELP["logs"])
    # -f is Tilt's --follow here, so the Tiltfile is only --file.
    p.add_argument("--file", default="Tiltfile", help="path to the Tiltfile (default: ./Tiltfile)")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument("--since", type=parse_duration, default=None, help="only lines newer than this (e.g. 5m)")
    p.add_argument("--tail", type=int, default=-1, help="only the last N lines (-1: all kept in memory)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


class Printer:
    def __init__(self, as_json: bool, since: float | None) -> None:
        self.as_json = as_json
        self.cutoff = time.time() - since if since is not None else None

    def __call__(self, line: dict[str, Any]) -> None:
        if self.cutoff is not None and line["at"] < self.cutoff:
            return
        if self.as_json:
            print(json.dumps(line))
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(line["at"]))
            print(f"{stamp} {printable(line['resource']):<16} │ {line['text']}")


def _backlog(info: ApiInfo, names: list[str], tail: int) -> tuple[list[dict[str, Any]], int]:
    # One `resource=` per name: a name may contain a comma (Tilt allows it).
    params: dict[str, Any] = {"resource": names or None}
    if tail >= 0:
        got = call(info, "GET", "/api/logs", params={**params, "tail": min(tail, 10_000)})
        return list(got["lines"]), int(got["checkpoint"])
    lines: list[dict[str, Any]] = []
    since = 0
    while True:  # page through everything kept in memory
        got = call(info, "GET", "/api/logs", params={**params, "since": since, "limit": 10_000})
        lines += got["lines"]
        if not got["lines"]:
            return lines, int(got["checkpoint"])
        since = int(got["next"])


async def _follow(info: ApiInfo, names: list[str], checkpoint: int, show: Printer) -> None:
    params: dict[str, str | list[str]] = {"logs": str(checkpoint)}
    if names:
        params["resource"] = names
    async for msg in stream(info, **params):
        if msg["type"] == "logs":
            for line in msg["lines"]:
                show(line)
            sys.stdout.flush()


def _last_run(tiltfile: str, args: argparse.Namespace, show: Printer, why: str) -> int:
    """The lines of the newest run log on disk, for when no engine answers."""
    from lockstep.logs.lastrun import newest_run, read_run
    from lockstep.logs.records import as_dict
    from lockstep.statedir import state_dir

    directory = state_dir(tiltfile, create=False) / "logs"
    path = newest_run(str(directory))
    if path is None:
        print(f"lockstep logs: {why}; and there is no log of an earlier run in {directory}", file=sys.stderr)
        return 1
    print(f"lockstep logs: no running lockstep for {tiltfile}; showing the last run's log ({path})", file=sys.stderr)
    try:
        lines = read_run(path, args.names or None)
    except OSError as exc:
        print(f"lockstep logs: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    silent = [n for n in dict.fromkeys(args.names) if n not in {x.resource for x in lines}]
    shown = lines if args.tail < 0 else lines[len(lines) - args.tail:] if args.tail else []
    for line in shown:
        show(as_dict(line))
    sys.stdout.flush()
    if silent:
        print(f"lockstep logs: no lines of {', '.join(silent)} in that log", file=sys.stderr)
        return 1
    if args.follow:
        print("lockstep logs: not following: no lockstep is running", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    show = Printer(args.json, args.since)
    tiltfile = tiltfile_path(args)
    try:
        info = discover(tiltfile)
        # The first call also says whether an engine answers at all (else: the last run's log on disk).
        view = call(info, "GET", "/api/view" if args.names else "/api/health")
    except ApiError as exc:
        if exc.status:  # an engine answered, with an error
            print(f"lockstep logs: {exc}", file=sys.stderr)
            return 1
        return _last_run(tiltfile, args, show, str(exc))
    try:
        if args.names:
            known = {v["name"] for v in view["resources"]} | set(SystemLog)
            missing = [n for n in args.names if n not in known]
            if missing:
                print(f"lockstep logs: no such resource: {', '.join(missing)}", file=sys.stderr)
                return 1
        lines, checkpoint = _backlog(info, args.names, args.tail)
        for line in lines:
            show(line)
        sys.stdout.flush()
        if args.follow:
            if lines:
                checkpoint = int(lines[-1]["seq"])
            asyncio.run(_follow(info, args.names, checkpoint, show))
    except ApiError as exc:
        print(f"lockstep logs: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
