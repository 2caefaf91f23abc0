"""Request guards: Host (DNS rebinding), Origin (CSRF, cross-site WebSockets), token.

Why all three: a page on another site can make the browser send a POST (CSRF)
or open a WebSocket (not covered by CORS) to 127.0.0.1; a rebound DNS name can
make the browser treat our server as same-origin with an attacker's page. The
Host check defeats the second (the rebound name is not ours), the Origin check
the first, and the per-run token is required for anything that mutates or
streams, so even a local process must have read the user-only api.json.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

TOKEN_HEADER = "X-Lockstep-Token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def _split_host(value: str) -> tuple[str, int | None] | None:
    try:
        parts = urlsplit("//" + value)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    def __init__(self, bind_host: str, token: str) -> None:
        self.token = token
        self.port = 0
        self._loopback_only = bind_host in _LOOPBACK_NAMES
        # Names a browser may legitimately use for us when we listen wider.
        self._names = set(_LOOPBACK_NAMES) | {bind_host.lower()}
        if not self._loopback_only:
            self._names |= {socket.gethostname().lower(), socket.getfqdn().lower()}

    def host_ok(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        split = _split_host(host_header)
        if split is None:
            return False
        name, port = split
        if port is not None and self.port and port != self.port:
            return False
        if name in self._names:
            return True
        # Listening wider than loopback: an IP literal cannot be DNS-rebound.
        return not self._loopback_only and _is_ip(name)

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """No Origin (a CLI client) is fine; a browser's must be our own address."""
        if origin is None:
            return True
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.netloc.lower() == (host_header or "").lower()

    def token_ok(self, request: web.Request) -> bool:
        given = request.headers.get(TOKEN_HEADER) or request.query.get("token", "")
        auth = request.headers.get("Authorization", "")
        if not given and auth.startswith("Bearer "):
            given = auth[len("Bearer ") :]
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())

    def middleware(self) -> Middleware:
        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            host = request.headers.get("Host")
            if not self.host_ok(host):
                return _refuse(f"Host {host!r} is not this dashboard's address")
            if not self.origin_ok(request.headers.get("Origin"), host):
                return _refuse("cross-origin request refused")
            needs_token = request.method not in ("GET", "HEAD") or request.path == "/api/stream"
            if needs_token and not self.token_ok(request):
                return _refuse("missing or wrong token (see api.json in the state dir)")
            return await handler(request)

        return guard


def _refuse(message: str) -> web.Response:
    return web.json_response({"error": message}, status=403)
