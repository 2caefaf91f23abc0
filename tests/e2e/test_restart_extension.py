"""A restart_process-style extension (`docker_build_with_restart`) on a real Docker engine:
the user's context (relative to the main Tiltfile, as in Tilt) builds the base image, the
extension wraps its entrypoint in an image built from the extension's own directory, and the
Kubernetes deploy (against a kubectl stand-in) runs that image with the wrapped entrypoint as
its command; the image then runs as the pod would run it. (Tilt refuses `entrypoint=` for
Docker Compose services, so the extension is for Kubernetes.)

The extension and its helper image are written here from scratch in the published one's
shape (no image can be pulled here, so the helper is built from busybox).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerd import DockerEngine
from kubectl_standin import calls, install
from upproc import Up, wait_until

pytestmark = pytest.mark.e2e

HELPER = "lockstep-test/restart-helper:1"
EXTENSION = '''
RESTART_FILE = '/tmp/.restart-proc'
_ext_dir = os.getcwd()

def docker_build_with_restart(ref, context, entrypoint, live_update=[], base_suffix='-restart-base',
                              restart_file=RESTART_FILE, **kwargs):
    base_ref = ref + base_suffix
    docker_build(base_ref, context, **kwargs)
    wrapped = ["/tilt-restart-wrapper", "--watch_file={}".format(restart_file)]
    if type(entrypoint) == type(""):
        wrapped = wrapped + ["sh", "-c", entrypoint]
    else:
        wrapped = wrapped + entrypoint
    df = """
    FROM {helper} as restart-helper

    FROM {ref}
    RUN ["touch", "{file}"]
    COPY --from=restart-helper /tilt-restart-wrapper /
    ENTRYPOINT {entry}
    """.format(helper="HELPER", ref=base_ref, file=restart_file, entry=wrapped)
    # The extension's own directory is the context: its Dockerfile needs nothing from the user's.
    docker_build(ref, _ext_dir, entrypoint=wrapped, dockerfile_contents=df,
                 live_update=live_update + [run('date > {}'.format(restart_file))])
'''.replace("HELPER", HELPER)
WRAPPER = """#!/bin/sh
# Stand-in for the published helper: take the wrapper's flags, then run the entrypoint.
for arg in "$@"; do
  case "$arg" in --*) shift ;; *) break ;; esac
done
echo "restart-wrapper: running $*"
exec "$@"
"""


APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: lockstep-test/restart-app
          command: ["/bin/false"]
"""


def test_docker_build_with_restart_runs_the_wrapped_entrypoint(tmp_path: Path, docker_engine: DockerEngine,
                                                               busybox_image: str) -> None:
    helper = tmp_path / "helper"
    helper.mkdir()
    (helper / "tilt-restart-wrapper").write_text(WRAPPER)
    (helper / "tilt-restart-wrapper").chmod(0o755)
    (helper / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY tilt-restart-wrapper /\n")
    docker_engine.docker("build", "-t", HELPER, str(helper))
    ext = tmp_path / "extensions" / "restarter"
    ext.mkdir(parents=True)
    (ext / "Tiltfile").write_text(textwrap.dedent(EXTENSION))
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "version.txt").write_text("app-v1")
    (project / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY app /app\nRUN [\"mkdir\", \"/tmp\"]\n")
    (project / "app.yaml").write_text(APP)
    (project / ".dockerignore").write_text("up.log\n")  # the test's own log of `up`, written beside it
    (project / "Tiltfile").write_text("""
load('ext://restarter', 'docker_build_with_restart')
docker_build_with_restart('lockstep-test/restart-app', '.', 'echo serving $(cat /app/version.txt)',
                          live_update=[sync('app', '/app')])
k8s_yaml('app.yaml')
""")
    sdir = tmp_path / "standin"
    env = install(tmp_path / "bin", sdir)
    env.update({"LOCKSTEP_EXTENSIONS_DIR": str(tmp_path / "extensions"), "XDG_DATA_HOME": str(tmp_path / "data")})

    def applied() -> dict[str, Any] | None:
        for c in calls(sdir):
            for text in c["files"].values():  # type: ignore[attr-defined]
                docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
                if any(d.get("kind") == "Deployment" for d in docs):
                    return next(d for d in docs if d.get("kind") == "Deployment")
        return None

    with Up(project / "Tiltfile", tmp_path / "state", env=env) as up:
        deployment = wait_until(applied, timeout=180, what="the Deployment applied")
        assert "Traceback" not in up.log_text()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    image, command = container["image"], container["command"]
    assert image.startswith("lockstep-test/restart-app:tilt-")
    # The wrapped entrypoint replaces the YAML's command, as Tilt injects it.
    assert command == ["/tilt-restart-wrapper", "--watch_file=/tmp/.restart-proc", "sh", "-c",
                       "echo serving $(cat /app/version.txt)"]
    # That image, run as the pod would run it: the wrapper starts the user's entrypoint, on the
    # files of the base image built from the project's context (relative to the main Tiltfile).
    out = docker_engine.docker("run", "--rm", "--network", "none", "--entrypoint", command[0], image,
                               *command[1:]).stdout
    assert out.splitlines() == ["restart-wrapper: running sh -c echo serving $(cat /app/version.txt)",
                                "serving app-v1"]
    # Its own ENTRYPOINT is the wrapped one too (for deploys that cannot override it).
    config = json.loads(docker_engine.docker("inspect", image).stdout)[0]["Config"]
    assert config["Entrypoint"] == command
    assert docker_engine.docker("run", "--rm", "--network", "none", image, check=True).stdout.endswith(
        "serving app-v1\n")
    assert (tmp_path / "standin" / "calls.jsonl").exists()
