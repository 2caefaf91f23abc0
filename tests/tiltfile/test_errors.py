"""One test per error class: the message names file, line (and column), and the fix."""

from pathlib import Path


def only_error(result):
    assert not result.ok
    err = result.errors[0]
    assert err.location is not None and Path(err.location.file).name == "Tiltfile"
    assert err.hint
    return err


def test_syntax_error(tiltfile):
    err = only_error(tiltfile("local_resource('a',\n    cmd='x' 'y')\n"))
    assert err.message.startswith("syntax error") and err.location.line == 2
    assert "+" in err.hint


def test_unclosed_bracket_points_at_the_bracket(tiltfile):
    # Strings and comments holding brackets do not count.
    err = only_error(tiltfile("x = 1\nlocal_resource('a', cmd=['echo', '(', 3]  # )\n"))
    assert err.message == "syntax error: `(` is never closed"
    assert (err.location.line, err.location.col) == (2, 15)
    assert err.hint == "close it with `)`"


def test_unknown_builtin_suggests(tiltfile):
    err = only_error(tiltfile("\nlocal_resourc('a', 'true')\n"))
    assert "unknown name `local_resourc`" in err.message
    assert (err.location.line, err.location.col) == (2, 1)
    assert "`local_resource`" in err.hint


def test_unknown_keyword_suggests(tiltfile):
    err = only_error(tiltfile("local_resource('a', 'true',\n    dep=['x'])\n"))
    assert "unexpected keyword argument `dep`" in err.message and err.location.line == 1
    assert "`deps`" in err.hint


def test_wrong_type_names_parameter(tiltfile):
    err = only_error(tiltfile("x = 1\nlocal_resource('a', 'true', deps=5)\n"))
    assert "`deps` must be a string or a list of strings, got int" in err.message
    assert (err.location.line, err.location.col) == (2, 1) and "deps=" in err.hint


def test_cycle_prints_the_cycle(tiltfile):
    err = only_error(tiltfile("""
        local_resource('a', 'true', resource_deps=['c'])
        local_resource('b', 'true', resource_deps=['a'])
        local_resource('c', 'true', resource_deps=['b'])
    """))
    assert "cycle" in err.message and err.message.count("->") == 3
    assert err.location.line in (2, 3, 4)


def test_unknown_resource_dep_suggests_closest(tiltfile):
    err = only_error(tiltfile("local_resource('build-ui', 'true')\n\nlocal_resource('app', 'true', "
                              "resource_deps=['build_ui'])\n"))
    assert "unknown resource `build_ui`" in err.message and err.location.line == 3
    assert "`build-ui`" in err.hint


def test_missing_file(tiltfile):
    err = only_error(tiltfile("\n\nk8s_yaml('k8s/missing.yaml')\n"))
    assert "file not found" in err.message and "missing.yaml" in err.message
    assert err.location.line == 3 and "path" in err.hint


def test_k8s_resource_unknown_workload(tiltfile):
    err = only_error(tiltfile("k8s_yaml(blob('kind: Deployment\\nmetadata: {name: api}\\nspec: {}\\n'))\n"
                              "k8s_resource('apii', port_forwards=80)\n"))
    assert "no workload named `apii`" in err.message and err.location.line == 2
    assert "`api`" in err.hint


def test_fail_is_reported_with_location(tiltfile):
    err = only_error(tiltfile("if True:\n    fail('need X')\n"))
    assert "need X" in err.message and err.location.line == 2


def test_dry_run_downgrades_not_found_when_yaml_missing(tiltfile):
    r = tiltfile("k8s_yaml('missing.yaml')\nk8s_resource('api', resource_deps=['db'])\n", dry_run=True)
    assert r.ok, r.errors
    assert any("no workload named `api`" in w.message for w in r.warnings)


def test_dry_run_keeps_argument_errors(tiltfile):
    r = tiltfile("load('ext://absent', 'x')\nlocal_resource('a', 'true', dep=['x'])\n", dry_run=True)
    assert not r.ok and "unexpected keyword" in r.errors[0].message


def test_evaluation_time_is_bounded(tiltfile):
    err = only_error(tiltfile("def f():\n    for i in range(1000000000):\n        pass\nf()\n", timeout=0.2))
    assert "too long" in err.message


def test_missing_tiltfile(tmp_path):
    from lockstep.tiltfile import load

    r = load(str(tmp_path / "nope" / "Tiltfile"))
    assert not r.ok and "-f" in r.errors[0].hint
