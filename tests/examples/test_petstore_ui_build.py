"""build-sample-ui: a bundler-like build of ui/src into static_site/ with content-hashed assets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from petstore_harness import EXAMPLE, copy_example, load_module, run_step
from upproc import wait_until

build = load_module("petstore_example_ui_build", EXAMPLE / "ui" / "build.py")

ASSET = re.compile(r'(?:src|href)="/(assets/index-([0-9a-f]{8})\.(js|css))"')


def referenced(index_html: str) -> list[str]:
    return [m.group(1) for m in ASSET.finditer(index_html)]


def test_index_references_existing_hashed_assets(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    done = run_step(root, "build-sample-ui")
    assert done.returncode == 0, done.stderr
    site = root / "static_site"
    html = (site / "index.html").read_text()
    assert '<div id="root">' in html
    refs = referenced(html)
    assert sorted(Path(r).suffix for r in refs) == [".css", ".js"]
    for ref in refs:
        body = (site / ref).read_bytes()
        assert build.content_hash(body) == re.search(r"index-([0-9a-f]{8})", ref).group(1)  # type: ignore[union-attr]
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == sorted(
        ["index.html", *refs]
    )
    # Every source script is in the bundle, in document order; no source tag survives.
    js = (site / next(r for r in refs if r.endswith(".js"))).read_text()
    assert js.index("/* api.js */") < js.index("/* views.js */") < js.index("/* main.js */")
    assert 'src="api.js"' not in html and 'href="styles.css"' not in html


def test_hashes_follow_content(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(EXAMPLE / "ui" / "src", src)
    first = build.bundle(src)
    assert build.bundle(src) == first  # deterministic
    (src / "styles.css").write_text((src / "styles.css").read_text() + "\n.extra { color: red; }\n")
    second = build.bundle(src)
    css1 = {n for n in first if n.endswith(".css")}
    css2 = {n for n in second if n.endswith(".css")}
    js1 = {n for n in first if n.endswith(".js")}
    assert css1 != css2  # the changed file gets a new name
    assert js1 == {n for n in second if n.endswith(".js")}  # the unchanged one keeps its name
    assert set(referenced(second["index.html"].decode())) == {n for n in second if n != "index.html"}


def test_rebuild_clears_stale_assets(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    assert run_step(root, "build-sample-ui").returncode == 0
    main_js = root / "ui" / "src" / "main.js"
    main_js.write_text(main_js.read_text() + "\n// edited\n")
    (root / "static_site" / "leftover.txt").write_text("stale")
    assert run_step(root, "build-sample-ui").returncode == 0
    site = root / "static_site"
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert files == sorted(["index.html", *referenced((site / "index.html").read_text())])


def test_a_missing_source_file_fails_the_build_without_touching_the_output(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    assert run_step(root, "build-sample-ui").returncode == 0
    before = (root / "static_site" / "index.html").read_text()
    (root / "ui" / "src" / "views.js").unlink()
    done = run_step(root, "build-sample-ui")
    assert done.returncode == 1 and "views.js" in done.stderr
    assert (root / "static_site" / "index.html").read_text() == before


def test_the_write_is_not_atomic_a_reader_can_catch_it_half_written(tmp_path: Path) -> None:
    """With PETSTORE_UI_WRITE_DELAY, a concurrent reader sees index.html before its assets exist:
    the window the original pipeline's image build fell into."""
    root = copy_example(tmp_path / "petstore")
    site = root / "static_site"
    proc = subprocess.Popen(
        [sys.executable, "ui/build.py"],
        cwd=root,
        env={"PETSTORE_UI_WRITE_DELAY": "0.3", "PATH": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def half_written() -> bool:
            try:
                refs = referenced((site / "index.html").read_text())
            except FileNotFoundError:
                return False
            return bool(refs) and any(not (site / ref).exists() for ref in refs)

        wait_until(half_written, timeout=10, what="index.html referencing a missing asset")
    finally:
        assert proc.wait(timeout=30) == 0
    refs = referenced((site / "index.html").read_text())
    assert all((site / ref).exists() for ref in refs)
