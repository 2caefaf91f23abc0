"""Images built FROM other images of the same Tiltfile, and docker_build's parameters."""

from __future__ import annotations

DEPLOY = "k8s_custom_deploy('app', apply_cmd='true', delete_cmd='true', deps=[], image_deps=['{ref}'])\n"


def test_a_resource_gets_its_images_bases_first(tiltfile) -> None:
    r = tiltfile("docker_build('app', 'app')\ndocker_build('base', 'base')\ndocker_build('tools', 'tools')\n"
                 + DEPLOY.format(ref="app"), files={
                     "app/Dockerfile": "FROM base\nCOPY --from=docker.io/library/tools:latest /t /t\n",
                     "base/Dockerfile": "FROM tools\n", "tools/Dockerfile": "FROM scratch\n"})
    assert r.ok, r.errors
    app = r.resource("app")
    assert app is not None and [i.ref for i in app.images] == ["tools", "base", "app"]
    assert not any("no resource uses it" in w.message for w in r.warnings)


def test_docker_build_parameters_are_recorded(tiltfile, tmp_path) -> None:
    r = tiltfile("""
        docker_build('app', 'ctx', only=['src'], ignore=['src/gen'], extra_tag='app:extra', network='host',
                     ssh='default', secret=['id=a,src=a.txt'], cache_from='app:cache', pull=True,
                     container_args=['--port', '80'], match_in_env_vars=True, platform='linux/arm64')
        custom_build('cb', 'true', deps=['ctx'], disable_push=True, image_deps=['app'], env={'K': 'v'})
        k8s_custom_deploy('app', apply_cmd='true', delete_cmd='true', deps=[], image_deps=['cb'])
    """, files={"ctx/Dockerfile": "FROM scratch\n", "ctx/.dockerignore": "# c\n*.md\n"})
    assert r.ok, r.errors
    app, cb = (next(i for i in r.images if i.ref == ref) for ref in ("app", "cb"))
    # only= and ignore= are relative to the context, as in Tilt.
    assert app.only == (str(tmp_path / "ctx" / "src"),) and app.ignore == ("src/gen",)
    assert app.dockerignore == ("*.md",) and str(tmp_path / "ctx" / ".dockerignore") in r.config_files
    assert (app.extra_tags, app.network, app.ssh, app.secrets, app.cache_from, app.pull) == (
        ("app:extra",), "host", ("default",), ("id=a,src=a.txt",), ("app:cache",), True)
    assert app.container_args == ("--port", "80") and app.match_in_env_vars and app.platform == "linux/arm64"
    assert cb.disable_push and cb.image_deps == ("app",) and cb.env == (("K", "v"),)
    res = r.resource("app")
    assert res is not None and [i.ref for i in res.images] == ["app", "cb"]


def test_an_edited_dockerfile_changes_the_image_definition(tiltfile, tmp_path) -> None:
    source = "docker_build('app', 'ctx')\n" + DEPLOY.format(ref="app")
    first = tiltfile(source, files={"ctx/Dockerfile": "FROM scratch\n"})
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    second = tiltfile(source)
    assert first.ok and second.ok
    assert str(tmp_path / "ctx" / "Dockerfile") in first.config_files
    assert first.resource("app") != second.resource("app")  # a reload rebuilds it
