"""`check --dry-run` over the real-Tiltfile corpus with the real extensions available.

Usage: .venv/bin/python bench/corpus_extensions.py EXTENSIONS_CHECKOUT [CORPUS_DIR]

EXTENSIONS_CHECKOUT is a checkout of github.com/tilt-dev/tilt-extensions (it is used
as LOCKSTEP_EXTENSIONS_DIR, so every `ext://` load evaluates the real extension).
Prints the pass count and each failure grouped by its first error message, so the
remaining failures can be read by cause. The extensions are test data: nothing of
them is kept in this repository.
"""

from __future__ import annotations

import collections
import os
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lockstep.tiltfile import load  # noqa: E402


def _cause(message: str) -> str:
    """An error message without the parts that differ per file (paths, names, numbers)."""
    message = re.sub(r"/[^\s:'\"]+", "PATH", message)
    message = re.sub(r"'[^']*'", "'…'", message)
    return re.sub(r"\d+", "N", message)[:140]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    exts = os.path.abspath(argv[1])
    corpus = Path(argv[2] if len(argv) > 2 else REPO.parent / "shared" / "corpus" / "tiltfiles" / "dev")
    files = sorted(corpus.glob("*.star"))
    os.environ["LOCKSTEP_EXTENSIONS_DIR"] = exts
    # Extensions are materialised under the data directory: keep this run's copy apart.
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="lockstep-corpus-data-")
    passed = 0
    causes: dict[str, list[str]] = collections.defaultdict(list)
    for path in files:
        result = load(str(path), dry_run=True, timeout=30.0)
        if result.ok:
            passed += 1
            continue
        first = result.errors[0]
        causes[_cause(first.message)].append(f"{path.name}: {first.render()}")
    print(f"corpus with real extensions: {passed}/{len(files)} pass `check --dry-run`")
    for cause, hits in sorted(causes.items(), key=lambda kv: -len(kv[1])):
        print(f"\n[{len(hits)}] {cause}")
        for hit in hits:
            print("   ", hit[:400])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
