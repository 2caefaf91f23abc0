"""Tables from Tilt's documented behaviour: Services grouped by selector, image refs matched
with their tags, images built FROM other images, port forwards resolved at run time."""

from __future__ import annotations

import pytest

from lockstep.model.resource import PodReadiness
from lockstep.tiltfile.images import dockerfile_refs
from lockstep.tiltfile.jsonpath import JsonPathError, evaluate
from lockstep.tiltfile.refs import RefError, RefSelector, parse_ref


def deploy(name: str, image: str, labels: str = "{app: NAME}", namespace: str = "") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}{ns}}}
spec:
  selector: {{matchLabels: {labels.replace('NAME', name)}}}
  template:
    metadata: {{labels: {labels.replace('NAME', name)}}}
    spec:
      containers: [{{name: main, image: "{image}"}}]
---"""


def service(name: str, selector: str, namespace: str = "") -> str:
    ns = f", namespace: {namespace}" if namespace else ""
    sel = f"\n  selector: {selector}" if selector else ""
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}{ns}}}
spec:
  ports: [{{port: 80}}]{sel}
---"""


def objects(result, name):
    r = result.resource(name)
    assert r is not None, [x.name for x in result.resources]
    return sorted(f"{o.name}:{o.kind}" for o in r.k8s.objects)


# -- family 2: Services grouped by the selector of the workload's pod template ----------

@pytest.mark.parametrize("yaml, expected", [
    # A Service whose selector matches the pod labels joins the workload.
    (deploy("web", "nginx") + service("web-svc", "{app: web}"),
     {"web": ["web-svc:Service", "web:Deployment"]}),
    # Selector is a subset of the pod labels: still a match.
    (deploy("web", "nginx", "{app: NAME, tier: front}") + service("s", "{tier: front}"),
     {"web": ["s:Service", "web:Deployment"]}),
    # A selector label the pods do not carry: uncategorized.
    (deploy("web", "nginx") + service("s", "{app: web, tier: x}"),
     {"web": ["web:Deployment"], "uncategorized": ["s:Service"]}),
    # No selector at all: uncategorized (Tilt: an empty selector matches nothing).
    (deploy("web", "nginx") + service("s", ""),
     {"web": ["web:Deployment"], "uncategorized": ["s:Service"]}),
    # Namespaced Service only joins a workload of the same namespace.
    (deploy("web", "nginx", namespace="a") + service("s", "{app: web}", namespace="b"),
     {"web": ["web:Deployment"], "uncategorized": ["s:Service"]}),
    (deploy("web", "nginx", namespace="a") + service("s", "{app: web}", namespace="a"),
     {"web": ["s:Service", "web:Deployment"]}),
    # A Service without a namespace may join a workload of any namespace.
    (deploy("web", "nginx", namespace="a") + service("s", "{app: web}"),
     {"web": ["s:Service", "web:Deployment"]}),
    # Two workloads whose pods both match: the first workload takes it.
    (deploy("a", "nginx", "{role: x}") + deploy("b", "redis", "{role: x}") + service("s", "{role: x}"),
     {"a": ["a:Deployment", "s:Service"], "b": ["b:Deployment"]}),
])
def test_services_grouped_by_selector(tiltfile, yaml, expected):
    r = tiltfile("k8s_yaml('k.yaml')\n", files={"k.yaml": yaml})
    assert r.ok, r.errors
    assert {x.name: objects(r, x.name) for x in r.resources} == expected


def test_a_grouped_service_cannot_be_claimed_again(tiltfile):
    r = tiltfile("""
        k8s_yaml('k.yaml')
        k8s_resource(new_name='svc', objects=['web-svc:service'])
    """, files={"k.yaml": deploy("web", "nginx") + service("web-svc", "{app: web}")})
    assert not r.ok
    assert "already belongs to resource `web`" in r.errors[0].message and r.errors[0].location.line == 3


# -- family 3: image refs matched with their tags ------------------------------------------

@pytest.mark.parametrize("builds, used, expected", [
    # Untagged build: matches any tag or digest of the repository.
    (["app"], {"w1": "app", "w2": "app:v2", "w3": "docker.io/library/app@sha256:" + "a" * 64},
     {"w1": ["app"], "w2": ["app"], "w3": ["app"]}),
    # Tagged build: only that exact tag.
    (["app:v2"], {"w1": "app", "w2": "app:v2"}, {"w1": [], "w2": ["app:v2"]}),
    # The same repository under two refs: both exact, each finds only its own use.
    (["app", "app:v2"], {"w1": "app", "w2": "app:v2"}, {"w1": ["app"], "w2": ["app:v2"]}),
    # Registry host and library prefix normalise.
    (["gcr.io/p/api"], {"w1": "gcr.io/p/api:1", "w2": "p/api"}, {"w1": ["gcr.io/p/api"], "w2": []}),
    (["redis"], {"w1": "docker.io/library/redis:7"}, {"w1": ["redis"]}),
])
def test_image_matching_follows_tags(tiltfile, builds, used, expected):
    src = "k8s_yaml('k.yaml')\n" + "".join(
        f"docker_build('{b}', '.', dockerfile_contents='FROM scratch')\n" for b in builds)
    src += "update_settings(suppress_unused_image_warnings='*')\n"
    r = tiltfile(src, files={"k.yaml": "".join(deploy(w, img) for w, img in used.items())})
    assert r.ok, r.errors
    assert {w: [i.ref for i in r.resource(w).images] for w in used} == expected


