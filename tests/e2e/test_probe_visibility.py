"""E2E: a server whose readiness probe fails says why everywhere (get, describe, wait, ci, log, API view)."""

from __future__ import annotations

import json
import socket
import subprocess
import textwrap
from pathlib import Path

import pytest
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# A server that answers every request with 503: the probe connects but fails.
UNHEALTHY = textwrap.dedent("""
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()
        def log_message(self, *a):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
""")


def _tiltfile(port: int) -> str:
    return textwrap.dedent(f"""
        local_resource('web', serve_cmd='python3 unhealthy.py {port}',
                       readiness_probe=probe(period_secs=0.2, http_get=http_get_action(port={port}, path='/health')))
    """)


def test_a_failing_probe_is_explained_everywhere(tmp_path: Path) -> None:
    port = _free_port()
    (tmp_path / "unhealthy.py").write_text(UNHEALTHY)
    up = Up.write(tmp_path, _tiltfile(port))

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([f"{VENV_BIN}/lockstep", *argv, "-f", str(up.tiltfile)], env=up.env,
                              capture_output=True, text=True, timeout=30)

    with up:
        wait_until(lambda: "HTTP 503" in cli("get", "web").stdout, timeout=20, what="the probe's answer in `get`")
        table = cli("get", "web").stdout.splitlines()
        assert table[0].split()[5] == "PROBE", table
        assert "failing (" in table[1] and "in a row): HTTP 503 Service Unavailable" in table[1], table
        described = cli("describe", "web").stdout
        assert "Readiness probe:  failing (" in described and ": HTTP 503 Service Unavailable" in described
        waited = cli("wait", "--for=condition=Ready", "web", "--timeout", "1s")
        assert waited.returncode == 1
        assert "readiness probe failing (" in waited.stderr and "HTTP 503" in waited.stderr, waited.stderr
        view = json.loads(cli("get", "web", "-o", "json").stdout)["resources"][0]
        assert view["probe"]["ok"] is False and view["probe"]["detail"] == "HTTP 503 Service Unavailable"
        wait_until(lambda: view["probe"]["failures"] >= 3 or json.loads(cli("get", "web", "-o", "json").stdout)[
            "resources"][0]["probe"]["failures"] >= 3, what="several failed probes")
        # One log line per change of result, not one per probe.
        assert up.log_text().count("readiness probe failing: HTTP 503") == 1, up.log_text()


def test_ci_timeout_names_the_failing_probe(tmp_path: Path) -> None:
    port = _free_port()
    # Nothing listens on the probed port: the server never becomes ready.
    (tmp_path / "Tiltfile").write_text(_tiltfile(port).replace(f"python3 unhealthy.py {port}", "sleep 300"))
    env = {"LOCKSTEP_STATE_DIR": str(tmp_path / "state"), "PATH": f"{VENV_BIN}:/usr/bin:/bin"}
    done = subprocess.run([f"{VENV_BIN}/lockstep", "ci", "--timeout", "3s"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "readiness probe failing (" in done.stderr and f"connection refused (localhost:{port})" in done.stderr, (
        done.stderr)
