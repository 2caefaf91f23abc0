"""Turning a StarlarkError's text into a Diagnostic with a location and a fix.

starlark-pyo3 reports every failure (syntax, unknown name, a builtin's exception)
as one StarlarkError whose text carries a traceback and a `--> FILE:LINE:COL` span.
Frames in lockstep's own prelude are skipped: the user should see their line.
"""

from __future__ import annotations

import re

from lockstep.model.resource import Diagnostic, Severity, SourceLocation
from lockstep.tiltfile.args import TiltfileError, did_you_mean
from lockstep.tiltfile.source import ASSERT_NAME
from lockstep.tiltfile.state import EvalState
from lockstep.tiltfile.whileloop import translate

PRELUDE = "<lockstep-prelude>"
_SPAN = re.compile(r"^\s*-->\s+(.+):(\d+):(\d+)\s*$", re.M)
_FRAME = re.compile(r"^\s*\*\s+(.+):(\d+), in ", re.M)
_ERROR = re.compile(r"^error: (.*)$", re.M)
_NOT_FOUND = re.compile(r"Variable `([^`]+)` not found")


def frames_of(text: str) -> list[tuple[str, int]]:
    return [(m.group(1), int(m.group(2))) for m in _FRAME.finditer(text)]


def call_site(st: EvalState, stack: str, name: str) -> SourceLocation | None:
    """The innermost user frame of a `call_stack()` string, with the column of `name(`."""
    user = [f for f in frames_of(translate(stack, st.line_maps)) if f[0] != PRELUDE]
    if not user:
        return None
    file, line = user[-1]
    return SourceLocation(file, line, column_of(st, file, line, name.rsplit(".", 1)[-1]))


def column_of(st: EvalState, file: str, line: int, name: str) -> int:
    lines = st.sources.get(file, [])
    if 0 < line <= len(lines):
        text = lines[line - 1]
        at = text.find(name + "(")
        if at < 0:
            at = text.find(name)
        if at >= 0:
            return at + 1
        return len(text) - len(text.lstrip()) + 1
    return 1


def location_of(st: EvalState, text: str) -> SourceLocation | None:
    span = _SPAN.search(text)
    if span and span.group(1) != PRELUDE:
        return SourceLocation(span.group(1), int(span.group(2)), int(span.group(3)))
    user = [f for f in frames_of(text) if f[0] != PRELUDE]
    if user:
        file, line = user[-1]
        lines = st.sources.get(file, [])
        col = 1
        if 0 < line <= len(lines):
            col = len(lines[line - 1]) - len(lines[line - 1].lstrip()) + 1
        return SourceLocation(file, line, col)
    return None


def diagnose(st: EvalState, text: str, known_names: list[str]) -> Diagnostic:
    text = translate(text.replace(ASSERT_NAME, "assert"), st.line_maps)
    pending = st.pending
    st.pending = None
    if isinstance(pending, TiltfileError):
        loc = pending.location or location_of(st, text)
        return Diagnostic(Severity.ERROR, pending.message, loc, pending.hint)
    loc = location_of(st, text)
    match = _ERROR.search(text)
    message = match.group(1).strip() if match else text.strip().splitlines()[-1]
    message = message.removeprefix("StarlarkError: ")
    if loc is not None and message.startswith("Parse error: unexpected new line"):
        # The parser reports a bracket left open at the end of the file as 1:1; point
        # at the bracket instead.
        opened = unclosed_bracket(st.sources.get(loc.file, []))
        if opened is not None:
            line, col, char = opened
            return Diagnostic(Severity.ERROR, f"syntax error: `{char}` is never closed",
                              SourceLocation(loc.file, line, col), f"close it with `{_CLOSE[char]}`")
    text_, hint = _explain(message, known_names)
    return Diagnostic(Severity.ERROR, text_, loc, hint)


_CLOSE = {"(": ")", "[": "]", "{": "}"}


def unclosed_bracket(lines: list[str]) -> tuple[int, int, str] | None:
    """The first bracket still open at the end of the source (1-based line, col), skipping
    strings and comments; None when every bracket is closed."""
    stack: list[tuple[int, int, str]] = []
    quote = ""
    for n, text in enumerate(lines, 1):
        i = 0
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif text.startswith(quote, i):
                    i += len(quote) - 1
                    quote = ""
            elif c == "#":
                break
            elif c in "\"'":
                quote = c * 3 if text.startswith(c * 3, i) else c
                i += len(quote) - 1
            elif c in _CLOSE:
                stack.append((n, i + 1, c))
            elif c in ")]}" and stack:
                stack.pop()
            i += 1
        if quote and len(quote) == 1:
            quote = ""  # a one-quote string ends at the line's end
    return stack[0] if stack else None


def _explain(message: str, known: list[str]) -> tuple[str, str]:
    """A friendlier message and the fix, for the errors Tiltfile authors actually hit."""
    found = _NOT_FOUND.search(message)
    if found:
        name = found.group(1)
        from lockstep.tiltfile.registry import UNSUPPORTED

        if name in UNSUPPORTED:
            return (f"`{name}` is a Tilt builtin that lockstep does not support",
                    f"remove the call to `{name}` (see docs/tiltfile-api.md)")
        hint = did_you_mean(name, [k for k in known if not k.startswith("_")])
        return (f"unknown name `{name}`",
                hint or f"define `{name}` before using it, or load() it from the file that defines it")
    if message.startswith("Parse error"):
        detail = message.removeprefix("Parse error:").strip()
        if "unexpected string literal" in detail:
            return ("syntax error: two string literals side by side",
                    "Starlark (and Tilt) has no implicit string concatenation: join the strings with `+`")
        if "reserved keyword `while`" in detail:
            # Well-formed loops never reach the parser as `while` (see whileloop.py).
            return ("syntax error: malformed `while` loop",
                    "write `while CONDITION:` followed by an indented body")
        if "tabs are not allowed" in detail:
            return "syntax error: tab in indentation", "indent with spaces"
        short = detail.split(", expected one of")[0]
        return f"syntax error: {short}", "fix the syntax at the position shown (Starlark: a subset of Python)"
    if message.startswith("fail:"):
        return (f"fail() called: {message[5:].strip()}",
                "the Tiltfile stopped itself: satisfy the condition it checks")
    if "serde::serialize" in message and "function" in message:
        return ("a function cannot be passed to this builtin",
                "pass the function's result (call it) instead of the function itself")
    if "call stack overflow" in message:
        return "recursion too deep", "make the recursion terminate sooner"
    if "cancelled" in message.lower():
        return ("Tiltfile evaluation took too long and was stopped",
                "look for an unbounded loop; lockstep bounds evaluation time")
    if "has no attribute" in message:
        return message, "check the attribute name (dir(x) lists what a value has)"
    return message, "fix the expression at the position shown"
