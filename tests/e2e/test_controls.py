"""E2E: controls that do what they say (disable stops a running cmd; trigger says why it waits)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e

TILTFILE = textwrap.dedent("""
    update_settings(max_parallel_updates=1)
    local_resource('long', cmd='echo $$ > long.pid; sleep 300 & wait', allow_parallel=True)
    local_resource('after', cmd='echo after-ran', allow_parallel=True)
    local_resource('web', serve_cmd='sleep 300', serve_dir='srv', serve_env={'PORT': '8123'})
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_disable_stops_a_running_cmd_and_frees_its_slot(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    up = Up.write(tmp_path, TILTFILE)

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([f"{VENV_BIN}/lockstep", *argv, "-f", str(up.tiltfile)], env=up.env,
                              capture_output=True, text=True, timeout=30)

    with up:
        pidfile = tmp_path / "long.pid"
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="long to start")
        pid = int(pidfile.read_text())
        # `why` shows the update in progress, `describe` a server's own directory and environment.
        why = cli("why", "long").stdout
        assert "#1 long: running since " in why and "because initial update" in why, why
        web = cli("describe", "web").stdout
        assert "serve_dir:" in web and web.split("serve_dir:")[1].split()[0].endswith("/srv"), web
        assert "serve_env:        PORT=8123" in web, web
        # `after` waits for the only slot; a trigger says so instead of claiming success.
        out = cli("trigger", "after").stdout
        assert "Triggered update for resource: after, but it cannot start yet: parallel limit" in out, out
        assert "after-ran" not in up.log_text()
        assert cli("disable", "long").returncode == 0
        # The whole process group is stopped (the shell and its background sleep)...
        wait_until(lambda: not _alive(pid), timeout=10, what="long's cmd to be stopped")
        wait_until(lambda: not subprocess.run(["pgrep", "-g", str(pid)], capture_output=True).stdout, timeout=10,
                   what="long's background sleep to be stopped")
        # ...and its slot is free.
        wait_until(lambda: "after-ran" in up.log_text(), timeout=10, what="after to run")
        assert "Update #1 stopped: resource disabled" in up.log_text()
