"""The other steps of the pipeline: build-lib, build-petstore, the image stage and load steps,
and the shape of the Tiltfiles."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from petstore_harness import EXAMPLE, RESOURCES, copy_example, run_step, start_server, stop_server


def test_build_lib_self_tests_and_publishes(built_example: Path) -> None:
    published = built_example / "build_artifacts" / "lib" / "router"
    assert (published / "__init__.py").read_bytes() == (
        built_example / "lib" / "router" / "__init__.py"
    ).read_bytes()
    assert not list((built_example / "lib").rglob("__pycache__"))  # lib/ is watched: no stray writes


def test_build_lib_fails_on_a_broken_library(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    init = root / "lib" / "router" / "__init__.py"
    init.write_text(init.read_text().replace("return Match(route, params)", "return None"))
    done = run_step(root, "build-lib")
    assert done.returncode != 0
    assert not (root / "build_artifacts" / "lib").exists()


def test_build_petstore_packages_server_generated_code_lib_and_swagger(built_example: Path) -> None:
    pyz = built_example / "build_artifacts" / "petstore.pyz"
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    names = set(zipfile.ZipFile(pyz).namelist())
    for needed in (
        "__main__.py",
        "petstore_server/app.py",
        "petstore_api/routes.py",
        "petstore_api/validators.py",
        "router/__init__.py",
        "petstore_server/swagger_ui/swagger-ui-bundle.js",
        "petstore_server/swagger_ui/swagger-ui.css",
    ):
        assert needed in names, needed
    assert not list((built_example / "server").rglob("__pycache__"))


def test_build_petstore_needs_the_generated_code(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    done = run_step(root, "build-petstore")
    assert done.returncode != 0 and "run its step first" in done.stderr


def test_stage_copies_site_and_artifacts_and_load_verifies(built_example: Path) -> None:
    image = built_example / "build" / "image"
    manifest = json.loads((image / "image.json").read_text())
    assert manifest["id"].startswith("sha256:")
    assert "petstore.pyz" in manifest["files"]
    assert "static_site/index.html" in manifest["files"]
    site = sorted(
        p.relative_to(built_example).as_posix()
        for p in (built_example / "static_site").rglob("*")
        if p.is_file()
    )
    assert {f for f in manifest["files"] if f.startswith("static_site/")} == set(site)


def test_load_rejects_an_image_that_changed_after_staging(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "petstore")
    for step in ("build-lib", "gen-petstore", "build-petstore", "build-sample-ui", "docker-build-image"):
        assert run_step(root, step).returncode == 0, step
    assert run_step(root, "kind-load-image").returncode == 0
    (root / "build" / "image" / "static_site" / "index.html").write_text("tampered")
    done = run_step(root, "kind-load-image")
    assert done.returncode != 0 and "does not match its manifest" in done.stderr


def test_server_serves_the_image_it_started_with(tmp_path: Path) -> None:
    """Like a container, a running server keeps serving its snapshot while a new image is staged."""
    root = copy_example(tmp_path / "petstore")
    for step in ("build-lib", "gen-petstore", "build-petstore", "build-sample-ui", "docker-build-image"):
        assert run_step(root, step).returncode == 0, step
    server = start_server(root)
    try:
        html = server.request("GET", "/")[2].decode()
        (root / "ui" / "src" / "styles.css").write_text("body { color: red; }\n")
        assert run_step(root, "build-sample-ui").returncode == 0
        assert run_step(root, "docker-build-image").returncode == 0
        assert server.request("GET", "/")[2].decode() == html
        for ref in re.findall(r'(?:src|href)="(/assets/[^"]+)"', html):
            assert server.request("GET", ref)[0] == 200
    finally:
        stop_server(server)
    restarted = start_server(root)
    try:
        assert restarted.request("GET", "/")[2].decode() != html
    finally:
        stop_server(restarted)


def _resources(tiltfile: str) -> dict[str, str]:
    """Each local_resource/k8s_resource call's text, by resource name (textual, target=local branch)."""
    out: dict[str, str] = {}
    for m in re.finditer(r'(local_resource|k8s_resource)\(\s*"([^"]+)"(.*?)\)\n', tiltfile, re.S):
        out.setdefault(m.group(2), m.group(3))
    return out


def test_tiltfile_declares_the_pipeline() -> None:
    text = (EXAMPLE / "Tiltfile").read_text()
    res = _resources(text)
    assert list(res) == RESOURCES
    deps = {
        name: re.findall(r'"([^"]+)"', re.search(r"resource_deps = \[(.*?)\]", body).group(1))  # type: ignore[union-attr]
        for name, body in res.items()
        if "resource_deps" in body
    }
    assert deps == {
        "gen-petstore": ["build-lib"],
        "build-petstore": ["gen-petstore"],
        "wait-for-builds": ["build-sample-ui", "build-petstore"],
        "docker-build-image": ["wait-for-builds"],
        "kind-load-image": ["docker-build-image"],
        "petstore": ["kind-load-image"],
    }
    assert 'config.define_string("target"' in text and "config.parse()" in text
    assert 'http_get_action(port = PORT, path = "/health")' in text
    for target in ('"docker"', '"kind"'):
        assert target in text
    assert 'k8s_yaml("k8s/deployment.yaml")' in text
    assert (EXAMPLE / "k8s" / "deployment.yaml").is_file()


def test_tiltfile_before_has_no_ordering_only_file_watches() -> None:
    text = (EXAMPLE / "Tiltfile.before").read_text()
    assert not re.search(r"resource_deps\s*=", text)
    assert "wait-for-builds" not in text
    stage = re.search(r'local_resource\("docker-build-image".*?\)\n', text, re.S).group(0)  # type: ignore[union-attr]
    assert "IMAGE_INPUTS" in stage
    assert 'IMAGE_INPUTS = ["static_site", "build_artifacts/petstore.pyz"]' in text


def test_dockerfile_makes_the_same_copies_as_the_stage_step() -> None:
    text = (EXAMPLE / "Dockerfile").read_text()
    assert re.findall(r"^COPY (\S+) (\S+)$", text, re.M) == [
        ("static_site/", "/app/static_site/"),
        ("build_artifacts/", "/app/"),
    ]
    assert len(re.findall(r"^FROM ", text, re.M)) == 1
    assert "RUN " not in text  # nothing to download at build time
