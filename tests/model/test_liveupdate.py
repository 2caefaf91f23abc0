"""The live-update planner, table by table, from Tilt's documented live_update semantics."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.model.liveupdate import Copy, LivePlan, Rebuild, plan, remote_of
from lockstep.model.resource import LiveUpdateKind as K
from lockstep.model.resource import LiveUpdateStep as S
from lockstep.tiltfile import load

SYNC_SRC = S(K.SYNC, local_path="/p/src", remote_path="/app/src")
SYNC_STATIC = S(K.SYNC, local_path="/p/static", remote_path="/www")
SYNC_FILE = S(K.SYNC, local_path="/p/package.json", remote_path="/app/package.json")
FALLBACK = S(K.FALL_BACK_ON, paths=("/p/src/settings.py", "/p/config"))
NPM = S(K.RUN, command=("sh", "-c", "npm install"), trigger=("/p/package.json",))
RELOAD = S(K.RUN, command=("sh", "-c", "touch /tmp/reload"), trigger=("/p/src/templates",))
ALWAYS = S(K.RUN, command=("date",))
RESTART = S(K.RESTART_CONTAINER)
STEPS = (FALLBACK, SYNC_SRC, SYNC_STATIC, SYNC_FILE, NPM, RELOAD, ALWAYS, RESTART)

CASES: list[tuple[str, dict[str, bool], LivePlan | Rebuild]] = [
    ("one file synced, untriggered runs only",
     {"/p/src/app.py": True},
     LivePlan((Copy("/p/src/app.py", "/app/src/app.py"),), (), (ALWAYS.command,), True)),
    ("a file deleted locally is removed in the container",
     {"/p/src/old.py": False, "/p/src/new.py": True},
     LivePlan((Copy("/p/src/new.py", "/app/src/new.py"),), ("/app/src/old.py",), (ALWAYS.command,), True)),
    ("a directory is synced whole",
     {"/p/static/img": True},
     LivePlan((Copy("/p/static/img", "/www/img"),), (), (ALWAYS.command,), True)),
    ("the sync source itself (a new directory)",
     {"/p/static": True},
     LivePlan((Copy("/p/static", "/www"),), (), (ALWAYS.command,), True)),
    ("a deleted directory is removed",
     {"/p/static/img": False},
     LivePlan((), ("/www/img",), (ALWAYS.command,), True)),
    ("a file sync, with its trigger",
     {"/p/package.json": True},
     LivePlan((Copy("/p/package.json", "/app/package.json"),), (), (NPM.command, ALWAYS.command), True)),
    ("a trigger directory matches files inside it",
     {"/p/src/templates/a.html": True},
     LivePlan((Copy("/p/src/templates/a.html", "/app/src/templates/a.html"),), (),
              (RELOAD.command, ALWAYS.command), True)),
    ("runs keep their written order",
     {"/p/src/templates/a.html": True, "/p/package.json": True},
     LivePlan((Copy("/p/package.json", "/app/package.json"),
               Copy("/p/src/templates/a.html", "/app/src/templates/a.html")), (),
              (NPM.command, RELOAD.command, ALWAYS.command), True)),
    ("a new directory reported with its files is copied once, whole",
     {"/p/static/img": True, "/p/static/img/a.png": True, "/p/static/img/b/c.png": True},
     LivePlan((Copy("/p/static/img", "/www/img"),), (), (ALWAYS.command,), True)),
    ("a deleted directory and its files: one removal",
     {"/p/static/img": False, "/p/static/img/a.png": False},
     LivePlan((), ("/www/img",), (ALWAYS.command,), True)),
    ("a file gone from a directory copied whole is still removed",
     {"/p/static/img": True, "/p/static/img/old.png": False},
     LivePlan((Copy("/p/static/img", "/www/img"),), ("/www/img/old.png",), (ALWAYS.command,), True)),
    ("a prefix is not a parent: /p/srcx is under no sync",
     {"/p/srcx/a.py": True},
     Rebuild("not under any sync(): /p/srcx/a.py")),
    ("a change under no sync rebuilds",
     {"/p/src/a.py": True, "/p/Dockerfile": True},
     Rebuild("not under any sync(): /p/Dockerfile")),
    ("fall_back_on (a file) rebuilds even though a sync covers it",
     {"/p/src/settings.py": True},
     Rebuild("fall_back_on matched: /p/src/settings.py")),
    ("fall_back_on (a directory) wins over the no-sync reason",
     {"/p/config/x.yaml": False, "/p/other": True},
     Rebuild("fall_back_on matched: /p/config/x.yaml")),
]


@pytest.mark.parametrize("changed,expected", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_plan(changed: dict[str, bool], expected: LivePlan | Rebuild) -> None:
    assert plan(STEPS, changed) == expected


def test_nested_syncs_copy_to_each_destination() -> None:
    outer = S(K.SYNC, local_path="/p", remote_path="/app")
    inner = S(K.SYNC, local_path="/p/static", remote_path="/www")
    got = plan((outer, inner), {"/p/static/a.css": True})
    assert isinstance(got, LivePlan)
    assert got.copies == (Copy("/p/static/a.css", "/app/static/a.css"), Copy("/p/static/a.css", "/www/a.css"))
    assert not got.runs and not got.restart


def test_no_sync_or_run_means_rebuild() -> None:
    assert isinstance(plan((FALLBACK,), {"/p/x": True}), Rebuild)
    assert isinstance(plan((), {"/p/x": True}), Rebuild)


def test_initial_sync_leaves_out_the_restart() -> None:
    got = plan(STEPS, {"/p/src": True}, restart=False)
    assert isinstance(got, LivePlan) and got.copies == (Copy("/p/src", "/app/src"),) and not got.restart


@pytest.mark.parametrize("local,step,remote", [
    ("/p/src/a/b.py", SYNC_SRC, "/app/src/a/b.py"),
    ("/p/src", SYNC_SRC, "/app/src"),
    ("/p/x", S(K.SYNC, local_path="/p/", remote_path="app/"), "/app/x"),
    ("/p/x", S(K.SYNC, local_path="/", remote_path="/r"), "/r/p/x"),
])
def test_remote_paths(local: str, step: S, remote: str) -> None:
    assert remote_of(local, step) == remote


def test_trigger_paths_are_relative_to_the_tiltfile(tmp_path: Path) -> None:
    """A real Tiltfile in a sub-directory: sync sources, fall_back_on files and run triggers
    are read relative to that Tiltfile, and plans match the changed files' absolute paths."""
    app = tmp_path / "svc"
    (app / "src").mkdir(parents=True)
    (app / "Dockerfile").write_text("FROM scratch\n")
    (app / "Tiltfile").write_text("""
docker_build('app', '.', live_update=[
    fall_back_on('requirements.txt'),
    sync('src', '/app/src'),
    sync('./package.json', '/app/package.json'),
    run('npm ci', trigger=['./package.json']),
    run('echo changed', trigger='src/sub'),
])
docker_compose(blob('''
services:
  app: {image: app}
'''))
""")
    result = load(str(app / "Tiltfile"), timeout=20.0)
    assert result.ok, result.errors
    steps = result.images[0].live_update
    got = plan(steps, {str(app / "package.json"): True, str(app / "src" / "sub" / "x.py"): True})
    assert isinstance(got, LivePlan)
    assert [c.remote for c in got.copies] == ["/app/package.json", "/app/src/sub/x.py"]
    assert [r[-1] for r in got.runs] == ["npm ci", "echo changed"]
    assert plan(steps, {str(app / "requirements.txt"): True}) == Rebuild(
        f"fall_back_on matched: {app / 'requirements.txt'}")
    assert plan(steps, {str(app / "src" / "x.py"): True}) == LivePlan(
        (Copy(str(app / "src" / "x.py"), "/app/src/x.py"),))
