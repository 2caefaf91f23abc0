"""Fixtures shared by the dashboard's browser tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dashrig import Browser, chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module (each module has its own `lockstep up`)."""
    with chromium() as b:
        yield b
