"""Shared helpers: statistics, timed child processes, /proc sampling, interleaving.

The machine these figures come from is shared and noisy, so every scenario runs
its tools interleaved (a shuffled order per repetition) and reports min, median
and p95 rather than a single number.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
VENV_BIN = Path(sys.executable).parent
LOCKSTEP = str(VENV_BIN / "lockstep")


@dataclass
class Context:
    """What every scenario gets: the mode, a scratch dir, the located peers and a logger."""

    quick: bool
    tmp: Path
    peers: dict[str, str]  # tool name -> executable; missing peers are absent
    missing: dict[str, str] = field(default_factory=dict)  # tool name -> why it is missing
    smoke: bool = False  # tiny sizes, for the test suite
    seed: int = 12

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    def pick(self, full: T, quick: T, smoke: T | None = None) -> T:
        if self.smoke and smoke is not None:
            return smoke
        return quick if self.quick else full


def pct(xs: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: p95 of 20 samples is the 19th)."""
    s = sorted(xs)
    return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))]


def summarize(xs: Sequence[float]) -> dict[str, Any]:
    if not xs:
        return {"n": 0, "min": None, "median": None, "p95": None}
    s = sorted(xs)
    mid = len(s) // 2
    median = s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
    return {"n": len(s), "min": s[0], "median": median, "p95": pct(s, 95)}


def metric(case: str, tool: str, unit: str, samples: Sequence[float], **extra: Any) -> dict[str, Any]:
    """One row of raw figures: a tool on a case, its samples and their summary."""
    return {"case": case, "tool": tool, "unit": unit, "samples": [round(x, 6) for x in samples],
            **summarize(samples), **extra}


def interleaved(tools: Sequence[T], reps: int, rng: random.Random) -> Iterator[tuple[int, T]]:
    """(rep, tool) pairs: every tool once per repetition, in a fresh shuffled order each time."""
    for rep in range(reps):
        order = list(tools)
        rng.shuffle(order)
        for tool in order:
            yield rep, tool


def wait_for(pred: Callable[[], T], timeout: float, interval: float = 0.002) -> T:
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout:.1f} s")
        time.sleep(interval)
    return value


@dataclass(frozen=True)
class Run:
    wall: float  # seconds, launch to exit
    max_rss_mb: float  # the child's own peak (from wait4)
    returncode: int
    timed_out: bool


def run_timed(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600.0) -> Run:
    """Run to completion and time it; its peak RSS comes from wait4, so no sampling is involved."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    result: list[tuple[int, int, Any]] = []
    waiter = threading.Thread(target=lambda: result.append(os.wait4(proc.pid, 0)), daemon=True)
    waiter.start()
    waiter.join(timeout)
    timed_out = waiter.is_alive()
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        waiter.join(30)
    wall = time.perf_counter() - t0
    proc.returncode = 0  # reaped by wait4 above; keep Popen from reaping again
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    _, status, usage = result[0] if result else (0, -1, None)
    code = os.waitstatus_to_exitcode(status) if status != -1 else -1
    if code != 0 and not timed_out:
        raise RuntimeError(f"{' '.join(argv[:3])}... exited {code}: {err[-800:]}")
    return Run(wall, (usage.ru_maxrss / 1024) if usage else 0.0, code, timed_out)


def children(pid: int) -> list[int]:
    """pid and its descendants (a scan of /proc: tools like watchmedo run the work in a child)."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parent[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        nxt = [c for c, p in parent.items() if p in frontier]
        tree += nxt
        frontier = nxt
    return tree


def cpu_seconds(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def rss_mb(pids: Sequence[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
    return total


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the tool's whole process group, then SIGKILL what is left after `grace`."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def stamps(path: Path) -> list[float]:
    """The epoch times a command appended with `date +%s.%N`."""
    try:
        return [float(x) for x in path.read_text().split()]
    except (OSError, ValueError):
        return []


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def goal_row(rows: list[dict[str, Any]], measure: str, stat: str, goal: float, unit: str,
             case: str | None = None) -> dict[str, Any]:
    """lockstep's figure, the best peer's, their ratio and whether lockstep meets its goal."""
    pick = [r for r in rows if case is None or r["case"] == case]
    mine = next((r[stat] for r in pick if r["tool"] == "lockstep" and r[stat] is not None), None)
    peers = [(r[stat], r["tool"]) for r in pick if r["tool"] != "lockstep" and r[stat] is not None]
    best = min(peers) if peers else None
    return {
        "measure": measure, "unit": unit, "lockstep": mine, "goal": goal,
        "best_peer": best[1] if best else None, "best_peer_value": best[0] if best else None,
        "ratio": (mine / best[0]) if (mine is not None and best and best[0] > 0) else None,
        "met": (mine is not None and mine <= goal),
    }


def measured(rows: list[dict[str, Any]], measure: str, stat: str, unit: str) -> dict[str, Any]:
    """A summary row without a goal: lockstep's own figure (the first row when no row is lockstep's)."""
    mine = next((r for r in rows if r["tool"] == "lockstep"), rows[0] if rows else None)
    detail = ", ".join(f"{r['tool']} {r[stat]:.3g}" for r in rows if r[stat] is not None) if len(rows) > 1 else ""
    return {"measure": measure + (f": {detail}" if detail else ""), "unit": unit,
            "lockstep": mine[stat] if mine else None, "goal": "(measured, no goal)", "best_peer": None,
            "best_peer_value": None, "ratio": None, "met": None}
