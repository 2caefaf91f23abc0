"""The one rule for the browser tests when Chromium is missing (the same as `.ci/ensure-chromium`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LOCKSTEP_CHROMIUM", "/usr/bin/chromium")


def chromium_or_skip() -> str:
    """Chromium's path; without it, a skip when LOCKSTEP_SKIP_BROWSER=1 was asked for, else a failure
    that says what to install."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("LOCKSTEP_SKIP_BROWSER") == "1":
        pytest.skip(f"{CHROMIUM} is missing and LOCKSTEP_SKIP_BROWSER=1")
    pytest.fail(f"{CHROMIUM} is missing: `sudo apt-get install -y chromium` (or `.ci/ensure-chromium` as root), "
                "or set LOCKSTEP_SKIP_BROWSER=1 to skip the browser tests")
