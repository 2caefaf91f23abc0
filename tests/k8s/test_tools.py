"""Missing tools are named with what needs them."""

from __future__ import annotations

import shlex
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from lockstep.k8s.tools import first_word, missing, needed
from lockstep.tiltfile import load

TILTFILE = """
k8s_yaml('app.yaml')
k8s_yaml(helm('chart', name='db'))
k8s_yaml(kustomize('overlay'))
local_resource('load', cmd='kind load docker-image web --name dev')
local_resource('hello', cmd='echo hi')
"""
APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
"""


def _result(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    (tmp_path / "app.yaml").write_text(APP)
    (tmp_path / "chart").mkdir()
    (tmp_path / "overlay").mkdir()
    return load(str(tmp_path / "Tiltfile"), [], dry_run=True)


def test_needed_tools_and_why(tmp_path: Path) -> None:
    result = _result(tmp_path)
    need = needed(result)
    assert need["kubectl"] == "deploy `web`"
    assert need["helm"].startswith("run `helm template db")
    assert "kind load docker-image" in need["kind"]
    assert "kustomize" in need or "kubectl" in need


def test_missing_names_each_absent_tool(tmp_path: Path) -> None:
    result = _result(tmp_path)
    gone = missing(result, lambda tool: None if tool in ("kubectl", "kind") else f"/usr/bin/{tool}")
    assert [m.tool for m in gone] == ["kubectl", "kind"]
    assert gone[0].message() == "`kubectl` is not installed (or not on PATH); it is needed to deploy `web`"
    assert missing(result, lambda tool: f"/usr/bin/{tool}") == []


def test_docker_is_needed_by_local_image_builds_and_compose_services(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "docker-compose.yml").write_text("services:\n  web:\n    image: web\n  db:\n    image: db\n")
    (tmp_path / "remote.yaml").write_text(APP.replace("name: web", "name: remote").replace("image: nginx",
                                                                                          "image: remote"))
    (tmp_path / "Tiltfile").write_text(
        "docker_build('web', 'app')\n"
        "docker_compose('docker-compose.yml')\n"
        "custom_build('remote', 'true', deps=['app'], skips_local_docker=True)\n"
        "k8s_yaml('remote.yaml')\n")
    result = load(str(tmp_path / "Tiltfile"), [], dry_run=True)
    assert result.ok, [e.render() for e in result.errors]
    assert needed(result)["docker"] == "build or run `web`, `db`"
    gone = missing(result, lambda tool: None if tool == "docker" else f"/usr/bin/{tool}")
    assert [m.message() for m in gone] == [
        "`docker` is not installed (or not on PATH); it is needed to build or run `web`, `db`"]


def test_a_tiltfile_without_containers_does_not_need_docker(tmp_path: Path) -> None:
    assert "docker" not in needed(_result(tmp_path))


def _first_word_by_shlex(text: str) -> str:
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return words[0] if words else ""


@given(st.text(alphabet=st.sampled_from(list("ab kubectl\t\n\r'\"\\#;|$\x0b\x0c\x1c\u00a0é")), max_size=30))
def test_first_word_is_shlexs_first_word(text: str) -> None:
    assert first_word(text) == _first_word_by_shlex(text)
