"""Each hold rule on its own, as a table: (situation, expected hold or None)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_sim import ROOT, config, loaded_action, local

from lockstep.engine import rules as R
from lockstep.engine.scheduler import next_updates
from lockstep.model.resource import TriggerMode
from lockstep.model.update import HoldKind, HoldReason
from lockstep.store import actions as A
from lockstep.store.reducers import reduce
from lockstep.store.state import EngineState

Step = Callable[[EngineState], EngineState]


def loaded(*resources, **settings) -> EngineState:  # type: ignore[no-untyped-def]
    return reduce(EngineState(), loaded_action(config(*resources, **settings), 0.0))


def run(*actions: A.Action) -> Step:
    def step(s: EngineState) -> EngineState:
        for a in actions:
            s = reduce(s, a)
        return s
    return step


def started(name: str, uid: int, at: float = 0.0) -> A.Action:
    return A.UpdateStarted(uid, name, at)


def finished(name: str, uid: int, ok: bool = True, at: float = 1.0) -> A.Action:
    return A.UpdateFinished(uid, name, ok, at)


def check(rule: R.Check, state: EngineState, name: str) -> HoldReason | None:
    return rule(R.Context.of(state), name)


def kind(h: HoldReason | None) -> tuple[HoldKind, tuple[str, ...]] | None:
    return None if h is None else (h.kind, h.subjects)


AB = (local("a", deps=("a",)), local("b", deps=("b",), ups=("a",)))
# a's files change while b (its dependent) runs: b is a suspect writer of them.
CHANGE_WHILE_B_RUNS = (
    started("a", 1), finished("a", 1), started("b", 2), A.FilesChanged(frozenset({f"{ROOT}/a/x"}), 1.5),
)
SEEN = A.WriterEvidence("b", "a", (f"{ROOT}/a/x",), "write_bytes grew", 1.6)

TABLE: list[tuple[str, R.Check, tuple[object, ...], Step, str, tuple[HoldKind, tuple[str, ...]] | None]] = [
    ("enabled", R.disabled, AB, run(), "a", None),
    ("disabled", R.disabled, AB, run(A.SetEnabled("a", False, 0.0)), "a", (HoldKind.DISABLED, ())),
    ("auto mode", R.manual, AB, run(), "a", None),
    ("manual mode, initial update", R.manual, (local("m", trigger_mode=TriggerMode.MANUAL),), run(), "m", None),
    ("manual mode, file change", R.manual, (local("m", deps=("m",), trigger_mode=TriggerMode.MANUAL),),
     run(started("m", 1), finished("m", 1), A.FilesChanged(frozenset({f"{ROOT}/m/x"}), 2.0)), "m",
     (HoldKind.MANUAL, ())),
    ("manual mode, triggered", R.manual, (local("m", deps=("m",), trigger_mode=TriggerMode.MANUAL),),
     run(started("m", 1), finished("m", 1), A.FilesChanged(frozenset({f"{ROOT}/m/x"}), 2.0),
         A.Trigger("m", 3.0)), "m", None),
    ("config quiet", R.tiltfile_reload, AB, run(), "a", None),
    ("Tiltfile changed", R.tiltfile_reload, AB, run(A.ConfigFilesChanged(frozenset(), 0.5)), "a",
     (HoldKind.TILTFILE_RELOAD, ())),
    ("reload requested", R.tiltfile_reload, AB, run(A.ReloadRequested(0.5)), "a", (HoldKind.TILTFILE_RELOAD, ())),
    ("Tiltfile being re-read", R.tiltfile_reload, AB,
     run(A.ConfigFilesChanged(frozenset(), 0.5), A.ConfigReloadStarted(1.0)), "a", (HoldKind.TILTFILE_RELOAD, ())),
    ("Tiltfile re-read", R.tiltfile_reload, AB,
     run(A.ConfigFilesChanged(frozenset(), 0.5), A.ConfigReloadStarted(1.0), loaded_action(config(*AB), 2.0)),
     "a", None),
    ("Tiltfile re-read and broken", R.tiltfile_reload, AB,
     run(A.ConfigFilesChanged(frozenset(), 0.5), A.ConfigReloadStarted(1.0), A.ConfigFailed((), 2.0)), "a", None),
    ("upstream fine", R.upstream_failed, AB, run(), "b", None),
    ("upstream failed", R.upstream_failed, AB, run(started("a", 1), finished("a", 1, ok=False)), "b",
     (HoldKind.UPSTREAM_FAILED, ("a",))),
    ("upstream failed, re-running", R.upstream_failed, AB,
     run(started("a", 1), finished("a", 1, ok=False), A.Trigger("a", 2.0), started("a", 2, 2.0)), "b", None),
    ("upstream not settled", R.upstream, AB, run(), "b", (HoldKind.WAITING_ON_UPSTREAM, ("a",))),
    ("upstream settled", R.upstream, AB, run(started("a", 1), finished("a", 1)), "b", None),
    ("no upstream", R.upstream, AB, run(), "a", None),
    ("suspect only, no evidence", R.writers, AB, run(*CHANGE_WHILE_B_RUNS), "a", None),
    ("seen writing", R.writers, AB, run(*CHANGE_WHILE_B_RUNS, SEEN), "a", (HoldKind.WAITING_FOR_WRITERS, ("b",))),
    ("writer done", R.writers, AB, run(*CHANGE_WHILE_B_RUNS, SEEN, finished("b", 2, at=2.0)), "a", None),
    ("change while another update runs", R.checking_writers, AB, run(*CHANGE_WHILE_B_RUNS), "a",
     (HoldKind.CHECKING_WRITERS, ("b",))),
    ("checked long enough", R.checking_writers, AB, run(*CHANGE_WHILE_B_RUNS, A.Tick(1.5 + 0.2 + 1.0)), "a", None),
    ("seen writing is not a suspect", R.checking_writers, AB, run(*CHANGE_WHILE_B_RUNS, SEEN), "a", None),
    ("upstream enabled", R.upstream_disabled, AB, run(), "b", None),
    ("upstream disabled", R.upstream_disabled, AB, run(A.SetEnabled("a", False, 0.0)), "b",
     (HoldKind.UPSTREAM_DISABLED, ("a",))),
    ("dependent reading", R.dependent_reading, AB,
     run(started("a", 1), finished("a", 1), started("b", 2), A.Trigger("a", 1.5)), "a",
     (HoldKind.WAITING_FOR_DEPENDENT, ("b",))),
    ("dependent idle", R.dependent_reading, AB, run(A.Trigger("a", 1.5)), "a", None),
    ("files still changing", R.quiet_window, AB,
     run(started("a", 1), finished("a", 1), A.FilesChanged(frozenset({f"{ROOT}/a/x"}), 2.0)), "a",
     (HoldKind.QUIET_WINDOW, ())),
    ("files quiet", R.quiet_window, AB,
     run(started("a", 1), finished("a", 1), A.FilesChanged(frozenset({f"{ROOT}/a/x"}), 2.0), A.Tick(2.5)), "a",
     None),
    ("triggered skips the window", R.quiet_window, AB,
     run(started("a", 1), finished("a", 1), A.FilesChanged(frozenset({f"{ROOT}/a/x"}), 2.0), A.Trigger("a", 2.0)),
     "a", None),
]

SERIAL = (local("s", parallel=False), local("p"), local("q"))

TABLE += [
    ("no local running", R.local_serial, SERIAL, run(), "s", None),
    ("a serial local running", R.local_serial, SERIAL, run(started("s", 1)), "p", (HoldKind.LOCAL_SERIAL, ("s",))),
    ("serial waits for any local", R.local_serial, SERIAL, run(started("p", 1)), "s",
     (HoldKind.LOCAL_SERIAL, ("p",))),
    ("parallel beside parallel", R.local_serial, SERIAL, run(started("p", 1)), "q", None),
    ("slots free", R.capacity, SERIAL, run(), "q", None),
    ("slots taken", R.capacity, (*SERIAL, local("r")), run(started("p", 1), started("q", 2), started("r", 3)), "s",
     (HoldKind.PARALLEL_LIMIT, ())),
]


@pytest.mark.parametrize(("what", "rule", "resources", "step", "name", "expected"), TABLE,
                         ids=[f"{row[1].__name__}: {row[0]}" for row in TABLE])
def test_rule(what: str, rule: R.Check, resources: tuple[object, ...], step: Step, name: str,
              expected: tuple[HoldKind, tuple[str, ...]] | None) -> None:
    assert kind(check(rule, step(loaded(*resources)), name)) == expected


def test_every_rule_has_a_row() -> None:
    assert {r.check for r in R.RULES} == {row[1] for row in TABLE}


def test_the_rules_are_asked_in_a_fixed_order() -> None:
    assert [r.name for r in R.RULES] == [
        "disabled", "manual", "tiltfile reload", "upstream failed", "upstream", "upstream disabled", "writers",
        "checking writers", "dependent reading", "quiet window", "local serial", "capacity",
    ]


def test_a_gate_hides_the_rest_and_a_slot_is_asked_only_when_nothing_else_holds() -> None:
    s = run(A.ConfigFilesChanged(frozenset(), 0.5))(loaded(*AB))
    assert [h.kind for h in R.holds_for(R.Context.of(s), "b")] == [HoldKind.TILTFILE_RELOAD]
    s = run(started("p", 1), started("q", 2), started("r", 3))(loaded(*SERIAL, local("r"), local("t", ups=("p",))))
    assert [h.kind for h in R.holds_for(R.Context.of(s), "t")] == [HoldKind.WAITING_ON_UPSTREAM]


def test_quiet_window_hold_wakes_the_engine_at_its_end() -> None:
    s = run(started("a", 1), finished("a", 1), A.FilesChanged(frozenset({f"{ROOT}/a/x"}), 2.0))(loaded(*AB))
    assert next_updates(s).wake_at == pytest.approx(2.2)


def test_nothing_starts_while_the_tiltfile_is_re_read() -> None:
    s = loaded(*AB)
    assert next_updates(s).starts == ("a",)
    s = reduce(s, A.ConfigFilesChanged(frozenset({f"{ROOT}/Tiltfile"}), 0.1))
    d = next_updates(s)
    assert d.starts == () and d.holds["a"] == (HoldReason(HoldKind.TILTFILE_RELOAD),)
    s = reduce(s, A.ConfigReloadStarted(0.5))
    assert next_updates(s).starts == ()
    s = reduce(s, loaded_action(config(*AB), 0.6))
    assert next_updates(s).starts == ("a",)
