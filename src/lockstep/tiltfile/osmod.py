"""os.*, os.path.*, sys.*, shlex.quote: paths resolve against the current Tiltfile's directory.

os.putenv changes an overlay seen by os.getenv and local(), not lockstep's own
environment, so one evaluation cannot leak into the next reload.
"""

from __future__ import annotations

import os
import shlex
import sys

from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


def varargs(a: Args) -> list[object]:
    return [a.values[k] for k in sorted((k for k in a.values if k.isdigit()), key=int)]


@builtin("os.getcwd", located=True)
def _getcwd(st: EvalState, a: Args) -> str:
    return st.resolve(".")


@builtin("os.getenv", "key default", 1)
def _getenv(st: EvalState, a: Args) -> object:
    value = st.getenv(a.string("key"))
    if value is None and st.dry_run and not a.has("default"):
        # The environment the Tiltfile is meant for is an input a dry run may not have:
        # a statement failing on the None read here is skipped, not fatal.
        st.missing_inputs.append(f"<environment variable {a.string('key')}>")
    return a.raw("default") if value is None else value


@builtin("os.putenv", "key value", 2)
def _putenv(st: EvalState, a: Args) -> None:
    st.env_overlay[a.string("key")] = str(a.raw("value"))


@builtin("os.unsetenv", "key", 1)
def _unsetenv(st: EvalState, a: Args) -> None:
    st.env_overlay[a.string("key")] = None


@builtin("os.environ", value=True)
def _environ(st: EvalState, a: Args) -> dict[str, str]:
    return st.environ()


@builtin("os.name", value=True)
def _name(st: EvalState, a: Args) -> str:
    return os.name


@builtin("os.path.abspath", "path", 1, located=True)
def _abspath(st: EvalState, a: Args) -> str:
    return st.resolve(a.string("path"))


@builtin("os.path.realpath", "path", 1, located=True)
def _realpath(st: EvalState, a: Args) -> str:
    return os.path.realpath(st.resolve(a.string("path")))


@builtin("os.path.exists", "path", 1, located=True)
def _exists(st: EvalState, a: Args) -> bool:
    path = st.resolve(a.string("path"))
    # Tilt re-evaluates when a probed path appears or disappears.
    st.watch(path)
    return os.path.exists(path)


@builtin("os.path.basename", "path", 1)
def _basename(st: EvalState, a: Args) -> str:
    return os.path.basename(a.string("path"))


@builtin("os.path.dirname", "path", 1)
def _dirname(st: EvalState, a: Args) -> str:
    return os.path.dirname(a.string("path"))


@builtin("os.path.join", "path", 1, loose=True)
def _join(st: EvalState, a: Args) -> str:
    parts = [a.values["path"], *varargs(a)]
    strings = [p for p in parts if isinstance(p, str)]
    if len(strings) != len(parts):
        raise TiltfileError("os.path.join: every argument must be a string",
                            hint="convert values with str() first")
    return os.path.join(*strings)


@builtin("os.path.relpath", "targpath basepath", 1, located=True)
def _relpath(st: EvalState, a: Args) -> str:
    base = st.resolve(a.string("basepath") or ".")
    return os.path.relpath(st.resolve(a.string("targpath")), base)


@builtin("sys.argv", value=True)
def _argv(st: EvalState, a: Args) -> list[str]:
    return ["lockstep", st.subcommand, *st.args]


@builtin("sys.executable", value=True)
def _executable(st: EvalState, a: Args) -> str:
    return sys.argv[0] if sys.argv and sys.argv[0] else "lockstep"


@builtin("shlex.quote", "s", 1)
def _quote(st: EvalState, a: Args) -> str:
    return shlex.quote(a.string("s"))
