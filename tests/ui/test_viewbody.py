"""The full view assembled from cached element text: plain and gzip, rebuilt by chunks."""

from __future__ import annotations

import gzip
import json
import zlib

from lockstep.ui.viewbody import ChunkedDocument


def _items(n: int, version: int = 1) -> list[tuple[str, int, str]]:
    return [(f"r{i}", version, json.dumps({"name": f"r{i}", "v": version, "text": "é ünïcode ✓"}))
            for i in range(n)]


def _parsed(body: bytes) -> object:
    return json.loads(body)


def test_plain_and_gzip_are_the_same_document() -> None:
    doc = ChunkedDocument(b'{"resources":', chunk=16)
    items = _items(100)
    doc.update(items)
    tail = b',"now":1.5,"seq":7}'
    plain = doc.plain(tail)
    assert _parsed(plain) == {"resources": [json.loads(t) for _, _, t in items], "now": 1.5, "seq": 7}
    assert gzip.decompress(doc.gzip(tail)) == plain
    # As HTTP clients decode it: one streaming gzip decoder, which stops at the first member's end.
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert d.decompress(doc.gzip(tail)) + d.flush() == plain and d.eof and not d.unused_data


def test_only_the_chunk_of_a_changed_element_is_rebuilt() -> None:
    doc = ChunkedDocument(b'{"resources":', chunk=16)
    items = _items(100)
    doc.update(items)
    assert doc.rebuilt == 7  # ceil(100 / 16)
    doc.gzip(b"}")
    items[40] = ("r40", 2, json.dumps({"name": "r40", "v": 2}))
    doc.update(items)
    assert doc.rebuilt == 8
    assert _parsed(doc.plain(b"}"))["resources"][40] == {"name": "r40", "v": 2}  # type: ignore[index]
    assert gzip.decompress(doc.gzip(b',"x":[]}')) == doc.plain(b',"x":[]}')
    doc.update(items)  # nothing changed: nothing rebuilt
    assert doc.rebuilt == 8


def test_removal_and_empty_array() -> None:
    doc = ChunkedDocument(b'{"resources":', chunk=4)
    doc.update(_items(9))
    doc.update(_items(9)[:3])
    assert [v["name"] for v in _parsed(doc.plain(b"}"))["resources"]] == ["r0", "r1", "r2"]  # type: ignore[index]
    doc.update([])
    assert doc.plain(b"}") == b'{"resources":[]}' and doc.array() == b"[]"
    assert gzip.decompress(doc.gzip(b',"a":1}')) == b'{"resources":[],"a":1}'
