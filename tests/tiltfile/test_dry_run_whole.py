"""A dry run evaluates each file whole (functions see the globals as they are when
called) and still skips, with a warning, top-level statements that fail for want of an
input it could not read."""

from __future__ import annotations


def test_function_sees_global_reassigned_after_its_def(tiltfile):
    source = """
        x = 1
        def f():
            return x
        x = 2
        print(f())
    """
    assert tiltfile(source, dry_run=True).printed == ("2",)
    assert tiltfile(source).printed == ("2",)


def test_function_loaded_from_a_file_sees_that_files_later_globals(tiltfile):
    r = tiltfile("""
        load('lib.star', 'get')
        print(get())
    """, files={"lib.star": """
        _store = None
        def get():
            return _store()
        def _impl():
            return 'late-bound'
        _store = _impl
    """}, dry_run=True)
    assert r.ok, r.errors
    assert r.printed == ("late-bound",)


def test_statement_failing_on_missing_input_is_skipped_and_rest_is_checked(tiltfile):
    r = tiltfile("""
        cfg = decode_json(read_file('settings.json'))
        def port():
            return cfg['port']
        local_resource('a', 'true')
        local_resource('b', 'echo %s' % port())
        local_resource('c', 'true', resource_deps=['a'])
        print(cfg)
    """, dry_run=True)
    assert r.ok, r.errors
    assert [res.name for res in r.resources] == ["a", "c"]
    skipped = [w for w in r.warnings if "statement skipped" in w.message]
    assert [w.location.line for w in skipped] == [2, 4]
    assert r.printed == ("None",)


def test_skipped_statement_keeps_other_bindings_of_its_names(tiltfile):
    r = tiltfile("""
        name = 'first'
        name = decode_json(read_file('missing.json'))['name']
        print(name)
    """, dry_run=True)
    assert r.ok, r.errors
    assert r.printed == ("first",)


def test_statement_failing_inside_a_loaded_file_is_skipped_there(tiltfile):
    r = tiltfile("""
        load('lib.star', 'VERSION', 'tag')
        print(VERSION, tag())
    """, files={"lib.star": """
        VERSION = 'v1'
        _data = read_json('gone.json')['tag']
        def tag():
            return 'latest' if _data == None else _data
    """}, dry_run=True)
    assert r.ok, r.errors
    assert r.printed == ("v1 latest",)
    assert any("lib.star" in w.location.file and "statement skipped" in w.message for w in r.warnings)


def test_unknown_name_is_an_error_even_in_a_dry_run(tiltfile):
    r = tiltfile("""
        x = read_file('missing.txt')
        print(undefined_name)
    """, dry_run=True)
    assert not r.ok
    assert "undefined_name" in r.errors[0].message


def test_error_without_a_missing_input_stays_an_error(tiltfile):
    r = tiltfile("""
        local_resource('a', 'true')
        x = {}['nope']
    """, dry_run=True)
    assert not r.ok


def test_unset_environment_variable_counts_as_a_missing_input(tiltfile, monkeypatch):
    monkeypatch.delenv("LOCKSTEP_TEST_UNSET_VAR", raising=False)
    r = tiltfile("""
        ref = os.getenv('LOCKSTEP_TEST_UNSET_VAR') + '/app'
        local_resource('a', 'true')
    """, dry_run=True)
    assert r.ok, r.errors
    assert r.resource("a") is not None


def test_file_and_name_are_predeclared_in_every_file(tiltfile, tmp_path):
    r = tiltfile("""
        load('lib/helper.star', 'where', 'HELPER_NAME')
        print(__file__, __name__)
        print(where(), HELPER_NAME)
    """, files={"lib/helper.star": """
        HELPER_NAME = __name__
        def where():
            return __file__
    """})
    assert r.ok, r.errors
    assert r.printed == (f"{tmp_path / 'Tiltfile'} __main__", f"{tmp_path / 'lib' / 'helper.star'} helper.star")
