"""Argument shapes shared by several resource builtins: names, trigger modes, links, labels."""

from __future__ import annotations

import re

from lockstep.model.resource import Link, TriggerMode
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState
from lockstep.tiltfile.values import value_struct

# Kubernetes' label rule (a name without prefix): what Tilt accepts as a resource label.
_LABEL = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def name(a: Args, key: str) -> str:
    """A resource name as Tilt validates it: a valid URL path segment."""
    value = a.string(key)
    if value in (".", "..") or "/" in value or "%" in value:
        bad = "`/`" if "/" in value else "`%`" if "%" in value else repr(value)
        raise TiltfileError(f"{a.fname}(): invalid resource name {value!r}: it may not contain {bad}"
                            if bad.startswith("`") else
                            f"{a.fname}(): invalid resource name {value!r}",
                            hint=f"pass {key}={value.replace('/', '-').replace('%', '') or 'app'!r}")
    return value

TRIGGER_MODES = {"TRIGGER_MODE_AUTO": TriggerMode.AUTO, "TRIGGER_MODE_MANUAL": TriggerMode.MANUAL}


def trigger_mode(a: Args, name: str = "trigger_mode") -> TriggerMode | None:
    value = a.raw(name)
    if value is None:
        return None
    if isinstance(value, str) and value in TRIGGER_MODES:
        return TRIGGER_MODES[value]
    raise TiltfileError(f"{a.fname}: `{name}` must be TRIGGER_MODE_AUTO or TRIGGER_MODE_MANUAL",
                        hint=f"pass {name}=TRIGGER_MODE_MANUAL")


def patterns(a: Args, key: str) -> tuple[str, ...]:
    """Ignore/only patterns: a string or a list of strings, none containing a newline."""
    values = a.str_list(key)
    for v in values:
        if "\n" in v:
            raise TiltfileError(f"{a.fname}(): `{key}` entries cannot contain newlines; found {v!r}",
                                hint=f"pass one pattern per list entry: {key}=['a', 'b']")
    return values


def url(fname: str, text: str) -> str:
    """Tilt's link rule: a URL must not be empty; without a scheme it is http://."""
    if not text.strip():
        raise TiltfileError(f"{fname}: a link URL cannot be empty", hint="pass a URL such as 'localhost:8080'")
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        return text
    # Also for "localhost:8080", which Go's URL parser reads as scheme "localhost" (Tilt then
    # keeps a link no browser opens).
    return "http://" + text


def links(a: Args, key: str = "links") -> tuple[Link, ...]:
    out = []
    for item in a.items(key):
        if isinstance(item, str):
            out.append(Link(url(a.fname, item)))
        elif isinstance(item, Link):
            out.append(item)
        else:
            raise TiltfileError(f"{a.fname}: `{key}` entries must be URLs or link()",
                                hint=f"pass {key}=['http://localhost:8080'] or [link(url, name)]")
    return tuple(out)


def labels(a: Args) -> tuple[str, ...]:
    values = a.str_list("labels")
    for label in values:
        if "/" in label:
            raise TiltfileError(f"{a.fname}: invalid label {label!r}: it cannot contain `/`",
                                hint="use a plain label such as 'backend'")
        if not _LABEL.fullmatch(label):
            raise TiltfileError(f"{a.fname}: invalid label {label!r}: use at most 63 letters, digits, "
                                "`-`, `_` or `.`, starting and ending with a letter or digit",
                                hint="e.g. labels=['backend']")
    return values


@builtin("link", "url name", 1, struct=True)
def _link(st: EvalState, a: Args) -> object:
    link = Link(url("link()", a.string("url")), a.string("name"))
    return value_struct(link, url=link.url, name=link.name)


@builtin("trigger_mode", "trigger_mode", 1, located=True)
def _trigger_mode(st: EvalState, a: Args) -> None:
    # Sets the default for resources that do not pass their own trigger_mode; once only.
    if st.trigger_mode_location is not None:
        raise TiltfileError(f"trigger_mode() can be called only once; it was already called at "
                            f"{st.trigger_mode_location}",
                            hint="keep one trigger_mode() call, or pass trigger_mode= per resource")
    mode = trigger_mode(a)
    st.trigger_mode_location = st.call_location
    if mode is not None:
        st.default_trigger_mode = mode
