"""History and holds lines built from fragments equal `json.dumps` of the dicts they replace, byte for byte."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from lockstep.engine.jsonline import holds_line, update_line
from lockstep.model.update import HoldKind, HoldReason, Reason, ReasonKind, UpdateRecord, UpdateResult

_text = st.text(max_size=12)  # any code point: quotes, control characters, non-ASCII, surrogates
_time = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**20), 10**20)
_reasons = st.builds(Reason, st.sampled_from(ReasonKind), st.lists(_text, max_size=3).map(tuple), _text)
_records = st.builds(
    UpdateRecord, id=st.integers(0, 10**12), resource=_text, reasons=st.lists(_reasons, max_size=3).map(tuple),
    start=_time, end=st.none() | _time, result=st.sampled_from(UpdateResult), error=_text, tainted=st.booleans(),
    live_update=st.booleans(),
)
_holds = st.lists(
    st.builds(HoldReason, st.sampled_from(HoldKind), st.lists(_text, max_size=3).map(tuple), st.none() | _time),
    max_size=3,
).map(tuple)


@given(_records, st.integers(0, 10**6))
def test_update_line_equals_json_dumps(record: UpdateRecord, graph: int) -> None:
    want = record.to_json(upstreams=False)
    want["graph"] = graph
    assert update_line(record, graph) == json.dumps(want) + "\n"


@given(_time, _text, _holds)
def test_holds_line_equals_json_dumps(at: float, resource: str, holds: tuple[HoldReason, ...]) -> None:
    want = json.dumps({"at": at, "resource": resource, "holds": [h.to_json() for h in holds]}) + "\n"
    assert holds_line(at, resource, holds) == want
