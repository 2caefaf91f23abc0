"""Probes, live-update steps, links and port forwards: recorded with Tilt's defaults."""

import json

from lockstep.model.resource import LiveUpdateKind, ProbeKind


def test_probes_with_kubernetes_defaults(tiltfile):
    r = tiltfile("""
        local_resource('h', serve_cmd='x', readiness_probe=probe(
            http_get=http_get_action(port=8080, path='/health'), period_secs=2, failure_threshold=5))
        local_resource('t', serve_cmd='x', readiness_probe=probe(tcp_socket=tcp_socket_action(5432)))
        local_resource('e', serve_cmd='x', readiness_probe=probe(exec=exec_action(['pg_isready']),
            initial_delay_secs=3, timeout_secs=4))
    """)
    assert r.ok, r.errors
    h = r.resource("h").local.readiness_probe
    assert (h.kind, h.host, h.port, h.path, h.scheme) == (ProbeKind.HTTP, "localhost", 8080, "/health", "http")
    assert (h.period_secs, h.failure_threshold, h.success_threshold, h.timeout_secs) == (2, 5, 1, 1)
    t = r.resource("t").local.readiness_probe
    assert (t.kind, t.port, t.period_secs) == (ProbeKind.TCP, 5432, 10)
    e = r.resource("e").local.readiness_probe
    assert (e.kind, e.command, e.initial_delay_secs, e.timeout_secs) == (ProbeKind.EXEC, ("pg_isready",), 3, 4)


def test_probe_needs_exactly_one_action(tiltfile):
    r = tiltfile("local_resource('h', serve_cmd='x', readiness_probe=probe(period_secs=1))\n")
    assert not r.ok
    err = r.errors[0]
    assert err.location is not None and err.location.line == 1 and "probe" in err.message


def test_live_update_steps(tiltfile, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    r = tiltfile("""
        docker_build('app', '.', live_update=[
            fall_back_on(['package.json']),
            sync('./src', '/app/src'),
            run('npm install', trigger=['package.json']),
        ])
        k8s_yaml(blob('''
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app}
        spec:
          template:
            spec:
              containers: [{name: app, image: app}]
        '''))
    """)
    assert r.ok, r.errors
    steps = r.resource("app").images[0].live_update
    assert [s.kind for s in steps] == [
        LiveUpdateKind.FALL_BACK_ON, LiveUpdateKind.SYNC, LiveUpdateKind.RUN,
    ]
    assert steps[0].paths == (str(tmp_path / "package.json"),)
    assert (steps[1].local_path, steps[1].remote_path) == (str(tmp_path / "src"), "/app/src")
    assert steps[2].command[-1] == "npm install" and steps[2].trigger == (str(tmp_path / "package.json"),)


def test_links_and_port_forwards(tiltfile):
    r = tiltfile("""
        local_resource('web', serve_cmd='x',
                       links=['http://localhost:3000', link('http://localhost:3000/admin', 'admin')])
        k8s_yaml(blob('''
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api}
        spec: {template: {spec: {containers: [{name: api, image: api}]}}}
        '''))
        k8s_resource('api', port_forwards=[8080, '9000:90', port_forward(5005, 5005, name='debug')])
    """)
    assert r.ok, r.errors
    assert [(x.url, x.name) for x in r.resource("web").links] == [
        ("http://localhost:3000", ""), ("http://localhost:3000/admin", "admin"),
    ]
    pfs = r.resource("api").k8s.port_forwards
    assert [(p.local_port, p.container_port, p.name) for p in pfs] == [(8080, 0, ""), (9000, 90, ""),
                                                                         (5005, 5005, "debug")]


def test_watch_file_and_read_files_are_config_inputs(tiltfile, tmp_path):
    r = tiltfile("""
        watch_file('settings.json')
        x = read_file('VERSION')
        local_resource('a', cmd='echo ' + str(x).strip())
    """, files={"VERSION": "1.2.3\n", "settings.json": "{}"})
    assert r.ok, r.errors
    assert {str(tmp_path / "settings.json"), str(tmp_path / "VERSION"), str(tmp_path / "Tiltfile")} <= set(
        r.config_files
    )
    assert r.resource("a").local.cmd.display() == "echo 1.2.3"


def test_yaml_streams_round_trip(tiltfile):
    r = tiltfile("""
        docs = decode_yaml_stream('a: 1\\n---\\nb: [2, 3]\\n')
        print(len(docs), docs[1]['b'][1])
        print(encode_json(decode_json('{"k": [1, 2]}')))
        s = encode_yaml_stream(docs)
        print(len(decode_yaml_stream(s)))
    """)
    assert r.ok, r.errors
    assert r.printed[0] == "2 3"
    assert json.loads(r.printed[1]) == {"k": [1, 2]}
    assert r.printed[2] == "2"
