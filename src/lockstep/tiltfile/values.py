"""Structured values a Tiltfile can read back: `probe(...).period_secs`, `link(...).url`.

A builtin returns `value_struct(obj, **attrs)`: a dict holding the Python object (opaque to
Starlark) and the attributes. The prelude turns that dict into a Starlark `struct`, so the
attributes read as in Tilt. When the struct is passed back into a builtin it arrives as a
dict again, and `unwrap` recovers the object.
"""

from __future__ import annotations

from typing import Any

import starlark as sl

KEY = "_lk_value"

STRUCT_PRELUDE = f'''
def _lk_struct(d):
    return struct(**{{k: (_lk_struct(v) if type(v) == "dict" and "{KEY}" in v else v) for k, v in d.items()}})
'''


def value_struct(obj: object, **attrs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {KEY: sl.OpaquePythonObject(obj)}
    for name, value in attrs.items():
        out[name] = value
    return out


def unwrap(value: Any) -> Any:
    """The Python object behind a struct made by `value_struct`, at the top level or as an
    item of a list (live_update=[...], links=[...], port_forwards=[...])."""
    if isinstance(value, dict):
        return value.get(KEY, value)
    if isinstance(value, list) and any(isinstance(v, dict) and KEY in v for v in value):
        return [v[KEY] if isinstance(v, dict) and KEY in v else v for v in value]
    return value