def test_unused_tagged_image_is_reported(tiltfile):
    r = tiltfile("""
        k8s_yaml('k.yaml')
        docker_build('app:v2', '.', dockerfile_contents='FROM scratch')
    """, files={"k.yaml": deploy("w", "app")})
    assert r.ok and [w.message for w in r.warnings] == ["image `app:v2` is built but no resource uses it"]
    assert "suppress_unused_image_warnings=['app:v2']" in r.warnings[0].hint


def test_match_in_env_vars(tiltfile):
    yaml = """
kind: Deployment
apiVersion: apps/v1
metadata: {name: runner}
spec:
  template:
    spec:
      containers: [{name: r, image: busybox, env: [{name: JOB_IMAGE, value: "worker:latest"}]}]
"""
    on = tiltfile("k8s_yaml('k.yaml')\ndocker_build('worker', '.', dockerfile_contents='FROM x', "
                  "match_in_env_vars=True)\n", files={"k.yaml": yaml})
    assert [i.ref for i in on.resource("runner").images] == ["worker"] and not on.warnings
    off = tiltfile("k8s_yaml('k.yaml')\ndocker_build('worker', '.', dockerfile_contents='FROM x')\n",
                   files={"k.yaml": yaml})
    assert off.resource("runner").images == () and "no resource uses it" in off.warnings[0].message


CRD = """
apiVersion: example.com/v1
kind: Environment
metadata: {name: env}
spec:
  runtime: {image: "tool"}
  services:
  - {name: api, image: "api-img"}
  - {name: web, image: "web-img"}
  app: {repository: "app-img", tag: "dev"}
"""


@pytest.mark.parametrize("call, expected", [
    ("k8s_kind('Environment', image_json_path='{.spec.runtime.image}')", ["tool"]),
    ("k8s_kind('Environment', image_json_path=\"{.spec.services[?(@.name=='web')].image}\")", ["web-img"]),
    ("k8s_kind('Environment', image_json_path='{.spec.services[*].image}')", ["api-img", "web-img"]),
    ("k8s_kind('Env', image_json_path='{.spec.services[0].image}')", ["api-img"]),  # partial kind match
    ("k8s_image_json_path(\"{.spec.services[?(@.name!='web')].image}\", name='env')", ["api-img"]),
    ("k8s_kind('Environment', image_object={'json_path': '{.spec.app}', 'repo_field': 'repository', "
     "'tag_field': 'tag'})", ["app-img"]),
])
def test_k8s_kind_image_json_path(tiltfile, call, expected):
    builds = "".join(f"docker_build('{i}', '.', dockerfile_contents='FROM x')\n"
                     for i in ("tool", "api-img", "web-img", "app-img"))
    r = tiltfile(f"k8s_yaml('k.yaml')\n{call}\n{builds}update_settings(suppress_unused_image_warnings='*')\n",
                 files={"k.yaml": CRD})
    assert r.ok, r.errors
    assert [i.ref for i in r.resource("env").images] == expected


def test_bad_json_path_is_an_error_at_the_call(tiltfile):
    r = tiltfile("\nk8s_kind('X', image_json_path='{.spec[?(@.a~1)]}')\n")
    assert not r.ok and "invalid JSONPath" in r.errors[0].message and r.errors[0].location.line == 2


@pytest.mark.parametrize("doc, path, expected", [
    ({"a": [{"n": "x", "v": 1}, {"n": "y", "v": 2}]}, "{.a[?(@.n=='y')].v}", [2]),
    ({"a": [{"n": "x", "v": 1}, {"n": "y", "v": 2}]}, "{.a[?(@.v>1)].n}", ["y"]),
    ({"a": [{"n": "x", "v": 1}, {"v": 2}]}, "{.a[?(@.n)].v}", [1]),
    ({"a": [1, 2, 3]}, "{.a[-1]}", [3]),
    ({"a": [1, 2, 3]}, "{.a[0:2]}", [1, 2]),
    ({"a": {"b": {"image": "i"}, "c": [{"image": "j"}]}}, "{..image}", ["i", "j"]),
    ({"a": {"b-c": 1}}, "{.a['b-c']}", [1]),
])
def test_json_path(doc, path, expected):
    assert evaluate(doc, path) == expected


def test_json_path_rejects_what_it_cannot_read():
    with pytest.raises(JsonPathError):
        evaluate({}, "{.a[?(@.b=x)]}")


# -- family 4: image dependencies --------------------------------------------------------

