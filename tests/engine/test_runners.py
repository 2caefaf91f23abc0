"""Runners by kind: a job in, an outcome with outputs out; outputs kept for the next job."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine_sim import ROOT, config, local

from lockstep.adapters.process import Stream
from lockstep.engine.clock import FakeClock
from lockstep.engine.engine import Engine, EngineOptions
from lockstep.engine.runners import FunctionRunner, LogFn, Outcome, Runners, UpdateJob
from lockstep.logs.store import LogLevel, LogStore
from lockstep.model.resource import LoadResult, Resource, ResourceKind
from lockstep.model.update import Outputs, Reason, ReasonKind
from lockstep.store import actions as A


def test_a_job_names_the_changed_paths_of_its_reasons() -> None:
    reasons = (Reason(ReasonKind.FILES, ("/p/b", "/p/a")), Reason(ReasonKind.UPSTREAM, upstream="u"),
               Reason(ReasonKind.FILES, ("/p/a",)))
    job = UpdateJob.of(local("x"), 7, reasons, Outputs(images=("img:1",)))
    assert job.changed_paths == ("/p/a", "/p/b") and job.previous.images == ("img:1",) and job.update_id == 7


def test_the_registry_routes_by_kind_and_refuses_unknown_kinds_clearly() -> None:
    seen: list[str] = []

    async def local_fn(job: UpdateJob, log: LogFn) -> Outcome:
        seen.append(job.resource.name)
        return Outcome(True)

    runners = Runners({ResourceKind.LOCAL: FunctionRunner(local_fn)})
    noop: LogFn = lambda text, stream: None  # noqa: E731
    assert asyncio.run(runners.run(UpdateJob(local("a"), 1), noop)).ok and seen == ["a"]
    k8s = Resource(name="web", kind=ResourceKind.K8S)
    out = asyncio.run(runners.run(UpdateJob(k8s, 2), noop))
    assert not out.ok and "k8s resources are not supported" in out.error


def test_outputs_are_kept_and_handed_to_the_next_update(tmp_path: Path) -> None:
    jobs: list[UpdateJob] = []

    async def build(job: UpdateJob, log: LogFn) -> Outcome:
        jobs.append(job)
        log("compiling", Stream.STDOUT)
        log("warning: deprecated", Stream.STDERR)
        return Outcome(True, outputs=Outputs(images=(f"img:{job.update_id}",)))

    async def main() -> None:
        result = config(local("a", deps=("src",)))

        def loader(path: str, args: object) -> LoadResult:
            return result

        logs = LogStore(None)
        clock = FakeClock()
        engine = Engine(EngineOptions(tiltfile=f"{ROOT}/Tiltfile", state_dir=tmp_path), loader=loader,
                        runner=FunctionRunner(build), logs=logs, clock=clock)
        task = asyncio.ensure_future(engine.run())
        engine.initial_load()
        snap = await engine.wait_for(lambda s: "a" in s.state.statuses and s.state.statuses["a"].succeeded, 5)
        assert snap.state.statuses["a"].outputs.images == ("img:1",)
        engine.dispatch(A.FilesChanged(frozenset({f"{ROOT}/src/x.c"}), clock.now()))
        clock.advance(1.0)
        engine.dispatch(A.Tick(clock.now()))
        await engine.wait_for(lambda s: s.state.statuses["a"].outputs.images == ("img:2",), 5)
        assert jobs[1].previous.images == ("img:1",) and jobs[1].changed_paths == (f"{ROOT}/src/x.c",)
        levels = {ln.text: ln.level for ln in logs.tail("a", 10)}
        # The level comes from the text, not from the stream (stderr is kept as the line's stream).
        assert levels["compiling"] is LogLevel.INFO and levels["warning: deprecated"] is LogLevel.WARN
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
