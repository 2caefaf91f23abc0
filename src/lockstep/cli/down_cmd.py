"""`lockstep down`: stop whatever `lockstep up` started for this Tiltfile."""

from __future__ import annotations

import argparse
import os
import signal
import time

from lockstep.cli.common import add_file_arg, process_alive, tiltfile_path
from lockstep.engine.app import read_pidfile
from lockstep.model.resource import ResourceKind
from lockstep.statedir import state_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("down", help="stop the running `up` for this Tiltfile and everything it started")
    add_file_arg(p)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a clean stop")
    p.add_argument("--delete-namespaces", action="store_true",
                   help="also delete the Namespaces the Tiltfile's YAML declares (kept by default)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = tiltfile_path(args)
    code = _stop(path, args)
    return _delete_deployed(path, args) or code


def _delete_deployed(path: str, args: argparse.Namespace) -> int:
    """As Tilt's down: delete what the Tiltfile deploys to Kubernetes."""
    from lockstep.cli.k8s_down import delete_k8s
    from lockstep.tiltfile import load

    result = load(path, list(getattr(args, "tiltfile_args", []) or []), subcommand="down")
    if not result.ok or not any(r.kind is ResourceKind.K8S for r in result.resources):
        return 0
    return delete_k8s(result, print, delete_namespaces=bool(getattr(args, "delete_namespaces", False)))


def _stop(path: str, args: argparse.Namespace) -> int:
    info = read_pidfile(state_dir(path, create=False))
    pid = info.get("pid") if info else None
    if not isinstance(pid, int) or not process_alive(pid):
        print(f"lockstep down: nothing running for {path}")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + float(args.timeout)
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling another process's exit: there is no fd to wait on
    if process_alive(pid):
        print(f"lockstep down: pid {pid} did not stop within {args.timeout:.0f}s; sending SIGKILL")
        os.kill(pid, signal.SIGKILL)
        return 1
    print(f"lockstep down: stopped pid {pid}")
    return 0
