"""The `lockstep` entry point: dispatches to one module per command.

Each command module exposes `register(subparsers)`, which adds its parser and
sets `func` (a callable taking the parsed namespace and returning an exit code).
Only the module of the command being run is imported (`cli/catalog.py` has the
others' help for `--help`), and each keeps its heavy imports inside `run`.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from lockstep.cli.catalog import HELP

# The order here is the order of `lockstep --help`.
COMMANDS: tuple[str, ...] = tuple(HELP)


def _placeholder(name: str, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(name, help=f"{name} (not yet available)")
    p.add_argument("rest", nargs=argparse.REMAINDER)

    def run(_: argparse.Namespace) -> int:
        print(f"lockstep {name}: not yet available in this build", file=sys.stderr)
        return 2

    p.set_defaults(func=run)


def _listed(name: str, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """A command that is not the one being run: named in `--help`, its module left unimported."""
    sub.add_parser(name, help=HELP[name], add_help=False)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the full arguments of `command` only (every command when None).

    Importing a command's module imports what it runs (the engine, the dashboard client...):
    a run pays for its own command's imports, and `--help` for none."""
    parser = argparse.ArgumentParser(prog="lockstep", description="Tiltfile dev loop, in lockstep.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if command is not None and name != command:
            _listed(name, sub)
            continue
        module_name = f"lockstep.cli.{name}_cmd"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            _placeholder(name, sub)
            continue
        module.register(sub)
    return parser


def command_of(argv: Sequence[str]) -> str:
    """The command named by argv ("" when none): the first word not taken for an option, as
    the top-level parser, whose only options are -h/--help, sees it."""
    return next((a for a in argv if not a.startswith("-")), "")


# The commands whose `-- ARGS` go to the Tiltfile. For the others `--` keeps its usual meaning
# (what follows is positional), so `lockstep trigger -- --all` names a resource called `--all`.
TILTFILE_ARG_COMMANDS = frozenset({"up", "ci", "check", "graph", "args"})


def split_tiltfile_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split at the first `--`: what follows goes to the Tiltfile (config.parse)."""
    argv = list(argv)
    if "--" in argv and command_of(argv) in TILTFILE_ARG_COMMANDS:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    # The interpreter running lockstep, for Tiltfiles whose steps need its packages
    # (`os.getenv("LOCKSTEP_PYTHON", "python3")` still runs under Tilt); also seen by commands.
    os.environ.setdefault("LOCKSTEP_PYTHON", sys.executable)
    own, tilt_args = split_tiltfile_args(sys.argv[1:] if argv is None else argv)
    parser = build_parser(command_of(own))
    args = parser.parse_args(own)
    args.tiltfile_args = tilt_args
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`lockstep logs | head`): stop quietly, as `cat` does. Point
        # stdout at /dev/null so the interpreter's own flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE
    return code


def exit_now(code: int) -> NoReturn:
    """End the process with `code`, without the interpreter's teardown.

    That teardown frees every module and object one by one: about 20 ms after a `ci`, a
    tenth of a trivial run, spent on memory the kernel takes back at once. Nothing in it is
    needed: every command has closed its files and stopped its processes before it returns
    (run_app's shutdown: logs, history and state files written, the watchdog gone). What
    the interpreter would still do that matters is done here the same way: threads that are
    not daemons are waited for, atexit handlers run (log lines a printer still holds), and
    the standard streams are flushed, a failed flush exiting 120 as Python's own does.
    """
    # In the interpreter's own order: threading's exit hooks (they tell idle pool workers to
    # end) and the join of non-daemon threads, then the atexit handlers.
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    else:
        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    os._exit(code)


def run() -> NoReturn:
    """The process entry point (the `lockstep` script, `python -m lockstep.cli.main`)."""
    code = main()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        # A profiler or a coverage tracer writes its data at the interpreter's own exit.
        sys.exit(code)
    exit_now(code)


if __name__ == "__main__":
    run()
