COMPOSE = """
services:
  db:
    image: postgres
  api:
    build: .
    image: myorg/api
    ports: ["8000:80"]
"""


def test_one_resource_per_service(tiltfile):
    r = tiltfile("""
        docker_compose('docker-compose.yml')
        docker_build('myorg/api', '.', dockerfile_contents='FROM scratch')
        dc_resource('api', resource_deps=['db'], labels=['backend'])
    """, files={"docker-compose.yml": COMPOSE})
    assert r.ok, r.errors
    assert [x.name for x in r.resources] == ["db", "api"]
    api = r.resource("api")
    assert api.compose.service == "api" and api.resource_deps == ("db",)
    assert [i.ref for i in api.images] == ["myorg/api"]
    assert api.links[0].url == "http://localhost:8000/"


def test_dc_resource_unknown_service(tiltfile):
    r = tiltfile("docker_compose('docker-compose.yml')\ndc_resource('dbb')\n",
                 files={"docker-compose.yml": COMPOSE})
    assert not r.ok and "dbb" in r.errors[0].message and "`db`" in r.errors[0].hint


def test_missing_compose_file_in_dry_run_warns(tiltfile):
    r = tiltfile("docker_compose('nope.yml')\ndc_resource('web')\n", dry_run=True)
    assert r.ok and len(r.warnings) == 2


def test_depends_on_and_build_only_images_follow_tilt(tiltfile, tmp_path):
    compose = """
services:
  db: {image: postgres}
  cache: {image: redis}
  api:
    build: .
    depends_on: {db: {condition: service_healthy}, cache: {}}
  worker:
    build: .
    depends_on: [api]
"""
    project = tmp_path.name.lower()
    r = tiltfile(f"""
        docker_compose('docker-compose.yml')
        docker_build('{project}_api', '.', dockerfile_contents='FROM scratch')
        dc_resource('api', new_name='backend')
    """, files={"docker-compose.yml": compose})
    assert r.ok, r.errors
    assert r.resource("backend").resource_deps == ("cache", "db")
    assert r.resource("worker").resource_deps == ("backend",)
    assert [i.ref for i in r.resource("backend").images] == [f"{project}_api"]


def test_env_file_reaches_compose_and_ignored_parameters_warn(tiltfile, tmp_path):
    r = tiltfile("""
        docker_compose('docker-compose.yml', env_file='dev.env', profiles=['debug'], wait=True)
        dc_resource('db', infer_links=False)
    """, files={"docker-compose.yml": COMPOSE, "dev.env": "TAG=1\n"})
    assert r.ok, r.errors
    assert r.resource("db").compose.env_file == str(tmp_path / "dev.env")
    messages = sorted(w.message for w in r.warnings)
    assert messages == ["dc_resource(infer_links=False) is ignored: lockstep always links a service's published ports",
                        "docker_compose(profiles=...) is ignored by lockstep",
                        "docker_compose(wait=...) is ignored by lockstep"], messages
    assert all(w.location is not None for w in r.warnings)
