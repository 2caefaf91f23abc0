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

from lockstep.model.update import HoldKind, HoldReason, Reason, ReasonKind, UpdateRecord, UpdateResult


def _num(x: float | int | None) -> str:
    t = type(x)
    if t is float and math.isfinite(x):  # type: ignore[arg-type]
        return repr(x)
    if t is int:
        return repr(x)
    return json.dumps(x)  # None, NaN, infinities (and any subclass) exactly as json.dumps writes them


# Enum members' JSON, looked up once (`.value` is a Python-level property).
_REASON_KIND = {k: '{"kind": ' + _str(k.value) for k in ReasonKind}
_RESULT = {r: _str(r.value) for r in UpdateResult}
_HOLD_KIND = {k: '{"kind": ' + _str(k.value) + ', "subjects": [' for k in HoldKind}
_BOOL = {False: "false", True: "true"}
_UPDATE = ('{"id": %s, "resource": %s, "reasons": [%s], "start": %s, "end": %s, "result": %s, "error": %s, '
           '"tainted": %s, "live_update": %s, "graph": %s}\n')


def _reason(r: Reason) -> str:
    out = _REASON_KIND[r.kind]
    if r.paths:
        out += ', "paths": [' + ", ".join(map(_str, r.paths)) + "]"
    if r.upstream:
        out += ', "upstream": ' + _str(r.upstream)
    return out + "}"


def update_line(record: UpdateRecord, graph: int) -> str:
    """`json.dumps(record.to_json(upstreams=False) | {"graph": graph})`, with a newline."""
    return _UPDATE % (
        _num(record.id), _str(record.resource), ", ".join(map(_reason, record.reasons)), _num(record.start),
        _num(record.end), _RESULT[record.result], _str(record.error), _BOOL[bool(record.tainted)],
        _BOOL[bool(record.live_update)], _num(graph),
    )


def _hold(h: HoldReason) -> str:
    return _HOLD_KIND[h.kind] + ", ".join(map(_str, h.subjects)) + '], "text": ' + _str(h.describe()) + "}"


def holds_line(at: float, resource: str, holds: tuple[HoldReason, ...]) -> str:
    """`json.dumps({"at": at, "resource": resource, "holds": [...]})`, with a newline."""
    return holds_line_after(holds_prefix(at), resource, holds)


def holds_prefix(at: float) -> str:
    """The start of every holds line written at `at` (made once for a step's lines)."""
    return '{"at": ' + _num(at) + ', "resource": '


def holds_line_after(prefix: str, resource: str, holds: tuple[HoldReason, ...]) -> str:
    """`holds_line(at, resource, holds)` given `holds_prefix(at)`."""
    return prefix + _str(resource) + ', "holds": [' + ", ".join(map(_hold, holds)) + "]}\n"
