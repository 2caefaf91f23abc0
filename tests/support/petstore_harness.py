"""Helpers for the pet-store example tests: a private copy of the example, its pipeline run step
by step (as the Tiltfile's resources would run them), and the packaged server as a subprocess."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from upproc import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "petstore"
OUTPUTS = ("static_site", "build_artifacts", "generated", "build")
# The pipeline's resources, in the Tiltfile's order (names as in the original).
RESOURCES = [
    "build-sample-ui",
    "build-lib",
    "gen-petstore",
    "build-petstore",
    "wait-for-builds",
    "docker-build-image",
    "kind-load-image",
    "petstore",
]

# The commands of the Tiltfile's resources (target=local), with this interpreter as python3.
STEPS = {
    "build-lib": ["lib/build.py"],
    "gen-petstore": ["gen/generate.py"],
    "build-petstore": ["server/package.py"],
    "build-sample-ui": ["ui/build.py"],
    "docker-build-image": ["image/stage.py", "stage"],
    "kind-load-image": ["image/stage.py", "load"],
}


def copy_example(dest: Path) -> Path:
    shutil.copytree(
        EXAMPLE,
        dest,
        ignore=shutil.ignore_patterns(*OUTPUTS, "__pycache__", "*.pyc"),
    )
    return dest


def run_step(root: Path, name: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *STEPS[name]],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def run_pipeline(root: Path) -> None:
    for name in STEPS:
        done = run_step(root, name)
        assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"


@dataclass
class Server:
    proc: subprocess.Popen[str]
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


def start_server(root: Path, *extra: str) -> Server:
    image = root / "build" / "image"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(image / "petstore.pyz"),
            "--static-dir",
            str(image / "static_site"),
            "--port",
            "0",
            "--quiet",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the server prints its address once it is bound
    if "listening on http://" not in line:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"server did not start: {line!r} {err}")
    address = line.split("listening on http://", 1)[1].split()[0]
    host, port = address.rsplit(":", 1)
    server = Server(proc, host, int(port))

    def healthy() -> bool:
        try:
            return server.request("GET", "/health")[0] == 200
        except OSError:
            return False

    wait_until(healthy, what="/health")
    return server


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)


def load_module(name: str, path: Path):  # type: ignore[no-untyped-def]
    """Import a file of the example under a private name (no sys.path changes, no collisions)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=None)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_python(code: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with ``paths`` on sys.path (for the generated package)."""
    return subprocess.run(
        [sys.executable, "-B", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)},
    )
