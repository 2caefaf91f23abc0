"""Find, and when missing install, the peer tools the scenarios compare lockstep with.

- entr, make: Debian packages (apt-get, only when running as root; otherwise a
  message saying what to install);
- doit, watchmedo: PyPI, into the project venv (the `bench` extra);
- chokidar-cli: the npm registry, into a cache dir outside the repository.
A peer that cannot be had is reported as missing and its rows are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lsbench.common import VENV_BIN

APT = {"entr": "entr", "make": "make"}
PYPI = {"doit": "doit>=0.36", "watchmedo": "watchdog>=4"}
NPM_PACKAGE = "chokidar-cli@3"


def npm_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lockstep-bench" / "npm"


def _quiet(argv: list[str]) -> bool:
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


def _apt(names: list[str], log: list[str]) -> str | None:
    if os.geteuid() != 0:
        return f"not installed; run `sudo apt-get install {' '.join(names)}`"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for attempt in (["apt-get", "install", "-y", *names], ["apt-get", "update"],
                    ["apt-get", "install", "-y", *names]):
        if attempt[1] == "update" and all(shutil.which(n) for n in names):
            break
        log.append(" ".join(attempt))
        subprocess.run(attempt, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    missing = [n for n in names if not shutil.which(n)]
    return f"apt-get could not install {' '.join(missing)} (is apt locked?)" if missing else None


def ensure(wanted: set[str], log: list[str], install: bool = True) -> tuple[dict[str, str], dict[str, str]]:
    """(found: tool -> executable, missing: tool -> reason). With install=False, only look."""
    if not install:
        return locate(wanted)
    found: dict[str, str] = {}
    missing: dict[str, str] = {}
    apt_needed = [APT[t] for t in sorted(wanted & APT.keys()) if not shutil.which(t)]
    if apt_needed:
        reason = _apt(apt_needed, log)
        if reason:
            for t in apt_needed:
                missing[t] = reason
    for tool in sorted(wanted & APT.keys()):
        if (path := shutil.which(tool)) is not None:
            found[tool] = path
    pip_needed = [PYPI[t] for t in sorted(wanted & PYPI.keys()) if not (VENV_BIN / t).exists()]
    if pip_needed:
        log.append("pip install " + " ".join(pip_needed))
        _quiet([sys.executable, "-m", "pip", "install", "-q", *pip_needed])
    for tool in sorted(wanted & PYPI.keys()):
        if (VENV_BIN / tool).exists():
            found[tool] = str(VENV_BIN / tool)
        else:
            missing[tool] = f"pip could not install {PYPI[tool]}"
    if "chokidar" in wanted:
        cache = npm_cache()
        binary = cache / "node_modules" / ".bin" / "chokidar"
        if not binary.exists():
            if shutil.which("npm") is None:
                missing["chokidar"] = "npm not found (install Node.js)"
            else:
                cache.mkdir(parents=True, exist_ok=True)
                log.append(f"npm install --prefix {cache} {NPM_PACKAGE}")
                _quiet(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache), NPM_PACKAGE])
        if binary.exists():
            found["chokidar"] = str(binary)
        else:
            missing.setdefault("chokidar", f"npm could not install {NPM_PACKAGE}")
    return found, missing


def locate(wanted: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    found: dict[str, str] = {}
    for tool in wanted:
        path = shutil.which(tool) if tool in APT else str(VENV_BIN / tool) if tool in PYPI else str(
            npm_cache() / "node_modules" / ".bin" / "chokidar")
        if path and Path(path).exists():
            found[tool] = path
    return found, {t: "not installed (--no-install)" for t in wanted - found.keys()}
