"""`while` loops: Tilt's interpreter accepts them, starlark-pyo3 reserves the keyword, so
the loader rewrites them; these check the semantics and that positions stay the user's."""

from __future__ import annotations

import textwrap

import pytest
import starlark as sl

from lockstep.tiltfile.whileloop import WHILE_STEPS_PRELUDE, rewrite_while

SEMANTICS = {
    "counts": ("""
        i = 0
        while i < 3:
            i += 1
        print(i)
        """, ["3"]),
    "break": ("""
        i = 0
        while True:
            i += 1
            if i == 4:
                break
        print(i)
        """, ["4"]),
    "continue": ("""
        i, odd = 0, []
        while i < 6:
            i += 1
            if i % 2 == 0:
                continue
            odd.append(i)
        print(odd)
        """, ["[1, 3, 5]"]),
    "never entered": ("""
        ran = []
        while False:
            ran.append(1)
        print(ran)
        """, ["[]"]),
    "nested": ("""
        pairs, i = [], 0
        while i < 2:
            j = 0
            while j < 3:
                if j == 2:
                    break
                pairs.append((i, j))
                j += 1
            i += 1
        print(pairs)
        """, ["[(0, 0), (0, 1), (1, 0), (1, 1)]"]),
    "in a def, with return": ("""
        def index_of(xs, x):
            i = 0
            while i < len(xs):
                if xs[i] == x:
                    return i
                i += 1
            return -1
        print(index_of(['a', 'b', 'c'], 'c'), index_of([], 'a'))
        """, ["2 -1"]),
    "condition with side effects, evaluated before each iteration": ("""
        calls = []
        def more():
            calls.append(len(calls))
            return len(calls) < 4
        body = 0
        while more():
            body += 1
        print(body, calls)
        """, ["3 [0, 1, 2, 3]"]),
    "one-line body": ("""
        n, acc = 3, []
        while n > 0: acc.append(n); n -= 1
        print(acc)
        """, ["[3, 2, 1]"]),
    "multi-line condition and comments": ("""
        i = 0
        while (i <
               2):  # a comment after the colon
            # a comment before the body
            i += 1
        print(i)
        """, ["2"]),
    "inside a for, break only leaves the while": ("""
        seen = []
        for k in range(3):
            while True:
                seen.append(k)
                break
        print(seen)
        """, ["[0, 1, 2]"]),
    "`while` in strings and names is left alone": ("""
        while_count = 0
        s = '''while x:
            y'''
        while while_count < 1:
            while_count += 1
        print(while_count, s.split(':')[0], "while")
        """, ["1 while x while"]),
    "recursion": ("""
        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)
        print(fact(10))
        """, ["3628800"]),
}


@pytest.mark.parametrize("case", list(SEMANTICS), ids=list(SEMANTICS))
def test_while_semantics(tiltfile, case):
    source, printed = SEMANTICS[case]
    r = tiltfile(source)
    assert r.ok, r.errors
    assert list(r.printed) == printed


@pytest.mark.parametrize("dry_run", [False, True])
def test_error_inside_while_body_points_at_the_users_line(tiltfile, dry_run):
    r = tiltfile("""\
        i = 0
        while i < 2:
            i += 1
            x = i + nope
        """, dry_run=dry_run)
    assert not r.ok
    err = r.errors[0]
    assert "unknown name `nope`" in err.message
    assert (err.location.line, err.location.col) == (4, 13)


def test_error_in_the_condition_keeps_its_column(tiltfile):
    r = tiltfile("x = 1\n  \nwhile x < missing:\n    pass\n")
    err = r.errors[0]
    assert "unknown name `missing`" in err.message
    assert (err.location.line, err.location.col) == (3, 11)


def test_error_after_a_while_points_at_the_users_line(tiltfile):
    r = tiltfile("""\
        i = 0
        while i < 2:
            while False:
                pass
            i += 1
        print(i)
        y = 1 + 'a'
        """)
    err = r.errors[0]
    assert (err.location.file.endswith("Tiltfile"), err.location.line, err.location.col) == (True, 7, 5)


