"""`lockstep down`: stop whatever `lockstep up` started for this Tiltfile.

It signals only a process it can prove is that `up` (lockstep.instance): a
stale up.json is reported and removed, never acted on.
"""

from __future__ import annotations

import argparse
import os
import signal
import time

from lockstep.cli.catalog import HELP
from lockstep.cli.common import add_file_arg, process_alive, tiltfile_path
from lockstep.instance import remove_pidfile, running_pid, start_time
from lockstep.model.resource import ResourceKind
from lockstep.statedir import state_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("down", help=HELP["down"])
    add_file_arg(p)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a clean stop")
    p.add_argument("--delete-namespaces", action="store_true",
                   help="also delete the Namespaces the Tiltfile's YAML declares (kept by default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = tiltfile_path(args)
    code = _stop(path, args)
    code = _remove_containers(path) or code
    _remove_scratch(path)
    return _delete_deployed(path, args) or code


def _remove_containers(path: str) -> int:
    """Containers lockstep started for this Tiltfile that are still there (their `up` was
    killed, or could not remove them), found by label; never anyone else's."""
    from lockstep.adapters.docker_cleanup import sweep_recorded

    swept = sweep_recorded(state_dir(path, create=False))
    if swept is None:
        return 0
    if swept.describe():
        print(f"lockstep down: removed {swept.describe()}")
    if swept.kept_networks:
        print(f"lockstep down: left network(s) {', '.join(swept.kept_networks)} in place: still in use")
    if swept.error:
        print(f"lockstep down: could not remove the containers lockstep started: {swept.error}")
        return 1
    return 0


def _remove_scratch(path: str) -> None:
    """Build contexts and other scratch directories a killed `up` left (adapters/scratch.py);
    those of a process still running are kept."""
    from lockstep.adapters.scratch import sweep

    gone = sweep(state_dir(path, create=False))
    if gone:
        print(f"lockstep down: removed {len(gone)} scratch director{'ies' if len(gone) != 1 else 'y'} "
              "left by a run that did not stop cleanly")


def _delete_deployed(path: str, args: argparse.Namespace) -> int:
    """As Tilt's down: delete what the Tiltfile deploys to Kubernetes."""
    from lockstep.cli.k8s_down import delete_k8s
    from lockstep.engine.k8s_runner import RECORD
    from lockstep.tiltfile.isolate import Evaluator

    # Evaluating the Tiltfile runs its local() commands: only when `up` deployed something.
    record = state_dir(path, create=False) / RECORD
    if not record.exists():
        return 0
    # In a bounded child, as every evaluation (see tiltfile/isolate.py).
    result = Evaluator().load(path, list(getattr(args, "tiltfile_args", []) or []), subcommand="down")
    if not result.ok or not any(r.kind is ResourceKind.K8S for r in result.resources):
        return 0
    code = delete_k8s(result, print, delete_namespaces=bool(getattr(args, "delete_namespaces", False)))
    if code == 0:
        record.unlink(missing_ok=True)
    return code


def _stop(path: str, args: argparse.Namespace) -> int:
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
