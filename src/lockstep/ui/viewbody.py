"""The full view as bytes: a JSON array assembled from each resource's cached text.

At 10,000 resources the view is about 7 MB of JSON. Serialising it on every
`GET /api/view` took longer than the whole latency budget, yet between two
requests only a handful of resources change. So the array is kept in chunks
of a fixed number of elements, each chunk's bytes (and, for clients that
accept gzip, its deflated bytes) computed once and reused until one of its
elements changes: a request costs a memory copy, not a serialisation.

Gzip by chunks works because each chunk is deflated by its own compressor and
ended with a sync flush: the output is byte-aligned, never marked final, and
refers to no data outside the chunk, so the chunks' outputs laid end to end
form one valid deflate stream. Only the short, per-request tail (the fields
after the array) is compressed per request, with the final block; the CRC of
everything before the tail is kept with the chunks.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

CHUNK = 128
# Level 1: a view chunk compresses about 25 times already; higher levels cost more than they save on a loopback.
LEVEL = 1
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no mtime, OS unknown

# One element: (key, version, JSON text). A chunk is reused while its keys and versions are the same.
Item = tuple[str, int, str]


def _deflate(data: bytes, final: bool = False) -> bytes:
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)


@dataclass
class _Chunk:
    key: tuple[tuple[str, int], ...]
    data: bytes
    _deflated: bytes | None = None

    @property
    def deflated(self) -> bytes:
        if self._deflated is None:
            self._deflated = _deflate(self.data)
        return self._deflated


class ChunkedDocument:
    """`head` + a JSON array of cached elements + a per-request tail, plain or gzip."""

    def __init__(self, head: bytes, chunk: int = CHUNK) -> None:
        self._head = head + b"["
        self._head_deflated = _deflate(self._head)
        self._size = chunk
        self._chunks: list[_Chunk] = []
        self._array: bytes | None = None
        self._crc: int | None = None
        self.rebuilt = 0  # chunks re-serialised so far (what the tests check)

    def update(self, items: Sequence[Item]) -> None:
        """The elements, in order; only chunks whose elements changed are rebuilt."""
        chunks: list[_Chunk] = []
        for start in range(0, len(items), self._size):
            part = items[start:start + self._size]
            key = tuple((k, v) for k, v, _ in part)
            i = len(chunks)
            old = self._chunks[i] if i < len(self._chunks) else None
            if old is not None and old.key == key:
                chunks.append(old)
                continue
            text = ",".join(t for _, _, t in part)
            # ensure_ascii JSON: the text is ASCII, so encoding is a copy.
            chunks.append(_Chunk(key, (b"," if start else b"") + text.encode()))
            self.rebuilt += 1
        if len(chunks) != len(self._chunks) or any(a is not b for a, b in zip(chunks, self._chunks, strict=True)):
            self._chunks = chunks
            self._array = None
            self._crc = None

    def array(self) -> bytes:
        """The JSON array alone."""
        if self._array is None:
            self._array = b"".join([b"[", *(c.data for c in self._chunks), b"]"])
        return self._array

    def plain(self, tail: bytes) -> bytes:
        return self._head[:-1] + self.array() + tail

    def gzip(self, tail: bytes) -> bytes:
        """The same document as `plain(tail)`, gzip-encoded (RFC 1952)."""
        if self._crc is None:
            crc = zlib.crc32(self._head)
            for c in self._chunks:
                crc = zlib.crc32(c.data, crc)
            self._crc = crc
        end = b"]" + tail
        size = len(self._head) + sum(len(c.data) for c in self._chunks) + len(end)
        return b"".join([
            _GZIP_HEADER, self._head_deflated, *(c.deflated for c in self._chunks), _deflate(end, final=True),
            struct.pack("<II", zlib.crc32(end, self._crc), size & 0xFFFFFFFF),
        ])
