"""HTTP plumbing: request parsing with header limits, routing to the API, docs and the static UI."""

from __future__ import annotations

import http.client
import json
import socket
import sys
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from petstore_api import build_router, spec, unimplemented
from router import MethodNotAllowed, NotFound

from .docs import SwaggerDocs
from .handlers import Handlers
from .static import StaticSite
from .store import ConflictError, NotFoundError, Store

MAX_HEADER_BYTES = 16 * 1024  # the whole header section; more gets 431
MAX_BODY_BYTES = 64 * 1024
JSON = "application/json"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, payload: Any, **headers: str) -> Response:
    body = json.dumps(payload, indent=None, separators=(",", ":")).encode("utf-8")
    return Response(status, body, {"Content-Type": JSON, "Cache-Control": "no-store", **headers})


def error_response(status: int, message: str, details: list[str] | None = None, **headers: str) -> Response:
    payload: dict[str, Any] = {"error": HTTPStatus(status).phrase, "message": message}
    if details:
        payload["details"] = details
    return json_response(status, payload, **headers)


class App:
    """Turns (method, target, headers, body) into a Response. No sockets: easy to test."""

    def __init__(self, site: StaticSite, store: Store | None = None) -> None:
        self.site = site
        self.handlers = Handlers(store or Store())
        missing = unimplemented(self.handlers)
        if missing:
            raise RuntimeError(f"operations without a handler: {', '.join(missing)}")
        self.router = build_router(self.handlers)
        self.docs = SwaggerDocs(spec.TITLE)
        self.spec_yaml = spec.SPEC_YAML.encode("utf-8")
        self.spec_json = spec.SPEC_JSON.encode("utf-8")

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Response:
        url = urlsplit(target)
        path = url.path or "/"
        try:
            match = self.router.match(method, path)
        except MethodNotAllowed as err:
            return error_response(405, str(err), Allow=", ".join(err.allowed))
        except NotFound:
            match = None
        if match is not None:
            operation, handler = match.handler
            return self._call(operation, handler, match.params, url.query, headers, body)
        if method not in ("GET", "HEAD"):
            return error_response(405, f"{method} not allowed on {path}", Allow="GET, HEAD")
        if path == "/openapi.yaml":
            return Response(
                200, self.spec_yaml, {"Content-Type": "application/yaml", "Cache-Control": "no-cache"}
            )
        if path == "/openapi.json":
            return Response(200, self.spec_json, {"Content-Type": JSON, "Cache-Control": "no-cache"})
        asset = self.docs.lookup(path) if path.startswith("/docs") else self.site.lookup(path)
        if asset is None:
            return error_response(404, f"nothing at {path}")
        out = {"Content-Type": asset.content_type, "Cache-Control": asset.cache_control}
        if asset.etag:
            out["ETag"] = asset.etag
            if headers.get("If-None-Match") == asset.etag:
                return Response(304, b"", out)
        return Response(200, asset.body, out)

    def _call(
        self, operation: Any, handler: Any, path_params: dict[str, str], query: str, headers: Any, raw: bytes
    ) -> Response:
        params, errors = operation.parse_params(path_params, parse_qs(query, keep_blank_values=True))
        body: Any = None
        if operation.validate_body is not None:
            ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if not raw:
                if operation.body_required:
                    errors.append("body: a JSON request body is required")
            elif ctype != JSON:
                errors.append(f"body: Content-Type must be {JSON}, got {ctype or 'none'}")
            else:
                try:
                    body = json.loads(raw)
                except (UnicodeDecodeError, json.JSONDecodeError) as err:
                    errors.append(f"body: invalid JSON: {err}")
                else:
                    errors.extend(operation.validate_body(body))
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            return error_response(400, errors[0] + more, errors)
        try:
            result = handler(params, body)
        except NotFoundError as err:
            return error_response(404, str(err))
        except ConflictError as err:
            return error_response(400, str(err), [str(err)])
        except NotImplementedError as err:
            return error_response(501, f"not implemented: {err}")
        return json_response(operation.status, result)


class _HeaderBudget:
    """Wraps the request stream while headers are read, so their total size is bounded.

    The standard library already answers 431 to more than 100 header lines and to one line
    over 64 KiB; this adds a cap on the whole header section (many medium-sized headers),
    raised as the same LineTooLong the stdlib turns into a clean 431.
    """

    def __init__(self, stream: BinaryIO, budget: int) -> None:
        self._stream = stream
        self._left = budget

    def readline(self, limit: int = -1) -> bytes:
        line = self._stream.readline(limit)
        self._left -= len(line)
        if self._left < 0:
            raise http.client.LineTooLong(f"header section over {MAX_HEADER_BYTES} bytes")
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class RequestHandler(BaseHTTPRequestHandler):
    server_version = "petstore/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # a client that stops sending mid-request loses its connection, not a thread forever
    _drain = False
    server: PetstoreServer

    def parse_request(self) -> bool:
        stream = self.rfile
        self.rfile = _HeaderBudget(stream, MAX_HEADER_BYTES)  # type: ignore[assignment]
        try:
            return super().parse_request()
        finally:
            self.rfile = stream

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Errors raised while parsing (400, 414, 431, ...) get the same JSON shape as API errors,
        # and close the connection: the rest of the request may still be in flight.
        if code in (414, 431):
            self._drain = True
        text = message or HTTPStatus(code).phrase
        if explain:
            text = f"{text}: {explain}"
        self._send(error_response(code, text), close=True)

    def _send(self, response: Response, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    def _dispatch(self) -> None:
        length_header = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self._send(
                error_response(411, "chunked request bodies are not supported; send Content-Length"), True
            )
            return
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            self._send(error_response(400, f"bad Content-Length {length_header!r}"), True)
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self._send(error_response(413, f"request body over {MAX_BODY_BYTES} bytes"), True)
            self._drain = True
            return
        body = self.rfile.read(length) if length else b""
        response = self.server.app.handle(self.command, self.path, self.headers, body)
        self._send(response)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if self._drain:
                self._drain_input()

    def _drain_input(self) -> None:
        """Read what the client is still sending before closing, so it gets our answer, not a reset."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            total = 0
            while total < 4 * 1024 * 1024:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                total += len(chunk)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # An access log is information, not an error: stdout. The readiness probe's
        # /health requests (every second) would drown everything else: not logged.
        if self.server.quiet or getattr(self, "path", "") == "/health":
            return
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()

    def log_error(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class PetstoreServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, quiet: bool = False) -> None:
        self.app = app
        self.quiet = quiet
        super().__init__(address, RequestHandler)
