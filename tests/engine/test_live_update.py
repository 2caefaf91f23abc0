"""LiveUpdater: when a live update is tried, what it does in a container, and how it retries.

The containers here are recorders (the real ones, docker exec and kubectl exec, are in the
e2e and stand-in tests); the tars are real, read from real files.
"""

from __future__ import annotations

import asyncio
import tarfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from lockstep.adapters.live_sync import write_tar
from lockstep.engine.live_update import LiveUpdater
from lockstep.engine.runners import UpdateJob
from lockstep.model.liveupdate import Copy, LivePlan, Rebuild
from lockstep.model.resource import ImageTarget, LiveUpdateKind, LiveUpdateStep, Resource, ResourceKind
from lockstep.model.update import Outputs, Reason, ReasonKind


class Recorder:
    def __init__(self, fail_run: str = "") -> None:
        self.calls: list[tuple[str, ...]] = []
        self.members: list[str] = []
        self.fail_run = fail_run

    @property
    def label(self) -> str:
        return "web"

    async def extract(self, tar_path: str, log: object) -> int:
        with tarfile.open(tar_path) as tar:
            self.members = [m.name for m in tar.getmembers()]
        self.calls.append(("extract",))
        return 0

    async def remove(self, paths: Sequence[str], log: object) -> int:
        self.calls.append(("rm", *paths))
        return 0

    async def run(self, argv: Sequence[str], log: object) -> int:
        self.calls.append(("run", *argv))
        return 1 if self.fail_run and self.fail_run in argv else 0

    async def restart(self, log: object) -> int:
        self.calls.append(("restart",))
        return 0


def _image(root: Path) -> ImageTarget:
    steps = (LiveUpdateStep(LiveUpdateKind.SYNC, local_path=str(root / "static"), remote_path="/www"),
             LiveUpdateStep(LiveUpdateKind.RUN, command=("sh", "-c", "check"), trigger=(str(root / "static" / "a"),)),
             LiveUpdateStep(LiveUpdateKind.RESTART_CONTAINER))
    return ImageTarget("web", context=str(root), live_update=steps, ignore=("**/*.tmp",))


DEPLOYED = Outputs(images=("web:tilt-1",))


def _job(img: ImageTarget, *reasons: Reason, previous: Outputs = DEPLOYED) -> UpdateJob:
    r = Resource("web", ResourceKind.COMPOSE, images=(img,))
    return UpdateJob.of(r, 2, reasons, previous)


def files(*paths: Path) -> Reason:
    return Reason(ReasonKind.FILES, tuple(str(p) for p in paths))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "static" / "sub").mkdir(parents=True)
    (tmp_path / "static" / "a").write_text("a")
    (tmp_path / "static" / "sub" / "b").write_text("b")
    (tmp_path / "static" / "sub" / "junk.tmp").write_text("x")
    return tmp_path


@pytest.mark.parametrize("reasons,previous,why", [
    ((Reason(ReasonKind.INITIAL),), Outputs(images=("web:tilt-1",)), "initial update"),
    ((Reason(ReasonKind.MANUAL),), Outputs(images=("web:tilt-1",)), "no file changed"),
    ((Reason(ReasonKind.CONFIG), Reason(ReasonKind.FILES, ("/x",))), Outputs(images=("web:tilt-1",)),
     "Tiltfile definition changed"),
    ((Reason(ReasonKind.UPSTREAM, upstream="db"),), Outputs(images=("web:tilt-1",)), "no file changed"),
    ((Reason(ReasonKind.FILES, ("/x",)),), Outputs(), "nothing deployed yet"),
])
def test_when_a_live_update_is_not_tried(root: Path, reasons: tuple[Reason, ...], previous: Outputs,
                                          why: str) -> None:
    img = _image(root)
    assert LiveUpdater().decide(_job(img, *reasons, previous=previous), img) == Rebuild(why)


def test_file_changes_with_an_upstream_update_a_taint_or_a_trigger_are_live(root: Path) -> None:
    img = _image(root)
    job = _job(img, files(root / "static" / "a"), Reason(ReasonKind.UPSTREAM, upstream="ui"),
               Reason(ReasonKind.TAINTED), Reason(ReasonKind.MANUAL))
    got = LiveUpdater().decide(job, img)
    assert isinstance(got, LivePlan) and got.copies == (Copy(str(root / "static" / "a"), "/www/a"),)


def test_after_a_failed_build_the_next_update_rebuilds(root: Path) -> None:
    img = _image(root)
    lu = LiveUpdater()
    lu.rebuilt("web", ok=False)
    assert lu.decide(_job(img, files(root / "static" / "a")), img) == Rebuild("the last build failed")
    lu.rebuilt("web", ok=True)
    assert isinstance(lu.decide(_job(img, files(root / "static" / "a")), img), LivePlan)


