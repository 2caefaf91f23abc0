"""The HTTP server: API + live stream + dashboard, advertised in the state dir.

`serve` runs until cancelled (it is a task in the engine's TaskGroup). The
address and a fresh per-run token go to `<state dir>/api.json` (mode 0600) so
that CLI clients of the same user find them without flags; the page gets the
token embedded, and nobody else can read either.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import json
import os
import secrets
import sys
from importlib import resources
from pathlib import Path

from aiohttp import web

from lockstep.engine.engine import Engine
from lockstep.errors import FatalError
from lockstep.privatefile import write_private_json
from lockstep.statedir import state_dir
from lockstep.ui.api import ENGINE, HUB, add_routes, errors
from lockstep.ui.apifile import API_FILE
from lockstep.ui.hub import Hub
from lockstep.ui.security import Guard
from lockstep.ui.stream import stream

GUARD: web.AppKey[Guard] = web.AppKey("guard", Guard)


def static_dir() -> Path:
    # A real directory both in a checkout and in an installed wheel (package data).
    return Path(str(resources.files("lockstep.ui") / "static"))


async def index(request: web.Request) -> web.Response:
    page = (static_dir() / "index.html").read_text(encoding="utf-8")
    token = html.escape(request.app[GUARD].token, quote=True)
    page = page.replace("{{TOKEN}}", token)
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def build_app(engine: Engine, host: str = "127.0.0.1", token: str | None = None) -> web.Application:
    guard = Guard(host, token or secrets.token_urlsafe(32))
    app = web.Application(middlewares=[guard.middleware(), errors], client_max_size=1 << 20)
    app[ENGINE] = engine
    app[HUB] = Hub(engine)
    app[GUARD] = guard
    add_routes(app)
    app.router.add_get("/api/stream", stream)
    app.router.add_get("/", index)
    app.router.add_static("/static/", static_dir(), append_version=False)

    async def close_hub(app: web.Application) -> None:
        app[HUB].close()

    app.on_cleanup.append(close_hub)
    return app


async def start(engine: Engine, host: str, port: int, token: str | None = None) -> tuple[web.AppRunner, int]:
    """Start listening; returns the runner and the bound port (for `port=0`)."""
    app = build_app(engine, host, token)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    app[GUARD].port = bound
    return runner, bound


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
        why = "the port is already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise FatalError(
            f"cannot serve the dashboard on {host}:{port}: {why}"
            " (is another `lockstep up` running? choose a port with --port, or --port 0 for any)"
        ) from None
    sdir = state_dir(engine.tiltfile)
    url = url_for(host, bound)
    try:
        write_api_file(sdir, {
            "url": url, "host": host, "port": bound, "pid": os.getpid(),
            "token": runner.app[GUARD].token, "tiltfile": engine.tiltfile,
        })
        print(f"lockstep: dashboard at {url}", flush=True)
        await asyncio.Event().wait()  # until cancelled
    finally:
        remove_api_file(sdir)
        await runner.cleanup()
        sys.stdout.flush()
