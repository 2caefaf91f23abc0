"""Suite-wide hooks."""

from __future__ import annotations

import pytest
import summary


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Figures a reviewer wants to see without -s (pytest captures test output).
    for line in summary.LINES:
        terminalreporter.write_line(line)
