"""load() of local files and ext:// extensions, include(), load_dynamic().

Loaded files share the evaluation state (their resources count, as in Tilt) and
resolve relative paths against their own directory. In a dry run, a file or an
extension that cannot be found binds the requested symbols to an inert function
(accepts anything, returns itself) so the rest of the Tiltfile can still be checked.
"""

from __future__ import annotations

import ast
import os
import re
import warnings
from typing import Any

import starlark as sl

from lockstep.tiltfile import extensions
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.runtime import DYNAMIC_SLOTS, GLOBALS, eval_file
from lockstep.tiltfile.state import EvalState, Frame


def _placeholder(symbols: set[str], user_source: str) -> sl.FrozenModule:
    """Inert bindings, shaped by how the loading file uses each symbol: `sym.attr` gets a
    struct of inert attributes, `sym(...)` an inert function, anything else an empty string."""
    lines = ["def _inert(*args, **kwargs):", "    return _inert"]
    for name in sorted(symbols):
        if not name.isidentifier():
            continue
        attrs = sorted(set(re.findall(rf"\b{name}\.([A-Za-z_]\w*)", user_source)))
        if attrs:
            lines.append(f"{name} = struct(" + ", ".join(f"{a} = _inert" for a in attrs) + ")")
        elif re.search(rf"\b{name}\s*\(", user_source):
            lines.append(f"{name} = _inert")
        else:
            lines.append(f'{name} = ""')
    module = sl.Module()
    sl.eval(module, sl.parse("<lockstep-placeholder>", "\n".join(lines) + "\nNone\n",
                             sl.Dialect.extended()), GLOBALS)
    return module.freeze()


def _target(st: EvalState, frame: Frame, module_id: str) -> tuple[str | None, str]:
    """The file a load() names, or None with the reason it is unavailable."""
    if module_id.startswith("ext://"):
        path, source_or_reason = extensions.resolve(module_id[len("ext://"):], fetch=not st.dry_run)
        if path is None:
            return None, source_or_reason
        # The copy runs; the original is watched too, so editing an extension reloads.
        st.watch(source_or_reason)
        return path, ""
    path = os.path.normpath(os.path.join(frame.dir, os.path.expanduser(module_id)))
    if os.path.isdir(path):
        path = os.path.join(path, "Tiltfile")
    return (path, "") if os.path.isfile(path) else (None, f"file not found: {path}")


def _evaluate(st: EvalState, path: str) -> sl.Module:
    if path in st.loading:
        chain = " -> ".join([*st.loading[st.loading.index(path):], path])
        raise TiltfileError(f"load cycle: {chain}",
                            hint="break the cycle: move shared code into a third file")
    try:
        source = read_text_file(path, f"load({path!r})")
    except OSError as exc:
        raise TiltfileError(f"cannot read {path}: {exc}", hint="check the file's permissions") from None
    st.loading.append(path)
    try:
        return eval_file(st, path, source, load_module)
    finally:
        st.loading.pop()


def load_module(st: EvalState, frame: Frame, module_id: str, symbols: set[str]) -> sl.FrozenModule:
    """FileLoader callback for `load()` statements in `frame`'s file."""
    try:
        path, reason = _target(st, frame, module_id)
        if path is None:
            if st.dry_run:
                st.missing_inputs.append(module_id)
                st.warn(f"load({module_id!r}): {reason}; its symbols are inert placeholders (dry run)",
                        _load_location(st, frame, module_id))
                return _placeholder(symbols, "\n".join(st.sources.get(frame.path, [])))
            raise TiltfileError(f"load({module_id!r}): {reason}", _load_hint(module_id),
                                _load_location(st, frame, module_id))
        cached = st.loaded_modules.get(path)
        if isinstance(cached, sl.FrozenModule):
            return cached
        frozen = _evaluate(st, path).freeze()
        st.loaded_modules[path] = frozen
        return frozen
    except TiltfileError as exc:
        if exc.location is None:
            exc.location = _load_location(st, frame, module_id)
        st.pending = exc
        raise


def _load_hint(module_id: str) -> str:
    if module_id.startswith("ext://"):
        return ("set LOCKSTEP_EXTENSIONS_DIR to a checkout of tilt-dev/tilt-extensions, "
                "or check the extension name")
    return "fix the path (relative to this Tiltfile), or use `lockstep check --dry-run`"


def _load_location(st: EvalState, frame: Frame, module_id: str) -> Any:
    from lockstep.model.resource import SourceLocation

    for number, line in enumerate(st.sources.get(frame.path, []), start=1):
        at = line.find(module_id)
        if at >= 0 and "load" in line:
            return SourceLocation(frame.path, number, max(1, line.find("load") + 1))
    return SourceLocation(frame.path, 1, 1)


@builtin("include", "path", 1, located=True)
def _include(st: EvalState, a: Args) -> None:
    path = st.resolve(a.string("path"))
    if os.path.isdir(path):
        path = os.path.join(path, "Tiltfile")
    if path in st.loaded_modules:
        return
    if not os.path.isfile(path):
        st.watch(path)
        if st.dry_run:
            st.missing_inputs.append(path)
            st.warn(f"include: {path} not found; skipped (dry run)", st.call_location)
            return
        raise TiltfileError(f"include: file not found: {path}",
                            hint="fix the path (relative to this Tiltfile), "
                                 "or use `lockstep check --dry-run`")
    st.loaded_modules[path] = _evaluate(st, path).freeze()


def _top_level_names(source: str) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.extend(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return [n for n in dict.fromkeys(names) if not n.startswith("_")]


@builtin("_load_dynamic", "path", 1, located=True)
def _load_dynamic(st: EvalState, a: Args) -> dict[str, Any]:
    path = st.resolve(a.string("path"))
    if os.path.isdir(path):
        path = os.path.join(path, "Tiltfile")
    if not os.path.isfile(path):
        st.watch(path)
        if not st.dry_run:
            raise TiltfileError(f"load_dynamic: file not found: {path}",
                                hint="fix the path (relative to this Tiltfile)")
        st.missing_inputs.append(path)
        st.warn(f"load_dynamic: {path} not found; its functions are inert placeholders (dry run)",
                st.call_location)
        # The names are unknown; bind every method-style call name this file uses.
        calls = re.findall(r"\.([A-Za-z_]\w*)\s*\(", "\n".join(st.sources.get(st.frame.path, [])))
        return {"values": {}, "inert": sorted(set(calls)), "functions": []}
    module = _evaluate(st, path)
    values: dict[str, Any] = {}
    functions: list[str] = []
    for name in _top_level_names("\n".join(st.sources.get(path, []))):
        try:
            value = module[name]
        except sl.StarlarkError:
            functions.append(name)  # functions do not convert to Python: call them by trampoline
            continue
        if value is not None:
            values[name] = value
    frozen = module.freeze()
    st.loaded_modules[path] = frozen
    slots = []
    for name in functions:
        if len(st.dynamic_functions) >= DYNAMIC_SLOTS:
            raise TiltfileError("load_dynamic: too many functions loaded dynamically",
                                hint="use load() for files that define many functions")
        st.dynamic_functions.append((frozen, name))
        slots.append([name, len(st.dynamic_functions) - 1])
    return {"values": values, "inert": [], "functions": slots}


