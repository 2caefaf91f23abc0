"""The HTTP server: API + live stream + dashboard, advertised in the state dir.

`serve` runs until cancelled (it is a task in the engine's TaskGroup). The
address and a fresh per-run token go to `<state dir>/api.json` (mode 0600) so
that CLI clients of the same user find them without flags; the page gets a
session cookie for it (see security.py), and nobody else can read either.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from lockstep.engine.engine import Engine
from lockstep.errors import FatalError
from lockstep.privatefile import write_private_json
from lockstep.statedir import state_dir
from lockstep.ui.api import ENGINE, HUB, add_routes, errors
from lockstep.ui.apifile import API_FILE
from lockstep.ui.hub import Hub
from lockstep.ui.limits import GuardedSite, Limits
from lockstep.ui.security import Guard
from lockstep.ui.stream import stream
from lockstep.ui.terminal import announce

GUARD: web.AppKey[Guard] = web.AppKey("guard", Guard)


def static_dir() -> Path:
    # A real directory both in a checkout and in an installed wheel (package data).
    return Path(str(resources.files("lockstep.ui") / "static"))


async def index(request: web.Request) -> web.Response:
    page = (static_dir() / "index.html").read_text(encoding="utf-8")
    # The page authenticates with its HttpOnly cookie: the token stays out of the page.
    page = page.replace("{{TOKEN}}", "")
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


async def health(request: web.Request) -> web.Response:
    """What the page's storage banner polls: small, unlike the full view."""
    return web.json_response({"storage_error": request.app[ENGINE].logs.health.problem})


def build_app(
    engine: Engine, host: str = "127.0.0.1", token: str | None = None, limits: Limits | None = None
) -> web.Application:
    guard = Guard(host, token or secrets.token_urlsafe(32), limits)
    app = web.Application(middlewares=[guard.middleware(), errors], client_max_size=1 << 20)
    app[ENGINE] = engine
    app[HUB] = Hub(engine)
    app[GUARD] = guard
    add_routes(app)
    app.router.add_get("/api/stream", stream)
    app.router.add_get("/api/health", health)
    app.router.add_get("/", index)
    app.router.add_static("/static/", static_dir(), append_version=False)

    async def close_hub(app: web.Application) -> None:
        app[HUB].close()

    app.on_cleanup.append(close_hub)
    return app


class _DebugOnly(logging.Logger):
    """aiohttp's server logger, tamed: a malformed request is the client's problem.

    aiohttp logs every unparsable request with a traceback at ERROR, which
    would land in the live terminal view; here it is one line at DEBUG.
    """

    def _log(
        self, level: int, msg: object, args: Any, exc_info: Any = None, extra: Any = None,
        stack_info: bool = False, stacklevel: int = 1,
    ) -> None:
        if isinstance(exc_info, tuple):
            exc_info = exc_info[1]
        err = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1] if exc_info else None
        text = str(msg) % args if args else str(msg)
        if err is not None:
            text += f": {type(err).__name__}: {' '.join(str(err).split())[:200]}"
        super()._log(logging.DEBUG, text, (), extra=extra, stacklevel=stacklevel)


def _quiet_logger() -> logging.Logger:
    quiet = _DebugOnly("lockstep.http")
    quiet.parent = logging.getLogger("lockstep")
    return quiet


async def start(
    engine: Engine, host: str, port: int, token: str | None = None, limits: Limits | None = None
) -> tuple[web.AppRunner, int]:
    """Start listening; returns the runner and the bound port (for `port=0`)."""
    app = build_app(engine, host, token, limits)
    guard = app[GUARD]
    # Keep-alive timeout doubles as the header deadline for a connection's later requests;
    # lingering (draining an unread body) is bounded like a body read.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, logger=_quiet_logger(),
                           keepalive_timeout=guard.limits.header_secs, lingering_time=guard.limits.body_secs)
    await runner.setup()
    site = GuardedSite(runner, host, port, guard.tracker)
    await site.start()
    guard.port = site.port
    return runner, site.port


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def write_api_file(directory: Path, info: dict[str, object]) -> Path:
    return write_private_json(directory / API_FILE, info)


def remove_api_file(directory: Path) -> None:
    path = directory / API_FILE
    with contextlib.suppress(OSError, ValueError):
        # Only our own: a second instance may have taken over the state dir.
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


async def serve(engine: Engine, host: str, port: int) -> None:
    try:
        runner, bound = await start(engine, host, port)
    except OSError as exc:
        # Only a taken port is about --port; an unknown --host is not (getaddrinfo's errors carry
        # no errno, only strerror).
        why = (exc.strerror or str(exc)) + f" (check --host {host})"
        if exc.errno == errno.EADDRINUSE:
            why = ("the port is already in use"
                   " (is another `lockstep up` running? choose a port with --port, or --port 0 for any)")
        raise FatalError(f"cannot serve the dashboard on {host}:{port}: {why}") from None
    sdir = state_dir(engine.tiltfile)
    url = url_for(host, bound)
    try:
        write_api_file(sdir, {
            "url": url, "host": host, "port": bound, "pid": os.getpid(),
            "token": runner.app[GUARD].token, "tiltfile": engine.tiltfile,
        })
        # Printed once, with the token: opening it logs the browser in (security.py).
        announce(f"lockstep: dashboard at {url}?token={runner.app[GUARD].token}")
        await asyncio.Event().wait()  # until cancelled
    finally:
        remove_api_file(sdir)
        await runner.cleanup()
        with contextlib.suppress(BrokenPipeError, ValueError):
            sys.stdout.flush()
