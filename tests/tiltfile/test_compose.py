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


def test_links_volumes_from_and_network_mode_order_services_as_compose_does(tiltfile):
    # Compose starts a service after those it links to, takes volumes from or shares a
    # network with, not only after its depends_on; so does Tilt.
    compose = """
services:
  cache: {image: redis}
  db: {image: postgres}
  data: {image: busybox}
  vpn: {image: busybox}
  app:
    image: app
    links: [cache, "db:database"]
    volumes_from: ["data:ro", "container:outside"]
    network_mode: "service:vpn"
"""
    r = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": compose})
    assert r.ok, r.errors
    assert r.resource("app").resource_deps == ("cache", "data", "db", "vpn")


def test_an_edit_to_a_service_changes_that_resource_only(tiltfile):
    base = "services:\n  db:\n    image: postgres\n    environment: {GREETING: %s}\n  web: {image: nginx}\n"
    before = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": base % "hello"})
    after = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": base % "bonjour"})
    assert before.ok and after.ok
    # The engine redeploys a resource whose definition changed: the edited service's differs.
    assert before.resource("db") != after.resource("db")
    assert before.resource("web") == after.resource("web")


def test_later_compose_files_extend_and_override_a_service(tiltfile):
    files = {
        "docker-compose.yml": "services:\n  api:\n    build: .\n    ports: ['8000:80']\n  db: {image: postgres}\n",
        "docker-compose.override.yml": "services:\n  api:\n    image: myorg/api\n    depends_on: [db]\n"
                                       "    ports: ['9000:90']\n",
    }
    r = tiltfile("docker_compose(['docker-compose.yml', 'docker-compose.override.yml'])\n"
                 "docker_build('myorg/api', '.', dockerfile_contents='FROM scratch')\n", files=files)
    assert r.ok, r.errors
    api = r.resource("api")
    assert [i.ref for i in api.images] == ["myorg/api"]  # the override's image
    assert api.resource_deps == ("db",)
    assert [link.url for link in api.links] == ["http://localhost:8000/", "http://localhost:9000/"]


def test_include_adds_services_and_name_sets_the_project(tiltfile):
    files = {
        "docker/docker-compose.yaml": "name: My-Shop\ninclude:\n  - deps.yaml\nservices:\n"
                                      "  api: {image: api, depends_on: [db]}\n",
        "docker/deps.yaml": "services:\n  db: {image: postgres}\n  queue: {image: nats}\n",
    }
    r = tiltfile("docker_compose('docker/docker-compose.yaml')\n", files=files)
    assert r.ok, r.errors
    assert sorted(x.name for x in r.resources) == ["api", "db", "queue"]
    assert {x.compose.project for x in r.resources} == {"my-shop"}
    assert any(f.endswith("docker/deps.yaml") for f in r.config_files)
    missing = tiltfile("docker_compose('docker-compose.yml')\n",
                       files={"docker-compose.yml": "include: [nope.yml]\nservices: {a: {image: x}}\n"})
    assert not missing.ok and "nope.yml" in missing.errors[0].message


def test_a_build_section_without_docker_build_is_built_by_compose(tiltfile, tmp_path):
    compose = "services:\n  web:\n    build: {context: ./web}\n  api:\n    build: ./api\n    image: myorg/api\n"
    r = tiltfile("docker_compose('docker-compose.yml')\n"
                 "docker_build('myorg/api', 'api', dockerfile_contents='FROM scratch')\n",
                 files={"docker-compose.yml": compose, "web/Dockerfile": "FROM scratch\n", "api/x": ""})
    assert r.ok, r.errors
    web, api = r.resource("web"), r.resource("api")
    # Compose builds `web` (its context watched); lockstep builds `api` and Compose must not.
    assert web.compose.compose_builds and web.deps == (str(tmp_path / "web"),)
    assert not api.compose.compose_builds and api.deps == ()


def test_invalid_compose_yaml_names_the_line_column_and_problem(tiltfile):
    broken = "services:\n  db:\n    image: postgres\n  rabbitmq\n   bad: [\n"
    r = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": broken})
    assert not r.ok
    message = r.errors[0].message
    assert "docker-compose.yml): invalid YAML at line 5, column 7: could not find expected ':' " \
           "(while scanning a simple key at line 4, column 3)" in message, message


def test_a_failed_evaluation_reports_its_error_not_missing_names_after_it(tiltfile):
    # `up rabbitmq` while the compose file is broken: the YAML error, not "enabled resource
    # `rabbitmq` does not exist" (it would exist once the file is fixed).
    r = tiltfile("local_resource('early', cmd='true', resource_deps=['late'])\n"
                 "docker_compose('docker-compose.yml')\n"
                 "local_resource('late', cmd='true')\n",
                 files={"docker-compose.yml": "services:\n  rabbitmq\n   bad: [\n"}, args=["rabbitmq"])
    assert len(r.errors) == 1 and "invalid YAML" in r.errors[0].message, [e.message for e in r.errors]


def test_a_service_awaited_until_it_completes_is_marked(tiltfile):
    compose = """
services:
  migrate: {image: app}
  db: {image: postgres}
  api:
    image: app
    depends_on:
      migrate: {condition: service_completed_successfully}
      db: {condition: service_healthy}
"""
    r = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": compose})
    assert r.ok, r.errors
    assert r.resource("migrate").compose.ready_when_completed
    assert not r.resource("db").compose.ready_when_completed
    assert r.resource("api").resource_deps == ("db", "migrate")


