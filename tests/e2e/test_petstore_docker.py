"""The pet-store with `target=docker`: its image built and run on a real (private) engine.

The base image `python:3.11-slim` is made locally (tests/support/pybase.py). The service runs
in a container published on the test's port; every endpoint answers from it, an edit of
the UI reaches the container, and stopping lockstep removes the container.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import summary
from dockerd import DockerEngine
from petstore_harness import copy_example
from petstore_support import (
    Lockstep,
    Poller,
    Sources,
    free_port,
    get,
    lockstep_up,
    served_tags,
    wait_healthy,
)
from upproc import wait_progressing, wait_until

from lockstep.engine.checker import check_history
from lockstep.engine.persist import load_inferred, read_history
from lockstep.statedir import state_dir

pytestmark = pytest.mark.e2e

CONTAINER = "lockstep-petstore"
BURSTS = 6


def containers(engine: DockerEngine) -> list[str]:
    out = engine.docker("ps", "-a", "--filter", f"name={CONTAINER}", "--format", "{{.Names}} {{.Image}}").stdout
    return out.split("\n")[:-1] if out else []


def index_assets(html: str) -> list[str]:
    """The hashed bundle the page loads (one .js and one .css)."""
    return re.findall(r'(?:src|href)="(/assets/index-[0-9a-f]{8}\.(?:js|css))"', html)


@pytest.mark.parametrize("tiltfile", ["Tiltfile", "Tiltfile.before"])
def test_petstore_serves_from_its_container(tmp_path: Path, docker_engine: DockerEngine, python_image: str,
                                            tiltfile: str) -> None:
    root = copy_example(tmp_path / "petstore")
    port = free_port()
    with lockstep_up(root, tiltfile, port, tmp_path / "state", args=("--target=docker",)) as ls:
        wait_healthy(port, timeout=180, ls=ls)
        assert containers(docker_engine) == [f"{CONTAINER} petstore:dev"]
        html = get(port, "/").body.decode()
        assets = index_assets(html)
        assert len(assets) == 2 and all(get(port, a).status == 200 for a in assets), html
        assert get(port, "/docs").status == 200 and get(port, "/docs/swagger-ui-bundle.js").status == 200
        pets = get(port, "/api/pets")
        assert pets.status == 200 and pets.json()
        assert get(port, "/openapi.yaml").body == (root / "openapi.yaml").read_bytes()

        # An edit of the UI sources goes through the whole pipeline into a new container.
        app = next(p for p in sorted((root / "ui" / "src").rglob("*")) if p.suffix in (".js", ".jsx", ".ts"))
        app.write_text(app.read_text() + "\n// edited by the docker test\n")

        def new_assets() -> bool:
            r = get(port, "/") if wait_healthy(port, timeout=60, ls=ls) else None
            now = index_assets(r.body.decode()) if r else []
            return bool(now) and now != assets and all(get(port, a).status == 200 for a in now)
        wait_until(new_assets, timeout=180, what="the edited UI served from a new container", interval=0.5)
    # Stopping lockstep stopped the container, and `--rm` removed it.
    wait_until(lambda: containers(docker_engine) == [], timeout=30, what="the container to be removed")


def test_edit_storm_against_the_container(tmp_path: Path, docker_engine: DockerEngine, python_image: str) -> None:
    """The pet-store storm, shortened, with the broken Tiltfile and the app in a container: a poller
    never sees an index.html paired with a missing or mismatched asset, and each burst's final
    sources end up served."""
    tiltfile = "Tiltfile.before"
    root = copy_example(tmp_path / "petstore")
    sources = Sources(root)
    sources.write_ui("storm-0")
    sources.write_spec("storm-0")
    port = free_port()

    def settled(tag: str, ls: Lockstep) -> None:
        # A burst is bounded work (two UI builds, an image build, a container restart): about 5 s
        # here at a load of 12, longer while other docker daemons hold the disk. So no fixed deadline:
        # lockstep's output (builds, restarts: not the server logging this test's requests) must
        # keep moving, within a bound well above the work.
        want = (tag, tag, sources.spec_sha(tag))
        wait_progressing(lambda: served_tags(port) == want, lambda: ls.activity(quiet="petstore"),
                         stall=60, limit=240,
                         what=f"the container to serve {tag}", interval=0.1)

    with lockstep_up(root, tiltfile, port, tmp_path / "state", args=("--target=docker",),
                     PETSTORE_UI_WRITE_DELAY="0.25") as ls:
        wait_healthy(port, timeout=180, ls=ls)
        settled("storm-0", ls)
        with Poller(port, interval=0.05) as poller:
            for burst in range(1, BURSTS + 1):
                mark = ls.mark()
                sources.write_ui(f"storm-{burst}a")
                sources.write_spec(f"storm-{burst}a")
                ls.wait_for_start("build-sample-ui", after=mark, timeout=60)
                sources.write_ui(f"storm-{burst}")  # while the UI build runs
                sources.write_spec(f"storm-{burst}")
                settled(f"storm-{burst}", ls)
    records = list(read_history(state_dir(root / tiltfile, create=False)))
    inferred = load_inferred(state_dir(root / tiltfile, create=False))
    bad = poller.bad()
    summary.LINES.append(f"pet-store storm against the container: {BURSTS} bursts, {len(poller.observations)} "
                         f"rounds, {len(bad)} inconsistent, {poller.interrupted} interrupted "
                         f"(container restarts), learnt edges {sorted(inferred)}")
    assert len(poller.observations) >= BURSTS * 10
    assert not bad, f"{len(bad)} inconsistent answers, first: {bad[0].problems}"
    assert check_history(records, quiescent=False) == []
