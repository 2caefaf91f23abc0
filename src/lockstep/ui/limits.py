"""Connection limits for the dashboard server: slow clients cannot starve the token holder.

aiohttp has no deadline for reading a request's headers, and no bound on
connections: a slowloris (many connections, each trickling a header byte now
and then) holds descriptors until the process runs out. So:

- every connection must deliver a complete first request with a valid
  credential within `header_secs` (later requests on a kept-alive connection
  are bounded by aiohttp's keep-alive timeout, set to the same value);
- a request's body must arrive within `body_secs` (security.Guard reads it);
- at most `max_connections` are open; a new connection evicts the oldest one
  that has not yet made an authenticated request (only if every connection
  belongs to a credential holder, e.g. live streams, is the new one refused).
  So a fresh connection always gets in, and slow or unauthenticated ones are
  the ones that pay: an attacker without the token only evicts its own.
"""

from __future__ import annotations

import asyncio
import resource
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiohttp import web


def _default_max_connections() -> int:
    # Well under the descriptor limit: processes, log files and watches need theirs.
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return max(32, min(512, soft // 4))


@dataclass(frozen=True)
class Limits:
    header_secs: float = 10.0
    body_secs: float = 10.0
    max_connections: int = 0  # 0: from the descriptor limit

    @property
    def connections(self) -> int:
        return self.max_connections or _default_max_connections()


class _Conn(asyncio.Protocol):
    """Forwards to aiohttp's protocol; lets the tracker close it."""

    def __init__(self, inner: asyncio.Protocol, tracker: ConnectionTracker) -> None:
        self.inner = inner
        self.tracker = tracker
        self.transport: asyncio.Transport | None = None
        self.trusted = False  # made a request with a valid credential
        self.started = False  # aiohttp's protocol has seen the connection
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._deadline = asyncio.get_running_loop().call_later(self.tracker.limits.header_secs, self._too_slow)
        if not self.tracker.admit(self):
            transport.abort()
            return
        self.started = True
        self.inner.connection_made(transport)

    def _too_slow(self) -> None:
        if not self.trusted and self.transport is not None:
            self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self.tracker.release(self)
        if self.started:
            self.inner.connection_lost(exc)


class ConnectionTracker:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._open: dict[asyncio.Transport, _Conn] = {}  # insertion order: oldest first
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._open)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Conn(factory(), self)

    def admit(self, conn: _Conn) -> bool:
        if len(self._open) >= self.limits.connections:
            victim = next((c for c in self._open.values() if not c.trusted), None)
            if victim is None:
                return False
            self.evicted += 1
            self._drop(victim)
        assert conn.transport is not None
        self._open[conn.transport] = conn
        return True

    def _drop(self, conn: _Conn) -> None:
        assert conn.transport is not None
        self._open.pop(conn.transport, None)
        conn.transport.abort()  # its connection_lost comes later, from the loop

    def release(self, conn: _Conn) -> None:
        if conn.transport is not None:
            self._open.pop(conn.transport, None)

    def trust(self, transport: asyncio.BaseTransport | None) -> None:
        """A request with a valid credential arrived on this connection (called by the request guard)."""
        conn = self._open.get(transport) if isinstance(transport, asyncio.Transport) else None
        if conn is not None:
            conn.trusted = True


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ConnectionTracker: on `host:port`, or on
    sockets already bound and listening (`socks`, see listen.py)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, tracker: ConnectionTracker,
                 socks: Sequence[socket.socket] = ()) -> None:
        super().__init__(runner)
        self._host, self._port, self._tracker = host, port, tracker
        self._socks = tuple(socks)
        self._more: list[asyncio.AbstractServer] = []
        self.port = port

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        factory = self._tracker.wrap(server)
        if self._socks:
            # One asyncio server per socket: only with host and port does one bind several.
            servers = [await loop.create_server(factory, sock=s, backlog=self._backlog) for s in self._socks]
            self._server, self._more = servers[0], list(servers[1:])
        else:
            self._server = await loop.create_server(
                factory, self._host, self._port, reuse_address=True, backlog=self._backlog,
                family=socket.AF_INET6 if ":" in self._host else socket.AF_UNSPEC,
            )
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for more in self._more:
            more.close()
        await super().stop()