@pytest.mark.parametrize("dockerfile, args, expected", [
    ("FROM base\nRUN x\n", (), ["base"]),
    ("FROM --platform=linux/amd64 base:1 AS build\nFROM build\nCOPY --from=build /a /a\n", (), ["base:1"]),
    ("ARG BASE=base\nFROM ${BASE}\n", (), ["base"]),
    ("ARG BASE=base\nFROM $BASE\n", (("BASE", "other"),), ["other"]),
    ("FROM a\nCOPY --from=tools:2 /bin/t /t\n", (), ["a", "tools:2"]),
    ("FROM scratch\n", (), []),
])
def test_dockerfile_refs(dockerfile, args, expected):
    assert dockerfile_refs(dockerfile, args) == expected


def test_image_built_from_another_image_is_attached_first(tiltfile):
    r = tiltfile("""
        k8s_yaml('k.yaml')
        docker_build('base', 'base')
        docker_build('app', 'app')
    """, files={"base/Dockerfile": "FROM alpine\n", "app/Dockerfile": "FROM base\nCOPY . /\n",
                "k.yaml": deploy("web", "app")})
    assert r.ok, r.errors
    assert [i.ref for i in r.resource("web").images] == ["base", "app"]
    assert not r.warnings  # the base is used, through app
    assert next(i for i in r.images if i.ref == "app").image_deps == ("base",)


def test_custom_build_image_deps(tiltfile):
    r = tiltfile("""
        k8s_yaml('k.yaml')
        docker_build('base', '.', dockerfile_contents='FROM alpine')
        custom_build('app', 'build.sh', ['src'], image_deps=['base'])
    """, files={"k.yaml": deploy("web", "app")})
    assert r.ok, r.errors
    assert [i.ref for i in r.resource("web").images] == ["base", "app"] and not r.warnings


def test_unknown_image_dep_is_an_error(tiltfile):
    r = tiltfile("""
        custom_build('app', 'build.sh', ['src'], image_deps=['bsae'])
        docker_build('base', '.', dockerfile_contents='FROM alpine')
    """)
    assert not r.ok
    assert "image dep `bsae`" in r.errors[0].message and r.errors[0].location.line == 2
    assert "`base`" in r.errors[0].hint


def test_image_dependency_cycle_is_an_error(tiltfile):
    r = tiltfile("""
        custom_build('a', 'x', [], image_deps=['b'])
        custom_build('b', 'x', [], image_deps=['a'])
    """)
    assert not r.ok and "image dependency cycle" in r.errors[0].message


@pytest.mark.parametrize("text, familiar, exact", [
    ("app", "app", False), ("app:v2", "app:v2", True), ("docker.io/library/app", "app", False),
    ("gcr.io/p/app:1", "gcr.io/p/app:1", True), ("localhost:5000/app", "localhost:5000/app", False),
])
def test_parse_ref(text, familiar, exact):
    ref = parse_ref(text)
    assert ref.familiar == familiar and RefSelector.of(ref).exact is exact


@pytest.mark.parametrize("text", ["", "App", "a b", "app:", "app@sha256:12"])
def test_parse_ref_rejects(text):
    with pytest.raises(RefError):
        parse_ref(text)


# -- family 6: port forwards ---------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("8000", [(8000, 0, "")]),          # container port picked from the pod at run time
    ("'8000'", [(8000, 0, "")]),
    ("'8000:80'", [(8000, 80, "")]),
    ("'0.0.0.0:8000:80'", [(8000, 80, "0.0.0.0")]),
    ("port_forward(8000)", [(8000, 0, "")]),
    ("port_forward(8000, 80, host='localhost')", [(8000, 80, "localhost")]),
    ("[8000, '9000:90']", [(8000, 0, ""), (9000, 90, "")]),
])
def test_port_forwards(tiltfile, spec, expected):
    r = tiltfile(f"k8s_yaml('k.yaml')\nk8s_resource('web', port_forwards={spec})\n",
                 files={"k.yaml": deploy("web", "nginx")})
    assert r.ok, r.errors
    pfs = r.resource("web").k8s.port_forwards
    assert [(p.local_port, p.container_port, p.host) for p in pfs] == expected
    assert [p.unresolved for p in pfs] == [c == 0 for _, c, _ in expected]


@pytest.mark.parametrize("source, expected", [
    ("k8s_resource('web')", "wait"),
    ("k8s_resource('web', pod_readiness='ignore')", "ignore"),
    ("k8s_resource(new_name='conf', objects=['conf:configmap'])", "ignore"),  # no image, no selector: no pods
    ("k8s_resource(new_name='conf', objects=['conf:configmap'], extra_pod_selectors={'app': 'x'})", "wait"),
    ("k8s_kind('ConfigMap', pod_readiness='succeeded')", "succeeded"),  # a kind's mode; `conf` a workload
])
def test_pod_readiness_inferred_as_tilt(tiltfile, source, expected):
    yaml = deploy("web", "nginx") + "\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\n"
    r = tiltfile(f"k8s_yaml('k.yaml')\n{source}\n", files={"k.yaml": yaml})
    assert r.ok, r.errors
    name = "web" if "'web'" in source else "conf"
    assert r.resource(name).k8s.pod_readiness is PodReadiness(expected)
