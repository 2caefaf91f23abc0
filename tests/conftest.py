"""Suite-wide hooks."""

from __future__ import annotations

import signal

import pytest
import summary
from hypothesis import HealthCheck, settings

# A shell starts background jobs with SIGINT ignored (`make test &`, CI runners), and an ignored
# signal stays ignored across exec: the `lockstep` processes the tests stop with SIGINT (Ctrl-C)
# would never see it. Python's own handler is reset to the default in every child instead.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Property tests judge answers, never speed: on a shared or loaded machine an example can take
# longer than hypothesis's default 200 ms deadline, which would fail a correct test.
settings.register_profile("lockstep", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lockstep")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Figures a reviewer wants to see without -s (pytest captures test output).
    for line in summary.LINES:
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def docker_engine():  # type: ignore[no-untyped-def]
    """A private dockerd for the whole session (see tests/support/dockerd.py)."""
    import dockerd

    with dockerd.private_dockerd() as engine:
        yield engine


@pytest.fixture(scope="session")
def busybox_image(docker_engine):  # type: ignore[no-untyped-def]
    import dockerd

    return dockerd.make_busybox_image(docker_engine)


@pytest.fixture(scope="session")
def python_image(docker_engine):  # type: ignore[no-untyped-def]
    """`python:3.11-slim`, made from this machine's python3.11 (no registry needed)."""
    import pybase

    return pybase.make_python_image(docker_engine)
