#!/usr/bin/env python3
"""A `helm` stand-in for tests: records every command line and plays a tiny release store.

Install it on PATH as `helm` (see `install`). STANDIN_DIR holds:
  helm-calls.jsonl      one JSON line per call: {"argv": [...]}
  releases/NAME.yaml    the manifest `upgrade --install` stored for release NAME
What each verb does:
  repo list             prints the repositories added so far (YAML list)
  repo add NAME URL     records it; repo update prints a line
  search repo R/C       prints [{name: R/C, version: 1.0.0}]
  pull R/C --untar --destination D   writes D/C/Chart.yaml and D/C/templates/deployment.yaml
  template NAME CHART   prints the chart's templates, RELEASE-NAME and RELEASE-NAMESPACE filled in
  upgrade --install [--set k=v]... [--namespace N] NAME CHART
                        stores the chart's templates (or one Deployment using --set image.*)
  get manifest [--namespace N] NAME   prints the stored manifest
  status NAME           exit 0 if the release exists, else 1
  uninstall NAME        removes it
  version               prints a version
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DIR = Path(os.environ.get("STANDIN_DIR", "."))
TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: RELEASE-NAME
  labels: {app: RELEASE-NAME}
spec:
  selector:
    matchLabels: {app: RELEASE-NAME}
  template:
    metadata:
      labels: {app: RELEASE-NAME}
    spec:
      containers:
        - name: main
          image: IMAGE
"""


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else ""


def _positional(argv: list[str]) -> list[str]:
    """Words that are not flags or flag values (every flag used here takes a value but --untar/--install)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a.startswith("--") and a not in ("--untar", "--install", "--skip-crds", "--include-crds"):
            skip = "=" not in a
        elif not a.startswith("-"):
            out.append(a)
    return out


def _render(chart: str, release: str, sets: dict[str, str], namespace: str) -> str:
    templates = Path(chart) / "templates"
    text = "\n---\n".join(p.read_text() for p in sorted(templates.glob("*.yaml"))) if templates.is_dir() \
        else TEMPLATE
    image = sets.get("image", "")
    if "image.repository" in sets:
        image = sets["image.repository"] + (":" + sets["image.tag"] if "image.tag" in sets else "")
    # A chart's {{ .Release.Name }} / {{ .Release.Namespace }}, in this stand-in's spelling.
    return text.replace("RELEASE-NAMESPACE", namespace or "default").replace("RELEASE-NAME", release) \
        .replace("IMAGE", image or "nginx")


def main() -> int:
    argv = sys.argv[1:]
    DIR.mkdir(parents=True, exist_ok=True)
    with open(DIR / "helm-calls.jsonl", "a") as fh:
        fh.write(json.dumps({"argv": ["helm", *argv]}) + "\n")
    words = _positional(argv)
    releases = DIR / "releases"
    repos = DIR / "repos.json"
    added = json.loads(repos.read_text()) if repos.exists() else []
    if words[:2] == ["repo", "list"]:
        print(json.dumps(added))
    elif words[:2] == ["repo", "add"]:
        added.append({"name": words[2], "url": words[3]})
        repos.write_text(json.dumps(added))
        print(f'"{words[2]}" has been added to your repositories')
    elif words[:2] == ["repo", "update"]:
        print("Update Complete.")
    elif words[:2] == ["search", "repo"]:
        print(json.dumps([{"name": words[2], "version": "1.0.0"}]))
    elif words[:1] == ["pull"]:
        chart = words[1].rsplit("/", 1)[-1]
        target = Path(_option(argv, "--destination")) / chart
        (target / "templates").mkdir(parents=True, exist_ok=True)
        (target / "Chart.yaml").write_text(f"name: {chart}\nversion: 1.0.0\n")
        (target / "templates" / "deployment.yaml").write_text(TEMPLATE)
    elif words[:1] == ["template"]:
        sets = dict(s.split("=", 1) for s in (argv[i + 1] for i, a in enumerate(argv) if a == "--set"))
        print(_render(words[2], words[1], sets, _option(argv, "--namespace")))
    elif words[:1] == ["upgrade"]:
        sets = dict(s.split("=", 1) for s in (argv[i + 1] for i, a in enumerate(argv) if a == "--set"))
        release, chart = words[1], words[2]
        releases.mkdir(exist_ok=True)
        (releases / f"{release}.yaml").write_text(_render(chart, release, sets, _option(argv, "--namespace")))
        print(f'Release "{release}" has been upgraded. Happy Helming!')
    elif words[:2] == ["get", "manifest"]:
        path = releases / f"{words[2]}.yaml"
        if not path.exists():
            sys.stderr.write("Error: release: not found\n")
            return 1
        print(path.read_text())
    elif words[:1] == ["status"]:
        return 0 if (releases / f"{words[1]}.yaml").exists() else 1
    elif words[:1] == ["uninstall"]:
        (releases / f"{words[1]}.yaml").unlink(missing_ok=True)
        print(f'release "{words[1]}" uninstalled')
    elif words[:1] == ["version"]:
        print('version.BuildInfo{Version:"v3.14.0"}')
    else:
        sys.stderr.write(f"helm stand-in: unsupported command {argv}\n")
        return 1
    return 0


def install(bindir: Path, standin_dir: Path) -> None:
    """A `helm` on `bindir` running this script (use with kubectl_standin.install's environment)."""
    bindir.mkdir(parents=True, exist_ok=True)
    exe = bindir / "helm"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    exe.chmod(0o755)


def calls(standin_dir: Path) -> list[list[str]]:
    path = standin_dir / "helm-calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line)["argv"] for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    sys.exit(main())
