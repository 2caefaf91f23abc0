"""The pure core: what the reducers use decides nothing from the machine it runs on."""

from __future__ import annotations

import subprocess
import sys

from lockstep.model.ignore import IgnoreMatcher
from lockstep.model.paths import PathIndex, is_under
from lockstep.model.resource import Resource, ResourceKind

BASE = "/work/proj"


def test_absolute_patterns_are_classified_by_the_root_dirs_passed_in() -> None:
    # `/tmp/x` is absolute only when the caller observed a `/tmp` directory.
    assert IgnoreMatcher(BASE, ["/tmp/x"], root_dirs={"tmp"}).matches("/tmp/x/y")
    assert not IgnoreMatcher(BASE, ["/tmp/x"], root_dirs=()).matches("/tmp/x/y")
    assert IgnoreMatcher(BASE, ["/tmp/x"], root_dirs=()).matches(f"{BASE}/tmp/x/y")


def test_path_index_takes_the_root_dirs_to_its_matchers() -> None:
    r = Resource(name="a", kind=ResourceKind.LOCAL, deps=("/tmp",), ignore=("/tmp/gen",))
    assert PathIndex(BASE, [r], root_dirs={"tmp"}).resources_for("/tmp/gen/f") == frozenset()
    assert PathIndex(BASE, [r], root_dirs=()).resources_for("/tmp/gen/f") == {"a"}


def test_is_under() -> None:
    assert is_under("/a/b", "/a") and is_under("/a", "/a") and is_under("/a/b", "/")
    assert not is_under("/ab", "/a")


def test_client_commands_do_not_load_the_engine() -> None:
    code = (
        "import sys, lockstep.ui.client\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('lockstep.engine', 'lockstep.store', "
        "'lockstep.adapters', 'lockstep.ui.server', 'lockstep.ui.hub')))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == ""
