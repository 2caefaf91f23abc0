"""Table-driven tests of the pure scheduler, one group per contract rule."""

from __future__ import annotations

from dataclasses import replace

from engine_sim import ROOT, Sim, config, loaded_action, local

from lockstep.engine.checker import check_history
from lockstep.engine.scheduler import next_updates
from lockstep.model.pmap import changed_keys
from lockstep.model.resource import TriggerMode
from lockstep.model.update import HoldKind, ReasonKind, UpdateResult
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState, RuntimeStatus


def loaded(*resources, **settings) -> EngineState:  # type: ignore[no-untyped-def]
    return reduce(EngineState(), loaded_action(config(*resources, **settings), 0.0))


def holds(state: EngineState, name: str) -> set[HoldKind]:
    return {h.kind for h in next_updates(state).holds.get(name, ())}


def start(state: EngineState, name: str, uid: int, at: float = 0.0) -> EngineState:
    return reduce(state, A.UpdateStarted(uid, name, at))


def finish(state: EngineState, name: str, uid: int, ok: bool = True, at: float = 1.0) -> EngineState:
    return reduce(state, A.UpdateFinished(uid, name, ok, at))


# C1 ----------------------------------------------------------------------


def test_c1_initial_builds_wait_for_upstreams() -> None:
    s = loaded(local("a"), local("b", ups=("a",)), local("c", ups=("b",)))
    d = next_updates(s)
    assert d.starts == ("a",)
    assert HoldKind.WAITING_ON_UPSTREAM in holds(s, "b")
    # The nearest upstream that is not clear is named; b's own hold names a.
    assert next_updates(s).holds["c"][0].subjects == ("b",)


def test_c1_holds_on_every_update_not_only_the_first() -> None:
    sim = Sim(config(local("ui", deps=("ui",)), local("image", deps=("image",), ups=("ui",))))
    for i in range(5):
        sim.edit(10.0 + i * 3, "ui/a.js")
        sim.edit(10.5 + i * 3, "image/Dockerfile")
    sim.run()
    assert check_history(sim.records(), quiescent=True) == []
    ui = [r for r in sim.records() if r.resource == "ui"]
    image = [r for r in sim.records() if r.resource == "image"]
    assert len(ui) == 6
    # Every ui update is followed by an image update that started after it ended.
    for u in ui:
        assert any(i.start >= (u.end or 0) for i in image)


def test_c1_upstream_runtime_must_be_ready() -> None:
    api = replace(local("api"), local=replace(local("api").local, serve_cmd=local("x").local.cmd))  # type: ignore[arg-type]
    s = loaded(api, local("e2e", ups=("api",)))
    s = finish(start(s, "api", 1), "api", 1)
    assert s.statuses["api"].runtime is RuntimeStatus.STARTING
    assert HoldKind.WAITING_ON_UPSTREAM in holds(s, "e2e")
    s = reduce(s, A.RuntimeReady("api", True, 2.0))
    assert next_updates(s).starts == ("e2e",)


# C2 ----------------------------------------------------------------------


def test_c2_success_propagates_once_to_dependents() -> None:
    s = loaded(local("a"), local("b"), local("c", ups=("a", "b")))
    s = finish(start(s, "a", 1), "a", 1)
    s = finish(start(s, "b", 2), "b", 2)
    reasons = s.statuses["c"].pending
    assert {r.kind for r in reasons} == {ReasonKind.INITIAL, ReasonKind.UPSTREAM}
    assert next_updates(s).starts == ("c",)
    s = finish(start(s, "c", 3), "c", 3)
    assert not s.statuses["c"].pending


def test_c2_crash_restart_does_not_propagate() -> None:
    s = loaded(local("a"), local("b", ups=("a",)))
    s = finish(start(s, "a", 1), "a", 1)
    s = finish(start(s, "b", 2), "b", 2)
    s = reduce(s, A.RuntimeExited("a", 1, 3.0))
    s = reduce(s, A.RuntimeStarted("a", 4.0))
    assert not s.statuses["b"].pending


def test_c2_propagation_can_be_turned_off() -> None:
    s = loaded(local("a"), local("b", ups=("a",)), propagate=False)
    s = finish(start(s, "a", 1), "a", 1)
    s = finish(start(s, "b", 2), "b", 2)
    s = finish(start(s, "a", 3), "a", 3)
    assert not s.statuses["b"].pending
    # ... or per resource: b stays put when a is updated again.
    s2 = loaded(local("a"), local("b", ups=("a",), propagate=False))
    s2 = finish(start(s2, "a", 1), "a", 1)
    s2 = finish(start(s2, "b", 2), "b", 2)
    s2 = finish(start(s2, "a", 3), "a", 3)
    assert not s2.statuses["b"].pending


