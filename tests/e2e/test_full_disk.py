"""A full disk under the state dir: up keeps running, logs stay in memory, the API says so, writing resumes."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from upproc import Up, wait_until

from lockstep.logs.lastrun import newest_run, read_run

TILTFILE = """
local_resource('flood', serve_cmd='seq 1 300000; exec sleep 600')
local_resource('srv', serve_cmd='echo $$ > srv.pid; exec sleep 600')
local_resource('ping', cmd='echo pong', auto_init=False, trigger_mode=TRIGGER_MODE_MANUAL)
"""


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a 2 MB tmpfs as the state dir")
    mnt = tmp_path / "state"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def api(up: Up, path: str, body: Any = None) -> Any:
    info = json.loads((up.sdir / "api.json").read_text())
    req = urllib.request.Request(info["url"].rstrip("/") + path, method="POST" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"X-Lockstep-Token": info["token"], "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.mark.timeout(180)
def test_full_disk_keeps_up_running_and_resumes(tmp_path: Path, tiny_disk: Path) -> None:
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    with Up(tmp_path / "Tiltfile", tiny_disk) as up:
        up.expect("lockstep: dashboard at ")
        wait_until(lambda: api(up, "/api/health")["storage_error"], 60, "the disk to fill")
        assert "disk full" in api(up, "/api/health")["storage_error"]
        assert "not being saved: disk full" in api(up, "/api/view")["storage_error"]
        # In memory, the flood went on to its end; the servers are up; so is lockstep.
        wait_until(lambda: any(x["text"] == "300000" for x in api(up, "/api/logs?resources=flood&tail=5")["lines"]),
                   60, "the last flood line in memory")
        srv = int((tmp_path / "srv.pid").read_text())
        os.kill(srv, 0)
        assert up.proc.poll() is None
        # Space returns: the next lines are saved again and the banner clears.
        for f in (up.sdir / "logs").iterdir():
            os.truncate(f, 0)
        api(up, "/api/trigger", {"resources": ["ping"]})
        wait_until(lambda: api(up, "/api/health")["storage_error"] is None, 30, "the problem to clear")
        wait_until(lambda: any(x.text == "pong" for x in read_run(str(newest_run(str(up.sdir / "logs"))), ["ping"])),
                   30, "ping's log on disk")
        assert "Traceback" not in up.log_text()
    assert up.proc.returncode == 0
