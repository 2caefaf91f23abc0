"""Readiness probes: probe(), http_get_action(), tcp_socket_action(), exec_action()."""

from __future__ import annotations

from dataclasses import dataclass, replace

import starlark as sl

from lockstep.model.resource import Probe, ProbeKind
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


@dataclass(frozen=True)
class Action:
    """A probe action before probe() gives it timings."""

    probe: Probe


@builtin("http_get_action", "port host scheme path", 1)
def _http_get_action(st: EvalState, a: Args) -> object:
    return sl.OpaquePythonObject(Action(Probe(
        ProbeKind.HTTP, host=a.string("host") or "localhost", port=a.integer("port"),
        scheme=a.string("scheme") or "http", path=a.string("path"))))


@builtin("tcp_socket_action", "port host", 1)
def _tcp_socket_action(st: EvalState, a: Args) -> object:
    return sl.OpaquePythonObject(Action(Probe(ProbeKind.TCP, host=a.string("host") or "localhost",
                                              port=a.integer("port"))))


@builtin("exec_action", "command", 1)
def _exec_action(st: EvalState, a: Args) -> object:
    return sl.OpaquePythonObject(Action(Probe(ProbeKind.EXEC, command=a.str_list("command"))))


@builtin("probe", "initial_delay_secs timeout_secs period_secs success_threshold failure_threshold "
         "exec http_get tcp_socket")
def _probe(st: EvalState, a: Args) -> object:
    actions = [a.raw(k) for k in ("exec", "http_get", "tcp_socket") if a.has(k)]
    if len(actions) != 1:
        raise TiltfileError("probe() needs exactly one of exec=, http_get=, tcp_socket=",
                            hint="e.g. probe(http_get=http_get_action(port=8080))")
    action = actions[0]
    if not isinstance(action, Action):
        raise TiltfileError("probe(): the action must come from http_get_action(), "
                            "tcp_socket_action() or exec_action()",
                            hint="e.g. http_get=http_get_action(port=8080, path='/healthz')")
    return sl.OpaquePythonObject(replace(
        action.probe,
        initial_delay_secs=a.number("initial_delay_secs", 0.0),
        timeout_secs=a.number("timeout_secs", 1.0),
        period_secs=a.number("period_secs", 10.0),
        success_threshold=a.integer("success_threshold", 1),
        failure_threshold=a.integer("failure_threshold", 3),
    ))


def as_probe(a: Args, name: str) -> Probe | None:
    value = a.raw(name)
    if value is None:
        return None
    if isinstance(value, Probe):
        return value
    raise TiltfileError(f"{a.fname}: `{name}` must be a probe()",
                        hint=f"pass {name}=probe(http_get=http_get_action(port=8080))")
