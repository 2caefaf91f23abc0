"""Argument shapes shared by several resource builtins: trigger modes, links, labels, deps."""

from __future__ import annotations

import starlark as sl

from lockstep.model.resource import Link, TriggerMode
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState

TRIGGER_MODES = {"TRIGGER_MODE_AUTO": TriggerMode.AUTO, "TRIGGER_MODE_MANUAL": TriggerMode.MANUAL}


def trigger_mode(a: Args, name: str = "trigger_mode") -> TriggerMode | None:
    value = a.raw(name)
    if value is None:
        return None
    if isinstance(value, str) and value in TRIGGER_MODES:
        return TRIGGER_MODES[value]
    raise TiltfileError(f"{a.fname}: `{name}` must be TRIGGER_MODE_AUTO or TRIGGER_MODE_MANUAL",
                        hint=f"pass {name}=TRIGGER_MODE_MANUAL")


def links(a: Args, name: str = "links") -> tuple[Link, ...]:
    out = []
    for item in a.items(name):
        if isinstance(item, str):
            out.append(Link(item))
        elif isinstance(item, Link):
            out.append(item)
        else:
            raise TiltfileError(f"{a.fname}: `{name}` entries must be URLs or link()",
                                hint=f"pass {name}=['http://localhost:8080'] or [link(url, name)]")
    return tuple(out)


def labels(a: Args) -> tuple[str, ...]:
    return a.str_list("labels")


@builtin("link", "url name", 1)
def _link(st: EvalState, a: Args) -> object:
    return sl.OpaquePythonObject(Link(a.string("url"), a.string("name")))


@builtin("trigger_mode", "trigger_mode", 1)
def _trigger_mode(st: EvalState, a: Args) -> None:
    # Sets the default for resources that do not pass their own trigger_mode.
    mode = trigger_mode(a)
    if mode is not None:
        st.default_trigger_mode = mode
