"""The benchmark harness's pure parts: statistics, graph shapes, interleaving, README table upkeep."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from lsbench import graphs, report  # noqa: E402
from lsbench.common import goal_row, interleaved, metric, pct, summarize  # noqa: E402


def test_summary_uses_nearest_rank_percentiles() -> None:
    xs = [float(x) for x in range(1, 21)]
    assert pct(xs, 95) == 19.0
    assert summarize(xs) == {"n": 20, "min": 1.0, "median": 10.5, "p95": 19.0}
    assert summarize([]) == {"n": 0, "min": None, "median": None, "p95": None}


def test_interleaving_visits_every_tool_once_per_round_in_varying_order() -> None:
    pairs = list(interleaved(["a", "b", "c", "d"], 6, random.Random(1)))
    rounds = [[t for r, t in pairs if r == k] for k in range(6)]
    assert all(sorted(r) == ["a", "b", "c", "d"] for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1


def test_lower_bound_is_the_longer_of_critical_path_and_work_over_slots() -> None:
    assert graphs.chain(50, "sleep 0.1", 0.1).lower_bound() == 50 * 0.1
    fan = graphs.fan_out(200, "sleep 0.1", 0.1)
    assert fan.critical_path() == 2 and abs(fan.lower_bound() - 0.2) < 1e-9
    dag = graphs.layered(500, 25, "sleep 0.1", 0.1, parallelism=20)
    assert len(dag.deps) == 500 and dag.critical_path() == 25
    assert abs(dag.lower_bound() - 2.5) < 1e-9
    squeezed = graphs.layered(500, 25, "sleep 0.1", 0.1, parallelism=5)
    assert abs(squeezed.lower_bound() - 500 * 0.1 / 5) < 1e-9


def test_every_tool_gets_the_same_graph_between_the_same_sentinels(tmp_path: Path) -> None:
    dag = graphs.layered(40, 4, "true", 0.0, parallelism=2)
    stamp = tmp_path / "stamps"
    tilt, make, dodo = graphs.tiltfile(dag, stamp), graphs.makefile(dag, stamp), graphs.dodo(dag, stamp)
    for node, ups in dag.deps.items():
        assert f"local_resource({node!r}, cmd='true', resource_deps={(ups or ['begin'])!r}" in tilt
        assert f"\n{node}: {' '.join(ups or ['begin'])}\n" in make
    scope: dict[str, dict[str, list[str]]] = {}
    exec(dodo.split("CMDS")[0], {}, scope)  # the generated DEPS literal
    deps = scope["DEPS"]
    assert set(deps) == {*dag.deps, "begin", "finish"}
    assert "%%s.%%N" in dodo  # doit %-formats actions: the date format must survive it
    assert sorted(deps["finish"]) == sorted(n for n in dag.deps if not any(n in u for u in dag.deps.values()))


def test_goal_row_compares_lockstep_with_the_best_peer() -> None:
    rows = [metric("c", "lockstep", "ms", [10, 12]), metric("c", "entr", "ms", [50]),
            metric("c", "chokidar", "ms", [8])]
    row = goal_row(rows, "m", "median", 15.0, "ms")
    assert (row["lockstep"], row["best_peer"], row["best_peer_value"], row["met"]) == (11, "chokidar", 8, True)
    assert abs(row["ratio"] - 11 / 8) < 1e-9


def test_readme_table_keeps_rows_from_scripts_outside_the_suite_only() -> None:
    section = "\n".join([
        "| what | figure | script |", "|---|---|---|",
        "| page load | 517 ms | `bench/dashboard.py` |",
        "| check 500 | 0.21 s | `bench/check_500.py` |",  # folded into the suite: dropped
        "| starting a process | 0.5 ms | `setpriv` wrapper, see `adapters/process.py` |",
        "| old generated row | 1 ms | ≤ 2 ms: met | `make bench` [edit](docs/performance.md#edit) |",
    ])
    kept = report._kept_rows(section)
    assert [r.split("|")[1].strip() for r in kept] == ["page load", "starting a process"]


def test_raw_figures_round_trip_with_number_lists_on_one_line() -> None:
    data = {"meta": {"load": [1.5, 2.0]}, "rows": [{"samples": [1e-05, 2.5, -3], "series": [[0.5, 60.1]]}]}
    text = report.dump(data)
    assert json.loads(text) == data
    assert "[1e-05, 2.5, -3]" in text and "[0.5, 60.1]" in text


def test_readme_table_says_when_and_under_which_load_it_was_measured() -> None:
    row = {"measure": "m", "unit": "ms", "lockstep": 1.0, "goal": 2.0, "best_peer": None, "best_peer_value": None,
           "ratio": None, "met": True}
    data = {"meta": {"mode": "full", "started": "2026-11-30 17:02:00 UTC", "cpus": 2, "load_before": [3.5, 2, 1],
                     "load_after": [6.25, 4, 2]},
            "scenarios": {"edit": {"summary": [row]}, "idle": {"summary": [row], "taken": "earlier"}}}
    table = report.readme_table(data, {}, []).splitlines()
    assert table[1] == ("*`make bench` rows: full run of 2026-11-30 17:02:00 UTC, 2 CPUs; 1-minute load average "
                        "3.5 before the run and 6.25 after it, up to 6.25 (other builds shared the machine); idle "
                        "from an earlier run (see docs/performance.md).*")
    assert table[2] == "" and table[3].startswith("| what |")
    quiet = {**data, "meta": {**data["meta"], "load_before": [0.7, 1, 1], "load_after": [0.9, 1, 1]},
             "scenarios": {"edit": {"summary": [row], "load_after": [1.2, 1, 1]}}}
    assert report.readme_table(quiet, {}, []).splitlines()[1].endswith(
        "load average 0.7 before the run and 0.9 after it, a quiet machine.*")
    assert "quiet while these figures were taken (1-minute load average at most 1.2)" in report._load_sentence(quiet)
    busy = {**quiet, "scenarios": {"edit": {"summary": [row], "load_after": [4.5, 1, 1]}}}
    assert "shared with other work while these figures were taken (1-minute load average up to 4.5)" in \
        report._load_sentence(busy)
