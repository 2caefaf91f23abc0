"""The line splitter against a reference split of the whole stream, however the bytes arrive."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.adapters.lines import MAX_LINE_BYTES, LineSplitter, Stream, decode_line, split_point


def reference(stream: bytes) -> list[str]:
    """The simple version: split everything at once, cut over-long lines from the front."""
    lines = stream.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the stream ended with a newline: no unterminated last line
    out = []
    for line in lines:
        while len(line) > MAX_LINE_BYTES:
            cut = split_point(line, MAX_LINE_BYTES)
            out.append(decode_line(line[:cut]))
            line = line[cut:]
        out.append(decode_line(line))
    return out


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# Bytes that exercise the edges: newlines, carriage returns, multi-byte UTF-8 (and broken sequences), and
# runs long enough to cross MAX_LINE_BYTES.
_pieces = st.one_of(
    st.sampled_from([b"\n", b"\r", b"\r\n", b"a", "é".encode(), "€".encode(), "𝄞".encode(), b"\xe2\x82", b"\xff"]),
    st.binary(max_size=8),
    st.builds(lambda n, b: b * n, st.integers(MAX_LINE_BYTES - 4, MAX_LINE_BYTES + 4), st.sampled_from(
        [b"x", "é".encode(), "€".encode()])),
)
_streams = st.lists(_pieces, max_size=12).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(_streams, st.lists(st.integers(min_value=0), max_size=10))
def test_any_chunking_gives_the_reference_lines(stream: bytes, cuts: list[int]) -> None:
    got: list[str] = []
    splitter = LineSplitter(Stream.STDOUT, lambda text, s: got.append(text))
    for chunk in chunked(stream, cuts):
        splitter.feed(chunk)
    splitter.close()
    assert got == reference(stream)


@settings(max_examples=200, deadline=None)
@given(_streams, _streams, st.lists(st.tuples(st.booleans(), st.integers(0, 70_000)), max_size=20))
def test_two_streams_interleaved_stay_apart(out: bytes, err: bytes, reads: list[tuple[bool, int]]) -> None:
    got: list[tuple[str, Stream]] = []
    splitters = {s: LineSplitter(s, lambda text, st_: got.append((text, st_))) for s in Stream}
    left = {Stream.STDOUT: out, Stream.STDERR: err}
    for is_err, size in reads:
        s = Stream.STDERR if is_err else Stream.STDOUT
        chunk, left[s] = left[s][:size], left[s][size:]
        splitters[s].feed(chunk)
    for s in Stream:
        splitters[s].feed(left[s])
        splitters[s].close()
    assert [t for t, s in got if s is Stream.STDOUT] == reference(out)
    assert [t for t, s in got if s is Stream.STDERR] == reference(err)


def test_a_partial_line_waits_for_its_end_and_a_long_one_does_not() -> None:
    got: list[str] = []
    splitter = LineSplitter(Stream.STDOUT, lambda text, s: got.append(text))
    splitter.feed(b"par")
    assert got == []
    splitter.feed(b"tial\r\nnext")
    assert got == ["partial"]
    # A line longer than the limit is delivered in pieces while it is still being written.
    splitter.feed(b"y" * (MAX_LINE_BYTES * 2))
    assert got == ["partial", "next" + "y" * (MAX_LINE_BYTES - 4), "y" * MAX_LINE_BYTES]
    splitter.close()
    assert got[-1] == "y" * 4
    splitter.close()
    assert len(got) == 4