def test_resource_declared_after_a_while_has_the_users_line(tiltfile):
    r = tiltfile("""\
        n = 0
        while n < 3: n += 1
        local_resource('r%d' % n,
            'true')
        """)
    assert r.ok, r.errors
    loc = r.resource("r3").location
    assert (loc.line, loc.col) == (3, 1)


def test_fail_inside_while_in_a_function_reports_the_call_line(tiltfile):
    r = tiltfile("""\
        def check(xs):
            i = 0
            while i < len(xs):
                if xs[i] < 0:
                    fail('negative at %d' % i)
                i += 1
        check([1, -1])
        """)
    err = r.errors[0]
    assert "negative at 1" in err.message
    assert err.location.line == 5


def test_extension_using_while(tiltfile):
    r = tiltfile("""\
        load('ext://countdown', 'countdown', 'countdown_resource', 'first_line_starting')
        print(countdown(3))
        print(first_line_starting('a=1\\nb=2\\n', 'b'))
        countdown_resource('launch', 2)
        """)
    assert r.ok, r.errors
    assert r.printed == ('["3", "2", "1"]', "b=2")
    assert r.resource("launch").local.cmd.argv[-1] == "echo 2 1"


def test_endless_while_is_stopped_by_the_time_budget(tiltfile):
    r = tiltfile("i = 0\nwhile True:\n    i += 1\n", timeout=1.0)
    assert not r.ok
    assert "took too long" in r.errors[0].message
    assert r.errors[0].location is None or r.errors[0].location.line in (2, 3)


def test_while_without_colon_is_a_syntax_error_at_the_users_line(tiltfile):
    r = tiltfile("x = 1\nwhile x < 2\n    x += 1\n")
    err = r.errors[0]
    assert err.message == "syntax error: malformed `while` loop" and err.location.line == 2
    assert "while CONDITION:" in err.hint


def test_syntax_error_after_a_while_is_the_one_reported(tiltfile):
    r = tiltfile("x = 0\nwhile x < 2:\n    x += 1\nlocal_resource('a',\n")
    err = r.errors[0]
    assert err.message == "syntax error: `(` is never closed"
    assert (err.location.line, err.location.col) == (4, 15)


def test_rewrite_keeps_condition_columns_and_maps_lines():
    source = textwrap.dedent("""\
        a = 1
        while a < 3:
            a += 1
        b = 2
        """)
    text, line_map = rewrite_while(source)
    assert line_map == [1, 2, 2, 2, 3, 4]
    lines = text.splitlines()
    assert lines[3].index("a < 3") == source.splitlines()[1].index("a < 3")
    assert lines[1].startswith("for ") and lines[2].endswith("or not (")


def test_a_while_reaching_the_iteration_bound_fails_instead_of_ending():
    # The bound is 2**31-1 iterations; a small one shows what happens at the end.
    text, _ = rewrite_while("i = 0\nwhile True:\n    i += 1\ndone = True\n")
    prelude = WHILE_STEPS_PRELUDE.replace("2147483647", "5").replace("2147483646", "4")
    module = sl.Module()
    with pytest.raises(sl.StarlarkError, match="ran 5 times and its condition still holds"):
        sl.eval(module, sl.parse("t", prelude + text, sl.Dialect.extended()), sl.Globals.standard())
    assert module["i"] == 4


def test_rewrite_leaves_sources_without_while_untouched():
    assert rewrite_while("x = 'while'\n# while\n") == ("x = 'while'\n# while\n", None)


def test_deep_recursion_works_and_endless_recursion_is_a_clear_error(tiltfile):
    r = tiltfile("def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\nprint(depth(300))\n")
    assert r.ok, r.errors
    assert r.printed == ("300",)
    r = tiltfile("def down(n):\n    return down(n + 1)\ndown(0)\n")
    err = r.errors[0]
    assert err.message == "recursion too deep" and err.location.line == 2


def test_error_in_a_loaded_file_after_its_while_points_into_that_file(tiltfile):
    r = tiltfile("load('./lib.star', 'walk')\nwalk(3)\n", files={"lib.star": """\
        def walk(n):
            while n > 0:
                n -= 1
            return n + undefined_name
        """})
    err = r.errors[0]
    assert "unknown name `undefined_name`" in err.message
    assert (err.location.file.endswith("lib.star"), err.location.line, err.location.col) == (True, 4, 16)
