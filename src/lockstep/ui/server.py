"""The HTTP server: API + live stream + dashboard.

`listen.serve` binds and advertises the address and the per-run token, and starts
this server (`start_on`) at the first connection; the page gets a session cookie
for the token (see security.py), and nobody else can read either.
"""

from __future__ import annotations

import logging
import secrets
import socket
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from lockstep.engine.engine import Engine
from lockstep.ui.api import ENGINE, HUB, add_routes, errors
from lockstep.ui.hub import Hub
from lockstep.ui.limits import GuardedSite, Limits
from lockstep.ui.listen import serve as serve
from lockstep.ui.listen import url_for as url_for
from lockstep.ui.security import Guard
from lockstep.ui.stream import stream

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
    engine: Engine, host: str, port: int, token: str | None = None, limits: Limits | None = None,
    socks: Sequence[socket.socket] = (),
) -> tuple[web.AppRunner, int]:
    """Start listening (on `socks` when given, already bound); returns the runner and the bound
    port (for `port=0`)."""
    app = build_app(engine, host, token, limits)
    guard = app[GUARD]
    # Keep-alive timeout doubles as the header deadline for a connection's later requests;
    # lingering (draining an unread body) is bounded like a body read.
    runner = web.AppRunner(app, access_log=None, handle_signals=False, logger=_quiet_logger(),
                           keepalive_timeout=guard.limits.header_secs, lingering_time=guard.limits.body_secs)
    await runner.setup()
    site = GuardedSite(runner, host, port, guard.tracker, socks)
    await site.start()
    guard.port = site.port
    return runner, site.port


async def start_on(engine: Engine, host: str, socks: Sequence[socket.socket], token: str) -> web.AppRunner:
    """The server on the sockets `listen.serve` bound and advertised (with their token)."""
    runner, _ = await start(engine, host, int(socks[0].getsockname()[1]), token, socks=socks)
    return runner
