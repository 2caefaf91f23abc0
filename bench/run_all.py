"""lockstep's benchmark suite against peer tools: `make bench`, or

    .venv/bin/python bench/run_all.py [--quick] [--only edit,dag,...] [--out DIR] [--no-docs]

Installs the peers it needs (see lsbench/peers.py), runs every scenario with
every tool on identical inputs, interleaved over several repetitions, and writes
the raw figures (JSON), PNG plots and docs/performance.md, and refreshes the
README's performance table. --quick takes under 3 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from lsbench import (  # noqa: E402
    peers,
    report,
    s_chain,
    s_check,
    s_dag,
    s_dashboard,
    s_edit,
    s_flood,
    s_floor,
    s_idle,
    s_logstore,
    s_noop,
    s_startup,
    s_watcher,
)
from lsbench.common import Context, load_average  # noqa: E402

Scenario = Callable[[Context], dict[str, Any]]
# name -> (runner, peers it compares with)
SCENARIOS: dict[str, tuple[Scenario, set[str]]] = {
    "edit": (s_edit.run, {"entr", "watchmedo", "chokidar"}),
    "chain": (s_chain.run, set()),
    "dag": (s_dag.run, {"make", "doit"}),
    "noop": (s_noop.run, {"make"}),
    "startup": (s_startup.run, {"entr", "watchmedo", "chokidar"}),
    "idle": (s_idle.run, {"entr", "watchmedo", "chokidar"}),
    "flood": (s_flood.run, set()),
    "check": (s_check.run, set()),
    "floor": (s_floor.run, {"make"}),
    "watcher": (s_watcher.run, set()),
    "logstore": (s_logstore.run, set()),
    "dashboard": (s_dashboard.run, set()),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes and shorter windows (under 3 minutes)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the harness works, nothing more")
    p.add_argument("--only", default="", help=f"comma-separated scenarios out of: {', '.join(SCENARIOS)}")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "performance",
                   help="where the JSON and the plots go (default: docs/performance/)")
    p.add_argument("--no-docs", action="store_true", help="do not write docs/performance.md or the README table")
    p.add_argument("--no-install", action="store_true", help="use the peers already present; install nothing")
    p.add_argument("--report-only", action="store_true",
                   help="run nothing: rewrite the plots and docs from the figures already in --out")
    args = p.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; pick from {', '.join(SCENARIOS)}")
    args.names = names
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.report_only:
        data = json.loads((args.out / "results.json").read_text())
        data["scenarios"] = {k: data["scenarios"][k] for k in SCENARIOS if k in data["scenarios"]}
        report.write_docs(data, report.plots(data, args.out, force=True), REPO)
        print(report.console(data), flush=True)
        return 0
    install_log: list[str] = []
    wanted = set().union(*(SCENARIOS[n][1] for n in args.names))
    found, missing = peers.ensure(wanted, install_log, install=not args.no_install)
    for line in install_log:
        print(f"installing: {line}", flush=True)
    for tool, why in sorted(missing.items()):
        print(f"peer {tool} unavailable, its rows are skipped: {why}", flush=True)
    meta: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        "host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "kernel": platform.release(), "load_before": load_average(), "peers": found, "missing_peers": missing,
    }
    results: dict[str, Any] = {}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lockstep-bench-") as tmp:
        for name in args.names:
            ctx = Context(quick=args.quick or args.smoke, smoke=args.smoke, tmp=Path(tmp) / name, peers=found,
                          missing=missing)
            ctx.tmp.mkdir()
            ctx.log(f"scenario {name} (load {load_average()})")
            started = time.monotonic()
            results[name] = SCENARIOS[name][0](ctx)
            results[name]["seconds"] = round(time.monotonic() - started, 1)
            results[name]["load_after"] = load_average()
    meta["seconds"] = round(time.monotonic() - t0, 1)
    meta["load_after"] = load_average()
    data = {"meta": meta, "scenarios": results}
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_docs:
        # Keep the figures of scenarios this run skipped (e.g. `--only edit`).
        data = report.merge_previous(data, args.out / "results.json")
        data["scenarios"] = {k: data["scenarios"][k] for k in SCENARIOS if k in data["scenarios"]}
    (args.out / "results.json").write_text(report.dump(data))
    plots = report.plots(data, args.out)
    if not args.no_docs:
        report.write_docs(data, plots, REPO)
    print(report.console(data), flush=True)
    print(f"figures: {args.out / 'results.json'}  ({meta['seconds']} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
