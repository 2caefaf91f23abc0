"""Tilt builtins that configure Tilt itself (analytics, snapshots, feature flags, telemetry):
accepted with Tilt's parameters, with at most a warning, because they change nothing here.
Also local_git_repo(), whose value is just a path maker."""

from __future__ import annotations

import os

from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


def _no_effect(st: EvalState, name: str, why: str) -> None:
    st.warn(f"{name}() has no effect in lockstep: {why}", st.call_location,
            "remove the call if the Tiltfile is only run by lockstep")


@builtin("enable_feature", "msg", 1, located=True)
def _enable_feature(st: EvalState, a: Args) -> None:
    a.string("msg")


@builtin("disable_feature", "msg", 1, located=True)
def _disable_feature(st: EvalState, a: Args) -> None:
    a.string("msg")


@builtin("disable_snapshots", located=True)
def _disable_snapshots(st: EvalState, a: Args) -> None:
    # Tilt itself treats this flag as obsolete; nothing to warn about.
    return None


@builtin("experimental_analytics_report", "tags", 1, located=True)
def _analytics_report(st: EvalState, a: Args) -> None:
    a.str_dict("tags")


@builtin("experimental_metrics_settings", loose=True, located=True)
def _metrics_settings(st: EvalState, a: Args) -> None:
    st.warn("experimental_metrics_settings() is deprecated (in Tilt too) and has no effect", st.call_location,
            "remove the call")


@builtin("experimental_telemetry_cmd", "cmd cmd_bat period dir", 1, located=True)
def _telemetry_cmd(st: EvalState, a: Args) -> None:
    if a.cmd("cmd").empty:
        raise TiltfileError("experimental_telemetry_cmd(): `cmd` cannot be empty", hint="pass the command")
    if st.settings.get("telemetry_cmd"):
        raise TiltfileError("experimental_telemetry_cmd() called more than once", hint="call it once")
    st.settings["telemetry_cmd"] = a.cmd("cmd").display()
    _no_effect(st, "experimental_telemetry_cmd", "lockstep does not collect telemetry")


@builtin("_local_git_repo", "paths", 1, located=True)
def _local_git_repo(st: EvalState, a: Args) -> str:
    path = st.resolve(a.string("paths"))
    if not os.path.isdir(os.path.join(path, ".git")):
        raise TiltfileError(f"local_git_repo(): {path} isn't a git repository: it has no .git directory",
                            hint="pass the repository's top directory")
    return path
