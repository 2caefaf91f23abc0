"""Reading pods, Jobs and events as the Kubernetes API reports them (`kubectl get -o json`).

Readiness follows Tilt: with pod_readiness "wait" a resource is ready when every pod it owns
is Running with every container ready (a pod that Succeeded counts too: a Job's pod is done);
"ignore" is ready as soon as the apply succeeded; a Job is ready when it completed. Failures
(an image that cannot be pulled, a container that keeps crashing, one killed for memory) are
put in words for the resource's hold or error line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lockstep.model.resource import PodReadiness


class Health(enum.Enum):
    PENDING = "pending"  # nothing to judge yet, or still starting
    READY = "ready"
    FAILING = "failing"  # not ready, with a problem a user must fix (or wait out)
    DONE = "done"  # completed (a Job, or pods that Succeeded)
    FAILED = "failed"  # a Job that failed: final


@dataclass(frozen=True)
class Verdict:
    health: Health
    reason: str = ""  # why not ready, in words


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def pod_name(pod: Mapping[str, Any]) -> str:
    return str(_d(pod.get("metadata")).get("name", ""))


# Waiting reasons that need the user (or the registry) to act, and how to say them.
_WAITING_WORDS = {
    "ImagePullBackOff": "cannot pull image {image}",
    "ErrImagePull": "cannot pull image {image}",
    "InvalidImageName": "invalid image name {image}",
    "ErrImageNeverPull": "image {image} is not on the node and imagePullPolicy is Never",
    "CrashLoopBackOff": "keeps crashing ({restarts})",
    "CreateContainerConfigError": "cannot be configured",
    "CreateContainerError": "cannot be created",
    "RunContainerError": "cannot be started",
}


def _restarts(n: int) -> str:
    return f"restarted {n} time{'s' if n != 1 else ''}"


def container_problem(status: Mapping[str, Any]) -> str:
    """One container status in words, or "" when nothing is wrong."""
    name = str(status.get("name", "?"))
    image = str(status.get("image", ""))
    restarts = int(status.get("restartCount", 0) or 0)
    state, last = _d(status.get("state")), _d(status.get("lastState"))
    waiting, terminated = _d(state.get("waiting")), _d(state.get("terminated"))
    last_term = _d(last.get("terminated"))
    if waiting.get("reason") in _WAITING_WORDS:
        words = _WAITING_WORDS[str(waiting["reason"])].format(image=image, restarts=_restarts(restarts))
        text = f"container {name} {words}"
        killed = terminated or last_term
        if killed.get("reason") == "OOMKilled":
            text += ": last run was killed for using too much memory (OOMKilled)"
        elif killed.get("exitCode") not in (None, 0):
            text += f": last exit code {killed['exitCode']}"
        message = str(waiting.get("message", "")).strip()
        if message and waiting.get("reason") != "CrashLoopBackOff":
            text += f": {message.splitlines()[0][:200]}"
        return text
    if terminated.get("reason") == "OOMKilled" or (not terminated and last_term.get("reason") == "OOMKilled"
                                                     and not status.get("ready")):
        return f"container {name} was killed for using too much memory (OOMKilled, {_restarts(restarts)})"
    if terminated and terminated.get("exitCode") not in (None, 0):
        return f"container {name} exited with code {terminated['exitCode']} ({terminated.get('reason', 'Error')})"
    return ""


def pod_problem(pod: Mapping[str, Any]) -> str:
    status = _d(pod.get("status"))
    problems = [container_problem(_d(c)) for key in ("initContainerStatuses", "containerStatuses")
                for c in _l(status.get(key))]
    problems = [p for p in problems if p]
    if problems:
        return f"pod {pod_name(pod)}: " + "; ".join(problems)
    for cond in _l(status.get("conditions")):
        c = _d(cond)
        if c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable":
            return f"pod {pod_name(pod)} cannot be scheduled: {str(c.get('message', '')).strip()[:200]}"
    if status.get("phase") == "Failed":
        return f"pod {pod_name(pod)} failed: {status.get('reason') or status.get('message') or 'see its logs'}"
    return ""


def pod_ready(pod: Mapping[str, Any]) -> bool:
    status = _d(pod.get("status"))
    if status.get("phase") != "Running":
        return False
    statuses = _l(status.get("containerStatuses"))
    return bool(statuses) and all(_d(c).get("ready") is True for c in statuses)


def _deleting(pod: Mapping[str, Any]) -> bool:
    return bool(_d(pod.get("metadata")).get("deletionTimestamp"))


def pods_verdict(pods: Iterable[Mapping[str, Any]], mode: PodReadiness) -> Verdict:
    # AUTO (not given) reads as "wait": the loader already decided "ignore" where no pods come.
    if mode is PodReadiness.IGNORE:
        return Verdict(Health.READY)
    live = [p for p in pods if not _deleting(p)]
    if not live:
        return Verdict(Health.PENDING, "waiting for pods to be created")
    problems = [w for w in (pod_problem(p) for p in live) if w]
    phases = [str(_d(p.get("status")).get("phase", "")) for p in live]
    if mode is PodReadiness.SUCCEEDED:
        if all(ph == "Succeeded" for ph in phases):
            return Verdict(Health.DONE)
        return Verdict(Health.FAILING if problems else Health.PENDING,
                       "; ".join(problems) or "waiting for pods to complete")
    if all(pod_ready(p) or ph == "Succeeded" for p, ph in zip(live, phases, strict=True)):
        return Verdict(Health.READY)
    if problems:
        return Verdict(Health.FAILING, "; ".join(problems))
    waiting = [pod_name(p) for p, ph in zip(live, phases, strict=True) if not pod_ready(p) and ph != "Succeeded"]
    return Verdict(Health.PENDING, "waiting for pod " + ", ".join(waiting) + " to be ready")


def job_verdict(job: Mapping[str, Any]) -> Verdict:
    """A Job is done when its Complete condition is True; Failed is final."""
    for cond in _l(_d(job.get("status")).get("conditions")):
        c = _d(cond)
        if c.get("status") != "True":
            continue
        if c.get("type") == "Complete":
            return Verdict(Health.DONE)
        if c.get("type") == "Failed":
            name = _d(job.get("metadata")).get("name", "?")
            return Verdict(Health.FAILED, f"job {name} failed: {c.get('reason', '')} {c.get('message', '')}".strip())
    return Verdict(Health.PENDING, "waiting for the job to complete")


# Event reasons worth showing on the resource: Kubernetes' own words for a failing pod.
WARNING_REASONS = frozenset({"Failed", "BackOff", "FailedScheduling", "FailedMount", "FailedCreate",
                             "Unhealthy", "FailedCreatePodSandBox", "OOMKilling", "Evicted"})


def event_words(event: Mapping[str, Any]) -> str:
    """A Warning event about one of the resource's objects, or "" for anything else."""
    if event.get("type") != "Warning" or event.get("reason") not in WARNING_REASONS:
        return ""
    obj = _d(event.get("involvedObject"))
    count = int(event.get("count", 1) or 1)
    times = f" (x{count})" if count > 1 else ""
    message = str(event.get("message", "")).strip().splitlines()
    return (f"{str(obj.get('kind', '')).lower()} {obj.get('name', '?')}: {event.get('reason')}{times}: "
            f"{message[0][:200] if message else ''}").rstrip(": ")
