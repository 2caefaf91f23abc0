"""Every real Tiltfile in the shared corpus passes `lockstep check --dry-run`,
except those listed in corpus_expectations.toml (which Tilt itself would reject)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import summary

from lockstep.tiltfile import load

REPO = Path(__file__).resolve().parents[2]
EXPECTATIONS = tomllib.loads((Path(__file__).parent / "corpus_expectations.toml").read_text())["reject"]


def corpus_dir() -> Path:
    default = REPO.parent / "shared" / "corpus" / "tiltfiles" / "dev"
    return Path(os.environ.get("LOCKSTEP_CORPUS_DIR") or default)


def corpus_files() -> list[Path]:
    d = corpus_dir()
    return sorted(d.glob("*.star")) if d.is_dir() else []


def test_corpus_dry_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = corpus_files()
    if not files:
        message = f"Tiltfile corpus not found at {corpus_dir()} (set LOCKSTEP_CORPUS_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must run the corpus test")
        pytest.skip(message)
    # No extension is available: every ext:// load takes the dry-run placeholder path.
    monkeypatch.setenv("LOCKSTEP_EXTENSIONS_DIR", str(tmp_path))
    passed, failures = 0, []
    for path in files:
        result = load(str(path), dry_run=True, timeout=20.0)
        expected = EXPECTATIONS.get(path.name)
        if expected is None:
            if result.ok:
                passed += 1
            else:
                failures.append(f"{path.name}: " + "; ".join(e.render() for e in result.errors))
        elif result.ok or not any(expected["error"] in e.message for e in result.errors):
            failures.append(f"{path.name}: expected rejection ({expected['reason']}) but got "
                            f"{[e.message for e in result.errors]}")
    line = f"corpus: {passed}/{len(files)} files pass `check --dry-run`, {len(EXPECTATIONS)} expected rejection(s)"
    print("\n" + line)
    summary.LINES.append(line)
    assert not failures, "\n".join(failures)
    assert passed + len(EXPECTATIONS) == len(files)


def test_expectations_name_existing_files() -> None:
    names = {p.name for p in corpus_files()}
    if names:
        assert set(EXPECTATIONS) <= names
