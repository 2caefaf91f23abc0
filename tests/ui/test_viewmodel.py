"""View models are pure: statuses, readiness and the critical path from plain values."""

from __future__ import annotations

from lockstep.model.resource import Cmd, LocalSpec, Resource, ResourceKind, TriggerMode
from lockstep.model.update import HoldKind, HoldReason, Reason, ReasonKind, UpdateRecord, UpdateResult
from lockstep.store.state import ProbeStatus, ResourceState, RuntimeStatus
from lockstep.ui.viewmodel import UpdateStatus, critical_path, is_ready, resource_view, update_status

R = Resource("api", ResourceKind.LOCAL, local=LocalSpec(cmd=Cmd(("true",))), labels=("back",))
OK = UpdateRecord(1, "api", (Reason(ReasonKind.INITIAL),), 10.0, 12.5, UpdateResult.SUCCEEDED)
FAILED = UpdateRecord(2, "api", (Reason(ReasonKind.MANUAL),), 13.0, 14.0, UpdateResult.FAILED, "exit 1")


def test_update_status_and_ready() -> None:
    held = (HoldReason(HoldKind.WAITING_ON_UPSTREAM, ("gen",)),)
    manual = (HoldReason(HoldKind.MANUAL),)
    pend = (Reason(ReasonKind.FILES, ("a.py",)),)
    cases = [
        (ResourceState("api"), (), UpdateStatus.PENDING, False),
        (ResourceState("api", last=OK), (), UpdateStatus.OK, True),
        (ResourceState("api", last=FAILED), (), UpdateStatus.ERROR, False),
        (ResourceState("api", last=OK, pending=pend), held, UpdateStatus.HELD, False),
        (ResourceState("api", last=OK, pending=pend), manual, UpdateStatus.PENDING, False),
        (ResourceState("api", running=OK), (), UpdateStatus.IN_PROGRESS, False),
        (ResourceState("api", enabled=False, last=OK), (), UpdateStatus.DISABLED, False),
        (ResourceState("api", last=OK, runtime=RuntimeStatus.STARTING), (), UpdateStatus.OK, False),
        (ResourceState("api", last=OK, runtime=RuntimeStatus.READY), (), UpdateStatus.OK, True),
    ]
    for s, holds, status, ready in cases:
        assert update_status(R, s, holds) is status, s
        assert is_ready(R, s) is ready, s


def test_resource_view_words() -> None:
    holds = (HoldReason(HoldKind.UPSTREAM_FAILED, ("gen",)),)
    v = resource_view(R, ResourceState("api", last=OK, pending=(Reason(ReasonKind.UPSTREAM, upstream="gen"),)), holds)
    assert v["hold_text"] == "blocked: upstream gen failed"
    assert v["pending"] == ["upstream gen updated"]
    assert v["last_duration"] == 2.5 and v["labels"] == ["back"]


def test_disabled_server_manual_resource_and_probe_words() -> None:
    server = Resource("web", ResourceKind.LOCAL, local=LocalSpec(serve_cmd=Cmd(("serve",))))
    v = resource_view(server, ResourceState("web", enabled=False, runtime=RuntimeStatus.PENDING), ())
    assert v["runtime_status"] == "disabled"
    manual = ResourceState("api", trigger_mode=TriggerMode.MANUAL)
    assert resource_view(R, manual, ())["note"] == "not started (manual)"
    assert resource_view(R, ResourceState("api"), ())["note"] == ""
    probing = ResourceState("web", runtime=RuntimeStatus.STARTING,
                            probe=ProbeStatus(False, "HTTP 503 Service Unavailable", 9.0, 5.0, 4))
    v = resource_view(server, probing, ())
    assert v["probe"] == {"ok": False, "detail": "HTTP 503 Service Unavailable", "since": 5.0, "failures": 4}
    assert v["probe_text"] == "failing (4 in a row): HTTP 503 Service Unavailable"


def test_critical_path_follows_the_gating_upstream() -> None:
    def rec(i: int, name: str, start: float, end: float, ups: tuple[str, ...] = ()) -> UpdateRecord:
        return UpdateRecord(i, name, (Reason(ReasonKind.INITIAL),), start, end, UpdateResult.SUCCEEDED, upstreams=ups)

    records = [
        rec(1, "gen", 0, 2),
        rec(2, "lint", 0, 1),
        rec(3, "ui", 2, 5, ("gen",)),
        rec(4, "api", 2, 3, ("gen", "lint")),
        rec(5, "image", 5, 9, ("ui", "api")),
        rec(6, "docs", 0, 4),
    ]
    assert critical_path(records) == [1, 3, 5]
    assert critical_path([]) == []


def test_config_is_reloading_from_the_change_until_the_evaluation_ends() -> None:
    from lockstep.store.state import EngineState
    from lockstep.ui.viewmodel import config_view

    assert config_view(EngineState())["reloading"] is False
    assert config_view(EngineState(config_dirty_since=1.0))["reloading"] is True
    assert config_view(EngineState(config_reload_requested=True))["reloading"] is True
    # The evaluation itself is running: a `wait` for a name it may add must keep waiting.
    assert config_view(EngineState(config_reloading=True))["reloading"] is True