# C3 ----------------------------------------------------------------------


def test_c3_quiet_window_delays_file_triggered_start() -> None:
    s = loaded(local("a", deps=("src",)))
    s = finish(start(s, "a", 1), "a", 1)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/src/x"}), 5.0))
    d = next_updates(s)
    assert d.starts == () and d.wake_at == 5.2
    assert HoldKind.QUIET_WINDOW in holds(s, "a")
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/src/y"}), 5.1))
    assert next_updates(s).wake_at == 5.3
    s = reduce(s, A.Tick(5.3))
    assert next_updates(s).starts == ("a",)
    s = start(s, "a", 2, at=5.3)
    assert s.statuses["a"].running is not None
    assert s.statuses["a"].running.reasons[0].paths == (f"{ROOT}/src/x", f"{ROOT}/src/y")


def test_c3_max_wait_caps_a_never_quiet_stream() -> None:
    s = loaded(local("a", deps=("src",)))
    s = finish(start(s, "a", 1), "a", 1)
    t = 2.0
    while t < 12.5:
        s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/src/x"}), t))
        if next_updates(s).starts:
            break
        t += 0.1
    assert next_updates(s).starts == ("a",)
    assert t <= 12.15  # pending since 2.0 + max wait 10 s, on a 0.1 s grid


# C4 ----------------------------------------------------------------------


def test_c4_writer_exclusion_and_inference() -> None:
    s = loaded(local("gen", deps=("api",)), local("image", deps=("site",)))
    s = finish(start(s, "gen", 1), "gen", 1)
    s = finish(start(s, "image", 2), "image", 2)
    s = start(s, "gen", 3, at=3.0)
    changed = f"{ROOT}/site/index.html"
    s = reduce(s, A.FilesChanged(frozenset({changed}), 3.5))
    # A coincidence alone: a short hold, no edge.
    assert s.inferred == frozenset()
    assert HoldKind.CHECKING_WRITERS in holds(s, "image")
    s = reduce(s, A.WriterEvidence("gen", "image", (changed,), "pid 7 `gen` had site/index.html open", 3.6))
    assert ("gen", "image") in s.inferred
    assert s.evidence[("gen", "image")] == "pid 7 `gen` had site/index.html open"
    assert {HoldKind.WAITING_FOR_WRITERS, HoldKind.WAITING_ON_UPSTREAM} <= holds(s, "image")
    s = finish(s, "gen", 3, at=4.0)
    # writer done: the files must be quiet again
    assert HoldKind.QUIET_WINDOW in holds(s, "image")
    s = reduce(s, A.Tick(4.2))
    assert next_updates(s).starts == ("image",)


def test_c4_change_without_evidence_holds_at_most_a_second_beyond_quiet() -> None:
    s = loaded(local("long", deps=("a",)), local("b", deps=("b",)))
    s = finish(start(s, "b", 1), "b", 1)
    s = start(s, "long", 2, at=1.0)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/b/f"}), 10.0))
    d = next_updates(s)
    hold = next(h for h in d.holds["b"] if h.kind is HoldKind.CHECKING_WRITERS)
    assert hold.subjects == ("long",) and hold.until == 10.0 + 0.2 + 1.0
    assert d.wake_at == 10.2
    s = reduce(s, A.Tick(11.1))
    assert next_updates(s).starts == ()
    s = reduce(s, A.Tick(11.2))
    assert next_updates(s).starts == ("b",)
    assert s.inferred == frozenset() and s.evidence == {}


def test_c4_a_running_declared_upstream_is_no_suspect() -> None:
    """C1 already holds the reader for its upstream: no writer check, no evidence, no edge talk."""
    s = loaded(local("stage", deps=("src",)), local("mid", ups=("stage",)), local("serve", deps=("out",), ups=("mid",)))
    for i, n in enumerate(("stage", "mid", "serve"), 1):
        s = finish(start(s, n, i), n, i)
    s = start(s, "stage", 4, at=3.0)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/out/image.json"}), 3.5))
    assert s.statuses["serve"].suspects == frozenset()
    assert HoldKind.CHECKING_WRITERS not in holds(s, "serve")
    assert HoldKind.WAITING_ON_UPSTREAM in holds(s, "serve")


