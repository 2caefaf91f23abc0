"""Pet-store target=kind, as far as it can be checked without a cluster: check, graph, and
the deploy step against the kubectl/kind stand-in (exact commands)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml
from kubectl_standin import calls, install

from lockstep.adapters.kubectl import Cli, LogFn
from lockstep.adapters.process import SubprocessRunner
from lockstep.cli.main import main
from lockstep.engine.k8s_runner import Deployments, K8sRunner
from lockstep.engine.runners import UpdateJob
from lockstep.model.resource import Resource, ResourceKind
from lockstep.tiltfile import load

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "petstore"


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    sdir = tmp_path / "standin"
    for k, v in install(tmp_path / "bin", sdir).items():
        monkeypatch.setenv(k, v)
    return sdir


def test_check_kind_target(standin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--dry-run", "--json", "-f", str(EXAMPLE / "Tiltfile"), "--", "--target=kind"]) == 0
    data = json.loads(capsys.readouterr().out)
    res = {r["name"]: r for r in data["resources"]}
    assert res["petstore"]["kind"] == "k8s" and res["petstore"]["images"] == ["petstore"]
    assert res["petstore"]["resource_deps"] == ["kind-load-image"]
    # Gated by the barrier: the image steps and the deployment come after wait-for-builds.
    order = data["start_order"]
    assert order.index("wait-for-builds") < order.index("docker-build-image") < order.index("kind-load-image") \
        < order.index("petstore")


def test_check_kind_target_names_missing_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kubectl").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "kubectl").chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    assert main(["check", "--dry-run", "-f", str(EXAMPLE / "Tiltfile"), "--", "--target=kind"]) == 1
    assert "`kind` is not installed (or not on PATH); it is needed to run `kind-load-image`" in capsys.readouterr().out


class Tagged:
    """custom_build's result: the image retagged for this deploy."""

    async def build(self, resource: Resource, log: LogFn) -> dict[str, str]:
        return {"petstore": "petstore:tilt-build-1700000000"}


def test_deploy_step_loads_the_tag_and_applies_the_deployment(standin: Path) -> None:
    result = load(str(EXAMPLE / "Tiltfile"), ["--target=kind"])
    assert result.ok, result.errors
    petstore = result.resource("petstore")
    assert petstore is not None and petstore.kind is ResourceKind.K8S
    # The forward's link is the example's own "app" link: not listed twice.
    assert [link.url for link in petstore.links] == ["http://localhost:8080/", "http://localhost:8080/docs"]
    assert petstore.k8s is not None and [(pf.local_port, pf.container_port) for pf in petstore.k8s.port_forwards] \
        == [(8080, 0)]
    lines: list[str] = []

    async def run() -> bool:
        runner = K8sRunner(Cli(SubprocessRunner(), str(EXAMPLE)), lambda: result.settings, Tagged(), Deployments())
        outcome = await runner.run(UpdateJob(petstore, 1), lambda text, s: lines.append(text))
        return outcome.ok

    assert asyncio.run(run()), lines
    argvs = [c["argv"] for c in calls(standin)]
    assert argvs[:3] == [
        ["kubectl", "config", "view", "--minify", "-o", "json"],
        ["kubectl", "--context", "kind-kind", "get", "configmap", "local-registry-hosting", "--namespace",
         "kube-public", "-o", "json", "--ignore-not-found"],
        ["kind", "load", "docker-image", "petstore:tilt-build-1700000000", "--name", "kind"],
    ]
    assert argvs[3][:7] == ["kubectl", "--context", "kind-kind", "apply", "-o", "json", "-f"]
    files = calls(standin)[3]["files"]
    assert isinstance(files, dict)
    docs = list(yaml.safe_load_all(next(iter(files.values()))))
    assert [d["kind"] for d in docs] == ["Service", "Deployment"]
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "petstore:tilt-build-1700000000"
    assert container["imagePullPolicy"] == "Never"  # the example's own choice is kept
    assert any(text == "Applied Deployment/petstore" for text in lines)
