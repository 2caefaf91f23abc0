#!/usr/bin/env python3
"""A `kubectl` (and `kind`) stand-in for tests: records every command line and plays back scripted output.

Install it on PATH as `kubectl` (see `install`). Environment:
  STANDIN_DIR  the directory with the script and the record:
    calls.jsonl     one JSON line per call: {"argv": [...], "files": {path: text}}
    context.json    what `config view --minify -o json` prints (default: a kind cluster)
    pods.jsonl      watch events, one JSON object a line; `get pods --watch` prints each line
                    as it is appended, until killed (a test appends to move pods along)
    fail-<verb>     if present, that verb exits 1 with the file's text on stderr
    hang-<verb>     if present, that verb never answers (an API server that accepts and says nothing)
    hang-get-<kind> the same for `get <kind>` only (watch and list); removing it ends no running call
    exec-<n>.stdin  what the n-th `exec -i` read on stdin (fail-exec-<cmd> fails one command)
    drop-port-forward-once   if present, the next port-forward drops at once (and the file goes)
    drop-<kind>-watch-once   when it appears, the running `get <kind> --watch` ends (and the file goes)
    pod-logs.txt, pod-logs-stderr.txt   more lines `logs` prints on stdout / stderr
`get -oyaml -f -` prints the objects read on stdin as a List (and records them as "stdin").
Output of `apply`/`replace -o json` is a List of the objects given; `logs` prints two lines
(then the pod-logs files) and follows; `port-forward` prints kubectl's banner and waits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

DIR = Path(os.environ.get("STANDIN_DIR", "."))
KIND_VIEW = {"current-context": "kind-kind",
             "contexts": [{"name": "kind-kind", "context": {"cluster": "kind-kind", "user": "kind-kind"}}]}


def _record(argv: list[str]) -> None:
    files = {}
    if "-f" in argv:
        path = argv[argv.index("-f") + 1]
        if path != "-" and os.path.exists(path):
            files[path] = Path(path).read_text()
    with open(DIR / "calls.jsonl", "a") as fh:
        fh.write(json.dumps({"argv": argv, "files": files}) + "\n")


def _objects(argv: list[str]) -> list[dict[str, object]]:
    import yaml

    path = argv[argv.index("-f") + 1]
    return [d for d in yaml.safe_load_all(Path(path).read_text()) if isinstance(d, dict)]


def _follow(path: Path, drop: Path | None = None) -> None:
    """Print `path` as it grows; end (as when the API server goes away) once `drop` appears."""
    pos = 0
    while True:
        if drop is not None and drop.exists():
            drop.unlink()
            return
        if path.exists():
            with open(path) as fh:
                fh.seek(pos)
                chunk = fh.read()
                pos = fh.tell()
            if chunk:
                sys.stdout.write(chunk)
                sys.stdout.flush()
        time.sleep(0.02)


def _current_pods() -> list[object]:
    """The pods as the watch events in pods.jsonl leave them (a `get pods -o json` list)."""
    pods: dict[str, object] = {}
    path = DIR / "pods.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        event = json.loads(line)
        name = event["object"]["metadata"]["name"]
        if event.get("type") == "DELETED":
            pods.pop(name, None)
        else:
            pods[name] = event["object"]
    return list(pods.values())


def _exec(argv: list[str]) -> int:
    """`exec [-i] ... -- CMD`: stdin (a live update's tar) is kept as exec-<n>.stdin; a
    `fail-exec-<first word of CMD>` file makes that command fail with its text."""
    n = len(list(DIR.glob("exec-*.stdin"))) + len(list(DIR.glob("exec-*.none")))
    cmd = argv[argv.index("--") + 1:]
    if "-i" in argv:
        (DIR / f"exec-{n}.stdin").write_bytes(sys.stdin.buffer.read())
    else:
        (DIR / f"exec-{n}.none").touch()
    failing = DIR / f"fail-exec-{cmd[0] if cmd else ''}"
    if failing.exists():
        sys.stderr.write(failing.read_text())
        return 1
    print(f"ran {' '.join(cmd)}", flush=True)
    return 0


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["--as-kind"]:
        # `kind load docker-image REF --name CLUSTER`: recorded, and done.
        _record(["kind", *argv[1:]])
        return 0 if argv[1:3] == ["load", "docker-image"] else 1
    _record(["kubectl", *argv])
    words = [a for a in argv if not a.startswith("-")]
    if "--context" in argv:
        words.remove(argv[argv.index("--context") + 1])
    verb = words[0] if words else ""
    if (DIR / f"hang-{verb}").exists() or (verb == "get" and (DIR / f"hang-get-{''.join(words[1:2])}").exists()):
        while True:
            time.sleep(3600)
    failing = DIR / f"fail-{verb}"
    if failing.exists():
        sys.stderr.write(failing.read_text())
        return 1
    if verb == "config":
        ctx = DIR / "context.json"
        print(ctx.read_text() if ctx.exists() else json.dumps(KIND_VIEW))
        return 0
    if verb in ("apply", "replace"):
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": _objects(argv)}))
        return 0
    if verb == "delete":
        for doc in _objects(argv):
            print(f"{str(doc.get('kind')).lower()} \"{doc.get('metadata', {}).get('name')}\" deleted")
        return 0
    if verb == "get" and "--watch" in argv:
        kind = words[1]
        _follow(DIR / f"{kind}.jsonl", DIR / f"drop-{kind}-watch-once")
        return 0
    if verb == "get" and "-f" in argv and argv[argv.index("-f") + 1] == "-":
        # `get -oyaml -f -` (helm_resource's apply helper): the objects read back, as a List.
        import yaml

        docs = [d for d in yaml.safe_load_all(sys.stdin.read()) if isinstance(d, dict)]
        with open(DIR / "calls.jsonl", "a") as fh:
            fh.write(json.dumps({"argv": ["kubectl", *argv], "stdin": docs}) + "\n")
        print(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": docs}))
        return 0
    if verb == "get" and words[1:2] == ["pods"]:
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": _current_pods()}))
        return 0
    if verb == "get":
        return 0  # e.g. the local-registry ConfigMap, absent (--ignore-not-found)
    if verb == "exec":
        return _exec(argv)
    if verb == "logs":
        pod = next(a for a in argv if a.startswith("pod/"))
        print(f"hello from {pod}", flush=True)
        print("listening on :8080", flush=True)
        for name, out in (("pod-logs.txt", sys.stdout), ("pod-logs-stderr.txt", sys.stderr)):
            if (DIR / name).exists():
                out.write((DIR / name).read_text())
                out.flush()
        while True:
            time.sleep(3600)
    if verb == "port-forward":
        local, remote = argv[-1].split(":")
        print(f"Forwarding from 127.0.0.1:{local} -> {remote}", flush=True)
        once = DIR / "drop-port-forward-once"
        if once.exists():
            once.unlink()
            sys.stderr.write("error: lost connection to pod\n")
            return 1
        while True:
            time.sleep(3600)
    if verb == "cluster-info":
        print("Kubernetes control plane is running at https://127.0.0.1:6443")
        return 0
    sys.stderr.write(f"kubectl stand-in: unscripted command {argv}\n")
    return 1


def install(bindir: Path, standin_dir: Path) -> dict[str, str]:
    """A `kubectl` on `bindir` running this script; returns the environment to use it."""
    bindir.mkdir(parents=True, exist_ok=True)
    standin_dir.mkdir(parents=True, exist_ok=True)
    exe = bindir / "kubectl"
    exe.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} \"$@\"\n")
    exe.chmod(0o755)
    kind = bindir / "kind"
    kind.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).resolve()} --as-kind \"$@\"\n")
    kind.chmod(0o755)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", "STANDIN_DIR": str(standin_dir)}


def calls(standin_dir: Path) -> list[dict[str, object]]:
    path = standin_dir / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    sys.exit(main())
