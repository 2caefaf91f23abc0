"""Session fixtures for the pet-store example: the pipeline is built once, the server started once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from petstore_harness import Server, copy_example, run_pipeline, start_server, stop_server


@pytest.fixture(scope="session")
def built_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("petstore") / "petstore")
    run_pipeline(root)
    return root


@pytest.fixture(scope="session")
def server(built_example: Path) -> Iterator[Server]:
    srv = start_server(built_example)
    yield srv
    stop_server(srv)
