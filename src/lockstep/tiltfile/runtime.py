"""The Starlark environment: one module per evaluated file, with Tilt's builtins installed.

Builtins are Python callables registered on each module. Those that need their call
site are wrapped by a small Starlark prelude that passes `call_stack()` first, because
a Python callable cannot otherwise see where it was called from. The prelude also
builds the `os`, `config`, `shlex`, `sys` and `v1alpha1` namespaces as structs.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

import starlark as sl

from lockstep.model.resource import Diagnostic, Severity
from lockstep.tiltfile.args import Args, TiltfileError, bind
from lockstep.tiltfile.diagnose import PRELUDE, call_site, diagnose
from lockstep.tiltfile.registry import REGISTRY, Builtin
from lockstep.tiltfile.source import prepare, skip_statements, statement_spans
from lockstep.tiltfile.state import EvalState, Frame
from lockstep.tiltfile.values import STRUCT_PRELUDE, unwrap
from lockstep.tiltfile.whileloop import WHILE_STEPS_PRELUDE, rewrite_while

GLOBALS = sl.Globals.extended_by([
    sl.LibraryExtension.StructType, sl.LibraryExtension.CallStack, sl.LibraryExtension.Print,
])
# Trampolines through which functions returned by load_dynamic() are called.
DYNAMIC_SLOTS = 64
# starlark-pyo3 defaults to a very shallow call stack; Tilt allows recursion.
MAX_CALLSTACK = 400


class LoadFailed(Exception):
    """Evaluation stopped; the reason is already recorded in the state."""


_FIXED_PRELUDE = '''
TRIGGER_MODE_AUTO = "TRIGGER_MODE_AUTO"
TRIGGER_MODE_MANUAL = "TRIGGER_MODE_MANUAL"

def print(*args, sep = " "):
    _lk_print(sep.join([str(a) for a in args]))

def fail(*args, sep = " "):
    _lk_fail(call_stack(), sep.join([str(a) for a in args]))

def set(items = ()):
    # Tilt enables starlark-go's set type; a dict with None values gives `in`,
    # iteration order, len() and `|` (union), which is what Tiltfiles use.
    return {item: None for item in items}

def _lk_inert(*args, **kwargs):
    return _lk_inert

_lk_w2r = []

def workload_to_resource_function(fn):
    _lk_w2r.append(fn)
    _lk_w2r_registered(call_stack())

def lockstep_call_w2r(workload_id):
    return _lk_w2r[-1](struct(**workload_id))

def local_git_repo(paths):
    root = _lk_local_git_repo(call_stack(), paths)

    def repo_path(paths):
        return root + "/" + paths

    return struct(paths = repo_path)

def load_dynamic(path):
    r = _lk_load_dynamic(call_stack(), path)
    out = dict(r["values"])
    for name in r["inert"]:
        out[name] = _lk_inert
    for name, slot in r["functions"]:
        out[name] = _lk_slots[slot]
    return out
'''


def _namespace_tree() -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for b in REGISTRY.values():
        parts = b.name.split(".")
        if len(parts) == 1:
            continue
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = f"{b.internal}()" if b.value else f"{b.internal}_at" if b.located else b.internal
    return tree


def _struct_expr(node: dict[str, Any]) -> str:
    fields = []
    for key, value in node.items():
        fields.append(f"{key} = {_struct_expr(value) if isinstance(value, dict) else value}")
    return "struct(" + ", ".join(fields) + ")"


@functools.cache
def prelude_source() -> str:
    parts = [_FIXED_PRELUDE, STRUCT_PRELUDE, WHILE_STEPS_PRELUDE]
    for b in REGISTRY.values():
        if (b.located or b.struct) and "." not in b.name and not b.name.startswith("_"):
            call = f"{b.internal}(call_stack(), *args, **kwargs)" if b.located else \
                f"{b.internal}(*args, **kwargs)"
            if b.struct:
                call = f"_lk_struct({call})"
            parts.append(f"def {b.name}(*args, **kwargs):\n    return {call}\n")
    for b in REGISTRY.values():
        if b.located and "." in b.name:
            parts.append(f"def {b.internal}_at(*args, **kwargs):\n"
                         f"    return {b.internal}(call_stack(), *args, **kwargs)\n")
    for name, node in _namespace_tree().items():
        parts.append(f"{name} = {_struct_expr(node)}\n")
    for i in range(DYNAMIC_SLOTS):
        parts.append(f"def _lk_slot_{i}(*args, **kwargs):\n"
                     f"    return _lk_call_dynamic({i}, *args, **kwargs)\n")
    parts.append("_lk_slots = [" + ", ".join(f"_lk_slot_{i}" for i in range(DYNAMIC_SLOTS)) + "]\n")
    return "\n".join(parts)


def public_names() -> list[str]:
    names = {b.name.split(".")[0] for b in REGISTRY.values()}
    names.update(("print", "fail", "set", "load_dynamic", "local_git_repo", "workload_to_resource_function",
                  "TRIGGER_MODE_AUTO", "TRIGGER_MODE_MANUAL", "struct", "str", "len", "type",
                  "int", "range", "dict", "list", "getattr", "hasattr", "repr", "sorted", "enumerate",
                  "zip", "min", "max", "any", "all", "bool", "tuple", "reversed", "json"))
    return sorted(names)


def _callable(st: EvalState, b: Builtin) -> Callable[..., object]:
    def call(*args: object, **kwargs: object) -> object:
        location = None
        if b.located:
            stack = args[0]
            args = args[1:]
            location = call_site(st, stack if isinstance(stack, str) else "", b.name)
        previous = st.call_location
        st.call_location = location
        args = tuple(unwrap(v) for v in args)
        kwargs = {k: unwrap(v) for k, v in kwargs.items()}
        try:
            if b.loose:
                values: dict[str, object] = dict(zip(b.params, args, strict=False))
                values.update({str(i): v for i, v in enumerate(args[len(b.params):])})
                bound = Args(b.name, {**values, **kwargs})
            else:
                bound = bind(b.name, b.params, b.required, args, kwargs, b.positional)
            return b.fn(st, bound)
        except TiltfileError as exc:
            if exc.location is None:
                exc.location = location
            st.pending = exc
            raise
        except LoadFailed:
            raise
        except Exception as exc:
            # A bug or an OS failure inside a builtin: still a diagnostic, never a traceback.
            st.pending = TiltfileError(f"{b.name}: {type(exc).__name__}: {exc}",
                                       hint="check the arguments of this call", location=location)
            raise
        finally:
            st.call_location = previous

    return call


def new_module(st: EvalState) -> sl.Module:
    module = sl.Module()
    for b in REGISTRY.values():
        fn = _callable(st, b)
        module.add_callable(b.internal, fn)
        if not b.located and not b.struct and "." not in b.name and not b.value \
                and not b.name.startswith("_"):
            module.add_callable(b.name, fn)
    prelude = sl.parse(PRELUDE, prelude_source(), sl.Dialect.extended())
    sl.eval_with(_options(st), module, prelude, GLOBALS)
    return module


def _options(st: EvalState) -> sl.EvalOptions:
    return sl.EvalOptions(check_cancelled=st.cancelled, max_callstack_size=MAX_CALLSTACK)


def eval_file(st: EvalState, path: str, source: str,
              load_module: Callable[[EvalState, Frame, str, set[str]], sl.FrozenModule]) -> sl.Module:
    """Evaluate one file, whole, into a fresh module; on failure record a diagnostic and
    raise LoadFailed (with `st.restart` set when a dry run should retry without the
    statement that failed, see `tolerate`)."""
    st.watch(path)
    text = prepare(source)
    st.sources[path] = text.splitlines()
    text, line_map = rewrite_while(text)
    if line_map is not None:
        st.line_maps[path] = line_map
    skipped = st.skipped.get(path)
    if skipped:
        text = skip_statements(text, set(skipped))
    frame = Frame(path, path)
    st.frames.append(frame)
    try:
        module = new_module(st)
        # As Tilt predeclares them in every file it executes.
        module["__file__"] = path
        module["__name__"] = "__main__" if path == st.main_path else os.path.basename(path)
        _eval_chunk(st, module, frame, path, text, 1, load_module)
    except LoadFailed:
        if st.exited and not st.failed and len(st.frames) == 1:
            return module
        if st.dry_run and not st.restart:
            tolerate(st, path, text)
        raise
    finally:
        st.frames.pop()
    return module


def tolerate(st: EvalState, path: str, text: str) -> None:
    """Dry run: if the error just recorded may come from an input the dry run could not
    read, turn it into a warning and mark its top-level statement to be skipped.

    The whole evaluation then starts again (the caller loops while `st.restart`): a
    file is always evaluated as one unit, so functions see the module's globals as they
    really are when called; evaluating statements one by one would not give that."""
    if st.exited or not st.missing_inputs or not st.errors or st.error_file != path:
        return
    diag = st.errors[-1]
    raw = st.error_text
    if any(marker in diag.message for marker in _NEVER_TOLERATED) or \
            ("Traceback" not in raw and _NOT_FOUND.search(raw)):
        return
    line = module_line(raw, path)
    spans = statement_spans(text) or []
    start = next((s for s, e in spans if line is not None and s <= line <= e), None)
    if start is None or start in st.skipped.get(path, {}):
        return
    st.errors.pop()
    st.skipped.setdefault(path, {})[start] = Diagnostic(
        Severity.WARNING, f"{diag.message} (dry run: statement skipped, some inputs were unavailable)",
        diag.location, diag.hint)
    st.restart = True


# Errors a missing input cannot cause: still errors in a dry run.
_NEVER_TOLERATED = ("syntax error", "unexpected keyword argument", "positional arguments, got",
                    "got multiple values", "is missing required argument")
# A name no statement binds: found before anything runs, so no input can be the cause.
_NOT_FOUND = re.compile(r"Variable `[^`]+` not found")


def module_line(raw: str, path: str) -> int | None:
    """The line of `path`'s top-level code an interpreter error happened under: the
    outermost traceback frame in that file's module, else the error's own span."""
    for file, line, where in _MODULE_FRAME.findall(raw):
        if file == path and where == "<module>":
            return int(line)
    if "Traceback" in raw:
        return None
    span = _SPAN.search(raw)
    return int(span.group(2)) if span and span.group(1) == path else None


_MODULE_FRAME = re.compile(r"^\s*\*\s+(.+):(\d+), in (\S+)", re.M)
_SPAN = re.compile(r"^\s*-->\s+(.+):(\d+):(\d+)\s*$", re.M)


def _eval_chunk(st: EvalState, module: sl.Module, frame: Frame, path: str, text: str, line: int,
                load_module: Callable[[EvalState, Frame, str, set[str]], sl.FrozenModule]) -> None:
    try:
        # Leading newlines keep line numbers true; a trailing `None` keeps the value of the
        # last statement (maybe a function) from being converted to Python, which would fail.
        src = "\n" * (line - 1) + text
        try:
            ast = sl.parse(path, src + "\nNone\n", sl.Dialect.extended())
        except sl.StarlarkError:
            # Report a syntax error where it is in the user's text, not in our suffix
            # (an unclosed bracket would otherwise point at the appended `None`).
            sl.parse(path, src, sl.Dialect.extended())
            raise
        wanted: dict[str, set[str]] = {}
        for ld in ast.loads():
            wanted.setdefault(ld.module_id, set()).update(ld.symbols.values())
        loader = sl.FileLoader(lambda mid: load_module(st, frame, mid, wanted.get(mid, set())))
        sl.eval_with(_options(st), module, ast, GLOBALS, loader)
    except sl.StarlarkError as exc:
        if st.exited:
            raise LoadFailed() from None
        if not st.failed:
            st.failed = True
            st.error_file, st.error_text = path, str(exc)
            st.errors.append(diagnose(st, str(exc), public_names()))
        raise LoadFailed() from None
