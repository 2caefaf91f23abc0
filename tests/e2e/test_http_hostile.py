"""Hostile HTTP clients against the real server: malformed requests, slowloris, trickled bodies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from apirig import Rig, rig

from lockstep.ui.limits import Limits
from lockstep.ui.server import GUARD, start

TOKEN = {"X-Lockstep-Token": "test-token"}


@asynccontextmanager
async def served(r: Rig, limits: Limits | None = None) -> AsyncIterator[int]:
    runner, port = await start(r.engine, "127.0.0.1", 0, token="test-token", limits=limits)
    try:
        yield port
    finally:
        await runner.cleanup()


def run(tmp_path: Path, body: Callable[[Rig], Awaitable[None]]) -> None:
    async def main() -> None:
        async with rig(tmp_path) as r:
            await body(r)

    asyncio.run(main())


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    try:
        async with asyncio.timeout(timeout):
            return (await reader.read(65536)).split(b"\r\n", 1)[0]
    finally:
        writer.close()


BAD = {
    "not http": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n",
    "bad header": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n",
    "huge header": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"a" * 100_000 + b"\r\n\r\n",
    "bad chunk": b"POST /api/trigger HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lockstep-Token: test-token\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    "json 100,000 deep": b"POST /api/trigger HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lockstep-Token: test-token\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n"
                         + b"[" * 100_000 + b"]" * 100_000,
    "bad websocket": b"GET /api/stream?token=test-token HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
}


def test_bad_requests_get_one_line_4xx_and_a_debug_line_not_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    async def body(r: Rig) -> None:
        async with served(r) as port:
            for name, data in BAD.items():
                status = await exchange(port, data)
                assert status.split()[1:2] == [b"400"], (name, status)
            async with aiohttp.ClientSession(headers=TOKEN) as s:
                deep = "[" * 100_000 + "]" * 100_000
                async with s.post(f"http://127.0.0.1:{port}/api/trigger", data=deep) as res:
                    assert res.status == 400
                    assert (await res.json()) == {"error": "body is not valid JSON: nested too deeply"}

    with caplog.at_level(logging.DEBUG, logger="lockstep"):
        run(tmp_path, body)
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Error handling request" not in out + err
    http = [rec for rec in caplog.records if rec.name == "lockstep.http"]
    assert http and all(rec.levelno == logging.DEBUG and "\n" not in rec.getMessage() for rec in http)


@pytest.mark.timeout(60)
def test_slowloris_cannot_starve_the_token_holder(tmp_path: Path) -> None:
    limits = Limits(header_secs=1.0, body_secs=1.0, max_connections=40)

    async def body(r: Rig) -> None:
        async with served(r, limits) as port:
            conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
            # A bounded attack: 300 connections, five times the limit, each starting a request it never ends.
            for _ in range(300):
                conns.append(await asyncio.open_connection("127.0.0.1", port))
                with contextlib.suppress(ConnectionError):
                    conns[-1][1].write(b"GET /api/view HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            async with aiohttp.ClientSession(headers=TOKEN) as s:
                for _ in range(5):
                    for _, w in conns:
                        with contextlib.suppress(ConnectionError):
                            w.write(b"a")  # trickle: never a complete header
                    t0 = time.monotonic()
                    async with s.get(f"http://127.0.0.1:{port}/api/view") as res:
                        assert res.status == 200
                    assert time.monotonic() - t0 < 1.0
                    await asyncio.sleep(0.3)  # the attack goes on meanwhile
            # Every slow connection is closed by the server: evicted, or past its header deadline.
            async with asyncio.timeout(5):
                for reader, _ in conns:
                    with contextlib.suppress(ConnectionError):
                        assert await reader.read() == b""
            for _, w in conns:
                w.close()

    run(tmp_path, body)


@pytest.mark.timeout(60)
def test_a_trickled_body_times_out_with_408(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        async with served(r, Limits(header_secs=5.0, body_secs=0.5)) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /api/trigger HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Lockstep-Token: test-token\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"res")
            t0 = time.monotonic()
            async with asyncio.timeout(5):
                status = (await reader.readline()).strip()
            assert status.split()[1] == b"408" and 0.4 < time.monotonic() - t0 < 3
            writer.close()

    run(tmp_path, body)


def test_connection_limit_tracks_and_guard_has_it(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        runner, _ = await start(r.engine, "127.0.0.1", 0, limits=Limits(max_connections=7))
        try:
            assert runner.app[GUARD].limits.connections == 7
            assert Limits().connections >= 32
        finally:
            await runner.cleanup()

    run(tmp_path, body)


ATTACK = r"""
import socket, sys, time
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        s.sendall(b"GET /api/view HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        socks.append(s)
    except OSError:
        pass
print("open", flush=True)
end = time.monotonic() + secs
while time.monotonic() < end:
    for s in socks:
        try:
            s.send(b"a")
        except OSError:
            pass
    time.sleep(0.2)
"""


@pytest.mark.timeout(90)
def test_slowloris_beyond_the_descriptor_limit_still_leaves_room_for_the_token_holder(tmp_path: Path) -> None:
    import resource
    import subprocess
    import sys

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = 256  # the attack below opens more than twice as many connections

    async def body(r: Rig) -> None:
        async with served(r, Limits(header_secs=30.0)) as port:
            attack = await asyncio.create_subprocess_exec(
                sys.executable, "-c", ATTACK, str(port), str(2 * limit + 100), "6", stdout=subprocess.PIPE)
            try:
                assert attack.stdout is not None
                async with asyncio.timeout(40):
                    assert (await attack.stdout.readline()).strip() == b"open"
                async with aiohttp.ClientSession(headers=TOKEN) as s:
                    for _ in range(5):
                        async with asyncio.timeout(3), s.get(f"http://127.0.0.1:{port}/api/view") as res:
                            assert res.status == 200
                        await asyncio.sleep(0.2)  # the attack goes on meanwhile
            finally:
                attack.kill()
                await attack.wait()

    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    try:
        run(tmp_path, body)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.timeout(60)
def test_unauthenticated_connections_are_evicted_before_a_credential_holder_is_refused(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        async with served(r, Limits(header_secs=30.0, max_connections=20)) as port:
            held = []
            for _ in range(40):  # complete requests, no token: 403, connection kept alive
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /api/view HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                held.append((reader, writer))
            for reader, _ in held[-5:]:
                with contextlib.suppress(ConnectionError):
                    assert (await reader.readline()).split()[1:2] in ([b"403"], [])
            async with aiohttp.ClientSession(headers=TOKEN) as s:
                for _ in range(3):
                    async with asyncio.timeout(3), s.get(f"http://127.0.0.1:{port}/api/view") as res:
                        assert res.status == 200
            for _, w in held:
                w.close()

    run(tmp_path, body)
