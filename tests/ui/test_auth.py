"""Every route needs the token or the session cookie it is exchanged for (Jupyter's model)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from apirig import Rig, rig
from upproc import Up

from lockstep.ui.security import COOKIE_PREFIX

READS = ("/", "/api/view", "/api/logs", "/api/history", "/api/graph", "/api/resources/a", "/static/app.js")


def run(tmp_path: Path, body: Callable[[Rig], Awaitable[None]]) -> None:
    async def main() -> None:
        async with rig(tmp_path) as r:
            await body(r)

    asyncio.run(main())


def test_every_read_needs_a_credential(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        r.logout()
        for path in READS:
            res = await r.client.get(path)
            assert res.status == 403, path
            assert "test-token" not in await res.text(), path
        page = await (await r.client.get("/")).text()
        assert "Open the URL <code>lockstep up</code> printed" in page
        assert (await r.client.get("/api/stream")).status == 403
        for wrong in ("wrong", "test-toke", "test-tokenX", "\u00e9"):
            assert (await r.client.get("/api/view", params={"token": wrong})).status == 403
            assert (await r.client.get("/", params={"token": wrong}, allow_redirects=False)).status == 403
        # A forged cookie is no better than none; neither is the token used as the cookie.
        for forged in ("x", r.token):
            r.client.session.cookie_jar.update_cookies({f"{COOKIE_PREFIX}{r.client.port}": forged})
            assert (await r.client.get("/api/view")).status == 403
        # The token in a header (the CLI) works for every route.
        r.logout()
        for path in READS:
            assert (await r.client.get(path, headers=r.auth())).status == 200, path

    run(tmp_path, body)


def test_printed_url_trades_token_for_httponly_strict_cookie(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        r.logout()
        res = await r.client.get("/", params={"token": r.token, "tab": "graph"}, allow_redirects=False)
        assert res.status == 303
        assert res.headers["Location"] == "/?tab=graph"  # the token leaves the address bar
        cookie = res.headers["Set-Cookie"]
        assert cookie.startswith(f"{COOKIE_PREFIX}{r.client.port}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert r.token not in cookie
        # With the cookie alone: the page, reads, the stream and mutations.
        for path in READS:
            assert (await r.client.get(path)).status == 200, path
        assert (await r.client.post("/api/trigger", json={"resources": ["a"]})).status == 200
        ws = await r.client.ws_connect("/api/stream", params={"tail": "0"})
        assert (await ws.receive_json(timeout=5))["type"] == "snapshot"
        await ws.close()

    run(tmp_path, body)


def _nobody() -> list[str]:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a probe as the `nobody` user")
    if shutil.which("setpriv"):
        return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--"]
    pytest.skip("needs setpriv or runuser")


PROBE = r"""
import json, socket, sys, urllib.request, urllib.error
base, api_json = sys.argv[1], sys.argv[2]
out = {}
def get(path, method="GET", data=None, headers={}):
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
for p in ("/", "/api/view", "/api/logs?tail=100", "/api/history", "/api/graph", "/static/app.js",
          "/api/stream", "/?token=guess"):
    out[p] = get(p)
out["POST /api/trigger"] = get("/api/trigger", "POST", b'{"resources":["svc"]}', {"Content-Type": "application/json"})
out["WS upgrade"] = get("/api/stream", headers={"Upgrade": "websocket", "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"})
try:
    open(api_json).read()
    out["api.json"] = "read"
except OSError as e:
    out["api.json"] = type(e).__name__
print(json.dumps(out))
"""


@pytest.mark.timeout(120)
def test_another_local_user_gets_nothing_but_403(tmp_path: Path) -> None:
    prefix = _nobody()
    with Up.write(tmp_path, "local_resource('svc', serve_cmd='echo secret-in-logs; exec sleep 600')\n") as up:
        printed = up.url
        assert "?token=" in printed
        base = printed.split("?", 1)[0].rstrip("/")
        res = subprocess.run([*prefix, "/usr/bin/python3", "-c", PROBE,
                              base, str(up.sdir / "api.json")],
                             capture_output=True, text=True, timeout=60, cwd="/")
        assert res.returncode == 0, res.stderr
        seen = json.loads(res.stdout)
        assert seen.pop("api.json") == "PermissionError"
        assert set(seen.values()) == {403}, seen


def test_storage_problem_shows_in_health_and_view(tmp_path: Path) -> None:
    import errno

    async def body(r: Rig) -> None:
        assert (await (await r.client.get("/api/health")).json()) == {"storage_error": None}
        r.engine.logs.health.failed("logs", OSError(errno.ENOSPC, "No space left on device"))
        assert (await (await r.client.get("/api/health")).json())["storage_error"] == (
            "logs are not being saved: disk full")
        assert (await (await r.client.get("/api/view")).json())["storage_error"].endswith("disk full")
        r.engine.logs.health.ok("logs")
        assert (await (await r.client.get("/api/health")).json()) == {"storage_error": None}
        page = await (await r.client.get("/")).text()
        assert 'id="storage-banner"' in page and "/static/storage.js" in page
        assert (await r.client.get("/static/storage.js")).status == 200

    run(tmp_path, body)
