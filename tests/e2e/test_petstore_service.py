"""Issue 5 acceptance: `lockstep ci` on a clean copy of the pet-store example, and the service as
`lockstep up` runs it (real processes: lockstep, the build steps, the packaged server)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from petstore_harness import OUTPUTS, copy_example
from petstore_harness import RESOURCES as PIPELINE
from petstore_support import (
    LOCKSTEP,
    assert_all_gone,
    free_port,
    get,
    lockstep_env,
    lockstep_up,
    request,
    save_artifact,
    wait_healthy,
)

from lockstep.engine.checker import check_history
from lockstep.engine.persist import read_history
from lockstep.model.update import UpdateResult
from lockstep.statedir import state_dir

pytestmark = pytest.mark.e2e

IMMUTABLE = "public, max-age=31536000, immutable"
RESOURCES = set(PIPELINE)


def post_json(port: int, path: str, payload: object) -> tuple[int, object]:
    r = request(port, "POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    return r.status, r.json()


@pytest.mark.parametrize("tiltfile", ["Tiltfile", "Tiltfile.before"])
def test_ci_succeeds_from_a_clean_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiltfile: str) -> None:
    root = copy_example(tmp_path / "petstore")
    assert not any((root / out).exists() for out in OUTPUTS)
    state = tmp_path / "state"
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(state))
    port = free_port()
    marker = uuid.uuid4().hex
    done = subprocess.run(
        [LOCKSTEP, "ci", "-f", str(root / tiltfile), "--timeout", "120s"],
        cwd=root,
        env=lockstep_env(port, state, marker),
        capture_output=True,
        text=True,
        timeout=180,
    )
    save_artifact(f"ci-{tiltfile}.log", done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "lockstep ci: success" in done.stdout
    # ci exits once healthy and takes the server down with it.
    assert_all_gone(marker, port)

    # Every step ran and produced its output.
    assert (root / "static_site" / "index.html").is_file()
    assert (root / "build_artifacts" / "petstore.pyz").is_file()
    assert (root / "generated" / "petstore_api" / "routes.py").is_file()
    assert (root / "build" / "image" / "image.json").is_file()
    records = list(read_history(state_dir(root / tiltfile)))
    check = check_history(records, quiescent=True)
    assert check == [], check
    if tiltfile == "Tiltfile":
        assert {r.resource for r in records} == RESOURCES
        assert all(r.result is UpdateResult.SUCCEEDED for r in records), records
    else:
        # The broken original (no resource_deps, no barrier) may fail a racy
        # first build; lockstep re-runs it when the writer's output lands, and
        # `ci` ends green: every resource's last update succeeded.
        assert {r.resource for r in records} == RESOURCES - {"wait-for-builds"}
        last = {r.resource: r for r in sorted(records, key=lambda r: r.start)}
        assert all(r.result is UpdateResult.SUCCEEDED for r in last.values()), last


def test_service_answers_under_lockstep_up(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    port = free_port()
    with lockstep_up(root, "Tiltfile", port, tmp_path / "state") as ls:
        health = wait_healthy(port, timeout=90, ls=ls)
        assert health["status"] == "ok"
        assert isinstance(health["specSha256"], str)

        # / is the UI, revalidated on every load.
        r = get(port, "/")
        assert r.status == 200
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"
        html = r.body.decode()
        assert '<div id="root">' in html
        assets = re.findall(r'(?:src|href)="(/assets/index-[0-9a-f]{8}\.(?:js|css))"', html)
        assert {Path(a).suffix for a in assets} == {".js", ".css"}, html
        for asset in assets:
            a = get(port, asset)
            assert a.status == 200, asset
            want = "text/javascript" if asset.endswith(".js") else "text/css"
            assert a.headers["content-type"].startswith(want)
            assert a.headers["cache-control"] == IMMUTABLE
            # The name is the content's hash, which is what makes the long cache safe.
            assert hashlib.sha256(a.body).hexdigest()[:8] in asset

        # Unknown paths are 404, never the index.
        for path in ("/nope", "/assets/index-00000000.js"):
            n = get(port, path)
            assert n.status == 404, path
            assert b'<div id="root">' not in n.body

        # Swagger UI, offline.
        d = get(port, "/docs")
        assert d.status == 200 and d.headers["content-type"].startswith("text/html")
        page = d.body.decode()
        assert "swagger-ui" in page and "/openapi.yaml" in page
        assert not re.findall(r'(?:src|href)="(?:https?:)?//', page), "Swagger UI must not load from a CDN"
        b = get(port, "/docs/swagger-ui-bundle.js")
        assert b.status == 200 and b"SwaggerUIBundle" in b.body

        spec = get(port, "/openapi.yaml")
        assert spec.status == 200 and spec.headers["content-type"] == "application/yaml"
        assert spec.body == (root / "openapi.yaml").read_bytes()

        # The API: list, get, create; validation answers 400 with a message.
        pets = get(port, "/api/pets")
        assert pets.status == 200
        listed = pets.json()
        assert isinstance(listed, list) and listed
        one = get(port, f"/api/pets/{listed[0]['id']}")
        assert one.status == 200 and one.json() == listed[0]
        status, created = post_json(port, "/api/pets", {"name": "Biscuit", "species": "dog"})
        assert status == 201 and isinstance(created, dict) and created["name"] == "Biscuit"
        assert get(port, f"/api/pets/{created['id']}").json() == created
        users = get(port, "/api/users")
        assert users.status == 200 and isinstance(users.json(), list) and users.json()
        stats = get(port, "/api/stats")
        assert stats.status == 200 and stats.json()["pets"] == len(listed) + 1  # type: ignore[index]
        status, err = post_json(port, "/api/pets", {"name": "", "species": "dragon"})
        assert status == 400
        assert isinstance(err, dict) and err["error"] and "body.name" in err["message"]
        assert get(port, "/api/pets/abc").status == 400

        # Too many headers: a clean 431, and the server stays up.
        many = b"".join(b"X-Header-%d: value\r\n" % i for i in range(200))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
        assert get(port, "/health").status == 200
        assert "Traceback" not in ls.output()
