"""helm(), kustomize(), filter_yaml(): YAML producers. The first two run their tool at load
time, as Tilt does; a dry run records that and yields empty YAML (a missing input)."""

from __future__ import annotations

import os
import shutil
import time

from lockstep.tiltfile import commands
from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.files import dump_yaml, yaml_docs
from lockstep.tiltfile.k8s import yaml_inputs
from lockstep.tiltfile.k8s_objects import filter_match, flatten
from lockstep.tiltfile.limits import command_timed_out
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


def _run_tool(st: EvalState, argv: list[str], what: str) -> str:
    st.local_commands.append(" ".join(argv))
    if st.dry_run:
        st.missing_inputs.append(f"<{what} output>")
        return ""
    if shutil.which(argv[0]) is None:
        raise TiltfileError(f"{what}(): `{argv[0]}` is not installed",
                            hint=f"install {argv[0]} or use `lockstep check --dry-run`")
    started = time.monotonic()
    try:
        proc = commands.run(argv, cwd=st.resolve("."), env=st.environ(), deadline=st.deadline(),
                            where=str(st.call_location or ""))
    except commands.CommandCancelled:
        raise TiltfileError(f"{what}(): cancelled: lockstep is stopping") from None
    except commands.CommandTimedOut:
        raise command_timed_out(f"{what}()", " ".join(argv), st.timeout or 0) from None
    finally:
        st.paused += time.monotonic() - started
    if proc.returncode != 0:
        raise TiltfileError(f"{what}(): {' '.join(argv)} failed: {proc.stderr.strip()[-300:]}",
                            hint=f"run `{' '.join(argv)}` by hand to see why")
    st.blobs.add(proc.stdout)
    return proc.stdout


@builtin("helm", "pathToChartDir name namespace values set kube_version skip_crds", 1, located=True)
def _helm(st: EvalState, a: Args) -> str:
    chart = st.resolve(a.string("pathToChartDir"))
    st.watch(chart)
    if not os.path.exists(chart) and not st.dry_run:
        raise TiltfileError(f"helm(): chart not found: {chart}",
                            hint="fix the chart path (relative to this Tiltfile)")
    if os.path.isfile(chart):
        raise TiltfileError(f"helm(): {chart} is a file; helm() takes a chart directory (with Chart.yaml)",
                            hint="pass the directory that holds Chart.yaml")
    argv = ["helm", "template", a.string("name") or "chart", chart]
    if a.string("namespace"):
        argv += ["--namespace", a.string("namespace")]
    for values in a.str_list("values"):
        path = st.resolve(values)
        st.watch(path)
        argv += ["--values", path]
    for item in a.str_list("set"):
        argv += ["--set", item]
    if a.string("kube_version"):
        argv += ["--kube-version", a.string("kube_version")]
    if a.boolean("skip_crds"):
        argv.append("--skip-crds")
    else:
        argv.append("--include-crds")
    return _run_tool(st, argv, "helm")


@builtin("kustomize", "pathToDir kustomize_bin flags", 1, located=True)
def _kustomize(st: EvalState, a: Args) -> str:
    path = st.resolve(a.string("pathToDir"))
    st.watch(path)
    if not os.path.exists(path) and not st.dry_run:
        raise TiltfileError(f"kustomize(): directory not found: {path}",
                            hint="fix the path (relative to this Tiltfile)")
    binary = a.string("kustomize_bin")
    if binary:
        argv = [binary, "build", path]
    elif shutil.which("kustomize"):
        argv = ["kustomize", "build", path]
    else:
        argv = ["kubectl", "kustomize", path]
    return _run_tool(st, argv + list(a.str_list("flags")), "kustomize")


@builtin("filter_yaml", "yaml labels name namespace kind api_version", 1)
def _filter_yaml(st: EvalState, a: Args) -> tuple[str, str]:
    labels = a.raw("labels")
    if labels is not None and (not isinstance(labels, dict) or
                               not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        raise TiltfileError("filter_yaml(): `labels` must be a dict of strings", hint="pass labels={'app': 'web'}")
    patterns = {k: a.string(k) for k in ("name", "namespace", "kind", "api_version") if a.has(k)}
    matching: list[dict[str, object]] = []
    rest: list[dict[str, object]] = []
    for origin, text in yaml_inputs(st, a, "yaml"):
        for doc in flatten(yaml_docs(text, f"filter_yaml({origin})")):
            (matching if filter_match(doc, labels, patterns) else rest).append(doc)
    out = ("---\n".join(dump_yaml(d) for d in matching), "---\n".join(dump_yaml(d) for d in rest))
    st.blobs.update(out)
    return out
