"""Helpers for the pet-store end-to-end tests: a private copy of the example, `lockstep up` as a real
subprocess with its stream read line by line, HTTP helpers, a consistency poller and process checks.

Everything here waits on observable state (a log line, an HTTP answer, a history record) with a
bounded deadline; nothing sleeps for a guessed duration.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from procscan import marked_pids
from upproc import wait_until

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LOCKSTEP = str(VENV_BIN / "lockstep")
ARTIFACTS = REPO / "test-output"
MARKER_VAR = "LOCKSTEP_PETSTORE_E2E"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def lockstep_env(port: int, state_root: Path, marker: str, **extra: str) -> dict[str, str]:
    """The venv's python3 first on PATH (the build steps need PyYAML and swagger-ui-bundle)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PETSTORE_PYTHON", "PETSTORE_UI_WRITE_DELAY")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        LOCKSTEP_STATE_DIR=str(state_root),
        PETSTORE_PORT=str(port),
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        **{MARKER_VAR: marker},
        **extra,
    )
    return env


# -- processes ------------------------------------------------------------------------------------


def petstore_pids(marker: str) -> set[int]:
    """Live processes started under this test's marker (see `lockstep_env`)."""
    return marked_pids(f"{MARKER_VAR}={marker}")


@dataclass
class Line:
    at: float  # wall clock, comparable with the history's timestamps
    text: str


_STARTING = re.compile(r"^\S+ (\S+)\s*!?\| Update #(\d+) starting")


