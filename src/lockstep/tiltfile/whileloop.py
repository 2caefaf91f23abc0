"""`while` loops, which Tilt's interpreter accepts and starlark-pyo3 reserves as a keyword.

Each `while COND:` is rewritten, before parsing, into a `for` over a very long range whose
body starts with `if not (COND): break`. `break`, `continue` and `return` inside the body
keep their meaning, and COND is evaluated before every iteration, as a `while` does.

The check needs a statement of its own, so the rewritten text has more lines than the
user's file. A line map (rewritten line -> original line) is returned with it, and every
position the interpreter reports is translated back through it (see `translate`). COND
itself keeps its original line and columns: the `while` keyword is blanked and the
condition becomes the inside of a bracket opened on the inserted line above it, where
indentation does not matter.

    while n < 3:        for _lk_w1 in _lk_while_steps:
        n += 1   -->        if (_lk_w1 == _lk_while_last and _lk_while_exhausted()) or not (
                             n < 3): break        (same columns as the original)
                            n += 1
"""

from __future__ import annotations

import io
import re
import tokenize

# Iterations one `while` may make: the largest range starlark-pyo3 has. A trivial loop
# gets through it in about two minutes, near the evaluation time budget
# (tiltfile/isolate.py), so reaching the end is an error rather than a silent exit from
# a loop whose condition still holds.
WHILE_STEPS_NAME = "_lk_while_steps"
WHILE_STEPS_PRELUDE = f"""
{WHILE_STEPS_NAME} = range(2147483647)
_lk_while_last = 2147483646

def _lk_while_exhausted():
    fail("this while loop ran %d times and its condition still holds" % len({WHILE_STEPS_NAME}))
"""

_START = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT)


def rewrite_while(source: str) -> tuple[str, list[int] | None]:
    """The source with every `while` loop rewritten, and the line map (index i holds the
    original line of rewritten line i+1); None when there was nothing to rewrite."""
    if "while" not in source:
        return source, None
    loops = _find_loops(_tokens(source))
    if not loops:
        return source, None
    lines = source.splitlines(keepends=True)
    out: list[str] = []
    line_map: list[int] = []

    def emit(text: str, original: int) -> None:
        out.append(text)
        line_map.append(original)

    by_line = {loop.line: loop for loop in loops}
    row = 1
    while row <= len(lines):
        loop = by_line.get(row)
        if loop is None:
            emit(lines[row - 1], row)
            row += 1
            continue
        first = lines[row - 1]
        indent = first[: loop.col]
        var = f"_lk_w{row}"
        emit(f"{indent}for {var} in {WHILE_STEPS_NAME}:\n", row)
        emit(" " * loop.body_col + f"if ({var} == _lk_while_last and _lk_while_exhausted()) or not (\n", row)
        for r in range(loop.line, loop.colon_line + 1):
            text = lines[r - 1]
            if r == loop.line:
                text = " " * (loop.col + len("while")) + text[loop.col + len("while"):]
            if r == loop.colon_line:
                head, tail = text[: loop.colon_col], text[loop.colon_col + 1:]
                if loop.inline:
                    # `while c: stmt` - the statement moves to its own line, same columns.
                    emit(head + "): break\n", r)
                    text = " " * loop.body_col + tail.lstrip(" ")
                else:
                    text = head + "): break" + tail
            emit(text, r)
        row = loop.colon_line + 1
    return "".join(out), line_map


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    """Tokens up to the first lexical error: loops before a syntax error are still
    rewritten, so the parser reports that error rather than the `while` keyword."""
    tokens: list[tokenize.TokenInfo] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            tokens.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return tokens


class _Loop:
    __slots__ = ("body_col", "col", "colon_col", "colon_line", "inline", "line")

    def __init__(self, line: int, col: int, colon_line: int, colon_col: int, inline: bool,
                 body_col: int) -> None:
        self.line, self.col = line, col
        self.colon_line, self.colon_col = colon_line, colon_col
        self.inline, self.body_col = inline, body_col


def _find_loops(tokens: list[tokenize.TokenInfo]) -> list[_Loop]:
    loops: list[_Loop] = []
    prev: tokenize.TokenInfo | None = None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string == "while" and \
                (prev is None or prev.type in _START):
            loop = _loop_at(tokens, i)
            if loop is not None:
                loops.append(loop)
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            prev = tok
    return loops


def _loop_at(tokens: list[tokenize.TokenInfo], at: int) -> _Loop | None:
    start = tokens[at].start
    depth = 0
    for j in range(at + 1, len(tokens)):
        tok = tokens[j]
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.OP and tok.string == ":" and depth == 0:
            return _body(tokens, j, start)
        elif tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            return None  # no colon: leave it for the parser to report
    return None


def _body(tokens: list[tokenize.TokenInfo], colon: int, start: tuple[int, int]) -> _Loop | None:
    colon_at = tokens[colon].start
    rest = [t for t in tokens[colon + 1:] if t.type not in (tokenize.COMMENT, tokenize.NL)]
    if not rest:
        return None
    if rest[0].type != tokenize.NEWLINE:
        return _Loop(start[0], start[1], colon_at[0], colon_at[1], True, rest[0].start[1])
    if len(rest) < 2 or rest[1].type != tokenize.INDENT:
        return None  # missing body: the parser reports it
    return _Loop(start[0], start[1], colon_at[0], colon_at[1], False, len(rest[1].string))


_SPAN = re.compile(r"^(\s*-->\s+)(.+):(\d+):(\d+)(\s*)$", re.M)
_FRAME = re.compile(r"^(\s*\*\s+)(.+):(\d+)(, in )", re.M)


def translate(text: str, maps: dict[str, list[int]]) -> str:
    """Positions in an interpreter message (`--> FILE:LINE:COL`, `* FILE:LINE, in`) turned
    from rewritten lines into the user's lines."""
    if not maps:
        return text

    def line(file: str, number: str) -> str:
        lmap = maps.get(file)
        n = int(number)
        if lmap is None or not 0 < n <= len(lmap):
            return number
        return str(lmap[n - 1])

    text = _SPAN.sub(lambda m: f"{m[1]}{m[2]}:{line(m[2], m[3])}:{m[4]}{m[5]}", text)
    return _FRAME.sub(lambda m: f"{m[1]}{m[2]}:{line(m[2], m[3])}{m[4]}", text)
