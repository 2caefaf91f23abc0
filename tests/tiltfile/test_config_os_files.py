import json
import os


def test_config_parse_flags_and_positional(tiltfile):
    r = tiltfile("""
        config.define_string_list('to-run', args=True)
        config.define_bool('debug')
        config.define_string('env')
        cfg = config.parse()
        print(cfg)
        config.set_enabled_resources(cfg.get('to-run', []))
        local_resource('a', 'true')
        local_resource('b', 'true')
        print(config.tilt_subcommand, os.path.basename(config.main_path))
    """, args=["a", "--debug", "--env=prod"], subcommand="check")
    assert r.ok, r.errors
    assert json.loads(r.printed[0].replace("True", "true")) == {"to-run": ["a"], "debug": True, "env": "prod"}
    assert r.enabled_resources == ("a",)
    assert r.printed[1] == "check Tiltfile"


def test_tilt_config_json_is_merged(tiltfile):
    r = tiltfile("config.define_string('env')\nprint(config.parse()['env'])\n",
                 files={"tilt_config.json": '{"env": "stored"}'})
    assert r.printed == ("stored",)


def test_unknown_flag_suggests(tiltfile):
    r = tiltfile("config.define_bool('debug')\nconfig.parse()\n", args=["--debgu"])
    assert not r.ok and "`debug`" in r.errors[0].hint and r.errors[0].location.line == 2
    # One error: the bad flag is not also reported as an unknown resource name.
    assert len(r.errors) == 1, r.errors


def test_args_without_parse_enable_resources(tiltfile):
    r = tiltfile("local_resource('a', 'true')\nlocal_resource('b', 'true')\n", args=["b"])
    assert r.enabled_resources == ("b",)


def test_os_functions(tiltfile, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCKSTEP_TEST_VAR", "v1")
    r = tiltfile("""
        print(os.getenv('LOCKSTEP_TEST_VAR'), os.getenv('NOPE_X', 'dflt'))
        os.putenv('LOCKSTEP_TEST_VAR', 'v2')
        print(os.getenv('LOCKSTEP_TEST_VAR'), os.environ['LOCKSTEP_TEST_VAR'])
        print(os.path.join('a', 'b', 'c'), os.path.exists('data.txt'), os.path.exists('nope'))
        print(os.getcwd() == config.main_dir, os.path.abspath('x') == os.path.join(os.getcwd(), 'x'))
        print(shlex.quote("it's"), sys.argv[1], os.name)
    """, files={"data.txt": "x"})
    assert r.ok, r.errors
    assert r.printed[0] == "v1 dflt"
    assert r.printed[1] == "v2 v1"  # os.environ is the environment when the module started
    assert r.printed[2] == "a/b/c True False"
    assert r.printed[3] == "True True"
    assert r.printed[4] == "'it'\"'\"'s' up posix"
    assert os.environ["LOCKSTEP_TEST_VAR"] == "v1"  # putenv does not leak into lockstep


def test_read_and_encode(tiltfile, tmp_path):
    r = tiltfile("""
        print(read_json('a.json')['k'], read_yaml('a.yaml')['d'], len(read_yaml_stream('s.yaml')))
        print(decode_json(encode_json({'x': [1]}))['x'][0], decode_yaml(encode_yaml({'y': 2}))['y'])
        print(read_file('missing.txt', default='dflt'), [os.path.basename(f) for f in listdir('.')])
        watch_file('other.txt')
    """, files={"a.json": '{"k": 1}', "a.yaml": "d: 2020-01-01\n", "s.yaml": "a: 1\n---\nb: 2\n"})
    assert r.ok, r.errors
    assert r.printed[0] == "1 2020-01-01 2"
    assert r.printed[1] == "1 2"
    assert r.printed[2].startswith("dflt [")
    assert str(tmp_path / "other.txt") in r.config_files and str(tmp_path / "a.json") in r.config_files


def test_local_runs_in_tiltfile_dir_and_dry_run_records(tiltfile, tmp_path):
    r = tiltfile("print(str(local('pwd', quiet=True)).strip())\n")
    assert r.printed == (str(tmp_path),)
    d = tiltfile("x = local('exit 3')\nprint(x == '')\n", dry_run=True)
    assert d.ok and d.printed == ("True",) and d.local_commands == ("exit 3",)


def test_local_failure_names_the_line(tiltfile):
    r = tiltfile("\nlocal('echo boom >&2; exit 3')\n")
    assert not r.ok and "exited with code 3" in r.errors[0].message and "boom" in r.errors[0].message
    assert r.errors[0].location.line == 2


def test_settings(tiltfile):
    r = tiltfile("""
        update_settings(max_parallel_updates=5, k8s_upsert_timeout_secs=90)
        watch_settings(ignore=['*.log'])
        allow_k8s_contexts(['kind-kind'])
        default_registry('localhost:5000', host_from_cluster='registry:5000', single_name='dev')
        version_settings(constraint='>=0.30')
        ci_settings(timeout='10m')
        secret_settings(disable_scrub=True)
        docker_prune_settings(disable=True)
        analytics_settings(False)
        v1alpha1.extension_repo(name='default', url='https://example.com/repo')
    """)
    assert r.ok, r.errors
    s = r.settings
    assert (s.max_parallel_updates, s.k8s_upsert_timeout_secs) == (5, 90)
    assert s.watch_ignore == ("*.log",) and s.allowed_k8s_contexts == ("kind-kind",)
    assert s.default_registry == "localhost:5000" and s.ci_timeout_secs == 600
    assert (s.registry_host_from_cluster, s.registry_single_name) == ("registry:5000", "dev")
    assert r.api_objects[0][0] == "extension_repo"


def test_set_struct_print_and_exit(tiltfile):
    r = tiltfile("""
        s = set(['a', 'b']) | set(['c'])
        print(sorted(s), 'a' in s)
        x = struct(a=1)
        print(x.a)
        local_resource('kept', 'true')
        exit()
        local_resource('never', 'true')
    """)
    assert r.ok, r.errors
    assert r.printed == ('["a", "b", "c"] True', "1")
    assert r.resource("kept") is not None and r.resource("never") is None


def test_tabs_in_continuation_lines_are_accepted(tiltfile):
    r = tiltfile("local_resource('a',\n\tcmd='true',\n\t\tdeps=['x'])\n")
    assert r.ok, r.errors
