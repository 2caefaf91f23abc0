"""Request guards: Host (DNS rebinding), Origin (CSRF, cross-site WebSockets), credential.

Why all three: a page on another site can make the browser send a POST (CSRF)
or open a WebSocket (not covered by CORS) to 127.0.0.1; a rebound DNS name can
make the browser treat our server as same-origin with an attacker's page. The
Host check defeats the second (the rebound name is not ours), the Origin check
the first.

Every route, the page and the reads included, needs a credential: logs hold
secrets, and any local user (or anyone, with a wider bind) can connect. The
credential is the per-run token (CLI clients read it from the user-only
api.json) or the session cookie the page gets for it: `up` prints the URL with
`?token=` once; opening it sets an HttpOnly, SameSite=Strict cookie and
redirects to the same URL without the token, so it leaves the address bar and
history and page scripts never see it.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from lockstep.ui.limits import ConnectionTracker, Limits

TOKEN_HEADER = "X-Lockstep-Token"
TOKEN_PARAM = "token"
COOKIE_PREFIX = "lockstep-session-"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lockstep</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>lockstep</h1>
<p>This dashboard needs its access token. Open the URL <code>lockstep up</code> printed
(<code>http://&hellip;/?token=&hellip;</code>); it is also in <code>api.json</code> in the state directory.</p>
</body></html>
"""


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


def _same(given: str, secret: str) -> bool:
    # Constant time: the comparison must not tell a prober how much was right.
    return bool(given) and hmac.compare_digest(given.encode("utf-8", "replace"), secret.encode())


class Guard:
    def __init__(self, bind_host: str, token: str, limits: Limits | None = None) -> None:
        self.token = token
        self.limits = limits or Limits()
        self.tracker = ConnectionTracker(self.limits)
        # What the cookie carries: a separate secret, so a cookie never reveals the token.
        self.session = secrets.token_urlsafe(32)
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

    def cookie_name(self, request: web.Request) -> str:
        # Cookies are not scoped by port: two instances on one host need different names.
        return f"{COOKIE_PREFIX}{self.port or request.url.port or 0}"

    def token_ok(self, request: web.Request) -> bool:
        given = request.headers.get(TOKEN_HEADER) or request.query.get(TOKEN_PARAM, "")
        auth = request.headers.get("Authorization", "")
        if not given and auth.startswith("Bearer "):
            given = auth[len("Bearer ") :]
        return _same(given, self.token)

    def cookie_ok(self, request: web.Request) -> bool:
        return _same(request.cookies.get(self.cookie_name(request), ""), self.session)

    def login(self, request: web.Request) -> web.Response:
        """The printed URL: trade the token for the cookie and drop it from the address bar."""
        rest = [(k, v) for k, v in request.query.items() if k != TOKEN_PARAM]
        location = request.path + ("?" + urlencode(rest) if rest else "")
        res = web.Response(status=303, headers={
            "Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        res.set_cookie(
            self.cookie_name(request), self.session, httponly=True, samesite="Strict", path="/"
        )
        return res

    def middleware(self) -> Middleware:
        @web.middleware
        async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
            host = request.headers.get("Host")
            if not self.host_ok(host):
                return _refuse(f"Host {host!r} is not this dashboard's address")
            if not self.origin_ok(request.headers.get("Origin"), host):
                return _refuse("cross-origin request refused")
            page = request.method in ("GET", "HEAD") and request.path == "/"
            if page and TOKEN_PARAM in request.query and self.token_ok(request):
                self.tracker.trust(request.transport)
                return self.login(request)
            if not (self.token_ok(request) or self.cookie_ok(request)):
                if page:
                    return web.Response(text=_LOGIN_PAGE, status=403, content_type="text/html",
                                        headers={"Cache-Control": "no-store"})
                return _refuse("missing or wrong token (open the URL `lockstep up` printed,"
                               " or send the token from api.json in the state dir)")
            # A credential holder's connection is never evicted nor cut by the header deadline.
            self.tracker.trust(request.transport)
            if request.body_exists:
                # Read (and cache) the body under a deadline: a trickled body must not hold a handler.
                try:
                    async with asyncio.timeout(self.limits.body_secs):
                        await request.read()
                except TimeoutError:
                    slow = web.json_response({"error": "request body too slow"}, status=408)
                    slow.force_close()  # do not linger reading the rest of it
                    return slow
            return await handler(request)

        return guard


def _refuse(message: str) -> web.Response:
    return web.json_response({"error": message}, status=403)
