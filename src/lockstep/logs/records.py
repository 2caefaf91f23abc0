"""The on-disk form of log lines: one JSON object a line, a batch of them as one bytes object.

Runs on the log store's writer thread, one resource's queued lines at a time,
so that the thread gives the interpreter back (in `os.write`) between
resources instead of holding it for a whole batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lockstep.logs.store import LogLine

# json's C string encoders: the first keeps non-ASCII as is (like ensure_ascii=False),
# the second escapes it, lone surrogates included (they have no UTF-8 form).
_json_str: Callable[[str], str] = json.encoder.encode_basestring
_json_ascii: Callable[[str], str] = json.encoder.encode_basestring_ascii


def record(line: LogLine, text: Callable[[str], str] = _json_str) -> str:
    """One line's JSON object, without the newline.

    Assembled by hand: json.dumps of a dict costs 4x as much, and this runs for
    every line of every process.
    """
    return (
        f'{{"seq":{line.seq},"src":"{line.source.value}","lvl":"{line.level.value}",'
        f'"at":{line.at!r},"str":"{line.stream.value}","text":{text(line.text)}}}'
    )


def encode(lines: Sequence[LogLine]) -> bytes:
    """The lines as newline-terminated JSON objects, UTF-8, ready for one write."""
    joined = "\n".join([record(line) for line in lines])
    try:
        return (joined + "\n").encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (text that came from outside a process's output): escape
        # it in JSON, which reads back as the same string.
        return ("\n".join([record(line, _json_ascii) for line in lines]) + "\n").encode("ascii")


def gap_note(lost: int) -> bytes:
    """Said on disk, in the next line's place, where lines a failing disk cost are missing."""
    note = f"[lockstep: {lost:,} log lines were not saved here: the disk was full or failing]"
    return f'{{"seq":0,"src":"system","lvl":"warn","at":{time.time()!r},"text":{_json_str(note)}}}\n'.encode()
