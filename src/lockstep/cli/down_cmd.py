"""`lockstep down`: stop whatever `lockstep up` started for this Tiltfile.

It signals only a process it can prove is that `up` (lockstep.instance): a
stale up.json is reported and removed, never acted on.
"""

from __future__ import annotations

import argparse
import os
import signal
import time

from lockstep.cli.common import add_file_arg, process_alive, tiltfile_path
from lockstep.instance import remove_pidfile, running_pid, start_time
from lockstep.statedir import state_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("down", help="stop the running `up` for this Tiltfile and everything it started")
    add_file_arg(p)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a clean stop")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = tiltfile_path(args)
    sdir = state_dir(path, create=False)
    pid, stale = running_pid(sdir)
    if stale:
        remove_pidfile(sdir)
        print(f"lockstep down: removed a stale up.json for {path}: {stale}; nothing was signalled")
        return 0
    if pid is None or not process_alive(pid):
        print(f"lockstep down: nothing running for {path}")
        return 0
    started = start_time(pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + float(args.timeout)
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling another process's exit: there is no fd to wait on
    if process_alive(pid) and start_time(pid) == started:
        print(f"lockstep down: pid {pid} did not stop within {args.timeout:.0f}s; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
        return 1
    print(f"lockstep down: stopped pid {pid}")
    return 0
