"""Readiness probes: probe(), http_get_action(), tcp_socket_action(), exec_action().

Each returns a struct whose attributes can be read back (`p.period_secs`,
`p.http_get.port`), as in Tilt; passed into a builtin it is the typed value again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lockstep.model.resource import Probe, ProbeKind
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState
from lockstep.tiltfile.values import value_struct


@dataclass(frozen=True)
class Action:
    """A probe action before probe() gives it timings."""

    probe: Probe


def action_struct(action: Action) -> dict[str, Any]:
    p = action.probe
    if p.kind is ProbeKind.EXEC:
        return value_struct(action, command=list(p.command))
    if p.kind is ProbeKind.TCP:
        return value_struct(action, host=p.host, port=p.port)
    return value_struct(action, host=p.host, port=p.port, scheme=p.scheme, path=p.path)


def _port(a: Args) -> int:
    port = a.integer("port")
    if not 0 < port <= 65535:
        raise TiltfileError(f"{a.fname}(): port {port} is not in the valid range 1-65535", hint="pass port=8080")
    return port


@builtin("http_get_action", "port host scheme path", 1, struct=True)
def _http_get_action(st: EvalState, a: Args) -> object:
    scheme = a.string("scheme") or "http"
    if scheme.lower() not in ("http", "https"):
        raise TiltfileError(f"http_get_action(): scheme must be http or https, got {scheme!r}",
                            hint="pass scheme='https'")
    return action_struct(Action(Probe(
        ProbeKind.HTTP, host=a.string("host") or "localhost", port=_port(a),
        scheme=scheme.lower(), path=a.string("path"))))


@builtin("tcp_socket_action", "port host", 1, struct=True)
def _tcp_socket_action(st: EvalState, a: Args) -> object:
    return action_struct(Action(Probe(ProbeKind.TCP, host=a.string("host") or "localhost", port=_port(a))))


@builtin("exec_action", "command", 1, struct=True)
def _exec_action(st: EvalState, a: Args) -> object:
    command = a.str_list("command")
    if not command:
        raise TiltfileError("exec_action(): `command` cannot be empty", hint="pass command=['cat', '/tmp/ready']")
    return action_struct(Action(Probe(ProbeKind.EXEC, command=command)))


_TIMINGS = ("initial_delay_secs", "timeout_secs", "period_secs", "success_threshold", "failure_threshold")


@builtin("probe", "initial_delay_secs timeout_secs period_secs success_threshold failure_threshold "
         "exec http_get tcp_socket", struct=True)
def _probe(st: EvalState, a: Args) -> object:
    given = {k: a.raw(k) for k in ("exec", "http_get", "tcp_socket") if a.has(k)}
    if len(given) != 1:
        raise TiltfileError("probe() needs exactly one of exec=, http_get=, tcp_socket=",
                            hint="e.g. probe(http_get=http_get_action(port=8080))")
    (slot, action), = given.items()
    want = {"exec": ProbeKind.EXEC, "http_get": ProbeKind.HTTP, "tcp_socket": ProbeKind.TCP}[slot]
    if not isinstance(action, Action) or action.probe.kind is not want:
        maker = {"exec": "exec_action", "http_get": "http_get_action", "tcp_socket": "tcp_socket_action"}[slot]
        raise TiltfileError(f"probe(): `{slot}` must come from {maker}()",
                            hint=f"e.g. {slot}={maker}(...)")
    for k in _TIMINGS:
        if a.has(k) and a.number(k) < 0:
            raise TiltfileError(f"probe(): `{k}` cannot be negative", hint=f"pass {k}=1")
    probe = replace(
        action.probe,
        initial_delay_secs=a.number("initial_delay_secs", 0.0),
        timeout_secs=a.number("timeout_secs", 0.0) or 1.0,
        period_secs=a.number("period_secs", 0.0) or 10.0,
        success_threshold=a.integer("success_threshold", 0) or 1,
        failure_threshold=a.integer("failure_threshold", 0) or 3,
    )
    # Attributes read back as given (0 when not given), as Tilt's probe struct does.
    attrs: dict[str, Any] = {k: a.raw(k, 0) for k in _TIMINGS}
    for k in ("exec", "http_get", "tcp_socket"):
        attrs[k] = action_struct(action) if k == slot else None
    return value_struct(probe, **attrs)


def as_probe(a: Args, name: str) -> Probe | None:
    value = a.raw(name)
    if value is None:
        return None
    if isinstance(value, Probe):
        return value
    raise TiltfileError(f"{a.fname}: `{name}` must be a probe()",
                        hint=f"pass {name}=probe(http_get=http_get_action(port=8080))")
