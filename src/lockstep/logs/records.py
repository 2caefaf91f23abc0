"""The on-disk form of log lines: one JSON object a line, naming its resource in `res`.

A batch is written as one bytes object in which each resource's lines are one
contiguous run (the run log's index points at these runs, see runfile.py).
Encoding runs on the log store's writer thread; parsing serves the readers
(scroll-back, excerpts, `lockstep logs` without an engine).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from lockstep.logs.line import LogLevel, LogLine, LogSource, LogStream

# json's C string encoders: the first keeps non-ASCII as is (like ensure_ascii=False),
# the second escapes it, lone surrogates included (they have no UTF-8 form).
_json_str: Callable[[str], str] = json.encoder.encode_basestring
_json_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii


def record(line: LogLine, res: str, text: Callable[[str], str] = _json_str) -> str:
    """One line's JSON object, without the newline; `res` is the resource name already in JSON.

    Assembled by hand: json.dumps of a dict costs 4x as much, and this runs for
    every line of every process.
    """
    return (
        f'{{"seq":{line.seq},"res":{res},"src":"{line.source.value}","lvl":"{line.level.value}",'
        f'"at":{line.at!r},"str":"{line.stream.value}","text":{text(line.text)}}}'
    )


def encode(resource: str, lines: Sequence[LogLine]) -> bytes:
    """One resource's lines as newline-terminated JSON objects, UTF-8, ready to join into a batch."""
    res = _json_str(resource)
    joined = "\n".join([record(line, res) for line in lines])
    try:
        return (joined + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (text that came from outside a process's output, or in a name):
        # escape it in JSON, which reads back as the same string.
        res = _json_ascii(resource)
        return ("\n".join([record(line, res, _json_ascii) for line in lines]) + "\n").encode("ascii")


def gap_note(resource: str, lost: int) -> bytes:
    """Said on disk, in the next line's place, where lines a failing disk cost are missing."""
    note = f"[lockstep: {lost:,} log lines were not saved here: the disk was full or failing]"
    return (f'{{"seq":0,"res":{_json_ascii(resource)},"src":"system","lvl":"warn","at":{time.time()!r},'
            f'"text":{_json_str(note)}}}\n').encode()


def parse(raw: bytes | str) -> LogLine | None:
    """The line a record holds, or None for a torn one (a crash or a full disk mid-write) or a foreign one."""
    try:
        d = json.loads(raw)
        return LogLine(int(d["seq"]), str(d["res"]), LogSource(d["src"]), LogLevel(d["lvl"]), float(d["at"]),
                       str(d["text"]), LogStream(d.get("str", "none")))
    except (ValueError, KeyError, TypeError):
        return None


def needles(resource: str) -> tuple[bytes, bytes]:
    """Byte strings one of which every record of `resource` contains (its `"res":` field, in both
    spellings `encode` may use): a scan parses only the lines that hold one."""
    return (f'"res":{_json_str(resource)},'.encode("utf-8", "surrogatepass"),
            f'"res":{_json_ascii(resource)},'.encode())


def as_dict(line: LogLine) -> dict[str, Any]:
    """A line as the API and `lockstep logs --json` show it."""
    return {"seq": line.seq, "resource": line.resource, "source": line.source.value, "level": line.level.value,
            "stream": line.stream.value, "at": line.at, "text": line.text}