def test_c4_repeated_coincidence_over_separate_runs_is_evidence() -> None:
    s = loaded(local("w", deps=("w",)), local("r", deps=("out",)))
    for run in range(3):
        uid = 10 + run
        s = start(s, "w", uid, at=run * 10.0)
        assert s.inferred == frozenset()
        s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/out/x"}), run * 10.0 + 1))
        s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/out/y"}), run * 10.0 + 2))
        s = finish(s, "w", uid, at=run * 10.0 + 3)
    assert s.inferred == frozenset({("w", "r")})
    assert s.evidence[("w", "r")] == "r's files changed during 3 separate runs of w (#10, #11, #12)"


def test_c4_coincidences_do_not_count_when_the_files_also_change_while_w_is_idle() -> None:
    s = loaded(local("w", deps=("w",)), local("r", deps=("out",)))
    for run in range(4):
        uid = 10 + run
        s = start(s, "w", uid, at=run * 10.0)
        s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/out/x"}), run * 10.0 + 1))
        s = finish(s, "w", uid, at=run * 10.0 + 3)
        if run == 1:  # the user edits r's files between two runs of w
            s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/out/x"}), run * 10.0 + 5))
    assert s.inferred == frozenset()


def test_c4_disabled_inferred_upstream_holds_nothing() -> None:
    s = loaded(local("long", deps=("a",)), local("b", deps=("b",)))
    s = reduce(s, A.RestoreInferred(frozenset({("long", "b")}), 0.0, ((("long", "b"), "pid 1 `x` wrote"),)))
    assert s.evidence[("long", "b")] == "pid 1 `x` wrote"
    s = reduce(s, A.SetEnabled("long", False, 0.0))
    assert next_updates(s).starts == ("b",)
    # Not in force, so not recorded as one (the checker would see b start before long ever ran).
    s = finish(start(s, "b", 1), "b", 1)
    assert s.history[-1].upstreams == frozenset()
    assert check_history(list(s.history)) == []


def test_c1_disabled_declared_upstream_is_named_with_the_fix() -> None:
    s = loaded(local("next-app"), local("api", ups=("next-app",)))
    s = reduce(s, A.SetEnabled("next-app", False, 0.0))
    texts = [h.describe() for h in next_updates(s).holds["api"]]
    assert texts == ["waiting on next-app (disabled: `lockstep enable next-app`)"]


def test_c4_no_inference_from_paths_the_writer_itself_watches() -> None:
    s = loaded(local("a", deps=("shared",)), local("b", deps=("shared",)))
    s = start(s, "a", 1)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/shared/x"}), 0.5))
    assert s.inferred == frozenset()


def test_c4_inference_never_closes_a_cycle() -> None:
    s = loaded(local("a", deps=("a",)), local("b", deps=("b",), ups=("a",)))
    s = finish(start(s, "a", 1), "a", 1)
    s = start(s, "b", 2)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/a/out"}), 1.5))
    assert ("b", "a") not in s.inferred


def test_c4_tainted_run_is_rerun() -> None:
    s = loaded(local("a", deps=("src",)))
    s = start(s, "a", 1)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/src/x"}), 0.5))
    s = finish(s, "a", 1)
    assert s.statuses["a"].last is not None and s.statuses["a"].last.tainted
    assert ReasonKind.TAINTED in {r.kind for r in s.statuses["a"].pending}


def test_c4_broken_setup_converges_without_resource_deps() -> None:
    sim = Sim(
        config(local("ui", deps=("ui",)), local("image", deps=("site",))),
        duration=lambda n, i: 2.0 if n == "ui" else 1.0,
        writes={"ui": ("site/index.html",)},
    )
    for i in range(20):
        sim.edit(20.0 + 5 * i, "ui/app.js")
    sim.run()
    assert ("ui", "image") in sim.state.inferred
    assert check_history(sim.records(), quiescent=True) == []
    image = [r for r in sim.records() if r.resource == "image"]
    ui = [r for r in sim.records() if r.resource == "ui"]
    first_inferred_end = min(u.end or 0 for u in ui if u.start >= 0)
    for i in image:
        if i.start > first_inferred_end:
            assert not any(u.start < (i.end or 0) and i.start < (u.end or 0) for u in ui)


