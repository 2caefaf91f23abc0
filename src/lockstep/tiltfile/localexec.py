"""local(): run a command at load time and return its stdout (recorded only, in dry-run)."""

from __future__ import annotations

import time

from lockstep.tiltfile import commands
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.limits import command_timed_out
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState
from lockstep.tiltfile.tilt_version import ANSWER, is_tilt_version


@builtin("local", "command quiet command_bat echo_off env dir stdin", 1, located=True)
def _local(st: EvalState, a: Args) -> str:
    cmd = a.cmd("command")
    if cmd.empty:
        raise TiltfileError("local(): empty command", hint='pass a command, e.g. local("git rev-parse HEAD")')
    st.local_commands.append(cmd.display())
    if is_tilt_version(cmd.argv):
        # Known without running anything, in a dry run too (see tilt_version.py).
        if not a.boolean("quiet"):
            st.printed.append(ANSWER.rstrip("\n"))
        st.blobs.add(ANSWER)
        return ANSWER
    if st.dry_run:
        # The output is unknown: later checks that depend on it must not be fatal.
        st.missing_inputs.append(f"<output of local({cmd.display()!r})>")
        return ""
    workdir = st.resolve(a.string("dir") or ".")
    env = st.environ()
    env.update(dict(a.str_dict("env")))
    stdin = a.string("stdin") if a.has("stdin") else None
    started = time.monotonic()
    try:
        proc = commands.run(cmd.argv, cwd=workdir, env=env, stdin=stdin, deadline=st.deadline(),
                            where=str(st.call_location or ""), shown=cmd.display())
    except commands.CommandCancelled:
        raise TiltfileError("local(): cancelled: lockstep is stopping") from None
    except commands.CommandTimedOut:
        raise command_timed_out("local()", cmd.display(), st.timeout or 0) from None
    except OSError as exc:
        raise TiltfileError(f"local(): cannot run {cmd.display()!r}: {exc}",
                            hint="check that the program is installed and on PATH") from None
    finally:
        # Subprocess time is not Starlark time: it must not trip the evaluation budget.
        st.paused += time.monotonic() - started
    if proc.returncode != 0:
        stderr = proc.stderr.strip().splitlines()[-5:]
        raise TiltfileError(
            f"local(): command {cmd.display()!r} exited with code {proc.returncode}"
            + (": " + " / ".join(stderr) if stderr else ""),
            hint="fix the command, or run it by hand in the Tiltfile's directory to see why it fails")
    if not a.boolean("quiet") and proc.stdout:
        st.printed.append(proc.stdout.rstrip("\n"))
    st.blobs.add(proc.stdout)
    return proc.stdout