def test_services_of_inactive_profiles_are_left_out_as_compose_does(tiltfile, monkeypatch):
    compose = """
services:
  web: {image: web}
  debugger: {image: busybox, profiles: [debug]}
  metrics: {image: prom, profiles: [monitoring, debug]}
"""
    files = {"docker-compose.yml": compose}
    monkeypatch.delenv("COMPOSE_PROFILES", raising=False)
    r = tiltfile("docker_compose('docker-compose.yml')\n", files=files)
    assert [x.name for x in r.resources] == ["web"]
    r = tiltfile("docker_compose('docker-compose.yml', profiles=['monitoring'])\n", files=files)
    assert [x.name for x in r.resources] == ["web", "metrics"]
    r = tiltfile("docker_compose('docker-compose.yml', profiles='*')\n", files=files)
    assert len(r.resources) == 3
    monkeypatch.setenv("COMPOSE_PROFILES", "debug")
    r = tiltfile("docker_compose('docker-compose.yml')\n", files=files)
    assert [x.name for x in r.resources] == ["web", "debugger", "metrics"]


def test_an_edit_to_the_variables_compose_interpolates_changes_the_services(tiltfile):
    compose = "services:\n  db:\n    image: postgres\n    environment: {PASSWORD: '${PASSWORD}'}\n"
    before = tiltfile("docker_compose('docker-compose.yml')\n",
                      files={"docker-compose.yml": compose, ".env": "PASSWORD=one\n"})
    after = tiltfile("docker_compose('docker-compose.yml')\n",
                     files={"docker-compose.yml": compose, ".env": "PASSWORD=two\n"})
    assert before.ok and after.ok and before.resource("db") != after.resource("db")
    assert any(f.endswith("/.env") for f in after.config_files)
    with_file = tiltfile("docker_compose('docker-compose.yml', env_file='dev.env')\n",
                         files={"docker-compose.yml": compose, "dev.env": "PASSWORD=three\n"})
    assert with_file.resource("db").compose.env_file.endswith("/dev.env")
    assert with_file.resource("db") != after.resource("db")


def test_a_compose_built_service_ignores_what_its_dockerignore_excludes(tiltfile, tmp_path):
    from lockstep.model.paths import PathIndex

    files = {"docker-compose.yml": "services:\n  web:\n    build: ./web\n",
             "web/.dockerignore": "# deps\nnode_modules\n**/*.log\n", "web/Dockerfile": "FROM scratch\n"}
    r = tiltfile("docker_compose('docker-compose.yml')\n", files=files)
    assert r.ok, r.errors
    index = PathIndex(str(tmp_path), r.resources)
    web = str(tmp_path / "web")
    assert index.resources_for(f"{web}/src/app.js") == {"web"}
    assert index.resources_for(f"{web}/node_modules/x/index.js") == frozenset()
    assert index.resources_for(f"{web}/src/debug.log") == frozenset()
    # An exception (`!`) cannot be carried over: then nothing is ignored rather than too much.
    files["web/.dockerignore"] = "*\n!src\n"
    r = tiltfile("docker_compose('docker-compose.yml')\n", files=files)
    assert PathIndex(str(tmp_path), r.resources).resources_for(f"{web}/src/app.js") == {"web"}


def test_env_file_reaches_compose_and_ignored_parameters_warn(tiltfile, tmp_path):
    r = tiltfile("""
        docker_compose('docker-compose.yml', env_file='dev.env', profiles=['debug'], wait=True)
        dc_resource('db', infer_links=False)
    """, files={"docker-compose.yml": COMPOSE, "dev.env": "TAG=1\n"})
    assert r.ok, r.errors
    assert r.resource("db").compose.env_file == str(tmp_path / "dev.env")
    messages = sorted(w.message for w in r.warnings)
    # profiles= is used (see test_services_of_inactive_profiles_are_left_out_as_compose_does).
    assert messages == ["dc_resource(infer_links=False) is ignored: lockstep always links a service's published ports",
                        "docker_compose(wait=...) is ignored by lockstep"], messages
    assert all(w.location is not None for w in r.warnings)


def test_an_edit_elsewhere_in_the_project_changes_its_digest_not_the_service(tiltfile):
    web = "services:\n  web:\n    image: nginx\n    networks: [back]\n"
    before = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": web})
    after = tiltfile("docker_compose('docker-compose.yml')\n",
                     files={"docker-compose.yml": web + "networks:\n  back: {}\n"})
    assert before.ok and after.ok
    # The service itself reads the same (a running one is left alone) ...
    assert before.resource("web") == after.resource("web")
    # ... but the project does not (a failed one is retried: see store/reducers.py).
    assert before.resource("web").compose.project_digest != after.resource("web").compose.project_digest


def test_a_services_env_file_is_watched_and_part_of_its_definition(tiltfile):
    compose = "services:\n  web:\n    image: nginx\n    env_file: [web.env, {path: opt.env, required: false}]\n"
    absent = tiltfile("docker_compose('docker-compose.yml')\n", files={"docker-compose.yml": compose})
    one = tiltfile("docker_compose('docker-compose.yml')\n",
                   files={"docker-compose.yml": compose, "web.env": "MODE=one\n"})
    two = tiltfile("docker_compose('docker-compose.yml')\n",
                   files={"docker-compose.yml": compose, "web.env": "MODE=two\n"})
    assert absent.ok and one.ok and two.ok
    assert any(f.endswith("/web.env") for f in absent.config_files)
    assert any(f.endswith("/opt.env") for f in absent.config_files)
    assert len({r.resource("web") for r in (absent, one, two)}) == 3
