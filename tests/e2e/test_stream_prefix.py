"""`up --stream` prefixes: the column fits the names even when the first Tiltfile was broken."""

from __future__ import annotations

from pathlib import Path

from upproc import Up

LONG = "a-rather-long-resource-name"


def test_prefix_column_fits_the_first_tiltfile_that_loads(tmp_path: Path) -> None:
    with Up.write(tmp_path, "local_resource('x', cmd='echo x' deps=[])\n") as up:  # a syntax error
        up.expect("syntax error")
        up.tiltfile.write_text(f"local_resource('{LONG}', cmd='echo hello-from-long')\n"
                               "local_resource('b', cmd='echo hello-from-b')\n")
        long_line = up.expect("hello-from-long")
        short_line = up.expect("hello-from-b")
    # Both lines put their `|` in the same column: the one the long name needs.
    assert long_line.index("| ") == short_line.index("| ")
    assert long_line.split("|")[0].rstrip(" !").endswith(LONG)
