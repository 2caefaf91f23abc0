def test_paths_resolve_against_the_file_being_executed_as_in_tilt(tiltfile, tmp_path):
    # Tilt (starkit.AbsWorkingDir) resolves against the file whose evaluation is in
    # progress: a loaded file's top-level code against its own directory, its functions,
    # when the main Tiltfile calls them, against the main Tiltfile's directory.
    r = tiltfile("""
        load('lib/helpers.star', 'make', 'LIB_DIR')
        make('a')
        print(LIB_DIR, os.getcwd())
    """, files={"lib/helpers.star": """
        LIB_DIR = os.getcwd()
        local_resource('at-load', 'true', deps=['src'])
        def make(name):
            local_resource(name, 'true', deps=['src'])
    """})
    assert r.ok, r.errors
    assert r.resource("at-load").deps == (str(tmp_path / "lib" / "src"),)
    assert r.resource("a").deps == (str(tmp_path / "src"),)
    assert r.printed == (f"{tmp_path / 'lib'} {tmp_path}",)
    assert str(tmp_path / "lib" / "helpers.star") in r.config_files


def test_include_and_load_dynamic(tiltfile):
    r = tiltfile("""
        include('sub/Tiltfile')
        syms = load_dynamic('dyn.star')
        print(syms['VALUE'], syms['double'](21))
    """, files={"sub/Tiltfile": "local_resource('sub', 'true')\n",
                "dyn.star": "VALUE = 'v'\ndef double(x):\n    return x * 2\n"})
    assert r.ok, r.errors
    assert r.resource("sub") is not None
    assert r.printed == ("v 42",)


def test_extension_from_extensions_dir(tiltfile):
    r = tiltfile("load('ext://greet', 'greeting', 'greet_resource')\n"
                 "print(greeting('x'))\ngreet_resource('g')\n")
    assert r.ok, r.errors
    assert r.printed == ("hello x",)
    assert r.resource("g").local.cmd.argv[-1] == "echo hello g"


def test_missing_extension_is_an_error_with_a_fix(tiltfile):
    r = tiltfile("\nload('ext://nope', 'x')\n")
    assert not r.ok
    assert r.errors[0].location.line == 2 and "LOCKSTEP_EXTENSIONS_DIR" in r.errors[0].hint


def test_dry_run_placeholders(tiltfile):
    r = tiltfile("""
        load('ext://nope', 'helper', 'location', 'CONST')
        load('missing.star', 'thing')
        helper('a', x=[1], f=lambda: 1)
        print(location.NAV, CONST == '')
        thing()
        include('missing/Tiltfile')
        syms = load_dynamic('gone.star')
        syms['other'] if False else None
        local_resource('after', 'true')
    """, dry_run=True)
    assert r.ok, r.errors
    assert r.resource("after") is not None
    assert len([w for w in r.warnings if "dry run" in w.message]) >= 4


def test_load_cycle_is_reported(tiltfile):
    r = tiltfile("load('a.star', 'x')\n", files={"a.star": "load('b.star', 'y')\nx = 1\n",
                                                  "b.star": "load('a.star', 'x')\ny = 1\n"})
    assert not r.ok and "load cycle" in r.errors[0].message
