"""`lockstep up`: run the Tiltfile's resources and keep them up to date until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import shutil
import socket
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
    port_number,
    tiltfile_path,
)

if TYPE_CHECKING:
    from rich.console import Group

    from lockstep.engine.engine import Engine

# This module's imports are light: `run` starts the watchdog and the first evaluation child
# (engine/boot.py) before it imports the engine, so that their start-up overlaps its imports.


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help=HELP["up"])
    add_file_arg(p)
    add_engine_args(p)
    add_selection_arg(p)
    p.add_argument("--port", type=port_number, default=10350, help="HTTP API/dashboard port (0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve the dashboard on")
    p.add_argument("--stream", action="store_true", help="print prefixed log lines instead of the status table")
    p.set_defaults(func=run)


def start_views(engine: Engine, args: argparse.Namespace) -> None:
    """Serve the HTTP API and dashboard (the server itself loads at the first connection)."""
    from lockstep.ui.listen import serve

    engine.spawn(serve(engine, host=args.host, port=args.port), "http")


async def _live_table(engine: Engine) -> int:
    import asyncio

    from rich.live import Live

    from lockstep.ui.live import live_view, make_console

    console = make_console()

    def view() -> Group:
        snap = engine.snapshot
        return live_view(snap.state, snap.decision, engine.logs.tail(None, 50), console.size.height)

    with Live(view(), console=console, refresh_per_second=4, screen=False) as live:
        while True:
            await asyncio.sleep(0.25)  # the display's refresh rate, not a wait for state
            live.update(view())


def loaded_names(engine: Engine) -> list[str]:
    # The resources loaded so far, not those of the first evaluation: when that one failed,
    # the prefix column waits for the first Tiltfile that defines resources.
    return list(engine.state.resources)


def restored_edges(engine: Engine) -> int:
    """Learnt edges from earlier runs that apply to this configuration."""
    if engine.first_load is None or engine.options.state_dir is None:
        return 0
    from lockstep.engine.persist import load_inferred

    names = {r.name for r in engine.first_load.resources}
    return sum(1 for u, d in load_inferred(engine.options.state_dir) if u in names and d in names)


def port_taken(command: str, host: str, port: int) -> bool:
    """Say so, once, when the dashboard's port is taken: before the Tiltfile is evaluated or
    anything runs (a second project's `up` on the default port must not start its builds)."""
    if port == 0:
        return False
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        return False  # an unknown --host: the server names it when it tries to listen
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            try:
                probe.bind(addr)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    continue
                print(f"lockstep {command}: cannot serve the dashboard on {host}:{port}: the port is already in use"
                      " (is another `lockstep up` running? choose a port with --port, or --port 0 for any)",
                      file=sys.stderr)
                return True
    return False


def run(args: argparse.Namespace) -> int:
    path = tiltfile_path(args)
    if missing_tiltfile(path, "up") or port_taken("up", args.host, args.port):
        return 1
    # Claimed, and the watchdog and the first evaluation started, before the engine is imported
    # (engine/boot.py): the evaluation runs while this process imports.
    started_early = claim_and_boot(args, "up")
    if started_early is None:
        return 1
    try:
        import asyncio

        from lockstep.engine.app import build_engine, run_app
        from lockstep.k8s.tools import diagnostics as tool_diagnostics
        from lockstep.model.selection import with_upstreams
        from lockstep.ui.terminal import StreamPrinter, announce, flush_printers

        engine, reaper = build_engine(engine_options(args), started=started_early)
    except BaseException:
        abandon(started_early, path)
        raise
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"lockstep up: warning: serving on {args.host}: the dashboard is reachable from other machines",
              file=sys.stderr, flush=True)
    stream = args.stream or not sys.stdout.isatty()
    if stream:
        engine.logs.subscribe(StreamPrinter(names=lambda: loaded_names(engine)))

    def started(e: Engine) -> None:
        start_views(e, args)
        if e.first_load is not None:
            # Their updates fail with the same words; say it once up front too.
            for d in tool_diagnostics(e.first_load, shutil.which):
                print(f"lockstep: error: {d.message}\n  fix: {d.hint}", file=sys.stderr, flush=True)
        restored = restored_edges(e)
        if restored:
            plural = "s" if restored > 1 else ""
            announce(f"lockstep: {restored} learnt edge{plural} restored; `lockstep why --forget-inferred`")
        load = e.first_load
        selected = set(with_upstreams(load.enabled_resources, load.resources)) if (
            load is not None and load.enabled_resources is not None) else None
        for r in load.resources if load else ():
            if selected is not None and r.name not in selected:
                continue  # disabled: nothing serves there
            for link in r.links:
                announce(f"lockstep: {r.name}: {link.name or 'link'} at {link.url}")

    until = None if stream else _live_table
    code = asyncio.run(run_app(engine, reaper, until, on_started=started))
    flush_printers()  # lines logged in the loop's last turn
    return code
