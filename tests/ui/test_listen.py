"""listen.bind: the sockets the dashboard is advertised on before its server loads."""

from __future__ import annotations

import errno
import socket

import pytest

from lockstep.ui.listen import bind


def test_port_zero_gives_every_address_of_the_host_one_port() -> None:
    socks = bind("localhost", 0)
    try:
        ports = {s.getsockname()[1] for s in socks}
        assert len(ports) == 1 and ports.pop() > 0
        for s in socks:  # listening: a client connects before anything accepts (the backlog holds it)
            family = s.family
            with socket.socket(family, socket.SOCK_STREAM) as client:
                client.settimeout(5)
                client.connect(s.getsockname()[:2])
    finally:
        for s in socks:
            s.close()


def test_a_taken_port_is_an_address_in_use_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError) as failed:
            bind("127.0.0.1", taken.getsockname()[1])
    assert failed.value.errno == errno.EADDRINUSE
