"""The k8s runner's decisions on scripted kubectl results: no processes, no cluster."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import yaml

from lockstep.adapters.kubectl import Result
from lockstep.adapters.process import Stream
from lockstep.engine.k8s_runner import Deployments, K8sRunner
from lockstep.engine.runners import Outcome, UpdateJob
from lockstep.model.resource import Cmd, ImageTarget, K8sObject, K8sSpec, Resource, ResourceKind, Settings

KIND = {"current-context": "kind-dev", "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev"}}]}
PROD = {"current-context": "prod", "contexts": [{"name": "prod", "context": {"cluster": "eks-prod"}}]}


class FakeCli:
    """Records command lines (and YAML given with -f); answers from `script(argv, text)`."""

    def __init__(self, script: Callable[[list[str], str], Result]) -> None:
        self.script = script
        self.calls: list[tuple[list[str], str]] = []
        self.timeouts: list[float | None] = []

    async def run(self, argv: Sequence[str], log: Any = None, *, echo: bool = False, cwd: str = "",
                  env: tuple[tuple[str, str], ...] = (), timeout: float | None = None) -> Result:
        self.calls.append((list(argv), json.dumps(dict(env)) if env else ""))
        self.timeouts.append(timeout)
        return self.script(list(argv), "")

    async def run_with_file(self, argv: Sequence[str], text: str, log: Any = None, *,
                            timeout: float | None = None) -> Result:
        self.calls.append((list(argv), text))
        self.timeouts.append(timeout)
        return self.script(list(argv), text)


def answer(view: dict[str, Any], **verbs: Result) -> Callable[[list[str], str], Result]:
    def script(argv: list[str], text: str) -> Result:
        if argv[1:3] == ["config", "view"]:
            return Result(0, json.dumps(view), "")
        for verb, res in verbs.items():
            if verb.replace("_", "-") in argv:
                return res
        if "apply" in argv or "replace" in argv:
            return Result(0, json.dumps({"kind": "List", "items": list(yaml.safe_load_all(text))}), "")
        return Result(0, "", "")
    return script


def obj(kind: str, name: str, body: str = "") -> K8sObject:
    text = f"apiVersion: {'batch/v1' if kind == 'Job' else 'apps/v1' if kind == 'Deployment' else 'v1'}\n" \
           f"kind: {kind}\nmetadata: {{name: {name}}}\n{body}"
    return K8sObject(kind, name, yaml=text)


DEPLOY = obj("Deployment", "web", "spec:\n  template:\n    metadata: {labels: {app: web}}\n"
                                  "    spec: {containers: [{name: web, image: web}]}\n")
JOB = obj("Job", "migrate", "spec:\n  template:\n    spec: {containers: [{name: m, image: web}]}\n")


DEFAULTS = Settings()


def run(cli: FakeCli, r: Resource, settings: Settings = DEFAULTS,
        built: dict[str, str] | None = None) -> tuple[Outcome, list[str]]:
    lines: list[str] = []

    class Images:
        async def build(self, resource: Resource, log: Any) -> dict[str, str]:
            return built or {}

    runner = K8sRunner(cli, lambda: settings, Images(), Deployments())  # type: ignore[arg-type]

    def log(text: str, stream: Stream) -> None:
        lines.append(text)

    return asyncio.run(runner.run(UpdateJob(r, 1), log)), lines


@pytest.fixture(autouse=True)
def _kubectl_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lockstep.engine.k8s_runner.require", lambda tool, why: None)


def web(*objects: K8sObject, images: tuple[ImageTarget, ...] = ()) -> Resource:
    return Resource("web", ResourceKind.K8S, images=images, k8s=K8sSpec(objects=objects))


def test_a_context_that_is_not_local_is_refused_with_the_fix() -> None:
    cli = FakeCli(answer(PROD))
    outcome, _ = run(cli, web(DEPLOY))
    assert not outcome.ok
    assert outcome.error.startswith("Stop! prod might be production.")
    assert "allow_k8s_contexts('prod')" in outcome.error
    assert [c[0][1:3] for c in cli.calls] == [["config", "view"]]  # nothing applied
    outcome, _ = run(FakeCli(answer(PROD)), web(DEPLOY), Settings(allowed_k8s_contexts=("prod",)))
    assert outcome.ok


def test_jobs_are_replaced_and_the_rest_applied() -> None:
    cli = FakeCli(answer(KIND))
    outcome, _ = run(cli, web(DEPLOY, JOB))
    assert outcome.ok
    verbs = [c[0][3:6] for c in cli.calls if c[0][1:3] != ["config", "view"]]
    assert verbs == [["apply", "-o", "json"], ["replace", "--force", "-o"]]
    assert outcome.outputs.applied == ("Deployment//web", "Job//migrate")


def test_immutable_field_falls_back_to_delete_and_apply() -> None:
    attempts: list[int] = []

    def script(argv: list[str], text: str) -> Result:
        if argv[1:3] == ["config", "view"]:
            return Result(0, json.dumps(KIND), "")
        if "apply" in argv:
            attempts.append(1)
            if len(attempts) == 1:
                return Result(1, "", 'The Deployment "web" is invalid: spec.selector: Invalid value: '
                                     '...: field is immutable')
        return Result(0, "", "")

    cli = FakeCli(script)
    outcome, lines = run(cli, web(DEPLOY))
    assert outcome.ok, outcome.error
    assert [c[0][3] for c in cli.calls[1:]] == ["apply", "delete", "apply"]
    assert "An immutable field changed: deleting and applying again" in lines


def test_apply_failure_is_the_update_error() -> None:
    cli = FakeCli(answer(KIND, apply=Result(1, "", 'error: unable to recognize "x": no matches for kind "Widget"')))
    outcome, _ = run(cli, web(DEPLOY))
    assert not outcome.ok and outcome.error == \
        'kubectl apply failed (exit 1): error: unable to recognize "x": no matches for kind "Widget"'


def test_registry_from_the_cluster_configmap_push_and_in_cluster_ref() -> None:
    cm = {"data": {"localRegistryHosting.v1": 'host: "localhost:5001"\nhostFromContainerRuntime: "registry:5000"\n'}}
    cli = FakeCli(answer(KIND, configmap=Result(0, json.dumps(cm), "")))
    outcome, _ = run(cli, web(DEPLOY, images=(ImageTarget("web"),)), built={"web": "web:tilt-abc"})
    assert outcome.ok, outcome.error
    argvs = [c[0] for c in cli.calls]
    assert ["docker", "tag", "web:tilt-abc", "localhost:5001/web:tilt-abc"] in argvs
    assert ["docker", "push", "localhost:5001/web:tilt-abc"] in argvs
    applied = next(text for argv, text in cli.calls if "apply" in argv)
    assert "image: registry:5000/web:tilt-abc" in applied
    assert outcome.outputs.images == ("registry:5000/web:tilt-abc",)


def test_a_base_only_image_is_not_pushed() -> None:
    # `web` is built FROM `base`; the YAML names only `web`.
    cli = FakeCli(answer(KIND))
    images = (ImageTarget("base"), ImageTarget("web", image_deps=("base",)))
    outcome, lines = run(cli, web(DEPLOY, images=images), Settings(default_registry="localhost:5000"),
                         built={"base": "base:tilt-1", "web": "web:tilt-2"})
    assert outcome.ok, outcome.error
    pushes = [c[0] for c in cli.calls if c[0][:2] == ["docker", "push"]]
    assert pushes == [["docker", "push", "localhost:5000/web:tilt-2"]]
    assert "Not pushing base:tilt-1: only a base of other images" in lines
    # A base the YAML names too is pushed.
    both = obj("Deployment", "web", "spec:\n  template:\n    metadata: {labels: {app: web}}\n"
                                    "    spec: {containers: [{name: web, image: web}, {name: b, image: base}]}\n")
    cli = FakeCli(answer(KIND))
    outcome, _ = run(cli, web(both, images=images), Settings(default_registry="localhost:5000"),
                     built={"base": "base:tilt-1", "web": "web:tilt-2"})
    assert sorted(c[0][2] for c in cli.calls if c[0][:2] == ["docker", "push"]) == [
        "localhost:5000/base:tilt-1", "localhost:5000/web:tilt-2"]


def test_custom_deploy_gets_tilt_image_env_and_must_print_yaml() -> None:
    r = Resource("crd", ResourceKind.K8S, images=(ImageTarget("web"),),
                 k8s=K8sSpec(apply_cmd=Cmd(("sh", "-c", "deploy")), delete_cmd=Cmd(("sh", "-c", "undeploy")),
                             image_refs=("web",)))

    def script(argv: list[str], text: str) -> Result:
        if argv[1:3] == ["config", "view"]:
            return Result(0, json.dumps(KIND), "")
        if argv[:2] == ["sh", "-c"]:
            return Result(0, DEPLOY.yaml, "")
        return Result(0, "", "")

    cli = FakeCli(script)
    outcome, _ = run(cli, r, built={"web": "web:tilt-1"})
    assert outcome.ok, outcome.error
    env = json.loads(next(e for argv, e in cli.calls if argv[:2] == ["sh", "-c"]))
    assert env == {"TILT_IMAGE_0": "web:tilt-1", "TILT_IMAGE_MAP_0": "web"}
    assert outcome.outputs.applied == ("Deployment//web",)
    cli = FakeCli(lambda argv, text: Result(0, json.dumps(KIND) if "config" in argv else "", ""))
    outcome, _ = run(cli, r)
    assert not outcome.ok and "apply_cmd printed no objects" in outcome.error


def test_missing_kubectl_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    monkeypatch.setenv("PATH", "/nonexistent")
    outcome, _ = run(FakeCli(answer(KIND)), web(DEPLOY))
    assert not outcome.ok and outcome.error.startswith("`kubectl` is not installed (or not on PATH): it is needed "
                                                        "to deploy `web` to Kubernetes")


def test_server_side_apply_when_asked_or_when_too_big_for_the_annotation() -> None:
    cli = FakeCli(answer(KIND))
    outcome, _ = run(cli, web(DEPLOY), Settings(k8s_server_side_apply="true"))
    assert outcome.ok
    assert cli.calls[1][0][3:7] == ["apply", "--server-side", "--force-conflicts", "--field-manager=lockstep"]
    big = obj("ConfigMap", "big", "data: {blob: '" + "x" * 300_000 + "'}\n")
    cli = FakeCli(answer(KIND))
    outcome, _ = run(cli, web(DEPLOY, big))
    assert outcome.ok
    sides = sorted((c[0][4] == "--server-side", "big" in c[1]) for c in cli.calls[1:])
    assert sides == [(False, False), (True, True)]
    cli = FakeCli(answer(KIND))
    run(cli, web(big), Settings(k8s_server_side_apply="false"))
    assert "--server-side" not in cli.calls[1][0]


def test_objects_removed_from_the_yaml_are_deleted_on_the_next_apply() -> None:
    cli = FakeCli(answer(KIND))
    settings = obj("ConfigMap", "settings")

    class NoImages:
        async def build(self, resource: Resource, log: Any) -> dict[str, str]:
            return {}

    runner = K8sRunner(cli, lambda: DEFAULTS, NoImages(), Deployments())  # type: ignore[arg-type]
    lines: list[str] = []
    log = lambda text, stream: lines.append(text)  # noqa: E731
    assert asyncio.run(runner.run(UpdateJob(web(DEPLOY, settings), 1), log)).ok
    assert not any("delete" in argv for argv, _ in cli.calls)
    assert asyncio.run(runner.run(UpdateJob(web(DEPLOY), 2), log)).ok
    deletes = [(argv, text) for argv, text in cli.calls if "delete" in argv]
    assert len(deletes) == 1
    assert list(yaml.safe_load_all(deletes[0][1])) == [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "default"}}]
    assert "No longer in the YAML, deleting: ConfigMap/settings (namespace default)" in lines


def test_images_are_built_in_order_each_seeing_its_bases() -> None:
    from lockstep.engine.image_step import ImagesInOrder

    seen: list[tuple[str, dict[str, str]]] = []

    class Builder:
        async def build(self, img: ImageTarget, built: Any, log: Any) -> str:
            seen.append((img.ref, dict(built)))
            return f"{img.ref}:tilt-{len(seen)}"

    r = web(DEPLOY, images=(ImageTarget("base"), ImageTarget("web")))
    built = asyncio.run(ImagesInOrder(Builder()).build(r, lambda text, s: None))
    assert built == {"base": "base:tilt-1", "web": "web:tilt-2"}
    assert seen == [("base", {}), ("web", {"base": "base:tilt-1"})]


def test_down_runs_delete_cmd_with_delete_env_and_dir(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    import lockstep.cli.k8s_down as down
    from lockstep.tiltfile import load

    (tmp_path / "ops").mkdir()
    (tmp_path / "Tiltfile").write_text(
        "k8s_custom_deploy('crd', apply_cmd='true', delete_cmd='echo \"$WHAT\" > gone', deps=[],\n"
        "                  delete_dir='ops', delete_env={'WHAT': 'deleted'})\n")
    result = load(str(tmp_path / "Tiltfile"), [])
    assert result.ok, result.errors
    original = down._run

    def context_then_real(argv: list[str], text: str | None = None, **kw: Any) -> Any:
        if argv[:3] == ["kubectl", "config", "view"]:  # the context check, on a kind cluster
            return subprocess.CompletedProcess(argv, 0, json.dumps(KIND), "")
        return original(argv, text, **kw)

    monkeypatch.setattr(down, "_run", context_then_real)
    out: list[str] = []
    assert down.delete_k8s(result, out.append) == 0, out
    assert (tmp_path / "ops" / "gone").read_text() == "deleted\n"


def test_pod_selectors_label_extra_and_selectors_only() -> None:
    import dataclasses

    from lockstep.engine.k8s_runner import pod_selectors
    from lockstep.model.resource import DiscoveryStrategy

    docs = [yaml.safe_load(DEPLOY.yaml)]
    r = Resource("web", ResourceKind.K8S, k8s=K8sSpec(objects=(DEPLOY,), extra_pod_selectors=((("tier", "db"),),)))
    assert pod_selectors(r, docs, "dev", labelled=True) == (
        ("dev", "lockstep.dev/resource=web"), ("dev", "tier=db"))
    assert pod_selectors(r, docs, "dev", labelled=False) == (("dev", "app=web"), ("dev", "tier=db"))
    only = dataclasses.replace(r, k8s=dataclasses.replace(r.k8s, discovery_strategy=DiscoveryStrategy.SELECTORS_ONLY))
    assert pod_selectors(only, docs, "dev", labelled=True) == (("dev", "tier=db"),)
