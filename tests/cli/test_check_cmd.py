import json

from lockstep.cli.main import main


def write(tmp_path, text):
    (tmp_path / "Tiltfile").write_text(text)
    return str(tmp_path / "Tiltfile")


def test_check_prints_resources_upstreams_and_order(tmp_path, capsys):
    path = write(tmp_path, "local_resource('b', 'true', resource_deps=['a'])\nlocal_resource('a', 'true')\n")
    assert main(["check", "-f", path]) == 0
    out = capsys.readouterr().out
    assert "upstreams: a" in out and "Start order: a → b" in out and out.strip().endswith("OK")


def test_check_exits_1_on_error_and_names_the_line(tmp_path, capsys):
    path = write(tmp_path, "local_resource('a', 'true', resource_deps=['nope'])\n")
    assert main(["check", "-f", path]) == 1
    out = capsys.readouterr().out
    assert "Tiltfile:1:1: error: resource `a` depends on unknown resource `nope`" in out and "fix:" in out


def test_check_json_and_tiltfile_args(tmp_path, capsys):
    path = write(tmp_path, "config.define_string('name')\nlocal_resource(config.parse()['name'], 'true')\n")
    assert main(["check", "-f", path, "--json", "--", "--name=svc"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["resources"][0]["name"] == "svc" and data["start_order"] == ["svc"]


def test_check_dry_run_does_not_execute_local(tmp_path, capsys):
    marker = tmp_path / "ran"
    path = write(tmp_path, f"local('touch {marker}')\n")
    assert main(["check", "-f", path, "--dry-run"]) == 0
    assert not marker.exists()
    assert main(["check", "-f", path]) == 0
    assert marker.exists()


def test_check_never_prints_a_traceback(tmp_path, capsys):
    path = write(tmp_path, "def f(:\n")
    assert main(["check", "-f", path]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err and "syntax error" in captured.out


def test_check_groups_identical_warnings(tmp_path, capsys):
    path = write(tmp_path, "".join(f"local_resource('r{i}', 'true', readiness_probe=probe("
                                   f"exec=exec_action(['true'])))\n" for i in range(3))
                 + "docker_build('img', '.', dockerfile_contents='FROM x')\n"
                 + "".join("warn('same')\n" for _ in range(13)))
    assert main(["check", "-f", path]) == 0
    out = capsys.readouterr().out
    assert out.count("warning: same") == 1 and "warning: same (\u00d713)" in out
    assert out.count("is ignored: it has no serve_cmd") == 3  # different messages stay apart
    assert "image `img` is built but no resource uses it\n" in out


K8S_TILTFILE = """
k8s_yaml(blob('''
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
'''))
local_resource('load', cmd='kind load docker-image web')
"""


def test_check_names_missing_kubectl_and_kind(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, K8S_TILTFILE)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    assert main(["check", "-f", path]) == 1
    out = capsys.readouterr().out
    assert "error: `kubectl` is not installed (or not on PATH); it is needed to deploy `web`" in out
    assert "error: `kind` is not installed (or not on PATH); it is needed to run `load`" in out
    for tool in ("kubectl", "kind"):
        exe = bindir / tool
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    assert main(["check", "-f", path]) == 0


def test_check_evaluates_once_with_its_own_arguments(tmp_path, capsys):
    """The evaluation asked for before the report's modules load is the one used: once, with the
    Tiltfile's arguments and the dry-run flag (a mismatch would evaluate a second time)."""
    runs = tmp_path / "runs"
    tf = tmp_path / "Tiltfile"
    tf.write_text("config.define_string('who')\ncfg = config.parse()\n"
                  f"local('echo ' + cfg.get('who', 'nobody') + ' >> {runs}')\n"
                  "local_resource('a', cmd='true')\n")
    assert main(["check", "-f", str(tf), "--", "--who=me"]) == 0
    assert runs.read_text() == "me\n"
    assert main(["check", "--dry-run", "-f", str(tf)]) == 0
    assert runs.read_text() == "me\n"  # a dry run runs no local()
    capsys.readouterr()
