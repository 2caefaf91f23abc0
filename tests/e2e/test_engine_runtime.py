"""E2E (c) serve crash and readiness, (d) no orphans on any signal, (e) Tiltfile reload."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from procscan import marked_pids
from upproc import VENV_BIN, Up, wait_until

from lockstep.model.update import ReasonKind, UpdateResult

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = """
import http.server, os, sys
if not os.path.exists("crashed-once"):
    open("crashed-once", "w").close()
    print("simulated crash", flush=True)
    sys.exit(3)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"up")
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_serve_crash_restarts_and_probe_gates_dependent(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "server.py").write_text(SERVER)
    tf = tmp_path / "Tiltfile"
    tf.write_text(f"""
local_resource('api', serve_cmd='python3 server.py {port}',
    readiness_probe=probe(http_get=http_get_action(port={port}, path='/'), period_secs=0.1))
local_resource('client', cmd='python3 -c "import urllib.request; urllib.request.urlopen(\\'http://127.0.0.1:{port}/\\')"',
    resource_deps=['api'])
""")
    with Up(tf, tmp_path / "state") as up:
        def client_done() -> bool:
            return any(r.resource == "client" and r.end is not None for r in up.history())
        wait_until(client_done, what="client update")
        up.stop()
        text = up.log_text()
    assert "simulated crash" in text
    assert "restarting in" in text
    clients = [r for r in up.history() if r.resource == "client"]
    # The probe gated the dependent (its request succeeded on the first try) and
    # the crash restart did not propagate (one client update only).
    assert [r.result for r in clients] == [UpdateResult.SUCCEEDED]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_signals_leave_no_process_behind(tmp_path: Path, sig: int) -> None:
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    tf = tmp_path / "Tiltfile"
    tf.write_text("""
local_resource('long-build', cmd='sleep 300 & sleep 300; wait', allow_parallel=True)
local_resource('server', serve_cmd='sh -c "sleep 300 & sleep 300 & wait"', allow_parallel=True)
""")
    up = Up(tf, tmp_path / "state", env={key: value})
    # lockstep itself, its reaper, and both commands' trees.
    wait_until(lambda: len(marked_pids(marker)) >= 7, what="processes started")
    up.proc.send_signal(sig)
    up.proc.wait(30)
    up.out.close()
    wait_until(lambda: not marked_pids(marker), timeout=20, what="every process gone")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_tiltfile_syntax_error_keeps_running_then_reloads(tmp_path: Path) -> None:
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    tf = tmp_path / "Tiltfile"
    good = "local_resource('svc', cmd='echo build {n}', serve_cmd='sleep 300')\n"
    tf.write_text(good.format(n=1))
    with Up(tf, tmp_path / "state", env={key: value}) as up:
        wait_until(lambda: "Starting serve_cmd" in up.log_text(), what="serve started")
        # (Not the spare evaluation child: a reload uses it up and starts another.)
        serving = {p for p in marked_pids(marker) if b"child_main" not in _cmdline(p)}
        tf.write_text("local_resource('svc', cmd='echo build 2'\n")  # syntax error
        wait_until(lambda: "error" in up.log_text().split("Tiltfile changed")[-1], what="error shown")
        assert up.proc.poll() is None
        assert serving <= set(marked_pids(marker)), "serve process was stopped by a broken Tiltfile"
        tf.write_text(good.format(n=2))
        def reloaded() -> bool:
            return any(ReasonKind.CONFIG in {x.kind for x in r.reasons} and r.end is not None for r in up.history())
        wait_until(reloaded, what="update after the Tiltfile was fixed")
        # The terminal's lines are written once per short window (ui/terminal.py): the history on disk can
        # be ahead of them.
        wait_until(lambda: "build 2" in up.log_text(), what="the fixed Tiltfile's command to have run")
    assert os.path.exists(tf)


def test_down_stops_up_and_everything_it_started(tmp_path: Path) -> None:
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    tf = tmp_path / "Tiltfile"
    tf.write_text("local_resource('server', serve_cmd='sh -c \"sleep 300 & sleep 300 & wait\"')\n")
    up = Up(tf, tmp_path / "state", env={key: value})
    wait_until(lambda: len(marked_pids(marker)) >= 5, what="processes started")
    down = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tf)], env=up.env, capture_output=True,
                          text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert "stopped pid" in down.stdout
    assert up.proc.wait(10) == 0
    up.out.close()
    wait_until(lambda: not marked_pids(marker), timeout=20, what="every process gone")
    again = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(tf)], env=up.env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "nothing running" in again.stdout


def test_port_in_use_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    port = free_port()
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        tf = tmp_path / "Tiltfile"
        tf.write_text("local_resource('server', serve_cmd='sleep 300')\n")
        env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), key: value}
        done = subprocess.run([f"{VENV_BIN}/lockstep", "up", "--stream", "--port", str(port), "-f", str(tf)],
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"cannot serve the dashboard on 127.0.0.1:{port}: the port is already in use" in done.stderr
    assert "Traceback" not in done.stderr
    wait_until(lambda: not marked_pids(marker), timeout=20, what="every process gone")


def test_stop_does_not_wait_for_a_slow_local_in_the_tiltfile(tmp_path: Path) -> None:
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    tf = tmp_path / "Tiltfile"
    tf.write_text("local('sleep 120')\nlocal_resource('a', cmd='true')\n")
    up = Up(tf, tmp_path / "state", env={key: value})
    # Evaluation is running the `sleep` (lockstep itself, its reaper, the sleep).
    wait_until(lambda: any(Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"sleep")
                           for p in marked_pids(marker) if Path(f"/proc/{p}").exists()), what="local() running")
    assert up.stop(signal.SIGINT, timeout=15) == 0
    wait_until(lambda: not marked_pids(marker), timeout=20, what="every process gone")


def test_ctrl_c_to_the_terminal_group_during_a_slow_local_stops_ci_cleanly(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the whole foreground group: lockstep, its evaluation child and the
    Tiltfile's `local('sleep …')`, while the engine may still be importing. `ci` must stop as asked
    (exit 1, its own message), with no traceback from any of them and nothing left running."""
    marker = f"LOCKSTEP_TEST_MARKER={uuid.uuid4().hex}"
    key, value = marker.split("=")
    tf = tmp_path / "Tiltfile"
    tf.write_text("local('sleep 120')\nlocal_resource('a', cmd='true')\n")
    env = {**os.environ, "LOCKSTEP_STATE_DIR": str(tmp_path / "state"), key: value}
    proc = subprocess.Popen([f"{VENV_BIN}/lockstep", "ci", "-f", str(tf)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_until(lambda: any(Path(f"/proc/{p}/cmdline").read_bytes().startswith(b"sleep")
                               for p in marked_pids(marker) if Path(f"/proc/{p}").exists()), what="local() running")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, (proc.returncode, err)
    assert "lockstep ci: stopped before every resource was up to date" in err
    assert "Traceback" not in out + err
    wait_until(lambda: not marked_pids(marker), timeout=20, what="every process gone")
