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


def test_a_garbled_document_is_reported_and_skipped_not_swallowing_the_rest() -> None:
    good = [{"type": "ADDED", "object": {"metadata": {"name": f"p{i}"}}} for i in range(2)]
    bad: list[str] = []
    stream = JsonStream(bad.append)
    lines = [*json.dumps(good[0], indent=4).splitlines(), "<html>502 Bad Gateway</html>",
             '{"type": "MODIFIED", "object": {"metadata": nul', "}}",
             *json.dumps(good[1], indent=4).splitlines()]
    got = []
    for line in lines:
        got += stream.feed(line)
    assert got == good
    assert len(bad) == 3  # the page, the cut document, and the cut document's stray tail
    assert bad[0].startswith("malformed JSON skipped (Expecting value at line 1 column 1): <html>502")
    assert '{"type": "MODIFIED"' in bad[1]


def test_a_string_cut_by_a_line_break_is_garbled_not_awaited() -> None:
    bad: list[str] = []
    stream = JsonStream(bad.append)
    assert stream.feed('{"a": "cut') == []
    assert stream.feed('{"b": 1}') == [{"b": 1}]
    assert len(bad) == 1