def test_applies_deletions_then_the_tar_then_runs_then_restart(root: Path) -> None:
    img = _image(root)
    lu = LiveUpdater()
    job = _job(img, files(root / "static" / "a", root / "static" / "sub", root / "static" / "gone"))
    p = lu.decide(job, img)
    assert isinstance(p, LivePlan)
    c = Recorder()
    logs: list[str] = []
    done = asyncio.run(lu.apply(job, img, p, [c], lambda t, e: logs.append(t)))
    assert done.ok
    assert c.calls == [("rm", "/www/gone"), ("extract",), ("run", "sh", "-c", "check"), ("restart",)]
    # A directory goes whole, minus what the image ignores; members are container paths.
    assert c.members == ["www/a", "www/sub", "www/sub/b"]
    assert "Synced 2 files into web: /www/a, /www/sub/b" in logs


def test_a_failed_run_is_retried_with_the_next_change(root: Path) -> None:
    img = _image(root)
    lu = LiveUpdater()
    first = _job(img, files(root / "static" / "a"))
    p = lu.decide(first, img)
    assert isinstance(p, LivePlan)
    done = asyncio.run(lu.apply(first, img, p, [Recorder(fail_run="check")], lambda t, e: None))
    assert not done.ok and "run step `check` in web exited with code 1" in done.error
    # The next change is elsewhere; the failed attempt's files come along, so the trigger matches again.
    second = _job(img, files(root / "static" / "sub" / "b"))
    p2 = lu.decide(second, img)
    assert isinstance(p2, LivePlan) and p2.runs == (("sh", "-c", "check"),)
    assert [c.remote for c in p2.copies] == ["/www/a", "/www/sub/b"]
    assert asyncio.run(lu.apply(second, img, p2, [Recorder()], lambda t, e: None)).ok
    third = lu.decide(_job(img, files(root / "static" / "sub" / "b")), img)
    assert isinstance(third, LivePlan) and not third.runs


def test_a_file_written_while_the_tar_is_read_refuses_the_sync(root: Path) -> None:
    a = root / "static" / "a"

    def include(path: str) -> bool:
        a.write_text("a, longer now")  # a writer, caught after `a` was read
        return True

    tar = write_tar([Copy(str(a), "/www/a"), Copy(str(root / "static" / "sub"), "/www/sub")],
                    str(root / "t.tar"), include)
    assert not tar.stable
    calm = write_tar([Copy(str(a), "/www/a")], str(root / "u.tar"))
    assert calm.stable and calm.files == ("/www/a",)


def test_nothing_is_extracted_from_an_unstable_tar(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lockstep.engine.live_update as lu_mod
    from lockstep.adapters.live_sync import SyncTar

    monkeypatch.setattr(lu_mod, "write_tar", lambda copies, dest, *a: SyncTar(dest, ("/www/a",), False))
    img = _image(root)
    c = Recorder()
    done = asyncio.run(LiveUpdater().apply_plan(img, LivePlan((Copy(str(root / "static" / "a"), "/www/a"),)), [c],
                                                lambda t, e: None))
    assert not done.ok and "changed while they were read" in done.error and c.calls == []


def test_initial_sync_copies_every_sync_source_without_restart(root: Path) -> None:
    img = _image(root)
    got = LiveUpdater().initial(img)
    assert got is not None and got.copies == (Copy(str(root / "static"), "/www"),) and not got.restart


EDITOR_DROPPINGS = ("sub/.b.swp", "sub/b~", "sub/4913", "#a#", "a___jb_tmp___", "a___jb_old___",
                    ".idea/workspace.xml", ".a.kate-swp", "sub/flymake_b.py")


@pytest.mark.parametrize("custom", [False, True])
def test_editor_temp_files_are_never_synced_with_a_directory(root: Path, custom: bool) -> None:
    static = root / "static"
    for rel in EDITOR_DROPPINGS:
        (static / rel).parent.mkdir(parents=True, exist_ok=True)
        (static / rel).write_text("editor")
    (static / ".#a").symlink_to("user@host.1234:1")  # emacs' lock: a dangling link
    (static / "sub" / "sedAb12Cd").write_text("sed")  # not an editor's own: synced, as under Tilt
    img = _image(root)
    if custom:  # no build context filter at all: the editor files are still left out
        from dataclasses import replace

        from lockstep.model.resource import Cmd
        img = replace(img, custom_command=Cmd(("true",)), ignore=())
    lu = LiveUpdater()
    # The initial sync copies the whole sync source; a changed directory goes whole too.
    initial = lu.initial(img)
    changed = lu.decide(_job(img, files(static / "sub")), img)
    for p in (initial, changed):
        assert isinstance(p, LivePlan)
        c = Recorder()
        assert asyncio.run(lu.apply_plan(img, p, [c], lambda t, e: None)).ok
        assert "www/sub/sedAb12Cd" in c.members and "www/sub/b" in c.members
        assert not [m for m in c.members if any(m.endswith(rel) for rel in (*EDITOR_DROPPINGS, ".#a", ".idea"))], \
            c.members
