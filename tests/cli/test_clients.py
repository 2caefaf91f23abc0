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
from upproc import Up

from lockstep.cli.main import main

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
