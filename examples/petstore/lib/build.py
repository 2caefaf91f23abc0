"""build-lib: compile, self-test and publish the router library to build_artifacts/lib/.

The published copy is what gen-petstore and build-petstore consume, so a library that
does not compile or fails its self-test never reaches them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCE = HERE / "router"
OUT = ROOT / "build_artifacts" / "lib"


def main() -> int:
    sources = sorted(p for p in SOURCE.rglob("*.py"))
    for src in sources:
        # Compile in memory: a syntax error fails the build with file:line, and nothing is written.
        compile(src.read_text(encoding="utf-8"), str(src), "exec", dont_inherit=True)
    # The self-test runs in a fresh interpreter against the source tree, as a consumer would import it.
    subprocess.run(
        [
            sys.executable,
            "-B",  # no __pycache__ in lib/: it is a watched source directory
            "-c",
            "import router.selftest as t; print(f'router self-test: {t.run()} checks passed')",
        ],
        cwd=HERE,
        check=True,
    )
    target = OUT / "router"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for src in sources:
        dest = target / src.relative_to(SOURCE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    print(f"build-lib: {len(sources)} modules -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
