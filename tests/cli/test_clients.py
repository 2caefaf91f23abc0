"""The client commands against a running `lockstep up --stream --port 0` (a real subprocess)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from upproc import Up, wait_until

from lockstep.cli.main import main
from lockstep.ui.client import call, discover

TILTFILE = textwrap.dedent("""
    config.define_string_list('extra', args=True)
    cfg = config.parse()
    local_resource('a', cmd='echo built-a', labels=['front'])
    local_resource('b', cmd='echo built-b', resource_deps=['a'], labels=['front'])
    local_resource('gated', cmd='while [ ! -f release ]; do sleep 0.05; done; echo released',
                   trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False)
    local_resource('svc', serve_cmd='echo serving; exec sleep 600')
    for name in cfg.get('extra', []):
        local_resource(name, cmd='echo extra')
""")


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    u = Up.write(tmp_path_factory.mktemp("up"), TILTFILE)
    os.environ["LOCKSTEP_STATE_DIR"] = u.env["LOCKSTEP_STATE_DIR"]
    try:
        yield u
    finally:
        u.stop()
        del os.environ["LOCKSTEP_STATE_DIR"]


def cli(up: Up, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    # `logs` takes --file (its -f is --follow); every other client takes -f as well.
    flag = "--file" if argv[0] == "logs" else "-f"
    own, sep, rest = list(argv), [], []
    if "--" in own:
        i = own.index("--")
        own, sep, rest = own[:i], ["--"], own[i + 1 :]
    code = main([*own, flag, str(up.tiltfile), *sep, *rest])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_wait_then_get(up: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(up, capsys, "wait", "--for=condition=Ready", "a", "uiresource/b", "svc", "--timeout", "30s")
    assert code == 0 and "a: condition met" in out
    code, out, _ = cli(up, capsys, "get")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert out.splitlines()[0].split()[:4] == ["NAME", "UPDATE", "RUNTIME", "READY"]
    assert rows["a"][1:4] == ["ok", "none", "yes"] and rows["svc"][2] == "ready"
    assert rows["gated"][1:4] == ["pending", "none", "no"]  # manual, auto_init=False: never ran
    code, out, _ = cli(up, capsys, "get", "-o", "json", "b")
    data = json.loads(out)
    assert [v["name"] for v in data["resources"]] == ["b"] and data["resources"][0]["upstreams"] == ["a"]
    code, out, _ = cli(up, capsys, "get", "uiresources", "-o", "wide")
    assert "LABELS" in out and "front" in out
    code, _, err = cli(up, capsys, "get", "nope")
    assert code == 1 and "no such resource: nope" in err


def test_trigger_shows_hold_then_wait_for_it(up: Up, capsys: pytest.CaptureFixture[str]) -> None:
    cli(up, capsys, "wait", "--for=condition=Ready", "a", "b", "--timeout", "30s")
    code, out, _ = cli(up, capsys, "trigger", "gated")
    assert code == 0 and "Successfully triggered update for resource: gated" in out
    code, _, err = cli(up, capsys, "wait", "--for=condition=Ready", "gated", "--timeout", "0.3")
    assert code == 1 and "timed out" in err and "gated: not ready (in_progress" in err
    code, out, _ = cli(up, capsys, "describe", "gated")
    assert code == 0 and "Update status:    in_progress" in out and "manual trigger" in out
    (up.dir / "release").write_text("")
    code, out, _ = cli(up, capsys, "wait", "--for=condition=Ready", "gated", "--timeout", "30s")
    assert code == 0
    code, out, _ = cli(up, capsys, "describe", "gated", "b")
    assert "Update status:    ok" in out and "Name:             b" in out and "resource_deps:    a" in out
    code, _, err = cli(up, capsys, "trigger", "nope")
    assert code == 1 and "no such resource" in err


def test_logs_tail_json_since_and_follow(up: Up, capsys: pytest.CaptureFixture[str]) -> None:
    cli(up, capsys, "wait", "--for=condition=Ready", "a", "svc", "--timeout", "30s")
    code, out, _ = cli(up, capsys, "logs", "a")
    assert code == 0 and "built-a" in out and all("│" in line for line in out.splitlines())
    assert not any(" b " in line.split("│")[0] for line in out.splitlines())
    code, out, _ = cli(up, capsys, "logs", "--tail", "1", "--json", "a")
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 1 and lines[0]["resource"] == "a"
    code, out, _ = cli(up, capsys, "logs", "svc", "--since", "1h")
    assert "serving" in out
    code, out, _ = cli(up, capsys, "logs", "--since", "0s", "a")
    assert out == ""
    code, _, err = cli(up, capsys, "logs", "nope")
    assert code == 1 and "no such resource" in err
    # Follow: a subprocess, because it runs until interrupted; the new line must arrive live.
    follower = subprocess.Popen(
        [sys.executable, "-m", "lockstep.cli.main", "logs", "-f", "--tail", "0", "--file", str(up.tiltfile), "a"],
        env=up.env, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert cli(up, capsys, "wait", "--for=condition=Ready", "a", "--timeout", "30s")[0] == 0
        # The follower is connected once `logs -f` has printed nothing and not exited;
        # triggering repeatedly until a line arrives keeps this free of timing guesses.
        got: queue.Queue[str] = queue.Queue()
        assert follower.stdout is not None
        threading.Thread(target=lambda: [got.put(x) for x in follower.stdout], daemon=True).start()  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        seen = ""
        while "built-a" not in seen and time.monotonic() < deadline:
            cli(up, capsys, "trigger", "a")
            with contextlib.suppress(queue.Empty):
                seen += got.get(timeout=2)
        assert "built-a" in seen
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(10)


def test_disable_enable(up: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(up, capsys, "disable", "b")
    assert code == 0 and out.strip() == "b: disabled"
    code, out, _ = cli(up, capsys, "get", "b")
    assert out.splitlines()[1].split()[1] == "disabled"
    code, _, err = cli(up, capsys, "trigger", "b")
    assert code == 1 and "disabled" in err
    code, out, _ = cli(up, capsys, "enable", "b")
    assert code == 0 and "b: enabled" in out
    assert cli(up, capsys, "wait", "--for=condition=Ready", "b", "--timeout", "30s")[0] == 0
    code, _, err = cli(up, capsys, "disable")
    assert code == 2 and "--all" in err


def test_args_replace_reloads(up: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(up, capsys, "args", "--", "x1")
    assert code == 0 and "x1" in out
    code, out, _ = cli(up, capsys, "args")
    assert out.strip() == "x1"
    code, out, _ = cli(up, capsys, "wait", "--for=condition=Ready", "x1", "--timeout", "30s")
    assert code == 0
    # The Tiltfile's log says why it was re-read: the arguments, not an edit.
    code, out, _ = cli(up, capsys, "logs", "(Tiltfile)")
    assert "re-evaluation requested (arguments): re-evaluating" in out and "Tiltfile changed" not in out
    code, out, _ = cli(up, capsys, "args", "--clear")
    assert code == 0
    assert cli(up, capsys, "args")[1].strip() == ""


def test_clients_without_a_running_instance(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path))
    (tmp_path / "Tiltfile").write_text("")
    for argv in (["get"], ["trigger", "a"], ["describe", "a"], ["logs", "a"], ["enable", "a"],
                 ["wait", "--for=condition=Ready", "a"], ["args"]):
        flag = "--file" if argv[0] == "logs" else "-f"
        assert main([*argv, flag, str(tmp_path / "Tiltfile")]) == 1, argv
        assert "no running `lockstep up`" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["logs"], ["get", "-o", "json"], ["describe", "a"], ["why"]])
def test_a_reader_that_goes_away_is_not_a_traceback(up: Up, capsys: pytest.CaptureFixture[str],
                                                    argv: list[str]) -> None:
    """`lockstep logs | head -1`: the pipe closes under the writer; it stops quietly."""
    assert cli(up, capsys, "wait", "--for=condition=Ready", "a", "--timeout", "30s")[0] == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # no reader at all: the very first write fails, deterministically
    flag = "--file" if argv[0] == "logs" else "-f"
    try:
        proc = subprocess.run([sys.executable, "-m", "lockstep.cli.main", *argv, flag, str(up.tiltfile)],
                              env=up.env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 128 + signal.SIGPIPE


def test_why_names_an_unknown_resource(up: Up, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(up, capsys, "why", "nope")
    assert code == 1 and "no such resource: nope" in err
    assert cli(up, capsys, "wait", "--for=condition=Ready", "a", "--timeout", "30s")[0] == 0
    code, out, _ = cli(up, capsys, "why", "a")
    assert code == 0 and "a: succeeded" in out
    code, _, err = cli(up, capsys, "why", "gated")  # known (whether it ran yet or not): not an error
    assert code == 0 and err == ""


def test_logs_of_a_name_with_a_comma(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Tilt allows `a,b` as a resource name: `logs a,b` shows that resource, not `a` and `b`."""
    # Up points LOCKSTEP_STATE_DIR at its own state: put the module's back afterwards.
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", os.environ.get("LOCKSTEP_STATE_DIR", ""))
    with Up.write(tmp_path, textwrap.dedent("""
        local_resource('a', cmd='echo from-a')
        local_resource('b', cmd='echo from-b')
        local_resource('a,b', cmd='echo from-a-comma-b')
    """)) as u:
        for name in ("a", "b", "a,b"):
            assert cli(u, capsys, "wait", "--for=condition=Ready", name, "--timeout", "30s")[0] == 0
        code, out, _ = cli(u, capsys, "logs", "a,b")
        assert code == 0 and "from-a-comma-b" in out
        assert "from-a\n" not in out and "from-b" not in out
        code, out, _ = cli(u, capsys, "logs", "a", "b")
        assert "from-a\n" in out and "from-b" in out and "from-a-comma-b" not in out


