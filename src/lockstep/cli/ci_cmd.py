"""`lockstep ci`: bring everything up once; exit 0 when all is up to date, 1 on failure."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from lockstep.cli.catalog import HELP
from lockstep.cli.common import (
    abandon,
    add_engine_args,
    add_file_arg,
    add_selection_arg,
    claim_and_boot,
    engine_options,
    missing_tiltfile,
    parse_duration,
    port_number,
    tiltfile_path,
)
from lockstep.cli.up_cmd import loaded_names, port_taken, start_views

if TYPE_CHECKING:
    from lockstep.engine.engine import Engine


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ci", help=HELP["ci"])
    add_file_arg(p)
    add_engine_args(p)
    add_selection_arg(p)
    p.add_argument("--timeout", type=parse_duration, default=parse_duration("30m"), help="e.g. 30m, 90s")
    p.add_argument("--port", type=port_number, default=0)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=run)


async def _until_done(engine: Engine, timeout: float) -> int:
    import asyncio

    from lockstep.engine.ci import CiTracker, ci_verdict
    from lockstep.ui.terminal import announce, flush_printers

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # Asked after every batch: the tracker costs what changed; the words are built once.
    tracker = CiTracker()
    while True:
        try:
            # Each snapshot carries the scheduler's decision for its own state: no second pass.
            snap = await engine.wait_for(tracker.done, deadline - loop.time())
        except TimeoutError:
            last = engine.snapshot
            verdict = ci_verdict(last.state, last.decision)
            flush_printers()  # the log lines first, as they happened
            print(f"lockstep ci: timed out after {timeout:.0f}s; {verdict.summary}", file=sys.stderr)
            return 1
        verdict = ci_verdict(snap.state, snap.decision)
        if verdict.ok:
            break
        # A failure looks final: give file events from the last writes one
        # quiet window to arrive (they would re-trigger it) before believing it.
        await asyncio.sleep(snap.state.settings.quiet_secs * 2)
        if engine.snapshot.version == snap.version:
            break
    if verdict.ok:
        announce(f"lockstep ci: success: {verdict.summary}")
        return 0
    # Only a failure reads the resource views and log excerpts: their modules load here.
    from lockstep.ui.excerpt import failure_report
    from lockstep.ui.viewmodel import resource_views

    flush_printers()
    print(f"lockstep ci: failed: {verdict.summary}", file=sys.stderr)
    for line in failure_report(engine.logs, resource_views(engine.state, engine.decision)):
        print(f"lockstep ci:   {line}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    path = tiltfile_path(args)
    if missing_tiltfile(path, "ci") or port_taken("ci", args.host, args.port):
        return 1
    # Claimed, and the watchdog and the first evaluation started, before the engine is imported
    # (engine/boot.py): the evaluation runs while this process imports.
    started_early = claim_and_boot(args, "ci")
    if started_early is None:
        return 1
    try:
        import asyncio

        from lockstep.engine.app import build_engine, run_app
        from lockstep.ui.terminal import StreamPrinter, flush_printers

        engine, reaper = build_engine(engine_options(args), subcommand="ci", started=started_early)
    except BaseException:
        abandon(started_early, path)
        raise
    engine.logs.subscribe(StreamPrinter(names=lambda: loaded_names(engine)))
    timeout = float(args.timeout)
    verdicts: list[int] = []

    async def until(e: Engine) -> int:
        verdicts.append(await _until_done(e, timeout))
        return verdicts[-1]

    # Like Tilt's ci, the dashboard and API are served while it runs (--port 0: any free port).
    code = asyncio.run(run_app(engine, reaper, until, on_started=lambda e: start_views(e, args)))
    flush_printers()
    if not verdicts and code == 0:
        # Stopped (Ctrl-C, `lockstep down`, SIGTERM from a CI runner) before the verdict:
        # nothing was shown to be up to date, so this is no success.
        print("lockstep ci: stopped before every resource was up to date", file=sys.stderr)
        return 1
    return code
