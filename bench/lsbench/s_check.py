"""`lockstep check` on generated Tiltfiles: 10,000 local resources, and the mixed 500 (local + k8s) one."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from lsbench import graphs
from lsbench.common import LOCKSTEP, Context, goal_row, interleaved, metric, run_timed

GOAL_S = 3.0


def mixed(root: Path, n_local: int, n_k8s: int) -> Path:
    """Local resources in layers plus k8s workloads with images and k8s_resource() calls."""
    lines = ["k8s_yaml('k8s.yaml')"]
    for i in range(n_local):
        deps = [f"local-{j}" for j in (i - 7, i - 13) if j >= 0]
        lines.append(f"local_resource('local-{i}', cmd='echo {i}', deps=['src/{i % 20}'], "
                     f"resource_deps={deps!r}, labels=['layer-{i // 50}'])")
    docs = []
    for i in range(n_k8s):
        docs.append(f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-{i}\nspec:\n"
                    f"  template:\n    spec:\n      containers:\n      - name: c\n        image: img-{i}\n")
        lines.append(f"docker_build('img-{i}', '.', dockerfile_contents='FROM scratch')")
        lines.append(f"k8s_resource('svc-{i}', port_forwards={8000 + i}, resource_deps=['local-{i}'])")
    (root / "k8s.yaml").write_text("---\n".join(docs))
    path = root / "Tiltfile"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(ctx: Context) -> dict[str, Any]:
    big = ctx.pick(10_000, 10_000, 200)
    cases: dict[str, Path] = {}
    root = ctx.tmp / "local"
    root.mkdir()
    # deps= on a handful of directories, so the check also resolves watch paths.
    dag = graphs.layered(big, 20, "true", 0.0, parallelism=4)
    text = graphs.tiltfile(dag, None).replace("allow_parallel=True)", "allow_parallel=True, deps=['src'])")
    (root / "Tiltfile").write_text(text)
    cases[f"{len(dag.deps):,} local resources"] = root / "Tiltfile"
    small = ctx.pick((350, 150), (350, 150), (20, 5))
    (ctx.tmp / "mixed").mkdir()
    cases[f"{sum(small)} resources (local + k8s with images)"] = mixed(ctx.tmp / "mixed", *small)
    reps = ctx.pick(5, 1, 1)
    walls: dict[str, list[float]] = {c: [] for c in cases}
    for _, case in interleaved(list(cases), reps, random.Random(ctx.seed)):
        walls[case].append(run_timed([LOCKSTEP, "check", "-f", str(cases[case])], cases[case].parent).wall)
    rows = [metric(case, "lockstep", "s", walls[case]) for case in cases]
    big_case = next(iter(cases))
    return {
        "title": "`lockstep check` on generated Tiltfiles",
        "method": (f"`lockstep check -f` as a command, launch to exit, {reps} interleaved rounds. The large "
                   f"Tiltfile is a random 20-layer DAG of local resources; the mixed one adds Deployments "
                   f"with images, docker_build and k8s_resource (the former bench/check_500.py)."),
        "metrics": rows,
        "summary": [goal_row(rows, f"`check`, {big_case} (median)", "median", GOAL_S, "s", big_case)],
    }
