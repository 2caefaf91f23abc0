"""`kubectl get --watch -o json` prints pretty-printed documents back to back."""

from __future__ import annotations

import json

from lockstep.adapters.kubectl import JsonStream


def test_documents_split_across_lines_and_back_to_back() -> None:
    events = [{"type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": f"p{i}"}}} for i in range(3)]
    text = "".join(json.dumps(e, indent=4) for e in events)  # no separator, as kubectl prints them
    stream = JsonStream()
    got = []
    for line in text.splitlines():
        got += stream.feed(line)
    assert got == events


def test_a_partial_document_waits_for_the_rest() -> None:
    stream = JsonStream()
    assert stream.feed('{"type": "ADDED",') == []
    assert stream.feed(' "object": {"a": "}{"}}') == [{"type": "ADDED", "object": {"a": "}{"}}]
