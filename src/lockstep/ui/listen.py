"""The dashboard's address, taken at once; the HTTP server, imported at the first connection.

`serve` runs until cancelled (it is a task in the engine's TaskGroup). It binds the
listening sockets and advertises the address and a fresh per-run token in
`<state dir>/api.json` (mode 0600) right away, so that CLI clients of the same user find
them without flags and the printed URL works. The server itself (aiohttp, the view hub,
the API: about as much CPU as the rest of a start-up together) is imported and started
only when the first connection is waiting on a socket: `ci` in a pipeline, where nobody
looks, never pays for it, and `up` starts its first commands before paying for it. A
connection that arrives meanwhile waits in the kernel's backlog and is served as usual.

Standard library only, apart from what `up`/`ci` import anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import json
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

from lockstep.engine.engine import Engine
from lockstep.errors import FatalError
from lockstep.privatefile import write_private_json
from lockstep.statedir import state_dir
from lockstep.ui.apifile import API_FILE

# As aiohttp's sites: connections that may wait to be accepted (here also while the server loads).
BACKLOG = 128


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


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address `host` names, as asyncio's create_server binds them,
    except that `port=0` gives all of them the one port the first was given."""
    family = socket.AF_INET6 if ":" in host else socket.AF_UNSPEC
    infos = socket.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    socks: list[socket.socket] = []
    try:
        seen: set[tuple[int, Any]] = set()
        for fam, kind, proto, _, addr in infos:
            if (fam, addr) in seen:
                continue
            seen.add((fam, addr))
            sock = socket.socket(fam, kind, proto)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                # As asyncio: an IPv6 socket does not also take the IPv4 address another socket binds.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(socks) > 1:
                addr = (addr[0], socks[0].getsockname()[1], *addr[2:])
            try:
                sock.bind(addr)
            except OSError as exc:
                raise OSError(exc.errno, f"error while attempting to bind on address {addr!r}: "
                              f"{exc.strerror}") from None
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


async def _first_connection(socks: list[socket.socket]) -> None:
    """Until a connection waits on one of the sockets (readable: accept would not block)."""
    loop = asyncio.get_running_loop()
    waiting: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not waiting.done():
            waiting.set_result(None)

    for sock in socks:
        loop.add_reader(sock.fileno(), ready)
    try:
        await waiting
    finally:
        for sock in socks:
            loop.remove_reader(sock.fileno())


async def serve(engine: Engine, host: str, port: int) -> None:
    try:
        socks = bind(host, port)
    except OSError as exc:
        # Only a taken port is about --port; an unknown --host is not (getaddrinfo's errors carry
        # no errno, only strerror).
        why = (exc.strerror or str(exc)) + f" (check --host {host})"
        if exc.errno == errno.EADDRINUSE:
            why = ("the port is already in use"
                   " (is another `lockstep up` running? choose a port with --port, or --port 0 for any)")
        raise FatalError(f"cannot serve the dashboard on {host}:{port}: {why}") from None
    bound = int(socks[0].getsockname()[1])
    token = secrets.token_urlsafe(32)
    sdir = state_dir(engine.tiltfile)
    url = url_for(host, bound)
    runner: Any = None
    try:
        write_api_file(sdir, {
            "url": url, "host": host, "port": bound, "pid": os.getpid(), "token": token,
            "tiltfile": engine.tiltfile,
        })
        # Printed once, with the token: opening it logs the browser in (security.py).
        from lockstep.ui.terminal import announce

        announce(f"lockstep: dashboard at {url}?token={token}")
        await _first_connection(socks)
        # In a thread: the engine's loop keeps running commands and printing their output
        # while the server's modules load.
        server = await asyncio.to_thread(importlib.import_module, "lockstep.ui.server")
        runner = await server.start_on(engine, host, socks, token)
        await asyncio.Event().wait()  # until cancelled
    finally:
        remove_api_file(sdir)
        if runner is not None:
            await runner.cleanup()
        for sock in socks:
            sock.close()
        with contextlib.suppress(BrokenPipeError, ValueError):
            sys.stdout.flush()
