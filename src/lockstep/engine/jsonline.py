"""The history and holds files' lines, written as text without a dict per line.

The engine writes about one update line and several hold lines per update. Built
as dicts and passed through `json.dumps`, they cost more than the rest of the
recorder (a dict, a list per reason and per hold, the encoder's set-up per call).
Here each line is joined from fragments: strings go through the encoder's own
string function, floats through `repr` (what `json.dumps` writes for finite floats). Every line
equals `json.dumps` of the dict `persist.py` wrote before, byte for byte
(tests/engine/test_jsonline.py).
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii as _str  # what json.dumps uses for str (ensure_ascii)

from lockstep.model.update import HoldReason, Reason, UpdateRecord


def _num(x: float | int | None) -> str:
    t = type(x)
    if t is float and math.isfinite(x):  # type: ignore[arg-type]
        return repr(x)
    if t is int:
        return repr(x)
    return json.dumps(x)  # None, NaN, infinities (and any subclass) exactly as json.dumps writes them


def _reason(r: Reason) -> str:
    out = '{"kind": ' + _str(r.kind.value)
    if r.paths:
        out += ', "paths": [' + ", ".join(map(_str, r.paths)) + "]"
    if r.upstream:
        out += ', "upstream": ' + _str(r.upstream)
    return out + "}"


def update_line(record: UpdateRecord, graph: int) -> str:
    """`json.dumps(record.to_json(upstreams=False) | {"graph": graph})`, with a newline."""
    return (
        '{"id": ' + _num(record.id)
        + ', "resource": ' + _str(record.resource)
        + ', "reasons": [' + ", ".join(map(_reason, record.reasons))
        + '], "start": ' + _num(record.start)
        + ', "end": ' + _num(record.end)
        + ', "result": ' + _str(record.result.value)
        + ', "error": ' + _str(record.error)
        + ', "tainted": ' + ("true" if record.tainted else "false")
        + ', "live_update": ' + ("true" if record.live_update else "false")
        + ', "graph": ' + _num(graph) + "}\n"
    )


def _hold(h: HoldReason) -> str:
    return ('{"kind": ' + _str(h.kind.value) + ', "subjects": [' + ", ".join(map(_str, h.subjects))
            + '], "text": ' + _str(h.describe()) + "}")


def holds_line(at: float, resource: str, holds: tuple[HoldReason, ...]) -> str:
    """`json.dumps({"at": at, "resource": resource, "holds": [...]})`, with a newline."""
    return ('{"at": ' + _num(at) + ', "resource": ' + _str(resource)
            + ', "holds": [' + ", ".join(map(_hold, holds)) + "]}\n")