# C5 ----------------------------------------------------------------------


def test_c5_changes_during_update_coalesce_into_one_rerun() -> None:
    sim = Sim(config(local("a", deps=("src",))), duration=lambda n, i: 5.0)
    for k in range(10):
        sim.edit(1.0 + k * 0.3, "src/f")
    sim.run()
    assert [len(sim.starts)] == [2]


# C6 ----------------------------------------------------------------------


def test_c6_failed_upstream_blocks_until_it_recovers() -> None:
    s = loaded(local("a", deps=("a",)), local("b", ups=("a",)))
    s = finish(start(s, "a", 1), "a", 1, ok=False)
    assert holds(s, "b") == {HoldKind.UPSTREAM_FAILED}
    assert next_updates(s).holds["b"][0].describe() == "blocked: upstream a failed"
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/a/x"}), 2.0))
    s = reduce(s, A.Tick(2.2))
    s = finish(start(s, "a", 2, at=2.2), "a", 2, at=3.0)
    assert next_updates(s).starts == ("b",)


# C7 ----------------------------------------------------------------------


def test_c7_parallel_limit() -> None:
    s = loaded(*(local(f"r{i}") for i in range(5)), max_parallel_updates=3)
    d = next_updates(s)
    assert d.starts == ("r0", "r1", "r2")
    assert holds(s, "r3") == {HoldKind.PARALLEL_LIMIT}


def test_c7_serial_local_runs_alone() -> None:
    s = loaded(local("a", parallel=False), local("b"), local("c", parallel=False))
    d = next_updates(s)
    assert d.starts == ("a",)
    assert holds(s, "b") == {HoldKind.LOCAL_SERIAL}
    s = finish(start(s, "a", 1), "a", 1)
    assert next_updates(s).starts == ("b",)


# Trigger modes, enable/disable ----------------------------------------------


def test_manual_mode_holds_file_changes_until_triggered() -> None:
    s = loaded(local("m", deps=("src",), trigger_mode=TriggerMode.MANUAL))
    assert next_updates(s).starts == ("m",)  # auto_init initial update
    s = finish(start(s, "m", 1), "m", 1)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/src/x"}), 2.0))
    s = reduce(s, A.Tick(3.0))
    assert holds(s, "m") == {HoldKind.MANUAL}
    s = reduce(s, A.Trigger("m", 4.0))
    assert next_updates(s).starts == ("m",)


def test_auto_init_false_waits_for_trigger() -> None:
    s = loaded(local("m", auto_init=False))
    assert next_updates(s).starts == ()
    s = reduce(s, A.Trigger("m", 1.0))
    assert next_updates(s).starts == ("m",)


def test_disable_and_enable() -> None:
    s = loaded(local("a"))
    s = reduce(s, A.SetEnabled("a", False, 0.5))
    assert next_updates(s).starts == ()
    s = reduce(s, A.SetEnabled("a", True, 1.0))
    assert next_updates(s).starts == ("a",)


def test_config_change_reruns_only_changed_resources() -> None:
    s = loaded(local("a"), local("b"))
    s = finish(start(s, "a", 1), "a", 1)
    s = finish(start(s, "b", 2), "b", 2)
    changed = replace(local("b"), labels=("x",))
    s = reduce(s, loaded_action(config(local("a"), changed), 3.0))
    assert not s.statuses["a"].pending
    assert [r.kind for r in s.statuses["b"].pending] == [ReasonKind.CONFIG]


def test_failed_update_record() -> None:
    s = loaded(local("a"))
    s = finish(start(s, "a", 1), "a", 1, ok=False)
    assert s.history[-1].result is UpdateResult.FAILED


def test_c4_inferred_edges_order_but_do_not_propagate() -> None:
    s = loaded(local("slow", deps=("a",)), local("b", deps=("b",)))
    s = finish(start(s, "slow", 1), "slow", 1)
    s = finish(start(s, "b", 2), "b", 2)
    # slow seen writing b's files (an inferred edge) ...
    s = start(s, "slow", 3, at=2.0)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/b/x"}), 2.5))
    s = reduce(s, A.WriterEvidence("slow", "b", (f"{ROOT}/b/x",), "seen", 2.6))
    assert ("slow", "b") in s.inferred
    s = finish(s, "slow", 3, at=3.0)
    s = reduce(s, A.Tick(3.2))
    s = finish(start(s, "b", 4, at=3.2), "b", 4, at=3.5)
    # ... which orders b after slow but never rebuilds b because slow rebuilt.
    s = finish(start(s, "slow", 5, at=4.0), "slow", 5, at=5.0)
    assert not s.statuses["b"].pending


