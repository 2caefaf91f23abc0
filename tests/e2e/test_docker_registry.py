"""default_registry(): images renamed as Tilt names them and pushed to a REAL registry.

A private dockerd builds; Debian's docker-registry (started per test on a free port) receives
the pushes; a scripted `kubectl` stand-in records what would be applied. The registry's own
HTTP API (`/v2/<name>/tags/list`, manifests) says what really arrived.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
import yaml
from dockerd import DockerEngine
from kubectl_standin import calls, install
from registry import local_registry

from lockstep.adapters.docker import DockerCli
from lockstep.adapters.kubectl import Cli
from lockstep.adapters.process import SubprocessRunner
from lockstep.engine.image_runner import DockerImages, ImageBuilder
from lockstep.engine.image_step import ImagesInOrder
from lockstep.engine.k8s_runner import K8sRunner
from lockstep.engine.runners import Outcome, UpdateJob
from lockstep.k8s.registry import from_settings
from lockstep.model.resource import LoadResult
from lockstep.tiltfile.loader import load

pytestmark = pytest.mark.e2e

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: team/web}
        - {name: cb, image: cb}
        - {name: selfpush, image: selfpush}
"""


def _setup(tmp: Path, busybox: str, tiltfile: str, monkeypatch: pytest.MonkeyPatch) -> tuple[LoadResult, Path]:
    (tmp / "ctx").mkdir()
    (tmp / "ctx" / "Dockerfile").write_text(f"FROM {busybox}\nCOPY v.txt /v.txt\n")
    (tmp / "ctx" / "v.txt").write_text("one")
    (tmp / "app.yaml").write_text(APP)
    (tmp / "Tiltfile").write_text(textwrap.dedent(tiltfile))
    standin = tmp / "standin"
    for key, value in install(tmp / "bin", standin).items():
        monkeypatch.setenv(key, value)
    result = load(str(tmp / "Tiltfile"))
    assert result.ok, [e.render() for e in result.errors]
    return result, standin


def _update(result: LoadResult, root: Path) -> tuple[Outcome, list[str]]:
    builder = ImageBuilder(DockerCli(SubprocessRunner()), registry=lambda: from_settings(result.settings))
    runner = K8sRunner(Cli(SubprocessRunner(), str(root)), lambda: result.settings,
                       images=ImagesInOrder(DockerImages(builder)))
    resource = result.resource("web")
    assert resource is not None
    lines: list[str] = []
    outcome = asyncio.run(runner.run(UpdateJob(resource, 1), lambda text, _s: lines.append(text)))
    return outcome, lines


def _applied_images(standin: Path) -> list[str]:
    applies = [c for c in calls(standin) if "apply" in c["argv"]]  # type: ignore[operator]
    files = applies[-1]["files"]
    assert isinstance(files, dict)
    docs = [d for d in yaml.safe_load_all(next(iter(files.values()))) if d and d["kind"] == "Deployment"]
    return [c["image"] for c in docs[0]["spec"]["template"]["spec"]["containers"]]


