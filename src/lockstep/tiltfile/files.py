"""Files and encodings: read_file/json/yaml(_stream), watch_file, listdir, decode_*/encode_*.

Every file read is recorded as a config file: changing it re-evaluates the Tiltfile.
In dry-run mode a missing file reads as empty (with a warning), as the issue asks.
"""

from __future__ import annotations

import functools
import json
import os
from typing import TYPE_CHECKING, Any

from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.limits import read_text_file
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState

if TYPE_CHECKING:
    import yaml

# YAML (about 11 ms to import) loads at the first YAML a Tiltfile reads or writes: an
# evaluation of local resources alone does not pay for it.


@functools.cache
def _loader() -> type[yaml.SafeLoader]:
    """YAML without implicit timestamps: Starlark has no date type, so dates stay strings."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
    }
    return _Loader


def yaml_docs(text: str, what: str) -> list[Any]:
    import yaml

    try:
        return [d for d in yaml.load_all(text, Loader=_loader()) if d is not None]
    except yaml.YAMLError as exc:
        raise TiltfileError(f"{what}: invalid YAML{_yaml_problem(exc)}",
                            hint="fix the YAML (check indentation and quoting)") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where in the YAML and what: `at line 5, column 7: could not find expected ':' (while
    scanning a simple key at line 4, column 3)`; the first line of the message named neither."""
    import yaml

    if not isinstance(exc, yaml.MarkedYAMLError):
        return f": {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = exc.problem or exc.context or "malformed"
    context = ""
    if exc.problem and exc.context:
        at = exc.context_mark
        context = f" ({exc.context}" + (f" at line {at.line + 1}, column {at.column + 1})" if at else ")")
    return f"{where}: {problem}{context}"


def yaml_doc(text: str, what: str) -> Any:
    docs = yaml_docs(text, what)
    if len(docs) > 1:
        raise TiltfileError(f"{what}: expected one YAML document, found {len(docs)}",
                            hint="use the *_yaml_stream variant for multi-document YAML")
    return docs[0] if docs else None


def read_text(st: EvalState, a: Args, name: str, *, what: str) -> str | None:
    """The file's text, or None when it is missing and a default/dry-run applies."""
    path = st.resolve(a.string(name))
    st.watch(path)
    try:
        return read_text_file(path, what)
    except IsADirectoryError:
        raise TiltfileError(f"{what}: {path} is a directory", hint="pass the path of a file") from None
    except OSError:
        if a.has("default"):
            return None
        if st.dry_run:
            st.missing_inputs.append(path)
            st.warn(f"{what}: {path} not found; reading it as empty (dry run)", st.call_location)
            return None
        raise TiltfileError(f"{what}: file not found: {path}",
                            hint="create the file, fix the path (relative to this Tiltfile), "
                                 "or pass default=") from None


@builtin("read_file", "file_path default", 1, located=True)
def _read_file(st: EvalState, a: Args) -> str:
    text = read_text(st, a, "file_path", what="read_file")
    if text is None:
        text = a.string("default") if a.has("default") else ""
    st.blobs.add(text)
    return text


@builtin("read_json", "path default", 1, located=True)
def _read_json(st: EvalState, a: Args) -> Any:
    text = read_text(st, a, "path", what="read_json")
    if text is None:
        return a.raw("default") if a.has("default") else {}
    return _decode_json_text(text, "read_json")


@builtin("read_yaml", "path default", 1, located=True)
def _read_yaml(st: EvalState, a: Args) -> Any:
    text = read_text(st, a, "path", what="read_yaml")
    if text is None:
        return a.raw("default") if a.has("default") else {}
    return yaml_doc(text, "read_yaml")


@builtin("read_yaml_stream", "path default", 1, located=True)
def _read_yaml_stream(st: EvalState, a: Args) -> Any:
    text = read_text(st, a, "path", what="read_yaml_stream")
    if text is None:
        return a.raw("default") if a.has("default") else []
    return yaml_docs(text, "read_yaml_stream")


@builtin("watch_file", "file_path", 1, located=True)
def _watch_file(st: EvalState, a: Args) -> None:
    st.watch(st.resolve(a.string("file_path")))


@builtin("listdir", "directory recursive", 1, located=True)
def _listdir(st: EvalState, a: Args) -> list[str]:
    root = st.resolve(a.string("directory"))
    st.watch(root)
    if not os.path.isdir(root):
        if st.dry_run:
            st.missing_inputs.append(root)
            st.warn(f"listdir: {root} not found; listing it as empty (dry run)", st.call_location)
            return []
        raise TiltfileError(f"listdir: directory not found: {root}",
                            hint="create the directory or fix the path (relative to this Tiltfile)")
    if not a.boolean("recursive"):
        return sorted(os.path.join(root, n) for n in os.listdir(root)
                      if os.path.isfile(os.path.join(root, n)))
    out: list[str] = []
    for base, _dirs, names in os.walk(root):
        out.extend(os.path.join(base, n) for n in names)
    return sorted(out)


def _decode_json_text(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TiltfileError(f"{what}: invalid JSON: {exc}", hint="fix the JSON") from None


@builtin("decode_json", "json", 1)
def _decode_json(st: EvalState, a: Args) -> Any:
    return _decode_json_text(a.string("json"), "decode_json")


@builtin("encode_json", "obj", 1)
def _encode_json(st: EvalState, a: Args) -> str:
    text = json.dumps(a.raw("obj"), indent=2) + "\n"
    st.blobs.add(text)
    return text


@builtin("decode_yaml", "yaml", 1)
def _decode_yaml(st: EvalState, a: Args) -> Any:
    return yaml_doc(a.string("yaml"), "decode_yaml")


@builtin("decode_yaml_stream", "yaml", 1)
def _decode_yaml_stream(st: EvalState, a: Args) -> Any:
    return yaml_docs(a.string("yaml"), "decode_yaml_stream")


def dump_yaml(obj: Any) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


@builtin("encode_yaml", "obj", 1)
def _encode_yaml(st: EvalState, a: Args) -> str:
    text = dump_yaml(a.raw("obj"))
    st.blobs.add(text)
    return text


@builtin("encode_yaml_stream", "objs", 1)
def _encode_yaml_stream(st: EvalState, a: Args) -> str:
    text = "---\n".join(dump_yaml(o) for o in a.items("objs"))
    st.blobs.add(text)
    return text
