"""Checks Tilt makes when a Tiltfile loads, each as an error at the call with a fix, plus the
small semantic gaps (links, suppressions, readable structs, test(), selectors, assert)."""

from __future__ import annotations

import pytest

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {metadata: {labels: {app: web}}, spec: {containers: [{name: w, image: nginx}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: other}
---
apiVersion: v1
kind: Secret
metadata: {name: "name:with:colons"}
"""

# (Tiltfile, expected message fragment, line of the error). Line 2 = the call below the
# k8s_yaml() every case starts with.
CASES = [
    ("local_resource('a')", "needs a `cmd` and/or a `serve_cmd`", 2),
    ("local_resource('a/b', 'true')", "invalid resource name 'a/b'", 2),
    ("local_resource('a', 'true', dir='x')\nlocal_resource('b', serve_cmd='x', dir='x')",
     "`dir` applies to `cmd`, not to `serve_cmd`", 3),
    ("local_resource('a', serve_dir='x', cmd='true')", "`serve_dir` is given but `serve_cmd` is empty", 2),
    ("local_resource('a', serve_cmd='x', dir='x')", "`dir` applies to `cmd`", 2),
    ("local_resource('a', 'true', labels=['a/b'])", "invalid label 'a/b'", 2),
    ("local_resource('a', 'true', env={'': 'x'})", "empty variable name", 2),
    ("local_resource('a', 'true')\nlocal_resource('a', 'true')", "already exists", 3),
    ("local_resource('api', 'true')\nk8s_resource('web', new_name='api')",
     "cannot rename `web` to `api`: a resource named `api` already exists", 3),
    ("local_resource('web', 'true')", "cannot make a k8s resource `web`", None),
    ("k8s_resource(new_name='a', objects=['cfg:configmap:default'])\n"
     "k8s_resource(new_name='b', objects=['cfg:configmap:default'])",
     "already belongs to resource `a`", 3),
    ("k8s_resource(new_name='a', objects=['cfg'])", "`cfg` matches several objects", 2),
    ("k8s_resource(new_name='a')", "without a workload needs objects=", 2),
    ("k8s_resource('web', port_forwards='bad host!:8000:80')", "is not a valid hostname", 2),
    ("k8s_resource('web', port_forwards=70000)", "not in the valid range", 2),
    ("k8s_resource('web', pod_readiness='sometimes')", "`pod_readiness` must be one of", 2),
    ("k8s_resource(new_name='a', objects=['a:b:c:d'])", "invalid object selector", 2),
    ("docker_build('x', '.', dockerfile='D', dockerfile_contents='FROM a')",
     "`dockerfile` and `dockerfile_contents` cannot both be given", 2),
    ("docker_build('x', '.', dockerfile_contents='FROM a')\n"
     "docker_build('docker.io/library/x', '.', dockerfile_contents='FROM a')", "is already built", 3),
    ("docker_build('Bad Ref', '.', dockerfile_contents='FROM a')", "invalid image ref", 2),
    ("docker_build('x', '.', dockerfile_contents='FROM a', only=['src/*.py'])", "does not support globs", 2),
    ("custom_build('x', 'make', ['.'], tag='dev', outputs_image_ref_to='ref.txt')",
     "`tag` and `outputs_image_ref_to` cannot both be given", 2),
    ("custom_build('x', 'make')", "missing required argument `deps`", 2),
    ("custom_build('x', 'make', ['.'], image_deps=['nope'])", "image dep `nope`", 2),
    ("trigger_mode(TRIGGER_MODE_MANUAL)\ntrigger_mode(TRIGGER_MODE_AUTO)", "can be called only once", 3),
    ("local_resource('a', 'true', links=[''])", "a link URL cannot be empty", 2),
    ("link('')", "a link URL cannot be empty", 2),
    ("config.parse()\nconfig.define_string('late')", "cannot be called after config.parse()", 3),
    ("k8s_yaml(blob(''))", "empty YAML", 2),
    ("k8s_yaml([])", "empty YAML", 2),
    ("update_settings(max_parallel_updates=0)", "max_parallel_updates must be >= 1", 2),
    ("update_settings(k8s_upsert_timeout_secs=0)", "k8s_upsert_timeout_secs must be at least 1", 2),
    ("update_settings(k8s_server_side_apply='maybe')", "k8s_server_side_apply must be", 2),
    ("set_team('a')\nset_team('b')", "team_id set twice", 3),
    ("docker_prune_settings(num_builds=3, interval_hrs=1)", "only one of `num_builds` and `interval_hrs`", 2),
    ("docker_build('x', '.', dockerfile_contents='FROM a', live_update=[run('x'), sync('.', '/a')])",
     "all sync() steps must come before all run() steps", 2),
    ("docker_build('x', '.', dockerfile_contents='FROM a', live_update=[restart_container(), run('x')])",
     "restart_container() is only valid as the last step", 2),
    ("docker_build('x', '.', dockerfile_contents='FROM a', live_update=[sync('.', '/a'), fall_back_on('f')])",
     "fall_back_on() steps must come first", 2),
    ("k8s_kind('X', image_json_path='{.a}', image_object={'json_path': '{.a}', 'repo_field': 'r', "
     "'tag_field': 't'})", "cannot both be given", 2),
    ("k8s_kind('X', '{.spec.image}')", "takes at most 1 positional argument", 2),
    ("k8s_image_json_path('{.a}')", "give at least one of kind, name or namespace", 2),
    ("k8s_custom_deploy('c', 'apply', '', [])", "`delete_cmd` cannot be empty", 2),
    ("docker_compose([])", "nothing to compose", 2),
    ("probe(http_get=exec_action(['true']))", "`http_get` must come from http_get_action()", 2),
    ("http_get_action(port=0)", "not in the valid range", 2),
    ("docker_build('nginx', '.', dockerfile_contents='FROM a', live_update=[restart_container()])",
     "restart_container() in the live_update of `nginx` is not supported for Kubernetes", 2),
    ("s = sync('.', '/app')\nlocal_resource('a', 'true')", "created but never used", 2),
    ("local_resource('a', 'true', resource_deps='b')", "`resource_deps` must be a list of strings", 2),
    ("k8s_resource(new_name='a', objects='cfg:configmap:default')", "`objects` must be a list of strings", 2),
    ("local_resource('a', 'true', ignore='x\\ny')", "cannot contain newlines", 2),
    ("filter_yaml('k.yaml', labels={'app': 1})", "`labels` must be a dict of strings", 2),
    ("analytics_settings('yes')", "`enable` must be True or False", 2),
    ("helm('k.yaml')", "helm() takes a chart directory", 2),
    ("default_registry('r.io')\ndefault_registry('s.io')", "already set", 3),
    ("default_registry('myregistry')", "invalid host 'myregistry': it must start with a registry domain", 2),
    ("default_registry('localhost:5000', host_from_cluster='a b')", "invalid host_from_cluster", 2),
    ("default_registry('localhost:5000', single_name='Dev')", "invalid single_name 'Dev'", 2),
    ("ci_settings(timeout='ten minutes')", "is not a duration", 2),
    ("docker_build('web-img', 'sub', dockerfile_contents='FROM a', live_update=[sync('other', '/a')])",
     "is not under any path the image watches", 2),
]


@pytest.mark.parametrize("source, message, line", CASES, ids=[c[1][:40] for c in CASES])
def test_tilt_rejects(tiltfile, source, message, line):
    r = tiltfile("k8s_yaml('k.yaml')\n" + source + "\n", files={"k.yaml": DEPLOY, "sub/f": ""})
    assert not r.ok, r.warnings
    err = r.errors[0]
    assert message in err.message, err.render()
    assert err.hint
    if line is not None:
        assert err.location is not None and err.location.line == line, err.render()


def test_default_registry_is_refused_with_compose(tiltfile):
    r = tiltfile("default_registry('r.io')\ndocker_compose('c.yaml')\n",
                 files={"c.yaml": "services: {web: {image: nginx}}\n"})
    assert not r.ok and "not supported with docker_compose()" in r.errors[0].message
    assert r.errors[0].location.line == 1


def test_readiness_probe_without_server_is_ignored_with_a_warning(tiltfile):
    r = tiltfile("local_resource('a', 'true', readiness_probe=probe(exec=exec_action(['true'])))\n")
    assert r.ok and r.resource("a").local.readiness_probe is None
    assert "readiness_probe of `a` is ignored" in r.warnings[0].message


@pytest.mark.parametrize("given, url", [
    ("localhost:3000", "http://localhost:3000"),
    ("example.com/docs", "http://example.com/docs"),
    ("https://example.com", "https://example.com"),
    ("http://localhost:3000/x", "http://localhost:3000/x"),
])
def test_links_without_scheme_get_http(tiltfile, given, url):
    r = tiltfile(f"local_resource('a', 'true', links=['{given}', link('{given}', 'n')])\n")
    assert [x.url for x in r.resource("a").links] == [url, url]


def test_suppress_unused_image_warnings_accumulates(tiltfile):
    r = tiltfile("""
        docker_build('a', '.', dockerfile_contents='FROM x')
        docker_build('b', '.', dockerfile_contents='FROM x')
        docker_build('c', '.', dockerfile_contents='FROM x')
        update_settings(suppress_unused_image_warnings=['a'])
        update_settings(suppress_unused_image_warnings='b')
    """)
    assert [w.message for w in r.warnings] == ["image `c` is built but no resource uses it"]


def test_structured_values_read_back(tiltfile):
    r = tiltfile("""
        p = probe(http_get=http_get_action(8080, path='/health'), period_secs=5)
        e = exec_action(['cat', '/ready'])
        t = tcp_socket_action(5432, host='db')
        l = link('localhost:3000', 'ui')
        f = port_forward(8000, 80, name='web')
        print(p.period_secs, p.http_get.port, p.http_get.path, p.exec, e.command, t.port, t.host)
        print(l.url, l.name, f.local_port, f.container_port, f.name)
        local_resource('s', serve_cmd='x', readiness_probe=p, links=[l])
    """)
    assert r.ok, r.errors
    assert r.printed == ("5 8080 /health None [\"cat\", \"/ready\"] 5432 db",
                         "http://localhost:3000 ui 8000 80 web")
    probe = r.resource("s").local.readiness_probe
    assert probe is not None and probe.port == 8080 and probe.period_secs == 5


def test_deprecated_test_builtin_is_a_parallel_local_resource(tiltfile):
    r = tiltfile("test('unit', 'pytest', deps=['src'])\n")
    assert r.ok, r.errors
    unit = r.resource("unit")
    assert unit.local.allow_parallel and unit.local.cmd.display() == "pytest"
    assert "test() is deprecated" in r.warnings[0].message


def test_escaped_colons_in_object_selectors(tiltfile):
    r = tiltfile("k8s_yaml('k.yaml')\nk8s_resource(new_name='s', objects=['name\\\\:with\\\\:colons:secret'])\n",
                 files={"k.yaml": DEPLOY})
    assert r.ok, r.errors
    assert [o.name for o in r.resource("s").k8s.objects] == ["name:with:colons"]


def test_assert_is_an_ordinary_name(tiltfile, tmp_path, monkeypatch):
    ext = tmp_path / "ext" / "assert"
    ext.mkdir(parents=True)
    (ext / "Tiltfile").write_text(
        "def _equals(a, b):\n    if a != b:\n        fail('not equal: %s != %s' % (a, b))\n\n"
        "assert = struct(equals = _equals)\n")
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS_DIR", str(tmp_path / "ext"))
    r = tiltfile("""
        load('ext://assert', 'assert')
        load('ext://assert', check='assert')
        assert.equals(1, 1)
        check.equals('a', 'a')
        def twice(assert):
            return assert * 2
        print(twice(2))
        assert.equals(1, 2)
    """)
    assert r.printed == ("4",)
    assert [e.message for e in r.errors] == ["fail(): not equal: 1 != 2"]


def test_unknown_assert_name_is_reported_as_assert(tiltfile):
    r = tiltfile("assert.equals(1, 1)\n")
    assert r.errors[0].message == "unknown name `assert`"


def test_selecting_resources_also_enables_uncategorized(tiltfile):
    r = tiltfile("k8s_yaml('k.yaml')\nlocal_resource('a', 'true')\n", files={"k.yaml": DEPLOY}, args=["a"])
    assert r.ok, r.errors
    assert r.enabled_resources == ("a", "uncategorized")
    r2 = tiltfile("local_resource('a', 'true')\nconfig.set_enabled_resources(['a'])\n")
    assert r2.enabled_resources == ("a",)  # no uncategorized resource to add


@pytest.mark.parametrize("call", [
    "disable_snapshots()", "enable_feature('snapshots')", "disable_feature('labels')",
    "analytics_settings(False)", "version_settings(constraint='>=0.30')", "secret_settings(disable_scrub=True)",
    "set_team('abc')", "experimental_analytics_report({'k': 'v'})", "experimental_metrics_settings(enabled=True)",
    "experimental_telemetry_cmd('echo hi')", "print(local_git_repo('.').paths('src'))",
    "docker_prune_settings(disable=True)", "ci_settings(timeout='10m')",
])
def test_builtins_without_effect_are_accepted(tiltfile, tmp_path, call):
    (tmp_path / ".git").mkdir(exist_ok=True)
    r = tiltfile(call + "\n")
    assert r.ok, r.errors
    assert len(r.warnings) <= 1


def test_missing_workload_still_checks_resource_deps_in_a_dry_run(tiltfile):
    r = tiltfile("""
        k8s_yaml(local('helm template chart'))
        local_resource('database', 'true')
        k8s_resource('api', resource_deps=['databse'])
    """, dry_run=True)
    assert r.ok, r.errors
    deps = [w for w in r.warnings if "resource_deps names unknown resource `databse`" in w.message]
    assert deps and deps[0].hint == "did you mean `database`?" and deps[0].location.line == 4


def test_resource_deps_naming_nothing_stays_an_error(tiltfile):
    r = tiltfile("local_resource('a', 'true', resource_deps=['b'])\n")
    assert not r.ok and "unknown resource `b`" in r.errors[0].message


def test_restart_container_stays_valid_for_compose(tiltfile):
    r = tiltfile("""
        docker_compose('c.yaml')
        docker_build('web', '.', dockerfile_contents='FROM a', live_update=[sync('.', '/a'), restart_container()])
    """, files={"c.yaml": "services: {web: {image: web}}\n"})
    assert r.ok, r.errors
    assert [s.kind.value for s in r.resource("web").images[0].live_update] == ["sync", "restart_container"]


# Every builtin in Tilt's api.py stubs, plus the ones Tilt registers without stubs.
_NAMES = """
port_forward link fall_back_on set_team initial_sync sync run restart_container docker_build docker_compose
k8s_yaml k8s_custom_deploy trigger_mode TRIGGER_MODE_AUTO TRIGGER_MODE_MANUAL dc_resource k8s_resource
filter_yaml include load_dynamic local read_file watch_file kustomize helm blob listdir k8s_kind
k8s_image_json_path decode_json encode_json read_json read_yaml read_yaml_stream decode_yaml decode_yaml_stream
encode_yaml encode_yaml_stream default_registry custom_build workload_to_resource_function k8s_context
k8s_namespace allow_k8s_contexts enable_feature disable_feature local_resource test disable_snapshots
docker_prune_settings analytics_settings version_settings struct secret_settings update_settings ci_settings
watch_settings warn fail exit probe exec_action http_get_action tcp_socket_action local_git_repo
experimental_analytics_report experimental_metrics_settings experimental_telemetry_cmd
config.define_string_list config.define_string config.define_bool config.define_object config.parse
config.set_enabled_resources config.clear_enabled_resources config.main_path config.main_dir
config.tilt_subcommand os.getcwd os.getenv os.putenv os.unsetenv os.environ os.name os.path.abspath
os.path.relpath os.path.basename os.path.dirname os.path.exists os.path.join os.path.realpath
shlex.quote sys.argv sys.executable
v1alpha1.cmd v1alpha1.config_map v1alpha1.extension v1alpha1.extension_repo v1alpha1.file_watch
v1alpha1.kubernetes_apply v1alpha1.kubernetes_discovery v1alpha1.ui_button v1alpha1.config_map_disable_source
v1alpha1.disable_source v1alpha1.exec_action v1alpha1.forward v1alpha1.http_get_action v1alpha1.http_header
v1alpha1.handler v1alpha1.ignore_def v1alpha1.kubernetes_apply_cmd v1alpha1.kubernetes_discovery_template_spec
v1alpha1.kubernetes_image_locator v1alpha1.kubernetes_image_object_descriptor v1alpha1.kubernetes_watch_ref
v1alpha1.label_selector v1alpha1.label_selector_requirement v1alpha1.object_selector
v1alpha1.pod_log_stream_template_spec v1alpha1.port_forward_template_spec v1alpha1.probe
v1alpha1.restart_on_spec v1alpha1.start_on_spec v1alpha1.tcp_socket_action v1alpha1.ui_bool_input_spec
v1alpha1.ui_component_location v1alpha1.ui_hidden_input_spec v1alpha1.ui_input_spec v1alpha1.ui_text_input_spec
"""
TILT_BUILTINS = [n for n in _NAMES.split() if n]


def test_every_tilt_builtin_is_defined(tiltfile):
    r = tiltfile("".join(f"x{i} = {name}\n" for i, name in enumerate(TILT_BUILTINS)))
    assert r.ok, r.errors


def test_v1alpha1_helpers_nest_into_recorded_objects(tiltfile):
    r = tiltfile("v1alpha1.ui_button(name='b', text='Go', location=v1alpha1.ui_component_location("
                 "component_id='api', component_type='Resource'))\n")
    assert r.ok, r.errors
    kind, args = r.api_objects[0]
    assert kind == "ui_button" and '"location": {"component_id": "api"' in args


def test_k8s_custom_deploy_image_deps_must_be_built(tiltfile):
    ok = tiltfile("""
        docker_build('app', '.', dockerfile_contents='FROM a', live_update=[sync('.', '/app')])
        k8s_custom_deploy('c', 'apply', 'delete', [], image_deps=['app'], image_selector='app',
                          live_update=[sync('.', '/app')])
    """)
    assert ok.ok, ok.errors
    assert [i.ref for i in ok.resource("c").images] == ["app"]
    bad = tiltfile("k8s_custom_deploy('c', 'apply', 'delete', [], image_deps=['nope'])\n")
    assert not bad.ok and "image build `nope` not found" in bad.errors[0].message


def test_dry_run_keeps_a_resource_whose_objects_it_could_not_see(tiltfile):
    r = tiltfile("""
        k8s_yaml(local('kustomize build crds'))
        k8s_resource(new_name='crds', objects=['widgets:customresourcedefinition'])
        local_resource('wait', 'true', resource_deps=['crds'])
    """, dry_run=True)
    assert r.ok, r.errors
    assert r.resource("crds") is not None and r.resource("wait").resource_deps == ("crds",)
    assert not any("unknown resource" in w.message for w in r.warnings)
