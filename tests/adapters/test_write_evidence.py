"""Writer evidence from /proc against real process groups (no sleeps: each step waits on a file)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from upproc import wait_until

from lockstep.adapters.write_evidence import ProcessGroups, group_members

pytestmark = pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="needs Linux /proc")

HOLD_OPEN = """
import sys, time
out, ready, release = sys.argv[1:4]
with open(out, "w") as f:
    f.write("x" * 10000)
    f.flush()
    open(ready, "w").close()
    while not __import__("os").path.exists(release):
        time.sleep(0.01)
"""

WRITE_ON_SIGNAL = """
import os, sys, time
out, go, done = sys.argv[1:4]
while not os.path.exists(go):
    time.sleep(0.01)
with open(out, "w") as f:
    f.write("y" * 20000)
    f.flush()
    os.fsync(f.fileno())
open(done, "w").close()
time.sleep(300)
"""


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        os.killpg(p.pid, 9)
        p.wait()


def _start(procs: list[subprocess.Popen[bytes]], *argv: str) -> int:
    p = subprocess.Popen(list(argv), start_new_session=True)
    procs.append(p)
    return p.pid


def test_a_file_held_open_for_writing_is_evidence(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    site = tmp_path / "site"
    site.mkdir()
    pgid = _start(procs, sys.executable, "-c", HOLD_OPEN, str(site / "app.js"), str(tmp_path / "ready"),
                  str(tmp_path / "release"))
    wait_until(lambda: (tmp_path / "ready").exists(), timeout=10, what="the writer to hold the file")
    groups = ProcessGroups(time.monotonic)
    groups.started(7, pgid)
    assert group_members({pgid})[pgid] == [pgid]
    seen = groups.observe({7})[7]
    text = seen.evidence(lambda p: p.startswith(str(site)), str(tmp_path))
    assert text is not None and text.startswith(f"pid {pgid} `")
    assert text.endswith("had site/app.js open for writing"), text
    # Not under the reader's paths: not evidence of writing them (write_bytes aside).
    assert all(not p.startswith(str(tmp_path / "other")) for _, p in seen.open_files)


def test_write_bytes_growth_between_samples(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    pgid = _start(procs, sys.executable, "-c", WRITE_ON_SIGNAL, str(tmp_path / "out"), str(tmp_path / "go"),
                  str(tmp_path / "done"))
    groups = ProcessGroups(time.monotonic)
    groups.started(1, pgid)
    first = groups.observe({1})[1]
    assert first.growth is None and first.evidence(lambda p: p.startswith(str(tmp_path)), str(tmp_path)) is None
    (tmp_path / "go").touch()
    wait_until(lambda: (tmp_path / "done").exists(), timeout=10, what="the write")
    grown = groups.observe({1})[1]
    assert grown.growth is not None and grown.growth[1] >= 20000
    text = grown.evidence(lambda p: False, str(tmp_path))
    assert text is not None and "KiB to disk while these files changed" in text
    # Nothing new since: no evidence from the same bytes twice.
    assert groups.observe({1})[1].growth is None


def test_a_sleeping_command_shows_nothing(procs: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    pgid = _start(procs, "sleep", "300")
    groups = ProcessGroups(time.monotonic)
    groups.started(3, pgid)
    for _ in range(3):
        assert groups.observe({3})[3].evidence(lambda p: p.startswith(str(tmp_path)), str(tmp_path)) is None
    groups.finished(3)
    assert groups.observe({3}) == {}


APPEND_LOG = """
import os, sys, time
log, go, done = sys.argv[1:4]
with open(log, "a") as f:
    f.write("start\\n")
    f.flush()
    while not os.path.exists(go):
        time.sleep(0.01)
    f.write("x" * 20000)
    f.flush()
    os.fsync(f.fileno())
    open(done, "w").close()
    time.sleep(300)
"""


def test_appending_to_its_own_log_file_is_not_evidence(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    pgid = _start(procs, sys.executable, "-c", APPEND_LOG, str(tmp_path / "server.log"), str(tmp_path / "go"),
                  str(tmp_path / "done"))
    wait_until(lambda: (tmp_path / "server.log").exists(), timeout=10, what="the log file")
    groups = ProcessGroups(time.monotonic)
    groups.started(5, pgid)
    wait_until(lambda: any(p.endswith("server.log") for _, p in groups.observe({5})[5].open_files), timeout=10,
               what="the log held open")
    (tmp_path / "go").touch()
    wait_until(lambda: (tmp_path / "done").exists(), timeout=10, what="the write")
    seen = groups.observe({5})[5]
    assert seen.growth is not None and seen.appended == (str(tmp_path / "server.log"),)
    # The reader's files are elsewhere: the server's own log explains what it wrote.
    assert seen.evidence(lambda p: p.startswith(str(tmp_path / "site")), str(tmp_path)) is None


def test_a_log_write_landing_between_two_reads_is_still_explained_by_the_log(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server appending to its own log: its write may land after the counters are read and before
    the sizes are, and show in the counters only at the next sample. That growth is the log's, so
    it must not count as writing someone else's files."""
    from lockstep.adapters import write_evidence

    log, ready, release = tmp_path / "server.log", tmp_path / "ready", tmp_path / "release"
    pid = _start(procs, sys.executable, "-c", HOLD_OPEN, str(log), str(ready), str(release))
    wait_until(ready.exists, timeout=10, what="the server to open its log")
    groups = ProcessGroups(clock=lambda: 0.0)
    groups.started(1, pid)
    counter = {"bytes": 0, "write_now": False}

    def counters(p: int) -> int:
        seen = counter["bytes"]
        if counter["write_now"]:
            # The write lands just after this read: the counters show it next time only.
            with open(log, "a") as f:
                f.write("r" * 4096)
            counter["bytes"] += 4096
            counter["write_now"] = False
        return seen

    monkeypatch.setattr(write_evidence, "write_bytes", counters)
    groups.observe({1})  # first sample: the log is new and not empty, which explains it
    counter["write_now"] = True
    groups.observe({1})  # the write lands between this sample's reads
    third = groups.observe({1})[1]  # the counters show it now; the log's size already did
    assert third.growth is not None
    assert third.evidence(lambda path: path.startswith(str(tmp_path / "other")), str(tmp_path)) is None
