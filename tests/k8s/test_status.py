"""Readiness and failure words from pod, Job and event JSON."""

from __future__ import annotations

from podjson import container_status, event, job, pod

from lockstep.k8s.status import Health, event_words, job_verdict, pod_problem, pods_verdict
from lockstep.model.resource import PodReadiness

WAIT = PodReadiness.WAIT


def test_ready_when_every_container_of_every_pod_is_ready() -> None:
    assert pods_verdict([pod("web-1")], WAIT).health is Health.READY
    two = pod("web-1", statuses=[container_status("web"), container_status("side", ready=False)])
    v = pods_verdict([two], WAIT)
    assert v.health is Health.PENDING and v.reason == "waiting for pod web-1 to be ready"


def test_no_pods_yet_and_terminating_pods_do_not_count() -> None:
    assert pods_verdict([], WAIT).reason == "waiting for pods to be created"
    assert pods_verdict([pod("old", deleting=True, phase="Running")], WAIT).health is Health.PENDING
    assert pods_verdict([pod("old", deleting=True), pod("new")], WAIT).health is Health.READY


def test_ignore_is_ready_at_once() -> None:
    assert pods_verdict([], PodReadiness.IGNORE).health is Health.READY


def test_image_pull_backoff_in_words() -> None:
    waiting = {"waiting": {"reason": "ImagePullBackOff",
                           "message": 'Back-off pulling image "web:tilt-1"'}}
    p = pod("web-1", phase="Pending", statuses=[container_status("web", ready=False, state=waiting)])
    v = pods_verdict([p], WAIT)
    assert v.health is Health.FAILING
    assert v.reason == 'pod web-1: container web cannot pull image web:tilt-1: Back-off pulling image "web:tilt-1"'


def test_crash_loop_with_exit_code_and_oom() -> None:
    crash = container_status("web", ready=False, restarts=4,
                             state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                             last={"terminated": {"exitCode": 3, "reason": "Error"}})
    assert pod_problem(pod("web-1", statuses=[crash])) == \
        "pod web-1: container web keeps crashing (restarted 4 times): last exit code 3"
    oom = container_status("web", ready=False, restarts=1,
                           state={"waiting": {"reason": "CrashLoopBackOff"}},
                           last={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})
    assert pod_problem(pod("web-1", statuses=[oom])) == (
        "pod web-1: container web keeps crashing (restarted 1 time): "
        "last run was killed for using too much memory (OOMKilled)")
    running_after_oom = container_status("web", ready=False, restarts=1,
                                         last={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})
    assert "OOMKilled" in pod_problem(pod("web-1", statuses=[running_after_oom]))
    # Ready again after an old OOM kill: nothing to report.
    recovered = container_status("web", ready=True, restarts=1,
                                 last={"terminated": {"exitCode": 137, "reason": "OOMKilled"}})
    assert pod_problem(pod("web-1", statuses=[recovered])) == ""


def test_unschedulable_pod() -> None:
    cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/1 nodes are available: 1 Insufficient memory."}
    p = pod("web-1", phase="Pending", statuses=[], conditions=[cond])
    assert pods_verdict([p], WAIT).reason == \
        "pod web-1 cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory."


def test_succeeded_mode_and_jobs() -> None:
    done = pod("migrate-x", phase="Succeeded",
               statuses=[container_status("m", ready=False, state={"terminated": {"exitCode": 0}})])
    assert pods_verdict([done], PodReadiness.SUCCEEDED).health is Health.DONE
    assert pods_verdict([pod("migrate-x")], PodReadiness.SUCCEEDED).health is Health.PENDING
    assert job_verdict(job("migrate")).health is Health.PENDING
    assert job_verdict(job("migrate", "Complete")).health is Health.DONE
    failed = job_verdict(job("migrate", "Failed", "BackoffLimitExceeded"))
    assert failed.health is Health.FAILED and failed.reason == "job migrate failed: BackoffLimitExceeded"


def test_events_only_warnings_about_failures() -> None:
    assert event_words(event("Pod", "web-1", "Failed", 'Failed to pull image "web:x": not found', count=3)) == \
        'pod web-1: Failed (x3): Failed to pull image "web:x": not found'
    assert event_words(event("Pod", "web-1", "Pulled", "ok", type_="Normal")) == ""
    assert event_words(event("Pod", "web-1", "Scheduled", "ok")) == ""
