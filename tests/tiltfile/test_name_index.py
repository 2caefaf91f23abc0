"""EvalState.names_in: the duplicate-name checks' index agrees with a walk of the list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lockstep.model.resource import Resource, ResourceKind
from lockstep.tiltfile.state import EvalState

_ops = st.lists(st.tuples(st.sampled_from(["local", "custom", "ask-local", "ask-custom"]),
                          st.sampled_from(["a", "b", "c", "d", "e"])), max_size=40)


@given(_ops)
def test_names_in_equals_the_names_of_the_list_after_any_appends(ops: list[tuple[str, str]]) -> None:
    state = EvalState(main_path="/t/Tiltfile", dry_run=False, subcommand="check", args=(), timeout=None)
    for op, name in ops:
        target = state.local_resources if op.endswith("local") else state.custom_deploys
        if op.startswith("ask"):
            assert (name in state.names_in(target)) == any(r.name == name for r in target)
        else:
            target.append(Resource(name=name, kind=ResourceKind.LOCAL))
    for target in (state.local_resources, state.custom_deploys):
        assert state.names_in(target) == {r.name for r in target}


def test_a_list_that_shrank_is_indexed_again() -> None:
    state = EvalState(main_path="/t/Tiltfile", dry_run=False, subcommand="check", args=(), timeout=None)
    state.local_resources.extend(Resource(name=n, kind=ResourceKind.LOCAL) for n in "abc")
    assert state.names_in(state.local_resources) == {"a", "b", "c"}
    del state.local_resources[1:]
    state.local_resources.append(Resource(name="z", kind=ResourceKind.LOCAL))
    assert state.names_in(state.local_resources) == {"a", "z"}


@given(st.lists(st.tuples(st.sampled_from(["/t/Tiltfile", "/t/sub/Tiltfile", "/ext/a/Tiltfile"]),
                          st.sampled_from([".", "src", "../x", "/abs", "~/h", "a/./b", ""])), max_size=30))
def test_resolve_remembers_the_same_answer_it_computes(calls: list[tuple[str, str]]) -> None:
    from lockstep.tiltfile.state import Frame

    state = EvalState(main_path="/t/Tiltfile", dry_run=False, subcommand="check", args=(), timeout=None)
    for file, path in calls:
        state.frames.append(Frame(file, file))
        assert state.resolve(path) == state._resolve(path)
        state.frames.pop()
