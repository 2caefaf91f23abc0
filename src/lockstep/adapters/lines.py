"""Split a process's output bytes into lines for a sink.

A line is what lies between two newlines, with one trailing carriage return
dropped and invalid UTF-8 replaced. A line longer than `MAX_LINE_BYTES` is
delivered in pieces of at most that many bytes, never cut inside a UTF-8
sequence, as soon as a piece is complete (so a process printing without
newlines cannot grow the buffer without bound). What is left unterminated at
the end of the stream is a last line.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

MAX_LINE_BYTES = 64 * 1024


class Stream(enum.Enum):
    STDOUT = "stdout"
    STDERR = "stderr"


LineSink = Callable[[str, Stream], None]


def decode_line(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", errors="replace")


def split_point(buf: bytes | bytearray, limit: int) -> int:
    """A cut at most `limit` bytes in that does not split a UTF-8 sequence (`buf` is longer than `limit`)."""
    cut = limit
    # Back off over continuation bytes (10xxxxxx), at most 3 of them.
    while cut > limit - 4 and cut > 0 and (buf[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else limit


class LineSplitter:
    """One stream's splitter: `feed` each read, `close` at end of stream."""

    __slots__ = ("_on_line", "_partial", "_stream")

    def __init__(self, stream: Stream, on_line: LineSink) -> None:
        self._stream = stream
        self._on_line = on_line
        # The unterminated tail of the last read (always at most MAX_LINE_BYTES).
        self._partial = b""

    def feed(self, data: bytes) -> None:
        if self._partial:
            data = self._partial + data
        # One C-level split per read instead of a find/slice/copy per line: a
        # short command's whole output is usually one read of a few lines.
        *lines, tail = data.split(b"\n")
        on_line, stream = self._on_line, self._stream
        for line in lines:
            if len(line) > MAX_LINE_BYTES:
                line = self._emit_pieces(line)
            on_line(decode_line(line), stream)
        if len(tail) > MAX_LINE_BYTES:
            tail = self._emit_pieces(tail)
        self._partial = tail

    def _emit_pieces(self, line: bytes) -> bytes:
        """Deliver full-size pieces from the front of an over-long line; return the rest (<= MAX_LINE_BYTES)."""
        while len(line) > MAX_LINE_BYTES:
            cut = split_point(line, MAX_LINE_BYTES)
            self._on_line(decode_line(line[:cut]), self._stream)
            line = line[cut:]
        return line

    def close(self) -> None:
        if self._partial:
            tail, self._partial = self._partial, b""
            self._on_line(decode_line(tail), self._stream)
