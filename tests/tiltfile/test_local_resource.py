from lockstep.model.resource import ProbeKind, ResourceKind, TriggerMode


def test_local_resource_records_all_parameters(tiltfile, tmp_path):
    r = tiltfile("""
        local_resource(
            "api", "make api", deps=["src", "go.mod"], resource_deps=["gen"],
            ignore=["**/*.tmp"], trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False,
            serve_cmd=["./api", "--port", "8080"], allow_parallel=True, labels="backend",
            links=["http://localhost:8080", link("http://localhost:9090", "metrics")],
            env={"A": "1"}, serve_env={"B": True}, dir="sub", serve_dir="sub",
            readiness_probe=probe(period_secs=2, http_get=http_get_action(port=8080, path="/ok")),
        )
        local_resource("gen", cmd="echo gen")
    """)
    assert r.ok, r.errors
    api = r.resource("api")
    assert api is not None and api.kind is ResourceKind.LOCAL
    assert api.deps == (str(tmp_path / "src"), str(tmp_path / "go.mod"))
    assert api.resource_deps == ("gen",)
    assert api.trigger_mode is TriggerMode.MANUAL and api.auto_init is False
    assert api.labels == ("backend",)
    assert [link.url for link in api.links] == ["http://localhost:8080", "http://localhost:9090"]
    assert api.local is not None
    assert api.local.cmd.argv == ("sh", "-c", "make api")
    assert api.local.serve_cmd.argv == ("./api", "--port", "8080")
    assert api.local.dir == str(tmp_path / "sub")
    assert api.local.env == (("A", "1"),) and api.local.serve_env == (("B", "true"),)
    assert api.local.allow_parallel
    probe = api.local.readiness_probe
    assert probe is not None and probe.kind is ProbeKind.HTTP
    assert (probe.port, probe.path, probe.period_secs) == (8080, "/ok", 2.0)
    assert api.location is not None and api.location.line == 2


def test_defaults_follow_tilt(tiltfile, tmp_path):
    r = tiltfile('local_resource("x", "true")\n')
    x = r.resource("x")
    assert x is not None and x.local is not None
    assert x.trigger_mode is TriggerMode.AUTO and x.auto_init
    assert x.local.dir == str(tmp_path) and not x.local.allow_parallel
    assert x.deps == () and x.local.serve_cmd.empty


def test_trigger_mode_builtin_sets_default(tiltfile):
    r = tiltfile('trigger_mode(TRIGGER_MODE_MANUAL)\nlocal_resource("x", "true")\n')
    assert r.resource("x").trigger_mode is TriggerMode.MANUAL


def test_duplicate_name_is_an_error(tiltfile):
    r = tiltfile('local_resource("x", "a")\nlocal_resource("x", "b")\n')
    assert not r.ok and "already exists" in r.errors[0].message
    assert r.errors[0].location.line == 2
