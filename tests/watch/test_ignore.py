"""Dockerignore / .tiltignore pattern semantics, as a table."""

from __future__ import annotations

import pytest

from lockstep.watch.ignore import AnyMatcher, IgnoreMatcher, load_tiltignore

BASE = "/work/proj"

CASES: list[tuple[list[str], str, bool]] = [
    # plain names match at the base, and everything beneath a matched dir
    (["node_modules"], "node_modules", True),
    (["node_modules"], "node_modules/react/index.js", True),
    (["node_modules"], "web/node_modules", False),  # no implicit **/ (unlike .gitignore)
    (["**/node_modules"], "web/node_modules/x.js", True),
    (["**/node_modules"], "node_modules/x.js", True),  # ** matches zero components
    # * and ? stay within one component
    (["*.pyc"], "a.pyc", True),
    (["*.pyc"], "pkg/a.pyc", False),
    (["**/*.pyc"], "pkg/sub/a.pyc", True),
    (["*/*.log"], "logs/a.log", True),
    (["*/*.log"], "logs/x/a.log", False),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[!a-c]x"], "bx", False),
    (["[!a-c]x"], "dx", True),
    # leading / is the base; trailing / is dropped; cleaned
    (["/build"], "build/out.o", True),
    (["build/"], "build/out.o", True),
    (["./build"], "build", True),
    (["a/../b"], "b/x", True),
    # ** in the middle and at the end
    (["docs/**/*.md"], "docs/a.md", True),
    (["docs/**/*.md"], "docs/x/y/a.md", True),
    (["docs/**"], "docs/x/y", True),
    (["dist/**"], "dist", False),
    # negation: last match wins
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "CHANGES.md", True),
    (["!README.md", "*.md"], "README.md", True),
    (["out", "!out/keep.txt"], "out/keep.txt", False),
    (["out", "!out/keep.txt"], "out/other.txt", True),
    # escapes
    (["\\*.txt"], "*.txt", True),
    (["\\*.txt"], "a.txt", False),
    # absolute patterns (under the base, or an existing top-level directory)
    ([BASE + "/gen"], "gen/x.go", True),
    (["/tmp/cache"], "/tmp/cache/x", True),
    # outside the base: relative patterns cannot match
    (["x"], "/elsewhere/x", False),
    (["../shared"], "/work/shared/a", True),
    # comments/blank lines are the loader's job; empty patterns are ignored
    (["", "  "], "anything", False),
]


@pytest.mark.parametrize(("patterns", "path", "ignored"), CASES)
def test_patterns(patterns: list[str], path: str, ignored: bool) -> None:
    m = IgnoreMatcher(BASE, patterns)
    abs_path = path if path.startswith("/") else f"{BASE}/{path}"
    assert m.matches(abs_path) is ignored


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        (".git", True),
        (".git/objects/ab/cdef", True),
        ("sub/.git/HEAD", True),
        (".gitignore", False),
        # Editors' temporary and lock files: Tilt's built-in list, no more and no less.
        ("src/.main.py.swp", True),
        ("src/.main.py.swx", True),
        ("src/.main.py.swo", True),
        ("src/.main.py.swn", True),
        ("src/main.py.swp", False),  # vim's swap files start with a dot
        ("src/.main.py.swf", False),
        ("src/movie.swf", False),
        ("src/main.py~", True),
        ("src/.#main.py", True),
        ("src/#main.py#", True),
        ("src/flymake_main.py", True),
        ("src/flymake_main", False),
        ("src/main_flymake.py", False),
        ("src/4913", True),
        ("src/49130", False),
        ("src/main.py___jb_tmp___", True),
        ("src/main.py___jb_old___", True),
        (".idea/workspace.xml", True),
        ("src/.idea", True),
        ("src/idea.xml", False),
        ("src/.main.py.kate-swp", True),
        ("build/1234-go-tmp-umask", True),
        ("src/x.tmp", False),  # triggers under Tilt too
        ("src/sedAb12Cd", False),  # sed -i: the edited file changes as well, as under Tilt
        ("src/main.py", False),
    ],
)
def test_builtins(path: str, ignored: bool) -> None:
    assert IgnoreMatcher(BASE, []).matches(f"{BASE}/{path}") is ignored


def test_builtins_can_be_turned_off_and_cannot_be_negated() -> None:
    assert not IgnoreMatcher(BASE, [], builtins=False).matches(f"{BASE}/.git/HEAD")
    assert IgnoreMatcher(BASE, ["!.git"]).matches(f"{BASE}/.git/HEAD")


@pytest.mark.parametrize(
    ("patterns", "directory", "skip"),
    [
        (["node_modules"], "node_modules", True),
        (["node_modules"], "node_modules/react", True),
        (["node_modules"], "src", False),
        (["out", "!out/keep.txt"], "out", False),  # something beneath is re-included
        (["out", "!out/keep.txt"], "out/sub", True),  # nothing beneath out/sub can be
        (["out", "!**/keep.txt"], "out/sub", False),
        (["out/*", "!out/a*/keep"], "out/b", True),
        (["out/*", "!out/a*/keep"], "out/abc", False),
        ([], ".git", True),
        ([], "pkg/.git", True),
        (["*.pyc"], "x.pyc", True),
    ],
)
def test_matches_dir(patterns: list[str], directory: str, skip: bool) -> None:
    assert IgnoreMatcher(BASE, patterns).matches_dir(f"{BASE}/{directory}") is skip


def test_any_matcher() -> None:
    m = AnyMatcher([IgnoreMatcher(BASE, ["a"]), IgnoreMatcher("/other", ["b"])])
    assert m.matches(f"{BASE}/a/x") and m.matches("/other/b") and not m.matches(f"{BASE}/b")
    assert m.matches_dir(f"{BASE}/a")


def test_load_tiltignore(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert load_tiltignore(str(tmp_path)) == []
    (tmp_path / ".tiltignore").write_text("# generated\n\nnode_modules\n  dist/  \n!dist/keep\n")
    assert load_tiltignore(str(tmp_path)) == ["node_modules", "dist/", "!dist/keep"]
    m = IgnoreMatcher(str(tmp_path), load_tiltignore(str(tmp_path)))
    assert m.matches(str(tmp_path / "dist" / "x")) and not m.matches(str(tmp_path / "dist" / "keep"))


@pytest.mark.parametrize("dropping", ["app/.main.py.swp", "app/4913", "app/main.py~", "app/.#main.py",
                                      "app/#main.py#", "app/main.py___jb_old___", "app/.idea/misc.xml",
                                      "app/flymake_main.py", "app/.main.py.kate-swp", "app/1-go-tmp-umask"])
def test_editor_droppings_trigger_no_resource(dropping: str) -> None:
    """Neither a local resource's deps nor a docker_build context (whose own filter keeps
    such files in the image, as Tilt's does) make a resource stale for them."""
    from lockstep.model.paths import PathIndex
    from lockstep.model.resource import ImageTarget, Resource, ResourceKind

    local = Resource("build", ResourceKind.LOCAL, deps=(f"{BASE}/app",))
    image = Resource("web", ResourceKind.COMPOSE, images=(ImageTarget("web", context=f"{BASE}/app"),))
    index = PathIndex(BASE, [local, image])
    assert index.resources_for(f"{BASE}/app/main.py") == {"build", "web"}
    assert index.resources_for(f"{BASE}/{dropping}") == frozenset()
