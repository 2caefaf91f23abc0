"""Helpers: write a Tiltfile (and friends) into a temp dir and load it."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lockstep.model.resource import LoadResult
from lockstep.tiltfile import load

EXTENSIONS = Path(__file__).parent / "extensions"


@pytest.fixture
def tiltfile(tmp_path: Path) -> Callable[..., LoadResult]:
    """tiltfile(source, files={...}, **load_kwargs) -> LoadResult."""

    def run(source: str, files: dict[str, str] | None = None, **kwargs: object) -> LoadResult:
        for name, text in (files or {}).items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        main = tmp_path / "Tiltfile"
        main.write_text(textwrap.dedent(source))
        kwargs.setdefault("timeout", 20.0)
        return load(str(main), **kwargs)  # type: ignore[arg-type]

    return run


@pytest.fixture(autouse=True)
def _extensions_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Tests never touch the network: ext:// resolves only from the extensions under tests/,
    # and their tilt_modules copies go to a temp data dir, not the user's.
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS_DIR", str(EXTENSIONS))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


def messages(result: LoadResult) -> list[str]:
    return [d.message for d in result.errors]
