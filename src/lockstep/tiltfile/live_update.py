"""Live-update steps: sync(), run(), fall_back_on(), initial_sync(), restart_container()."""

from __future__ import annotations

import starlark as sl

from lockstep.model.resource import LiveUpdateKind, LiveUpdateStep
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


def _step(st: EvalState, step: LiveUpdateStep) -> object:
    # Tilt rejects steps that are made but never passed to a live_update: usually a step
    # left outside the list by mistake. Kept by identity (equal steps may come from two lines).
    box = _Made(step)
    st.unused_steps[id(box)] = (box, st.call_location)
    return sl.OpaquePythonObject(box)


class _Made:
    __slots__ = ("step",)

    def __init__(self, step: LiveUpdateStep) -> None:
        self.step = step


@builtin("sync", "local_path remote_path", 2, located=True)
def _sync(st: EvalState, a: Args) -> object:
    return _step(st, LiveUpdateStep(LiveUpdateKind.SYNC, local_path=st.resolve(a.string("local_path")),
                                remote_path=a.string("remote_path")))


@builtin("run", "cmd trigger echo_off", 1, located=True)
def _run(st: EvalState, a: Args) -> object:
    cmd = a.cmd("cmd")
    triggers = tuple(st.resolve(p) for p in a.str_list("trigger"))
    return _step(st, LiveUpdateStep(LiveUpdateKind.RUN, command=cmd.argv, trigger=triggers))


@builtin("fall_back_on", "files", 1, located=True)
def _fall_back_on(st: EvalState, a: Args) -> object:
    paths = tuple(st.resolve(p) for p in a.str_list("files"))
    return _step(st, LiveUpdateStep(LiveUpdateKind.FALL_BACK_ON, paths=paths))


@builtin("initial_sync", located=True)
def _initial_sync(st: EvalState, a: Args) -> object:
    return _step(st, LiveUpdateStep(LiveUpdateKind.INITIAL_SYNC))


@builtin("restart_container", located=True)
def _restart_container(st: EvalState, a: Args) -> object:
    return _step(st, LiveUpdateStep(LiveUpdateKind.RESTART_CONTAINER))


# The order Tilt requires: initial_sync, fall_back_on..., sync..., run..., restart_container.
_RANK = {LiveUpdateKind.INITIAL_SYNC: 0, LiveUpdateKind.FALL_BACK_ON: 1, LiveUpdateKind.SYNC: 2,
         LiveUpdateKind.RUN: 3, LiveUpdateKind.RESTART_CONTAINER: 4}
_ORDER_ERRORS = {
    LiveUpdateKind.INITIAL_SYNC: "initial_sync() may appear at most once, at the start of the list",
    LiveUpdateKind.FALL_BACK_ON: "fall_back_on() steps must come first (after initial_sync())",
    LiveUpdateKind.SYNC: "all sync() steps must come before all run() steps",
    LiveUpdateKind.RUN: "restart_container() is only valid as the last step",
}


def steps(st: EvalState, a: Args, name: str = "live_update") -> tuple[LiveUpdateStep, ...]:
    out: list[LiveUpdateStep] = []
    for made in a.items(name):
        st.unused_steps.pop(id(made), None)
        item = made.step if isinstance(made, _Made) else made
        if not isinstance(item, LiveUpdateStep):
            raise TiltfileError(f"{a.fname}: every `{name}` entry must be a live-update step",
                                hint="use sync(), run(), fall_back_on(), initial_sync(), restart_container()")
        if out and (_RANK[item.kind] < _RANK[out[-1].kind] or
                    (item.kind is LiveUpdateKind.INITIAL_SYNC) or
                    (out[-1].kind is LiveUpdateKind.RESTART_CONTAINER)):
            kind = LiveUpdateKind.RUN if out[-1].kind is LiveUpdateKind.RESTART_CONTAINER else item.kind
            raise TiltfileError(f"{a.fname}: live_update: {_ORDER_ERRORS[kind]}",
                                hint="order the steps: initial_sync, fall_back_on, sync, run, restart_container")
        out.append(item)
    return tuple(out)


def check_unused_steps(st: EvalState) -> None:
    if st.errors or (st.dry_run and st.missing_inputs):
        return  # evaluation stopped or skipped statements: the steps' users may not have run
    for _, location in st.unused_steps.values():
        st.error("a live-update step was created but never used in a live_update=[...] list", location,
                 "pass it in live_update=[...] of docker_build()/custom_build(), or delete it")
