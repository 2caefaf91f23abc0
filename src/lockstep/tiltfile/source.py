"""Reading Tiltfile source the way starlark-go would accept it.

starlark-pyo3 rejects any tab in indentation; starlark-go only rejects tabs where
indentation is significant. Inside brackets (continuation lines) a tab is plain
whitespace to starlark-go, so we expand those tabs before parsing. Tabs inside
multi-line strings are left alone: they are data.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings

# starlark-go lets `assert` be an ordinary name (Tilt's `ext://assert` extension exports a
# struct called `assert`); starlark-pyo3 reserves it as a keyword. Files are read with every
# `assert` token, and every `load()` symbol string 'assert', renamed to this identifier, so
# definition, load and use stay consistent across files. It does not start with `_`
# because load() cannot import private names.
ASSERT_NAME = "lk_assert__"


def prepare(source: str) -> str:
    if "assert" in source:
        source = rename_assert(source)
    if "\t" not in source:
        return source
    lines = source.splitlines(keepends=True)
    protected = _lines_inside_strings(source)
    out = []
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent and number not in protected:
            line = indent.expandtabs(8) + stripped
        out.append(line)
    return "".join(out)


def _lines_inside_strings(source: str) -> set[int]:
    """Line numbers that start inside a multi-line string literal."""
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return inside


def statement_spans(source: str) -> list[tuple[int, int]] | None:
    """Top-level statements as (first line, last line). None if the text cannot be split.

    Starlark syntax is a subset of Python's, so Python's parser finds the boundaries.
    Statements sharing a line (`a = 1; b = 2`) stay together.
    """
    tree = _python_ast(source)
    if tree is None:
        return None
    spans: list[list[int]] = []
    for node in tree.body:
        start, end = node.lineno, node.end_lineno or node.lineno
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(s, e) for s, e in spans]


def _bound_names(node: ast.AST) -> list[str]:
    """Module-level names a statement binds (assignment and `for` targets, `def` names),
    not looking inside function bodies, whose names are local."""
    names: list[str] = []
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        return [node.id]
    if isinstance(node, ast.Lambda | ast.ListComp | ast.DictComp | ast.SetComp | ast.GeneratorExp):
        return []
    for child in ast.iter_child_nodes(node):
        names.extend(_bound_names(child))
    return names


def skip_statements(source: str, starts: set[int]) -> str:
    """The source with the top-level statements starting on `starts` lines left out.

    Line numbers stay as they were. A name that only a skipped statement binds is bound
    to None on that statement's first line instead, so that later uses still compile
    (Starlark resolves every name of a file before running it) and read a neutral value.
    """
    tree = _python_ast(source)
    spans = statement_spans(source)
    if tree is None or spans is None or not starts:
        return source
    bound_by: dict[int, list[str]] = {}
    for node in tree.body:
        span = next(s for s, e in spans if s <= node.lineno <= e)
        bound_by.setdefault(span, []).extend(_bound_names(node))
    kept = {n for s, names in bound_by.items() if s not in starts for n in names}
    lines = source.splitlines()
    for s, e in spans:
        if s not in starts:
            continue
        orphans = [n for n in dict.fromkeys(bound_by.get(s, [])) if n not in kept]
        lines[s - 1] = "; ".join(f"{n} = None" for n in orphans) or "pass"
        for i in range(s, e):
            lines[i] = ""
    return "\n".join(lines) + "\n"


def _python_ast(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. invalid escapes: Starlark's business, not ours
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def rename_assert(source: str) -> str:
    """Replace the identifier `assert` (and 'assert' as a load() symbol) by ASSERT_NAME."""
    edits: list[tuple[int, int, int, str]] = []
    in_load, depth, first_string = False, 0, False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source
    prev = None
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.string == "load" and not in_load and \
                (prev is None or prev.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT,
                                               tokenize.DEDENT) or prev.string == ";"):
            in_load, depth, first_string = True, 0, True
        elif in_load and tok.type == tokenize.OP and tok.string == "(":
            depth += 1
        elif in_load and tok.type == tokenize.OP and tok.string == ")":
            depth -= 1
            in_load = depth > 0
        elif in_load and tok.type == tokenize.STRING:
            if first_string:
                first_string = False  # the module being loaded
            elif tok.string[1:-1] == "assert" and tok.string[0] in "'\"":
                q = tok.string[0]
                edits.append((tok.start[0], tok.start[1], tok.end[1], f"{q}{ASSERT_NAME}{q}"))
        if tok.type == tokenize.NAME and tok.string == "assert":
            edits.append((tok.start[0], tok.start[1], tok.end[1], ASSERT_NAME))
        if tok.type not in (tokenize.COMMENT, tokenize.NL):
            prev = tok
    if not edits:
        return source
    lines = source.splitlines(keepends=True)
    for row, start, end, text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + text + line[end:]
    return "".join(lines)
