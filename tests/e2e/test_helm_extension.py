"""A helm_resource-style extension (`ext://`) deploys through k8s_custom_deploy on a real
`lockstep up`, against `helm` and `kubectl` stand-ins that record every command line.

The extension is written here from scratch in the shape of the published one: a Starlark
function that calls k8s_custom_deploy with an apply helper script that lives beside the
extension's Tiltfile (found with os.path.abspath at its top level) and a release name,
chart and namespace passed in the environment; images built by the Tiltfile are set
with --set as repository and tag.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from helm_standin import calls as helm_calls
from helm_standin import install as install_helm
from kubectl_standin import calls, install
from podjson import container_status, pod
from upproc import VENV_BIN, Up, wait_until

pytestmark = pytest.mark.e2e

EXTENSION = '''
_apply = os.path.abspath('apply.py')
_delete = os.path.abspath('delete.py')

def helm_release(name, chart, namespace='', image_deps=[], image_keys=[], flags=[], resource_deps=[]):
    env = {'CHART': chart, 'RELEASE': name, 'NAMESPACE': namespace, 'IMAGE_COUNT': str(len(image_deps))}
    for i in range(len(image_keys)):
        env['IMAGE_KEY_REPO_%d' % i] = image_keys[i][0]
        env['IMAGE_KEY_TAG_%d' % i] = image_keys[i][1]
    k8s_custom_deploy(name, apply_cmd=['python3', _apply] + flags, apply_env=env,
                      delete_cmd=['python3', _delete], delete_env=env, deps=[chart], image_deps=image_deps)
    if resource_deps:
        k8s_resource(name, resource_deps=resource_deps)
'''
APPLY = '''
import os, subprocess, sys
flags = sys.argv[1:]
for i in range(int(os.environ['IMAGE_COUNT'])):
    repo, tag = os.environ['TILT_IMAGE_%d' % i].rsplit(':', 1)
    flags += ['--set', '%s=%s' % (os.environ['IMAGE_KEY_REPO_%d' % i], repo),
              '--set', '%s=%s' % (os.environ['IMAGE_KEY_TAG_%d' % i], tag)]
ns = ['--namespace', os.environ['NAMESPACE']] if os.environ['NAMESPACE'] else []
subprocess.check_call(['helm', 'upgrade', '--install'] + flags + ns + [os.environ['RELEASE'], os.environ['CHART']],
                      stdout=sys.stderr)
manifest = subprocess.check_output(['helm', 'get', 'manifest'] + ns + [os.environ['RELEASE']])
subprocess.run(['kubectl', 'get', '-oyaml', '-f', '-'], input=manifest, check=True)
'''
DELETE = '''
import os, subprocess
ns = ['--namespace', os.environ['NAMESPACE']] if os.environ['NAMESPACE'] else []
if subprocess.call(['helm', 'status', os.environ['RELEASE']] + ns) == 0:
    subprocess.call(['helm', 'uninstall', os.environ['RELEASE']] + ns)
'''
CHART = '''
apiVersion: apps/v1
kind: Deployment
metadata:
  name: RELEASE-NAME
  namespace: RELEASE-NAMESPACE
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
'''
TILTFILE = '''
load('ext://helmish', 'helm_release')
# An image "built" without a Docker engine: its ref is the expected one.
custom_build('web', 'true', deps=['src'], tag='v1', skips_local_docker=True)
helm_release('web', './chart', namespace='apps', image_deps=['web'],
             image_keys=[('image.repository', 'image.tag')], flags=['--set', 'replicas=2'])
local_resource('after', cmd='echo web is ready', resource_deps=['web'])
'''


def test_helm_release_extension_deploys_and_down_uninstalls(tmp_path: Path) -> None:
    ext = tmp_path / "extensions" / "helmish"
    ext.mkdir(parents=True)
    (ext / "Tiltfile").write_text(textwrap.dedent(EXTENSION))
    (ext / "apply.py").write_text(APPLY)
    (ext / "delete.py").write_text(DELETE)
    project = tmp_path / "project"
    (project / "chart" / "templates").mkdir(parents=True)
    (project / "chart" / "templates" / "deployment.yaml").write_text(CHART)
    (project / "src").mkdir()
    (project / "Tiltfile").write_text(TILTFILE)
    sdir = tmp_path / "standin"
    env = install(tmp_path / "bin", sdir)
    install_helm(tmp_path / "bin", sdir)
    env.update({"LOCKSTEP_EXTENSIONS_DIR": str(tmp_path / "extensions"), "XDG_DATA_HOME": str(tmp_path / "data")})

    with Up(project / "Tiltfile", tmp_path / "state", env=env) as up:
        wait_until(lambda: ["helm", "get", "manifest", "--namespace", "apps", "web"] in helm_calls(sdir),
                   30, "helm get manifest")
        assert helm_calls(sdir)[0] == ["helm", "upgrade", "--install", "--set", "replicas=2",
                                       "--set", "image.repository=web", "--set", "image.tag=v1",
                                       "--namespace", "apps", "web", "./chart"]
        get = wait_until(lambda: next((c for c in calls(sdir) if c["argv"] == ["kubectl", "get", "-oyaml", "-f", "-"]
                                       and "stdin" in c), None), 30, "kubectl get -oyaml -f -")
        (deployment,) = get["stdin"]  # type: ignore[misc]
        assert deployment["metadata"] == {"name": "web", "namespace": "apps"}
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "web:v1"
        # Its pods are watched where the release put them, by the workload's own selector.
        wait_until(lambda: any("--watch" in c["argv"] and "pods" in c["argv"]  # type: ignore[operator]
                               and "apps" in c["argv"] for c in calls(sdir)), 30, "the pod watch in apps")
        assert "web is ready" not in up.log_text()
        p = pod("web-1", labels={"app": "web"}, statuses=[container_status("main", ready=True, image="web:v1")])
        p["metadata"]["namespace"] = "apps"
        with open(sdir / "pods.jsonl", "a") as fh:
            fh.write(json.dumps({"type": "ADDED", "object": p}) + "\n")
        up.expect("web is ready", timeout=30)
    down = subprocess.run([f"{VENV_BIN}/lockstep", "down", "-f", str(project / "Tiltfile")], env=up.env,
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
    assert helm_calls(sdir)[-2:] == [["helm", "status", "web", "--namespace", "apps"],
                                     ["helm", "uninstall", "web", "--namespace", "apps"]]
    # The extension ran from its tilt_modules copy, not from the project.
    assert (tmp_path / "data" / "lockstep" / "tilt_modules" / "helmish" / "apply.py").is_file()
    assert not (project / "tilt_modules").exists()


REMOTE_EXTENSION = '''
def _find_root():
    current = os.path.abspath('./')
    while True:
        if os.path.exists(os.path.join(current, 'tilt_modules')):
            return current
        next_dir = os.path.dirname(current)
        if next_dir == current:
            fail('Could not find root Tiltfile')
        current = next_dir

cache_dir = os.path.join(_find_root(), '.helm')
watch_settings(ignore=cache_dir)

def helm_remote(chart, repo_url, repo_name, version, namespace='default', release_name=''):
    known = decode_yaml(local('helm repo list --output yaml 2>/dev/null || true', quiet=True)) or []
    if not [r for r in known if r['name'] == repo_name]:
        local(['helm', 'repo', 'add', repo_name, repo_url], quiet=True)
    target = os.path.join(cache_dir, repo_name, version)
    if not os.path.exists(os.path.join(target, chart)):
        local(['helm', 'pull', '%s/%s' % (repo_name, chart), '--untar', '--destination', target,
               '--version', version], quiet=True)
    yaml = helm(os.path.join(target, chart), name=release_name or chart, namespace=namespace)
    k8s_yaml(yaml)
    return yaml
'''


def test_helm_remote_extension_pulls_into_its_cache_and_renders(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from lockstep.tiltfile import load

    ext = tmp_path / "extensions" / "remote"
    ext.mkdir(parents=True)
    (ext / "Tiltfile").write_text(textwrap.dedent(REMOTE_EXTENSION))
    sdir = tmp_path / "standin"
    for key, value in install(tmp_path / "bin", sdir).items():
        monkeypatch.setenv(key, value)
    install_helm(tmp_path / "bin", sdir)
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS_DIR", str(tmp_path / "extensions"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "Tiltfile").write_text(
        "load('ext://remote', 'helm_remote')\n"
        "helm_remote('redis', 'https://charts.example.com/stable', 'stable', '17.0.0', namespace='cache')\n"
        "k8s_resource('redis', port_forwards=6379)\n")
    cache = tmp_path / "data" / "lockstep" / ".helm" / "stable" / "17.0.0"
    first = load(str(project / "Tiltfile"), timeout=30)
    assert first.ok, first.errors
    assert helm_calls(sdir) == [
        ["helm", "repo", "list", "--output", "yaml"],
        ["helm", "repo", "add", "stable", "https://charts.example.com/stable"],
        ["helm", "pull", "stable/redis", "--untar", "--destination", str(cache), "--version", "17.0.0"],
        ["helm", "template", "redis", str(cache / "redis"), "--namespace", "cache", "--include-crds"],
    ]
    redis = first.resource("redis")
    assert redis is not None and redis.k8s is not None
    assert [(o.kind, o.name) for o in redis.k8s.objects] == [("Deployment", "redis")]
    assert str(tmp_path / "data" / "lockstep" / ".helm") in first.settings.watch_ignore
    # Evaluated again (a reload): the repository is known and the chart is cached.
    before = len(helm_calls(sdir))
    again = load(str(project / "Tiltfile"), timeout=30)
    assert again.ok, again.errors
    assert helm_calls(sdir)[before:] == [
        ["helm", "repo", "list", "--output", "yaml"],
        ["helm", "template", "redis", str(cache / "redis"), "--namespace", "cache", "--include-crds"],
    ]
