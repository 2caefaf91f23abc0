"""One rule for an image's context: what triggers a rebuild is what is sent."""

from __future__ import annotations

import tarfile
from pathlib import Path

from lockstep.adapters.build_context import DOCKERFILE_MEMBER, context_files, write_context
from lockstep.model.context_filter import ContextFilter
from lockstep.model.resource import ImageTarget


def make(root: Path, files: list[str]) -> None:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)


def test_dockerignore_ignore_and_only_all_apply(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    make(ctx, ["Dockerfile", "src/a.py", "src/b.pyc", "src/gen/x.py", "node_modules/m.js", "README.md", "top.pyc"])
    img = ImageTarget(ref="app", context=str(ctx), dockerfile=str(ctx / "Dockerfile"),
                      dockerignore=("node_modules", "*.pyc"), ignore=("src/gen",), only=(str(ctx / "src"),))
    flt = ContextFilter(img)
    # `*.pyc` matches at the context root only (dockerignore has no implicit **/).
    assert context_files(flt) == ["Dockerfile", "src/a.py", "src/b.pyc"]
    assert flt.triggers(str(ctx / "src" / "a.py")) and flt.triggers(str(ctx / "Dockerfile"))
    assert not flt.triggers(str(ctx / "src" / "gen" / "x.py"))
    assert not flt.triggers(str(ctx / "README.md")) and not flt.triggers(str(ctx / "node_modules" / "m.js"))
    assert not flt.triggers(str(tmp_path / "elsewhere.py"))
    # A directory created above an `only` path may bring included files with it.
    assert flt.triggers(str(ctx)) and not flt.may_contain(str(ctx / "node_modules"))


def test_negation_reincludes(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    make(ctx, ["logs/a.log", "logs/keep.log", "app.txt"])
    flt = ContextFilter(ImageTarget(ref="x", context=str(ctx), dockerignore=("logs", "!logs/keep.log")))
    assert context_files(flt) == ["app.txt", "logs/keep.log"]


def test_the_tar_holds_what_was_hashed_and_the_digest_follows_content(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    make(ctx, ["a.txt", "skip.log", "d/b.txt"])
    (ctx / "link").symlink_to("a.txt")
    flt = ContextFilter(ImageTarget(ref="x", context=str(ctx), ignore=("*.log",)))
    first = write_context(flt, "FROM scratch\n", str(tmp_path / "1.tar"))
    with tarfile.open(first.path) as tar:
        names = sorted(tar.getnames())
        assert names == sorted([".dockerignore", DOCKERFILE_MEMBER, "a.txt", "d/b.txt", "link"])
        member = tar.extractfile(DOCKERFILE_MEMBER)
        assert member is not None and member.read() == b"FROM scratch\n"
        assert tar.getmember("link").issym() and {m.mtime for m in tar.getmembers()} == {0}
    assert first.files == 2
    assert write_context(flt, "FROM scratch\n", str(tmp_path / "2.tar")).digest == first.digest
    assert write_context(flt, "FROM busybox\n", str(tmp_path / "3.tar")).digest != first.digest
    (ctx / "skip.log").write_text("ignored change")
    assert write_context(flt, "FROM scratch\n", str(tmp_path / "4.tar")).digest == first.digest
    (ctx / "d" / "b.txt").write_text("changed")
    assert write_context(flt, "FROM scratch\n", str(tmp_path / "5.tar")).digest != first.digest


def test_the_stamp_tells_whether_the_context_moved_since_it_was_read(tmp_path: Path) -> None:
    from lockstep.adapters.build_context import fingerprint

    ctx = tmp_path / "ctx"
    make(ctx, ["a.txt", "ignored.log"])
    flt = ContextFilter(ImageTarget(ref="x", context=str(ctx), dockerignore=("*.log",)))
    sent = write_context(flt, "FROM scratch\n", str(tmp_path / "c.tar"))
    assert fingerprint(flt) == sent.stamp
    (ctx / "ignored.log").write_text("not part of the image")
    assert fingerprint(flt) == sent.stamp
    (ctx / "b.txt").write_text("a file written after the read")
    assert fingerprint(flt) != sent.stamp


def test_a_file_that_shrinks_while_read_is_padded_and_reported() -> None:
    import io

    from lockstep.adapters.build_context import _HashingReader

    reader = _HashingReader(io.BytesIO(b"abc"), 5)
    assert reader.read(4) + reader.read(4) == b"abc\0\0" and reader.short
    whole = _HashingReader(io.BytesIO(b"abcdef"), 6)
    assert whole.read() == b"abcdef" and not whole.short


def test_a_context_with_a_dockerignore_file_is_not_reported_as_moved(tmp_path: Path) -> None:
    from lockstep.adapters.build_context import fingerprint

    ctx = tmp_path / "ctx"
    make(ctx, ["a.txt", ".dockerignore"])
    flt = ContextFilter(ImageTarget(ref="x", context=str(ctx), dockerignore=("*.log",)))
    assert fingerprint(flt) == write_context(flt, "FROM scratch\n", str(tmp_path / "c.tar")).stamp


def test_buildkit_gets_the_same_files_as_a_directory(tmp_path: Path) -> None:
    from lockstep.adapters.build_context import extract_context

    ctx = tmp_path / "ctx"
    make(ctx, ["a.txt", "skip.log", "d/b.txt"])
    (ctx / "link").symlink_to("a.txt")
    (ctx / "run.sh").write_text("#!/bin/sh\n")
    (ctx / "run.sh").chmod(0o755)
    flt = ContextFilter(ImageTarget(ref="x", context=str(ctx), ignore=("*.log",)))
    sent = write_context(flt, "FROM scratch\n", str(tmp_path / "c.tar"))
    out = tmp_path / "out"
    extract_context(sent.path, str(out))
    # Lockstep's own Dockerfile and ignore file are not part of what COPY may see.
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == ["a.txt", "d", "d/b.txt", "link", "run.sh"]
    assert (out / "d" / "b.txt").read_text() == "d/b.txt" and (out / "link").is_symlink()
    assert (out / "run.sh").stat().st_mode & 0o777 == 0o755
    # An empty context is still a directory to build from.
    empty = tmp_path / "empty"
    empty.mkdir()
    none = write_context(ContextFilter(ImageTarget(ref="x", context=str(empty))), "FROM scratch\n",
                         str(tmp_path / "e.tar"))
    extract_context(none.path, str(tmp_path / "e"))
    assert list((tmp_path / "e").iterdir()) == []
