"""Readiness probes (http / tcp / exec) with Kubernetes' (and so Tilt's) semantics.

`probe_once` is one bounded check. `ProbeLoop` turns checks into readiness
transitions: not ready at first; ready after `success_threshold` consecutive
successes; not ready again after `failure_threshold` consecutive failures.
Its sleep and its check are injected, so tests drive it without real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lockstep.model.resource import Probe, ProbeKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeOutcome:
    """One check's result, with what it saw (shown to the user when it fails)."""

    ok: bool
    detail: str
    # What an exec check printed (its last line). Not part of equality: a check that prints a
    # timestamp or a counter is still the same result, and is logged once, not every period.
    said: str = field(default="", compare=False)

    @property
    def text(self) -> str:
        return f"{self.detail}: {self.said}" if self.said else self.detail


async def probe_check(probe: Probe) -> ProbeOutcome:
    """One check, bounded by `probe.timeout_secs`. Never raises (but for cancellation)."""
    timeout = max(probe.timeout_secs, 0.001)
    try:
        return await asyncio.wait_for(_check(probe), timeout=timeout)
    except TimeoutError:
        return ProbeOutcome(False, f"timed out after {timeout:g}s")
    except ConnectionRefusedError:
        return ProbeOutcome(False, f"connection refused ({probe.host or 'localhost'}:{probe.port})")
    except OSError as exc:
        return ProbeOutcome(False, exc.strerror or str(exc) or type(exc).__name__)
    except (ValueError, asyncio.IncompleteReadError) as exc:
        return ProbeOutcome(False, f"bad response: {exc}")


async def probe_once(probe: Probe) -> bool:
    return (await probe_check(probe)).ok


async def _check(probe: Probe) -> ProbeOutcome:
    if probe.kind is ProbeKind.HTTP:
        return await _http_get(probe)
    if probe.kind is ProbeKind.TCP:
        _reader, writer = await asyncio.open_connection(probe.host or "localhost", probe.port)
        await _close(writer)
        return ProbeOutcome(True, f"connected to {probe.host or 'localhost'}:{probe.port}")
    return await _exec(probe.command)


def _insecure_tls() -> ssl.SSLContext:
    # Kubernetes' httpGet with scheme HTTPS skips certificate verification:
    # dev servers use self-signed certificates.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def _http_get(probe: Probe) -> ProbeOutcome:
    host = probe.host or "localhost"
    tls = _insecure_tls() if probe.scheme.lower() == "https" else None
    reader, writer = await asyncio.open_connection(host, probe.port, ssl=tls)
    try:
        path = probe.path or "/"
        if not path.startswith("/"):
            path = "/" + path
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{probe.port}\r\n"
            "User-Agent: lockstep-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n".encode("latin-1")
        )
        await writer.drain()
        status_line = await reader.readline()
    finally:
        await _close(writer)
    # "HTTP/1.1 200 OK": success is 200 <= code < 400, as the kubelet decides.
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        return ProbeOutcome(False, "not an HTTP response" if status_line else "connection closed without a response")
    status = status_line.decode("latin-1").strip().split(None, 1)[1][:80]
    return ProbeOutcome(200 <= int(parts[1]) < 400, f"HTTP {status}")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


async def _exec(command: tuple[str, ...]) -> ProbeOutcome:
    if not command:
        return ProbeOutcome(False, "empty command")
    # The output goes to an unlinked file, not a pipe: a pipe would keep `wait()` (and so
    # the probe) waiting for EOF while anything the command left in the background holds it.
    with tempfile.TemporaryFile() as out:
        try:
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        except OSError as exc:
            return ProbeOutcome(False, f"cannot run {command[0]}: {exc.strerror or exc}")
        code = await _wait_leaving_nothing(proc)
        # What the check said (Tilt shows it too): its last line, bounded.
        out.seek(max(0, os.fstat(out.fileno()).st_size - _OUTPUT_TAIL))
        said = next((line.strip() for line in reversed(out.read().decode(errors="replace").splitlines())
                     if line.strip()), "")
    return ProbeOutcome(code == 0, f"exit code {code}", said[:200])


_OUTPUT_TAIL = 4096


async def _wait_leaving_nothing(proc: asyncio.subprocess.Process) -> int:
    try:
        return await proc.wait()
    finally:
        # Timed out (cancelled) or not: leave nothing of the probe behind.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await asyncio.shield(proc.wait())


class ProbeLoop:
    """Runs one probe until cancelled and reports readiness transitions."""

    def __init__(
        self,
        probe: Probe,
        on_change: Callable[[bool], None],
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        check: Callable[[Probe], Awaitable[bool | ProbeOutcome]] = probe_check,
        on_result: Callable[[ProbeOutcome], None] | None = None,
    ) -> None:
        self.probe = probe
        self._on_change = on_change
        self._on_result = on_result
        self._sleep = sleep
        self._check = check
        self.ready = False
        self._successes = 0
        self._failures = 0

    async def run(self) -> None:
        p = self.probe
        if p.initial_delay_secs > 0:
            await self._sleep(p.initial_delay_secs)
        while True:
            try:
                got = await self._check(p)
                outcome = got if isinstance(got, ProbeOutcome) else ProbeOutcome(got, "ok" if got else "failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("probe check raised; counted as a failure")
                outcome = ProbeOutcome(False, f"internal error: {exc!r}")
            self.observe(outcome.ok)
            if self._on_result is not None:
                self._on_result(outcome)
            await self._sleep(p.period_secs)

    def observe(self, ok: bool) -> None:
        """Feed one check result (public so callers can probe on their own schedule)."""
        if ok:
            self._successes += 1
            self._failures = 0
            if not self.ready and self._successes >= max(1, self.probe.success_threshold):
                self.ready = True
                self._on_change(True)
        else:
            self._failures += 1
            self._successes = 0
            if self.ready and self._failures >= max(1, self.probe.failure_threshold):
                self.ready = False
                self._on_change(False)
