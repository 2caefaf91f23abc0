"""A private image registry for the tests: Debian's `docker-registry` (distribution 2.x).

Started on 127.0.0.1 at a free port with its own config and storage directory (never the
system service, never its port 5000), stopped at the end. dockerd treats registries on
127.0.0.0/8 as insecure (plain HTTP) by default, so pushes need no TLS or daemon flag.
Outside CI, without the package, the tests that need it skip and say why (CI=true: fail).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dockerd import unavailable

START_TIMEOUT = 20.0
MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
])


@dataclass
class LocalRegistry:
    host: str  # 127.0.0.1:PORT
    root: Path

    def get(self, path: str, accept: str = "") -> tuple[int, bytes]:
        req = urllib.request.Request(f"http://{self.host}{path}", headers={"Accept": accept} if accept else {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def tags(self, name: str) -> list[str]:
        """`/v2/<name>/tags/list`: what the registry holds ([] for an unknown repository)."""
        code, body = self.get(f"/v2/{name}/tags/list")
        if code == 404:
            return []
        assert code == 200, (code, body[:300])
        return sorted(json.loads(body).get("tags") or [])

    def manifest(self, name: str, tag: str) -> dict[str, object]:
        code, body = self.get(f"/v2/{name}/manifests/{tag}", MANIFEST_TYPES)
        assert code == 200, (name, tag, code, body[:300])
        doc = json.loads(body)
        assert isinstance(doc, dict)
        return doc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def local_registry(root: Path, *, read_only: bool = False) -> Iterator[LocalRegistry]:
    exe = shutil.which("docker-registry") or ("/usr/bin/docker-registry"
                                              if Path("/usr/bin/docker-registry").exists() else None)
    if exe is None:
        unavailable("`docker-registry` is not installed (Debian: apt-get install docker-registry)")
    assert exe is not None
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    # JSON is YAML: the registry reads this as its config file.
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(root / "data")},
                    **({"maintenance": {"readonly": {"enabled": True}}} if read_only else {})},
        "http": {"addr": f"127.0.0.1:{port}"},
    }
    (root / "config.yml").write_text(json.dumps(config))
    log = open(root / "registry.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([exe, "serve", str(root / "config.yml")], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    reg = LocalRegistry(f"127.0.0.1:{port}", root)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(OSError):
                if reg.get("/v2/")[0] == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (root / "registry.log").read_text(errors="replace")[-1500:]
                raise AssertionError(f"docker-registry did not start on {reg.host}:\n{tail}")
            time.sleep(0.05)
        yield reg
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()
