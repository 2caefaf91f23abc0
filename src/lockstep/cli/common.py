"""Flags and helpers shared by the commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from typing import TYPE_CHECKING

from lockstep.adapters.procstat import process_alive as process_alive
from lockstep.filecase import other_case

if TYPE_CHECKING:
    from lockstep.engine.boot import Boot
    from lockstep.engine.engine import EngineOptions

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def add_file_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", default="Tiltfile", help="path to the Tiltfile (default: ./Tiltfile)")


def tiltfile_path(args: argparse.Namespace) -> str:
    return os.path.abspath(str(args.file))


def add_selection_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="ARG",
                   help="as `tilt up NAME...`: resources to run (with their resource_deps) when the Tiltfile does "
                        "not call config.parse(); otherwise arguments for config.parse(), like those after `--`")


def tiltfile_args(args: argparse.Namespace) -> list[str]:
    """Positional arguments, then those after `--`: both go to the Tiltfile, as in Tilt."""
    return [*getattr(args, "names", []), *getattr(args, "tiltfile_args", [])]


def parse_duration(text: str) -> float:
    """Go-style durations as Tilt takes them: 30m, 90s, 1h30m, 200ms, or plain seconds."""
    text = text.strip()
    if text.endswith("ms") and text[:-2].replace(".", "", 1).isdigit():
        return float(text[:-2]) / 1000
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        # float() also takes "-5", "nan" and "inf": none of them is a wait anyone means.
        if not 0 <= seconds < float("inf"):
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}: must be 0 or more (examples: 90s, 30m)")
        return seconds
    m = _DURATION.match(text)
    if not text or not m:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (examples: 90s, 30m, 1h30m)")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def port_number(text: str) -> int:
    """A TCP port for --port: 0 (any free port) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: a number from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {port}: a number from 0 (any free port) to 65535")
    return port


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """Engine tuning shared by `up` and `ci`."""
    p.add_argument("--quiet-window", type=parse_duration, default=None, metavar="DURATION",
                   help="how long changed files must be quiet before an update starts (default 200ms)")
    p.add_argument("--max-wait", type=parse_duration, default=None, metavar="DURATION",
                   help="start anyway after files kept changing this long (default 10s)")
    p.add_argument("--no-propagate", action="store_true",
                   help="Tilt's looser behaviour: an upstream update does not make dependents stale")
    p.add_argument("--no-propagate-to", action="append", default=[], metavar="RESOURCE",
                   help="this resource is not made stale by its upstreams' updates (repeatable)")


def engine_options(args: argparse.Namespace) -> EngineOptions:
    """Everything the engine is configured with, built whole before it exists (and frozen)."""
    from lockstep.engine.engine import EngineOptions

    return EngineOptions(
        tiltfile=tiltfile_path(args),
        args=tuple(tiltfile_args(args)),
        quiet_secs=None if args.quiet_window is None else float(args.quiet_window),
        max_wait_secs=None if args.max_wait is None else float(args.max_wait),
        propagate=False if args.no_propagate else None,
        no_propagate_to=frozenset(args.no_propagate_to),
    )


def missing_tiltfile(path: str, command: str) -> bool:
    """Print a clear error when there is no Tiltfile to run (a typo should not wait forever)."""
    if os.path.isfile(path):
        return False
    other = other_case(path)
    fix = (f"did you mean `lockstep {command} -f {os.path.relpath(other)}`?" if other
           else "run it where your Tiltfile is, or point at one with -f PATH")
    print(f"lockstep {command}: no Tiltfile at {path} ({fix})", file=sys.stderr)
    return True


def already_running(path: str, command: str) -> bool:
    """Refuse a second `up`/`ci` on the same Tiltfile (two engines would fight over its files), or a
    state dir that cannot be written (one clear error before anything starts).

    Otherwise this process takes the state dir's lock (lockstep.instance) before anything is evaluated.
    """
    from lockstep.instance import claim
    from lockstep.statedir import NotPrivateError, check_writable, state_dir, state_root

    try:
        sdir = state_dir(path, create=False)
        check_writable(sdir)
        other = claim(sdir, path)
    except OSError as exc:
        where = exc.filename or state_root()
        fix = ("remove it, or point LOCKSTEP_STATE_DIR at a directory of your own" if isinstance(exc, NotPrivateError)
               else "make it writable, or point LOCKSTEP_STATE_DIR at a writable directory")
        print(f"lockstep {command}: cannot write lockstep's state dir {where}: {exc.strerror or exc} ({fix})",
              file=sys.stderr)
        return True
    if other is None:
        return False
    print(f"lockstep {command}: lockstep is already running for {path}"
          f"{f' (pid {other})' if other else ''}; stop it with `lockstep down -f {path}`", file=sys.stderr)
    return True


def claim_and_boot(args: argparse.Namespace, command: str) -> Boot | None:
    """Claim the Tiltfile's instance, then start the watchdog and its first evaluation (None: refused).

    Before the engine is imported (engine/boot.py), so that the evaluation runs while it is.
    The claim comes first: a refused second `up` must not run the Tiltfile's `local()`s."""
    path = tiltfile_path(args)
    if already_running(path, command):
        return None
    from lockstep.engine.boot import boot, hold_stop_signals, release_stop_signals

    hold_stop_signals()  # `down` can find this process from the claim on
    try:
        return boot(path, tiltfile_args(args), subcommand=command)
    except BaseException:
        step_down_from(path)
        release_stop_signals()
        raise


def abandon(started: Boot, path: str) -> None:
    """The command stops before its engine ran (an error while it was imported or built)."""
    from lockstep.engine.boot import release_stop_signals

    started.stop()
    step_down_from(path)
    release_stop_signals()


def step_down_from(path: str) -> None:
    from lockstep.instance import step_down
    from lockstep.statedir import state_dir

    with contextlib.suppress(OSError):
        step_down(state_dir(path, create=False))
