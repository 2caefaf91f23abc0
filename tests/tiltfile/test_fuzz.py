"""Mutated Tiltfiles never make the loader raise or hang: it always returns a LoadResult."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lockstep.model.resource import LoadResult
from lockstep.tiltfile import load

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = Path(os.environ.get("LOCKSTEP_CORPUS_DIR")
                  or REPO.parent / "shared" / "corpus" / "tiltfiles" / "dev")

SEEDS = [
    "local_resource('a', 'echo a', deps=['src'], resource_deps=['b'])\nlocal_resource('b', 'true')\n",
    "k8s_yaml(blob('kind: Deployment\\nmetadata: {name: x}\\nspec: {}\\n'))\n"
    "k8s_resource('x', port_forwards=80)\n",
    "def f(n):\n    return [f(n - 1)] if n else []\nprint(f(3))\nfor i in range(3):\n    print(i)\n",
    "config.define_string('x')\ncfg = config.parse()\n"
    "docker_build('img', '.', live_update=[sync('.', '/a')])\n",
    "load('ext://x', 'y')\ny(1)\ninclude('other/Tiltfile')\nprint(os.getenv('HOME'), read_json('a.json'))\n",
]
CORPUS = [p.read_text(errors="replace") for p in sorted(CORPUS_DIR.glob("*.star"))[:30]]
SOURCES = SEEDS + CORPUS
TOKENS = ["(", ")", "[", "]", ":", ",", "=", "\n", "    ", "\t", "'", '"', "def ", "for ", "if ", "load(",
          "local(", "while True:\n  pass\n", "*", "**", "None", "lambda: 1", "k8s_resource(", "{", "}",
          "range(100000000)", "fail('x')", "exit()", "'a' 'b'", "\\"]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "duplicate", "swap"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
        elif op == "duplicate":
            end = min(len(text), pos + draw(st.integers(1, 80)))
            text = text[:end] + text[pos:end] + text[end:]
        else:
            other = draw(st.integers(0, len(text)))
            lo, hi = sorted((pos, other))
            text = text[:lo] + text[hi:] + text[lo:hi]
    return text


@pytest.mark.parametrize("dry_run", [True, False])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=mutated())
def test_loader_never_raises_or_hangs(tmp_path_factory: pytest.TempPathFactory, source: str,
                                      dry_run: bool) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    (d / "Tiltfile").write_text(source)
    started = time.monotonic()
    # local() may really run in non-dry mode; the seeds only call harmless commands.
    result = load(str(d / "Tiltfile"), dry_run=dry_run or "local(" in source, timeout=0.5)
    assert isinstance(result, LoadResult)
    assert time.monotonic() - started < 5.0
    for diag in result.errors:
        assert "Traceback" not in diag.message
        assert "internal error" not in diag.message, diag.message

