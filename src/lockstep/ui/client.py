"""The CLI's side of the API: find the running instance, call it, follow its stream.

One-shot calls use urllib (no event loop, fast start); following the live
stream (`logs -f`, `wait`) uses aiohttp's WebSocket client.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from lockstep.statedir import state_dir
from lockstep.ui.apifile import API_FILE
from lockstep.ui.security import TOKEN_HEADER


class ApiError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApiInfo:
    url: str  # ends with "/"
    token: str


def discover(tiltfile: str) -> ApiInfo:
    """The running `lockstep up` for this Tiltfile, from its state dir's api.json."""
    path = state_dir(tiltfile, create=False) / API_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        raise ApiError(
            f"no running `lockstep up` found for {tiltfile} (start one with `lockstep up -f {tiltfile}`)"
        ) from None
    url = data.get("url") if isinstance(data, dict) else None
    token = data.get("token") if isinstance(data, dict) else None
    # Hand-edited or written by something else: say so, rather than fail inside urllib.
    if not (isinstance(url, str) and url.startswith("http://") and isinstance(token, str) and token):
        raise ApiError(f"{path} is not a file `lockstep up` wrote (no http:// url and token in it); "
                       f"restart `lockstep up -f {tiltfile}` to rewrite it")
    return ApiInfo(url if url.endswith("/") else url + "/", token)


def call(info: ApiInfo, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
    url = info.url.rstrip("/") + path
    if params:
        url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header(TOKEN_HEADER, info.token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = str(exc.reason)
        raise ApiError(str(message), exc.code) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise ApiError(f"cannot reach lockstep at {info.url}: {exc} (is `lockstep up` still running?)") from None


async def stream(info: ApiInfo, **params: str | list[str]) -> AsyncIterator[dict[str, Any]]:
    """Messages of the live stream (see ui/stream.py for the protocol)."""
    query = urllib.parse.urlencode({"token": info.token, **params}, doseq=True)
    url = info.url.replace("http://", "ws://", 1).rstrip("/") + "/api/stream?" + query
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(url, heartbeat=15) as ws:
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    yield json.loads(msg.data)
                elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
    except aiohttp.ClientError as exc:
        raise ApiError(f"cannot reach lockstep at {info.url}: {exc}") from None