@dataclass
class Lockstep:
    """A running `lockstep` subprocess whose stdout+stderr is collected line by line."""

    proc: subprocess.Popen[str]
    marker: str
    lines: list[Line] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, args: list[str], cwd: Path, env: dict[str, str]) -> Lockstep:
        proc = subprocess.Popen(
            [LOCKSTEP, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self = cls(proc, env[MARKER_VAR])
        self._reader = threading.Thread(target=self._read, name="lockstep-stdout", daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.lines.append(Line(time.time(), raw.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def output(self) -> str:
        with self._cond:
            return "\n".join(line.text for line in self.lines)

    def tail(self, n: int = 40) -> str:
        with self._cond:
            return "\n".join(line.text for line in self.lines[-n:])

    def activity(self, quiet: str) -> int:
        """How many output lines came from anything but resource `quiet` (say, a server logging the
        test's own polling): a measure of work in progress for upproc.wait_progressing."""
        with self._cond:
            return sum(1 for line in self.lines if line.text.split()[1:2] != [quiet])

    def mark(self) -> int:
        """A position in the output: wait_for_line(after=mark) sees only later lines."""
        with self._cond:
            return len(self.lines)

    def wait_for_line(self, pred: Callable[[str], bool], after: int, timeout: float, what: str) -> Line:
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = after
            while True:
                for line in self.lines[seen:]:
                    if pred(line.text):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and self._reader and not self._reader.is_alive()):
                    tail = "\n".join(x.text for x in self.lines[-40:])
                    raise AssertionError(f"no line for {what} within {timeout:.0f}s; output tail:\n{tail}")
                self._cond.wait(min(left, 0.5))

    def wait_for_start(self, resource: str, after: int, timeout: float) -> Line:
        def starting(text: str) -> bool:
            m = _STARTING.match(text)
            return m is not None and m.group(1) == resource

        return self.wait_for_line(starting, after, timeout, f"an update of {resource} to start")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; SIGKILL the whole tree only as a last resort (and fail the caller)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for pid in petstore_pids(self.marker):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            raise AssertionError(f"lockstep did not exit within {timeout}s of SIGTERM") from None
        if self._reader is not None:
            self._reader.join(timeout=10)
        return rc


def assert_all_gone(marker: str, port: int, timeout: float = 15.0) -> None:
    """Every process started for the test has exited and the server port is closed."""
    wait_until(lambda: not petstore_pids(marker), timeout, "every lockstep child process to exit")
    wait_until(lambda: not port_open(port), timeout, f"port {port} to close")


@contextlib.contextmanager
def lockstep_up(root: Path, tiltfile: str, port: int, state_root: Path, *, args: Sequence[str] = (),
                **extra_env: str) -> Iterator[Lockstep]:
    """`lockstep up --stream` on ``root/tiltfile`` (``args`` go to the Tiltfile); stopped with SIGTERM
    afterwards, and checked that nothing it started survives."""
    marker = uuid.uuid4().hex
    env = lockstep_env(port, state_root, marker, **extra_env)
    tail = ["--", *args] if args else []
    ls = Lockstep.start(["up", "-f", str(root / tiltfile), "--stream", "--port", "0", *tail], root, env)
    try:
        yield ls
    finally:
        try:
            ls.stop()
        finally:
            save_artifact(f"lockstep-{tiltfile}-{port}.log", ls.output())
        assert_all_gone(marker, port)


def save_artifact(name: str, text: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_text(text)
    return path


# -- HTTP -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        import json

        return json.loads(self.body)


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def get(port: int, path: str) -> Response:
    return request(port, "GET", path)


def try_get(port: int, path: str) -> Response | None:
    try:
        return get(port, path)
    except (OSError, http.client.HTTPException):
        return None


def wait_healthy(port: int, timeout: float = 60.0, ls: Lockstep | None = None) -> dict[str, object]:
    """Poll /health until it answers 200; fail at once if ``ls`` (the lockstep running it) exits."""

    def health() -> dict[str, object] | None:
        if ls is not None and ls.proc.poll() is not None:
            raise AssertionError(f"lockstep exited ({ls.proc.returncode}) before /health answered:\n{ls.tail()}")
        r = try_get(port, "/health")
        if r is None or r.status != 200:
            return None
        body = r.json()
        return body if isinstance(body, dict) else None

    return wait_until(health, timeout, f"/health on :{port}", interval=0.05)


_ASSET_REF = re.compile(r"""(?:src|href)\s*=\s*["']/(assets/[^"'?#]+)["']""")
_HASHED = re.compile(r"-([0-9a-f]{8})\.[a-z0-9]+$")


def asset_refs(html: str) -> list[str]:
    return _ASSET_REF.findall(html)


def asset_problem(name: str, resp: Response) -> str | None:
    """Why this answer for a content-hashed asset is wrong (None if it is right)."""
    if resp.status != 200:
        return f"/{name} -> {resp.status}"
    m = _HASHED.search(name)
    if m is None:
        return f"/{name} is not content-hashed"
    digest = hashlib.sha256(resp.body).hexdigest()[:8]
    if digest != m.group(1):
        return f"/{name} content hashes to {digest}"
    return None


# -- the consistency poller -----------------------------------------------------------------------


@dataclass
class Observation:
    at: float
    index: str  # the served index.html
    problems: list[str]


class Poller:
    """Fetches ``/`` and every asset it references every ``interval`` seconds, on one keep-alive
    connection per round, so an index and its assets always come from the same server process (a
    restart between them breaks the connection and the round is discarded, not misreported)."""

    def __init__(self, port: int, interval: float = 0.05) -> None:
        self.port = port
        self.interval = interval
        self.observations: list[Observation] = []
        self.interrupted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="petstore-poller", daemon=True)

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def bad(self) -> list[Observation]:
        return [o for o in self.observations if o.problems]

    def _round(self) -> Observation | None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/")
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                return Observation(time.time(), "", [f"/ -> {r.status}"])
            index = body.decode("utf-8", "replace")
            refs = asset_refs(index)
            problems = [] if refs else ["index.html references no assets"]
            for name in refs:
                conn.request("GET", "/" + name)
                a = conn.getresponse()
                resp = Response(a.status, {k.lower(): v for k, v in a.getheaders()}, a.read())
                problem = asset_problem(name, resp)
                if problem:
                    problems.append(problem)
            return Observation(time.time(), index, problems)
        except (OSError, http.client.HTTPException):
            return None  # the server is restarting: no pairing was served
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            obs = self._round()
            if obs is None:
                self.interrupted += 1
            else:
                self.observations.append(obs)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))


# -- edits to the sources -------------------------------------------------------------------------


class Sources:
    """Writes marked versions of ui/src and openapi.yaml, file by file (as an editor saves them)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ui = root / "ui" / "src"
        self.spec = root / "openapi.yaml"
        self._orig = {
            p: p.read_text(encoding="utf-8")
            for p in (self.ui / "index.html", self.ui / "main.js", self.ui / "styles.css", self.spec)
        }
        assert "  title: Pet Store\n" in self._orig[self.spec]
        assert "<title>Pet Store</title>" in self._orig[self.ui / "index.html"]

    def ui_texts(self, tag: str) -> dict[Path, str]:
        return {
            self.ui / "index.html": self._orig[self.ui / "index.html"].replace(
                "<title>Pet Store</title>",
                f'<title>Pet Store</title>\n  <meta name="storm-marker" content="{tag}">',
            ),
            self.ui / "main.js": self._orig[self.ui / "main.js"] + f"\n// storm marker: {tag}\n",
            self.ui / "styles.css": self._orig[self.ui / "styles.css"] + f"\n/* storm marker: {tag} */\n",
        }

    def spec_text(self, tag: str) -> str:
        marked = f"  title: Pet Store\n  x-storm-marker: {tag}\n"
        return self._orig[self.spec].replace("  title: Pet Store\n", marked, 1)

    def write_ui(self, tag: str) -> None:
        for path, text in self.ui_texts(tag).items():
            path.write_text(text, encoding="utf-8")

    def write_spec(self, tag: str) -> None:
        self.spec.write_text(self.spec_text(tag), encoding="utf-8")

    def spec_sha(self, tag: str) -> str:
        return hashlib.sha256(self.spec_text(tag).encode("utf-8")).hexdigest()


_INDEX_TAG = re.compile(r'<meta name="storm-marker" content="([^"]+)">')


def index_tag(html: str) -> str | None:
    """The storm marker written into ui/src/index.html, as found in a built index.html."""
    m = _INDEX_TAG.search(html)
    return m.group(1) if m else None


def served_tags(port: int) -> tuple[str | None, str | None, str | None]:
    """(UI marker in index.html, UI marker in its JS bundle, specSha256 from /health) as served now."""
    index = try_get(port, "/")
    health = try_get(port, "/health")
    if index is None or index.status != 200 or health is None or health.status != 200:
        return None, None, None
    html = index.body.decode("utf-8", "replace")
    js_tag = None
    for name in asset_refs(html):
        if name.endswith(".js"):
            js = try_get(port, "/" + name)
            if js is not None and js.status == 200:
                jm = re.search(rb"// storm marker: (\S+)", js.body)
                js_tag = jm.group(1).decode() if jm else None
    body = health.json()
    sha = body.get("specSha256") if isinstance(body, dict) else None
    return index_tag(html), js_tag, (str(sha) if sha else None)