def test_images_are_renamed_and_pushed_to_the_registry(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with local_registry(tmp_path / "registry") as reg:
        result, standin = _setup(tmp_path, busybox_image, f"""
            default_registry('{reg.host}', host_from_cluster='registry.cluster:5000')
            docker_build('team/web', 'ctx')
            custom_build('cb', 'docker build -t $EXPECTED_REF ctx', deps=['ctx'])
            # A script that pushes by itself: lockstep must not push it again.
            custom_build('selfpush', 'docker build -t $EXPECTED_REGISTRY/selfpush:mine ctx && ' +
                         'docker push $EXPECTED_REGISTRY/selfpush:mine && ' +
                         'echo $EXPECTED_REGISTRY/selfpush:mine > ref.txt',
                         deps=['ctx'], disable_push=True, outputs_image_ref_to='ref.txt')
            k8s_yaml('app.yaml')
        """, monkeypatch)
        outcome, lines = _update(result, tmp_path)
        assert outcome.ok, outcome.error + "\n" + "\n".join(lines[-40:])

        web, cb, selfpush = _applied_images(standin)
        # The YAML names the registry as the cluster reaches it, with Tilt's escaped name.
        assert web.startswith("registry.cluster:5000/team_web:tilt-"), web
        assert cb.startswith("registry.cluster:5000/cb:tilt-"), cb
        assert selfpush == "registry.cluster:5000/selfpush:mine"
        # custom_build's script was given the registry ref to build.
        assert any(f"EXPECTED_REF={reg.host}/cb:tilt-build-" in line for line in lines), lines
        # What arrived, per the registry's own API.
        assert reg.tags("team_web") == [web.rsplit(":", 1)[1]]
        assert reg.tags("cb") == [cb.rsplit(":", 1)[1]]
        assert reg.tags("selfpush") == ["mine"]
        assert any("Not pushing" in line and "selfpush" in line for line in lines), lines
        manifest = reg.manifest("team_web", web.rsplit(":", 1)[1])
        assert manifest["schemaVersion"] == 2 and manifest.get("layers")
        # The pushed image is the built one: pulled back by its registry name, it holds the file.
        local_web = f"{reg.host}/team_web:{web.rsplit(':', 1)[1]}"
        docker_engine.docker("image", "rm", local_web)
        docker_engine.docker("pull", local_web)
        assert docker_engine.cat(local_web, "/v.txt") == "one"


def test_single_name_pushes_everything_to_one_repository(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with local_registry(tmp_path / "registry") as reg:
        result, standin = _setup(tmp_path, busybox_image, f"""
            default_registry('{reg.host}', single_name='dev/me')
            docker_build('team/web', 'ctx')
            custom_build('cb', 'docker build -t $EXPECTED_REF ctx', deps=['ctx'])
            custom_build('selfpush', 'docker build -t $EXPECTED_REF ctx', deps=['ctx'], skips_local_docker=True)
            k8s_yaml('app.yaml')
        """, monkeypatch)
        outcome, lines = _update(result, tmp_path)
        assert outcome.ok, outcome.error + "\n" + "\n".join(lines[-40:])
        web, cb, _ = _applied_images(standin)
        assert web.startswith(f"{reg.host}/dev/me:web-tilt-") and cb.startswith(f"{reg.host}/dev/me:cb-tilt-")
        assert reg.tags("dev/me") == sorted([web.rsplit(":", 1)[1], cb.rsplit(":", 1)[1]])


def test_a_failed_push_fails_the_update_with_the_registrys_message(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with local_registry(tmp_path / "registry", read_only=True) as reg:
        result, standin = _setup(tmp_path, busybox_image, f"""
            default_registry('{reg.host}')
            docker_build('team/web', 'ctx')
            k8s_yaml('app.yaml')
        """, monkeypatch)
        outcome, lines = _update(result, tmp_path)
        assert not outcome.ok
        assert outcome.error.startswith(f"docker push {reg.host}/team_web:tilt-"), outcome.error
        # The registry's own answer reaches the user (read-only storage refuses uploads).
        assert "Method not allowed" in outcome.error, outcome.error
        assert any("Method not allowed" in line for line in lines)
        assert not [c for c in calls(standin) if "apply" in c["argv"]]  # type: ignore[operator]
        assert reg.tags("team_web") == []


def test_lockstep_up_pushes_to_the_registry(tmp_path: Path, docker_engine: DockerEngine,
                                           busybox_image: str) -> None:
    """The real `lockstep up` process: build_engine gives the Tiltfile's registry to the builds."""
    from upproc import Up, wait_until

    with local_registry(tmp_path / "registry") as reg:
        (tmp_path / "ctx").mkdir()
        (tmp_path / "ctx" / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY v.txt /v.txt\n")
        (tmp_path / "ctx" / "v.txt").write_text("one")
        (tmp_path / "app.yaml").write_text(APP.replace("        - {name: selfpush, image: selfpush}\n", ""))
        (tmp_path / "Tiltfile").write_text(textwrap.dedent(f"""
            default_registry('{reg.host}')
            docker_build('team/web', 'ctx')
            custom_build('cb', 'docker build -t $EXPECTED_REF ctx', deps=['ctx'])
            k8s_yaml('app.yaml')
        """))
        standin = tmp_path / "standin"
        with Up(tmp_path / "Tiltfile", tmp_path / "state", env=install(tmp_path / "bin", standin)) as up:
            wait_until(lambda: any("apply" in c["argv"] for c in calls(standin)),  # type: ignore[operator]
                       120, "the apply")
            web, cb = _applied_images(standin)
            assert web.startswith(f"{reg.host}/team_web:tilt-") and cb.startswith(f"{reg.host}/cb:tilt-")
            assert reg.tags("team_web") == [web.rsplit(":", 1)[1]] and reg.tags("cb") == [cb.rsplit(":", 1)[1]]
            assert f"EXPECTED_REF={reg.host}/cb:tilt-build-" in up.log_text()
            up.stop()