@pytest.mark.parametrize("content", ['{"url": 5, "token": null}', '[1, 2]', '{"url": "ftp://x/", "token": "t"}',
                                     '{"url": "http://127.0.0.1:1/"}'])
def test_a_hand_edited_api_file_is_named_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    from lockstep.statedir import state_dir

    monkeypatch.setenv("LOCKSTEP_STATE_DIR", str(tmp_path / "state"))
    tiltfile = tmp_path / "Tiltfile"
    tiltfile.write_text("")
    (state_dir(str(tiltfile)) / "api.json").write_text(content)
    for argv in (["get"], ["trigger", "a"], ["logs", "a"], ["args"]):
        flag = "--file" if argv[0] == "logs" else "-f"
        assert main([*argv, flag, str(tiltfile)]) == 1, argv
        assert "is not a file `lockstep up` wrote" in capsys.readouterr().err


def test_double_dash_before_a_name_that_looks_like_a_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Tilt allows a resource called `--all`; `lockstep trigger -- --all` must reach it."""
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", os.environ.get("LOCKSTEP_STATE_DIR", ""))
    with Up.write(tmp_path, "local_resource('--all', cmd='echo dashed')\nlocal_resource('x', cmd='echo x')\n") as u:
        assert cli(u, capsys, "wait", "--for=condition=Ready", "x", "--timeout", "30s")[0] == 0
        for argv in (["trigger", "--", "--all"], ["describe", "--", "--all"], ["get", "--", "--all"]):
            code, out, err = cli(u, capsys, *argv)
            assert code == 0 and "--all" in out, (argv, err)
        code, out, _ = cli(u, capsys, "logs", "--", "--all")
        assert code == 0 and "dashed" in out and "echo x" not in out


def _connected(pid: int, port: int) -> bool:
    """Whether process `pid` has an established TCP connection to `port` (Linux /proc)."""
    try:
        inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
                  if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
    except OSError:
        return False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for row in list(f)[1:]:
                cols = row.split()
                if int(cols[2].rsplit(":", 1)[1], 16) == port and cols[3] == "01" and cols[9] in inodes:
                    return True
    return False


def test_wait_says_when_up_stops_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not "timed out after 60s" a few seconds in: the `up` it waited on has gone."""
    monkeypatch.setenv("LOCKSTEP_STATE_DIR", os.environ.get("LOCKSTEP_STATE_DIR", ""))
    with Up.write(tmp_path, "local_resource('long', cmd='echo started; sleep 600')\n") as u:
        u.expect("started")
        # The server loads at its first connection: answered once, it is the one the waiter
        # talks to (a connection still in the listen backlog is reset when `up` stops).
        call(discover(str(u.tiltfile)), "GET", "/api/view")
        waiter = subprocess.Popen(
            [sys.executable, "-m", "lockstep.cli.main", "wait", "--for=condition=Ready", "long", "--timeout", "120s",
             "-f", str(u.tiltfile)], env=u.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        port = int(json.loads((u.sdir / "api.json").read_text())["port"])
        try:
            wait_until(lambda: _connected(waiter.pid, port), 30, "the waiter to connect")
        finally:
            u.stop()
        _, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 1
    assert "`lockstep up` stopped before the condition was met" in err or "no running `lockstep up`" in err, err
    assert "timed out" not in err
