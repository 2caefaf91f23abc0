"""Which external tools a loaded Tiltfile needs (Kubernetes and containers), and which are missing.

kubectl for any Kubernetes resource; helm and kustomize for the helm()/kustomize() calls the
evaluation ran or recorded; kind (and kubectl, helm, kustomize) when a command of the Tiltfile
starts with it, as the pet-store's `kind load` does; docker for image builds that use the local
engine and for Compose services. Pure: `which` is passed in.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from lockstep.model.resource import Diagnostic, LoadResult, ResourceKind, Severity

TOOLS = ("kubectl", "kind", "helm", "kustomize")


@dataclass(frozen=True)
class Missing:
    tool: str
    why: str

    def message(self) -> str:
        return f"`{self.tool}` is not installed (or not on PATH); it is needed to {self.why}"

    def hint(self) -> str:
        return f"install {self.tool} (and make sure it is on PATH), then run lockstep again"


# Text without these splits the same with str.split() as with shlex.split() (no quoting,
# escapes or whitespace that shlex does not count as such), at a twentieth of the cost.
_SHLEX_SPECIAL = frozenset("\"'\\\x0b\x0c\x1c\x1d\x1e\x1f")


def first_word(text: str) -> str:
    """The first word of a command line, as a POSIX shell's word splitting and quoting reads it."""
    if text.isascii() and _SHLEX_SPECIAL.isdisjoint(text):
        words = text.split(None, 1)
        return words[0] if words else ""
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return words[0] if words else ""


def needed(result: LoadResult) -> dict[str, str]:
    """tool -> why it is needed (the first reason found)."""
    out: dict[str, str] = {}
    k8s = [r.name for r in result.resources if r.kind is ResourceKind.K8S and r.k8s is not None and r.k8s.objects]
    if k8s:
        out["kubectl"] = "deploy " + ", ".join(f"`{n}`" for n in k8s[:5]) + (" ..." if len(k8s) > 5 else "")
    docker = [r.name for r in result.resources if r.kind is ResourceKind.COMPOSE or any(
        img.custom_command is None or not (img.skips_local_docker or img.outputs_image_ref_to) for img in r.images)]
    if docker:
        out["docker"] = "build or run " + ", ".join(f"`{n}`" for n in docker[:5]) + (" ..." if len(docker) > 5 else "")
    for line in result.local_commands:
        first = line.split(" ", 1)[0]
        if first in ("helm", "kustomize"):
            out.setdefault(first, f"run `{line[:80]}` (helm()/kustomize() in the Tiltfile)")
        elif line.startswith("kubectl kustomize"):
            out.setdefault("kubectl", "run `kubectl kustomize` (kustomize() in the Tiltfile)")
    for r in result.resources:
        cmds = [r.local.cmd, r.local.serve_cmd] if r.local else []
        if r.k8s is not None:
            cmds += [c for c in (r.k8s.apply_cmd, r.k8s.delete_cmd) if c is not None]
        for cmd in cmds:
            word = first_word(cmd.display())
            if word in TOOLS:
                out.setdefault(word, f"run `{r.name}` (`{cmd.display()[:80]}`)")
    return out


def missing(result: LoadResult, which: Callable[[str], str | None]) -> list[Missing]:
    return [Missing(tool, why) for tool, why in needed(result).items() if which(tool) is None]


def diagnostics(result: LoadResult, which: Callable[[str], str | None]) -> tuple[Diagnostic, ...]:
    return tuple(Diagnostic(Severity.ERROR, m.message(), None, m.hint()) for m in missing(result, which))
