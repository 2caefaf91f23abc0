import pytest

from lockstep.cli.main import main

TILTFILE = """
local_resource('gen', 'true')
local_resource('ui', 'true')
local_resource('app', 'true', resource_deps=['gen', 'ui'])
"""


@pytest.mark.parametrize(("fmt", "expected"), [
    ("text", "app (joins gen + ui)"), ("dot", '"gen" -> "app";'), ("mermaid", "n0 --> n2"),
])
def test_graph_formats(tmp_path, capsys, fmt, expected):
    (tmp_path / "Tiltfile").write_text(TILTFILE)
    assert main(["graph", "-f", str(tmp_path / "Tiltfile"), "--format", fmt]) == 0
    assert expected in capsys.readouterr().out


def test_graph_reports_errors_on_stderr(tmp_path, capsys):
    (tmp_path / "Tiltfile").write_text("local_resource('a', 'true', resource_deps=['a'])\n")
    assert main(["graph", "-f", str(tmp_path / "Tiltfile")]) == 1
    assert "itself" in capsys.readouterr().err
