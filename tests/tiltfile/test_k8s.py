from lockstep.model.resource import ResourceKind

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web, image: shop/web}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
"""


def test_workloads_become_resources_and_the_rest_uncategorized(tiltfile):
    r = tiltfile("k8s_yaml('k8s.yaml')\n", files={"k8s.yaml": DEPLOY})
    assert r.ok, r.errors
    assert [x.name for x in r.resources] == ["web", "uncategorized"]
    web = r.resource("web")
    assert web.kind is ResourceKind.K8S and [o.kind for o in web.k8s.objects] == ["Deployment"]
    assert {o.name for o in r.resource("uncategorized").k8s.objects} == {"web", "settings"}


def test_k8s_resource_renames_and_attaches_objects(tiltfile):
    r = tiltfile("""
        k8s_yaml('k8s.yaml')
        k8s_resource('web', new_name='frontend', port_forwards=['8080:80', 9000],
                     objects=['web:service:shop', 'settings'], labels=['fe'],
                     resource_deps=['db'])
        local_resource('db', 'true')
    """, files={"k8s.yaml": DEPLOY})
    assert r.ok, r.errors
    fe = r.resource("frontend")
    assert fe is not None and r.resource("web") is None and r.resource("uncategorized") is None
    assert len(fe.k8s.objects) == 3
    assert [(p.local_port, p.container_port) for p in fe.k8s.port_forwards] == [(8080, 80), (9000, 0)]
    assert fe.resource_deps == ("db",) and fe.labels == ("fe",)


def test_new_resource_from_objects_only(tiltfile):
    r = tiltfile("k8s_yaml('k8s.yaml')\nk8s_resource(new_name='config', objects=['settings:configmap'])\n",
                 files={"k8s.yaml": DEPLOY})
    assert [o.name for o in r.resource("config").k8s.objects] == ["settings"]


def test_name_clash_uses_kind(tiltfile):
    pod = "spec: {template: {spec: {containers: [{name: c, image: busybox}]}}}"
    r = tiltfile("k8s_yaml('k.yaml')\n", files={
        "k.yaml": f"kind: Deployment\nmetadata: {{name: a}}\n{pod}\n---\nkind: Job\nmetadata: {{name: a}}\n{pod}\n"})
    assert sorted(x.name for x in r.resources) == ["a:deployment", "a:job"]


def test_pod_templates_without_images_group_by_object_name(tiltfile):
    # Tilt: objects with a pod template but no image are named after the object, so two
    # such objects called `a` share one resource.
    r = tiltfile("k8s_yaml('k.yaml')\n", files={
        "k.yaml": "kind: Deployment\nmetadata: {name: a}\nspec: {}\n---\nkind: Job\nmetadata: {name: a}\n"})
    assert [x.name for x in r.resources] == ["a"]
    assert [o.kind for o in r.resource("a").k8s.objects] == ["Deployment", "Job"]


def test_k8s_kind_makes_a_workload_with_image_json_path(tiltfile):
    r = tiltfile("""
        k8s_kind('Environment', image_json_path='{.spec.runtime.image}')
        k8s_yaml(blob('kind: Environment\\nmetadata: {name: env}\\nspec: {runtime: {image: myimg}}\\n'))
        docker_build('myimg', '.', dockerfile_contents='FROM scratch')
    """)
    assert r.ok, r.errors
    assert [i.ref for i in r.resource("env").images] == ["myimg"]


def test_helm_in_dry_run_records_the_command(tiltfile):
    r = tiltfile("k8s_yaml(helm('chart', name='x', namespace='n', set=['a=b']))\n", dry_run=True)
    assert r.ok
    assert r.local_commands and r.local_commands[0].startswith("helm template x")


def test_filter_yaml_splits(tiltfile):
    r = tiltfile("""
        match, rest = filter_yaml(read_file('k8s.yaml'), kind='service')
        k8s_yaml(match)
        print(len(decode_yaml_stream(rest)))
    """, files={"k8s.yaml": DEPLOY})
    assert r.ok, r.errors
    assert r.printed == ("2",)
    assert [o.kind for o in r.resource("uncategorized").k8s.objects] == ["Service"]


def test_k8s_custom_deploy(tiltfile):
    r = tiltfile("""
        k8s_custom_deploy('app', apply_cmd='kubectl apply -f x -o yaml', delete_cmd='kubectl delete -f x',
                          deps=['x'])
        k8s_resource('app', port_forwards=8080)
    """)
    app = r.resource("app")
    assert r.ok and app.k8s.apply_cmd.argv[-1].startswith("kubectl apply")
    assert app.k8s.port_forwards[0].local_port == 8080


def test_workload_to_resource_function(tiltfile):
    r = tiltfile("""
        def name_it(id):
            return id.name + "-" + id.kind.lower()
        workload_to_resource_function(name_it)
        k8s_yaml('k8s.yaml')
    """, files={"k8s.yaml": DEPLOY})
    assert r.ok, r.errors
    assert r.resource("web-deployment") is not None



def test_pod_readiness_and_discovery_strategy_are_typed_and_checked(tiltfile):
    from lockstep.model.resource import DiscoveryStrategy, PodReadiness

    r = tiltfile("k8s_yaml('k8s.yaml')\nk8s_resource('web', pod_readiness='ignore', "
                 "discovery_strategy='selectors-only')\n", files={"k8s.yaml": DEPLOY})
    assert r.ok, r.errors
    spec = r.resource("web").k8s
    assert spec.pod_readiness is PodReadiness.IGNORE and spec.discovery_strategy is DiscoveryStrategy.SELECTORS_ONLY
    assert r.resource("uncategorized").k8s.pod_readiness is PodReadiness.AUTO
    bad = tiltfile("k8s_yaml('k8s.yaml')\nk8s_resource('web', pod_readiness='sometimes')\n",
                   files={"k8s.yaml": DEPLOY})
    assert not bad.ok
    text = bad.errors[0].render()
    assert "`pod_readiness` must be one of 'wait', 'ignore', 'succeeded'" in text and "Tiltfile:2" in text
