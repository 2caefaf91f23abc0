from lockstep.model.resource import LiveUpdateKind


def test_docker_build_attaches_to_the_workload_using_it(tiltfile, tmp_path):
    r = tiltfile("""
        k8s_yaml('app.yaml')
        docker_build('myorg/app', '.', dockerfile='Dockerfile.dev', build_args={'V': '1'}, target='dev',
                     only=['src'], live_update=[fall_back_on('pkg.json'), sync('src', '/app'),
                     run('npm i', trigger=['pkg.json'])])
    """, files={"Dockerfile.dev": "FROM scratch\n", "app.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: app}
        spec:
          template:
            spec:
              containers: [{name: app, image: "docker.io/myorg/app:latest"}]
    """})
    assert r.ok, r.errors
    app = r.resource("app")
    assert [i.ref for i in app.images] == ["myorg/app"]
    img = app.images[0]
    assert img.dockerfile == str(tmp_path / "Dockerfile.dev")
    assert img.build_args == (("V", "1"),) and img.target == "dev"
    assert [s.kind for s in img.live_update] == [LiveUpdateKind.FALL_BACK_ON, LiveUpdateKind.SYNC,
                                                 LiveUpdateKind.RUN]
    assert img.live_update[1].local_path == str(tmp_path / "src")
    assert img.live_update[2].trigger == (str(tmp_path / "pkg.json"),)


def test_unused_image_warns(tiltfile):
    r = tiltfile("docker_build('x', '.', dockerfile_contents='FROM scratch')\n")
    assert r.ok and any("no resource uses it" in w.message for w in r.warnings)


def test_custom_build(tiltfile):
    r = tiltfile("custom_build('img', 'docker build -t $EXPECTED_REF .', ['src'], skips_local_docker=True)\n")
    img = r.images[0]
    assert img.custom_command is not None and img.custom_command.argv[-1].startswith("docker build")
    assert img.skips_local_docker and img.deps[0].endswith("/src")


def test_missing_dockerfile_is_an_error_naming_the_line(tiltfile):
    r = tiltfile("\n\ndocker_build('x', '.')\n")
    assert not r.ok
    err = r.errors[0]
    assert "Dockerfile not found" in err.message and err.location.line == 3 and "dockerfile" in err.hint


def test_a_context_that_is_a_file_says_so_at_its_line(tiltfile):
    r = tiltfile("\ndocker_build('x', 'app/Dockerfile')\n", files={"app/Dockerfile": "FROM scratch\n"})
    assert not r.ok
    err = r.errors[0]
    assert err.message.endswith("app/Dockerfile is a file, not a directory")
    assert (err.location.line, err.location.col) == (2, 1) and "directory" in err.hint
