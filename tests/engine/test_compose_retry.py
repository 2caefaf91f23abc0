"""An edit to a Compose project gives its failed services another `up`, as Tilt re-runs `up`
for an edited project; services that run, and edits that change nothing, are left alone."""

from __future__ import annotations

from engine_sim import ROOT, config

from lockstep.model.resource import ComposeSpec, Resource, ResourceKind
from lockstep.model.update import ReasonKind
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState, RuntimeStatus


def service(name: str, project_digest: str, config_digest: str = "same") -> Resource:
    return Resource(name, ResourceKind.COMPOSE, compose=ComposeSpec(
        (f"{ROOT}/docker-compose.yml",), name, project="shop", config_digest=config_digest,
        project_digest=project_digest))


def load(state: EngineState, digest: str, at: float, **config_digests: str) -> EngineState:
    rs = [service(n, digest, config_digests.get(n, "same")) for n in ("db", "web", "worker", "job")]
    return reduce(state, A.ConfigLoaded(config(*rs), at, runtimes=frozenset({"db", "web", "worker", "job"})))


def deployed() -> EngineState:
    s = load(EngineState(), "p1", 0.0)
    for uid, (name, ok) in enumerate([("db", True), ("web", False), ("worker", True), ("job", True)], 1):
        s = reduce(s, A.UpdateStarted(uid, name, 1.0))
        s = reduce(s, A.UpdateFinished(uid, name, ok, 2.0))
    for name in ("db", "worker", "job"):
        s = reduce(s, A.RuntimeStarted(name, 2.0))
        s = reduce(s, A.RuntimeReady(name, True, 2.1))
    # worker's container exited non-zero after its start: crashed.
    s = reduce(s, A.RuntimeExited("worker", 3, 2.5))
    assert s.statuses["worker"].runtime is RuntimeStatus.CRASHED
    return s


def pending(s: EngineState) -> dict[str, list[ReasonKind]]:
    return {n: [r.kind for r in st.pending] for n, st in s.statuses.items() if st.pending}


def test_a_project_edit_retries_failed_and_crashed_services_only() -> None:
    s = load(deployed(), "p2", 5.0)
    assert pending(s) == {"web": [ReasonKind.CONFIG], "worker": [ReasonKind.CONFIG]}


def test_an_unchanged_project_retries_nothing() -> None:
    assert pending(load(deployed(), "p1", 5.0)) == {}


def test_a_service_of_its_own_changed_definition_reruns_whatever_its_state() -> None:
    s = load(deployed(), "p2", 5.0, db="edited")
    assert pending(s) == {"db": [ReasonKind.CONFIG], "web": [ReasonKind.CONFIG], "worker": [ReasonKind.CONFIG]}


def test_a_disabled_failed_service_stays_put() -> None:
    s = reduce(deployed(), A.SetEnabled("web", False, 4.0))
    assert "web" not in pending(load(s, "p2", 5.0))


def test_an_edit_during_a_failing_up_retries_it_when_it_ends() -> None:
    # The fix lands while `up` runs with the project as it was: that `up` fails, and the
    # project read since is what the retry is for. One still running that succeeds is left alone.
    s = load(EngineState(), "p1", 0.0)
    s = reduce(s, A.UpdateStarted(1, "web", 1.0))
    s = reduce(s, A.UpdateStarted(2, "db", 1.0))
    s = load(s, "p2", 1.5)
    assert pending(s) == {"worker": [ReasonKind.INITIAL], "job": [ReasonKind.INITIAL]}
    s = reduce(s, A.UpdateFinished(1, "web", False, 2.0))
    s = reduce(s, A.UpdateFinished(2, "db", True, 2.0))
    assert pending(s)["web"] == [ReasonKind.CONFIG] and "db" not in pending(s)
    # It is retried once: the retry's own failure waits for the next edit.
    s = reduce(s, A.UpdateStarted(3, "web", 3.0))
    s = reduce(s, A.UpdateFinished(3, "web", False, 4.0))
    assert "web" not in pending(s)


def test_an_edit_during_a_cancelled_up_is_not_a_retry() -> None:
    s = load(EngineState(), "p1", 0.0)
    s = reduce(s, A.UpdateStarted(1, "web", 1.0))
    s = load(s, "p2", 1.5)
    s = reduce(s, A.SetEnabled("web", False, 1.6))
    s = reduce(s, A.UpdateFinished(1, "web", False, 2.0, "cancelled", cancelled=True))
    assert "web" not in pending(s)