def test_c4_no_inference_for_an_already_transitive_upstream() -> None:
    s = loaded(local("image"), local("load", ups=("image",)), local("serve", deps=("image-dir",), ups=("load",)))
    s = start(s, "image", 1)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/image-dir/manifest.json"}), 0.5))
    assert s.inferred == frozenset()


def test_forgetting_no_edges_forgets_nothing_and_forgetting_all_is_its_own_action() -> None:
    s = loaded(local("a"), local("b"), local("c"))
    s = reduce(s, A.RestoreInferred(frozenset({("a", "b"), ("b", "c")}), 0.0))
    assert s.inferred == {("a", "b"), ("b", "c")}
    assert reduce(s, A.ForgetInferred(frozenset(), 1.0)).inferred == s.inferred
    assert reduce(s, A.ForgetInferred(frozenset({("a", "b")}), 1.0)).inferred == {("b", "c")}
    gone = reduce(s, A.ForgetAllInferred(1.0))
    assert gone.inferred == frozenset() and gone.topology.ups["b"] == frozenset()


def test_probe_results_count_consecutive_failures() -> None:
    s = loaded(local("web", serve=True))
    s = reduce(s, A.ProbeResult("web", False, "connection refused (localhost:1)", 1.0))
    s = reduce(s, A.ProbeResult("web", False, "HTTP 503 Service Unavailable", 2.0))
    p = s.statuses["web"].probe
    assert p is not None and (p.ok, p.failures, p.since, p.at) == (False, 2, 1.0, 2.0)
    assert p.detail == "HTTP 503 Service Unavailable"
    s = reduce(s, A.ProbeResult("web", True, "HTTP 200 OK", 3.0))
    p = s.statuses["web"].probe
    assert p is not None and (p.ok, p.failures, p.since) == (True, 0, 3.0)
    # A new process starts with no probe result.
    assert reduce(s, A.RuntimeStarted("web", 4.0)).statuses["web"].probe is None


def test_c4_a_finishing_writer_releases_exactly_the_readers_it_held() -> None:
    """The writer -> readers index: an update's end touches only its readers and dependents."""
    s = loaded(*(local(f"r{i}", deps=(f"d{i}",)) for i in range(40)), local("gen", deps=("api",)))
    for i, n in enumerate([*(f"r{i}" for i in range(40)), "gen"], 1):
        s = finish(start(s, n, i), n, i)
    s = start(s, "gen", 100, at=3.0)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/d1/x", f"{ROOT}/d2/x"}), 3.5))
    s = reduce(s, A.WriterEvidence("gen", "r1", (f"{ROOT}/d1/x",), "seen", 3.6))
    assert s.held_by == {"gen": frozenset({"r1", "r2"})}
    assert s.statuses["r1"].writers == {"gen"} and s.statuses["r2"].suspects == {"gen"}
    before = s.statuses
    s = finish(s, "gen", 100, at=4.0)
    assert s.held_by == {}
    assert s.statuses["r1"].writers == frozenset() and s.statuses["r1"].last_change == 4.0
    assert s.statuses["r2"].suspects == frozenset()
    assert sorted(changed_keys(before, s.statuses) or []) == ["gen", "r1", "r2"]


def test_c4_the_writer_index_survives_a_reload_and_forgets_removed_resources() -> None:
    s = loaded(local("gen", deps=("api",)), local("image", deps=("site",)), local("doc", deps=("docs",)))
    for i, n in enumerate(("gen", "image", "doc"), 1):
        s = finish(start(s, n, i), n, i)
    s = start(s, "gen", 4, at=3.0)
    s = reduce(s, A.FilesChanged(frozenset({f"{ROOT}/site/a", f"{ROOT}/docs/b"}), 3.5))
    assert s.held_by == {"gen": frozenset({"image", "doc"})}
    s = reduce(s, loaded_action(config(local("gen", deps=("api",)), local("image", deps=("site",))), 3.6))
    assert s.held_by == {"gen": frozenset({"image"})} and isinstance(s.held_by["gen"], frozenset)
    s = finish(s, "gen", 4, at=4.0)
    assert s.held_by == {} and s.statuses["image"].suspects == frozenset()
