"""helm() and kustomize() run their tool at load time and are watched: a change to the chart,
its values or the overlay re-reads the Tiltfile, and changed YAML re-applies the resource."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockstep.tiltfile import load

HELM = """#!/bin/sh
# helm template NAME CHART ...: a Deployment whose image comes from the chart's values file.
echo "$@" >> "$(dirname "$0")/helm-calls"
image=$(sed -n 's/^image: //p' "$3/values.yaml")
cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $2}
spec:
  template:
    metadata: {labels: {app: $2}}
    spec: {containers: [{name: app, image: $image}]}
YAML
"""
KUSTOMIZE = """#!/bin/sh
echo "$@" >> "$(dirname "$0")/kustomize-calls"
cat "$2/all.yaml"
"""


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, text in (("helm", HELM), ("kustomize", KUSTOMIZE)):
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    return bindir


def test_helm_template_output_is_deployed_and_the_chart_watched(tmp_path: Path, tools: Path) -> None:
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text("name: db\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: postgres:16\n")
    (tmp_path / "Tiltfile").write_text("k8s_yaml(helm('chart', name='db', namespace='data'))\n")
    first = load(str(tmp_path / "Tiltfile"), [])
    assert first.ok, first.errors
    assert (tools / "helm-calls").read_text().split() == ["template", "db", str(chart), "--namespace", "data",
                                                          "--include-crds"]
    assert str(chart) in first.config_files  # a change under the chart re-reads the Tiltfile
    db = first.resource("db")
    assert db is not None and db.k8s is not None and "postgres:16" in db.k8s.objects[0].yaml
    (chart / "values.yaml").write_text("image: postgres:17\n")
    second = load(str(tmp_path / "Tiltfile"), [])
    # The definition changed, so the engine re-runs (re-applies) the resource.
    assert second.resource("db") != db
    assert "postgres:17" in second.resource("db").k8s.objects[0].yaml  # type: ignore[union-attr]


def test_kustomize_build_is_watched(tmp_path: Path, tools: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [all.yaml]\n")
    (overlay / "all.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n")
    (tmp_path / "Tiltfile").write_text("k8s_yaml(kustomize('overlay'))\n")
    result = load(str(tmp_path / "Tiltfile"), [])
    assert result.ok, result.errors
    assert (tools / "kustomize-calls").read_text().split() == ["build", str(overlay)]
    assert str(overlay) in result.config_files
    assert [o.name for r in result.resources for o in (r.k8s.objects if r.k8s else ())] == ["settings"]
