"""live_update into a real Compose service's container (busybox httpd on the private dockerd).

An edit under a sync() is copied into the running container: the served page changes with
the same container and no new image. A change outside the syncs, or under fall_back_on,
rebuilds (a new container). A failing run step fails the update, visibly, and the next edit
recovers. Under an edit storm with a slow writer filling the synced directory, the
container never serves a partial site.
"""

from __future__ import annotations

import http.client
import json
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import summary
from dockerd import DockerEngine, compose_available
from petstore_support import free_port
from site_dump import dump_script, parse_dump, site_problems
from upproc import Up, wait_until

from lockstep.engine.checker import check_history
from lockstep.engine.persist import read_holds
from lockstep.model.update import UpdateRecord, UpdateResult

pytestmark = pytest.mark.e2e


def fetch(port: int, page: str = "index.html") -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{page}", timeout=2) as r:
            return str(r.read().decode())
    except (OSError, http.client.HTTPException):
        return ""


HTTPD = '["httpd", "-f", "-p", "80", "-h", "/www"]'
# Says once per start which start it is, then serves.
BOOT_HTTPD = '["sh", "-c", "echo booted $$(cat /proc/sys/kernel/random/uuid); exec httpd -f -p 80 -h /www"]'


def compose_file(port: int, service: str, image: str, command: str = HTTPD) -> str:
    return textwrap.dedent(f"""
        version: "2.4"
        services:
          {service}:
            image: {image}
            command: {command}
            init: true
            ports: ["127.0.0.1:{port}:80"]
    """)


def containers(engine: DockerEngine, project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    return engine.docker("ps", "-q", "--no-trunc", "--filter", label).stdout.split()


def updates(up: Up, name: str) -> list[UpdateRecord]:
    return [r for r in up.history() if r.resource == name]


def test_edits_are_synced_into_the_running_container(tmp_path: Path, docker_engine: DockerEngine,
                                                     busybox_image: str) -> None:
    compose_available(docker_engine)
    port = free_port()
    web = tmp_path / "web"
    (web / "static").mkdir(parents=True)
    (web / "static" / "index.html").write_text("v1")
    (web / "static" / "config.json").write_text("{}")
    (web / "other.txt").write_text("1")
    # The image holds no page: only initial_sync() puts the static files into a new container.
    (web / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN mkdir /www\nCOPY other.txt /other.txt\n"
                                     "COPY static/config.json /config.json\n")
    (tmp_path / "docker-compose.yml").write_text(compose_file(port, "web", "lu-web", BOOT_HTTPD))
    tiltfile = """
docker_build('lu-web', 'web', live_update=[
    initial_sync(),
    fall_back_on('web/static/config.json'),
    sync('web/static', '/www'),
    run('cp /www/index.html /www/copy.html', trigger=['web/static/index.html']),
    run('test ! -e /www/fail.txt'),
    restart_container(),
])
docker_compose('docker-compose.yml', project_name='ls-live')
"""

    def started_at(cid: str) -> str:
        return docker_engine.docker("inspect", "--format", "{{.State.StartedAt}}", cid).stdout.strip()

    def last_web() -> UpdateRecord | None:
        done = [r for r in updates(up, "web") if r.end is not None]
        return done[-1] if done else None

    with Up.write(tmp_path, tiltfile) as up:
        wait_until(lambda: fetch(port) == "v1", timeout=90, what="initial_sync to serve v1")
        # The page is served before the first update ends (its initial sync is its last step).
        wait_until(lambda: last_web() is not None, timeout=30, what="the first update recorded")
        first = containers(docker_engine, "ls-live")
        assert len(first) == 1
        tags = docker_engine.tags("lu-web")
        began = started_at(first[0])
        n = len(updates(up, "web"))

        # 1. A synced edit: same container, no new image, the triggered run ran, and the restart.
        (web / "static" / "index.html").write_text("v2")
        wait_until(lambda: fetch(port) == "v2" and fetch(port, "copy.html") == "v2", timeout=60,
                   what="the live update to serve v2")
        wait_until(lambda: len(updates(up, "web")) > n and last_web() is not None, timeout=30,
                   what="the update recorded")
        rec = last_web()
        assert rec is not None and rec.live_update and rec.result is UpdateResult.SUCCEEDED, rec
        assert containers(docker_engine, "ls-live") == first
        assert docker_engine.tags("lu-web") == tags
        assert started_at(first[0]) != began, "restart_container() restarts the container"
        up.expect("Synced 1 file into web: /www/index.html")
        # `docker restart` answers with the container's id: not a line for the user's log.
        assert not any(first[0][:12] in ln for ln in up.log_text().splitlines()), "bare container id logged"

        # 2. A failing run step: the update fails, visibly; the synced file stays in the container.
        n = len(updates(up, "web"))
        (web / "static" / "fail.txt").write_text("x")
        wait_until(lambda: len(updates(up, "web")) > n and last_web() is not None
                   and last_web().result is UpdateResult.FAILED, timeout=60,  # type: ignore[union-attr]
                   what="the failing run step to fail the update")
        failed = last_web()
        assert failed is not None and failed.live_update and "test ! -e /www/fail.txt" in failed.error
        up.expect("exited with code 1; the synced files stay")
        assert fetch(port, "fail.txt") == "x"
        assert containers(docker_engine, "ls-live") == first

        # 3. The next edit recovers: the deleted file goes from the container, the page updates.
        (web / "static" / "fail.txt").unlink()
        (web / "static" / "index.html").write_text("v3")
        wait_until(lambda: fetch(port) == "v3" and last_web() is not None
                   and last_web().result is UpdateResult.SUCCEEDED, timeout=60,  # type: ignore[union-attr]
                   what="the next edit to recover")
        assert fetch(port, "fail.txt") == ""
        assert containers(docker_engine, "ls-live") == first and docker_engine.tags("lu-web") == tags
        up.expect("Removed 1 file from web: /www/fail.txt")

        # 4. A change under no sync: a full rebuild, a new container (initial_sync fills it).
        (web / "other.txt").write_text("2")
        wait_until(lambda: containers(docker_engine, "ls-live") not in ([], first), timeout=90,
                   what="a new container after a change outside the syncs")
        wait_until(lambda: fetch(port) == "v3", timeout=60, what="the rebuilt container to serve v3")
        second = containers(docker_engine, "ls-live")
        assert len(docker_engine.tags("lu-web")) > len(tags)
        up.expect("Full rebuild of web: not under any sync(): ")

        # 5. fall_back_on wins over the sync that covers the file.
        (web / "static" / "config.json").write_text('{"a": 1}')
        wait_until(lambda: containers(docker_engine, "ls-live") not in ([], second), timeout=90,
                   what="a new container after a fall_back_on change")
        wait_until(lambda: fetch(port, "config.json") == '{"a": 1}', timeout=60, what="the rebuilt container")
        up.expect("Full rebuild of web: fall_back_on matched: ")
        live_bars_in_the_timeline(up, "web", 3)
        # The service's log follows its container across live updates and restarts, with no
        # line shown twice: 2 restarts and 3 containers, each start said once.
        wait_until(lambda: len(boots(up)) == 5, timeout=30, what="five starts in the log")
        assert len(set(boots(up))) == 5, boots(up)
        up.stop()
    history = up.history()
    assert check_history(history) == []
    lives = [r for r in history if r.resource == "web" and r.live_update]
    assert len(lives) == 3, [(r.id, r.result, r.error) for r in history]


def boots(up: Up) -> list[str]:
    return [ln.split("booted ", 1)[1] for ln in up.log_text().splitlines() if "| booted " in ln]


def live_bars_in_the_timeline(up: Up, name: str, count: int) -> None:
    """The dashboard's timeline marks the live updates (in Chromium)."""
    from browser import CHROMIUM, chromium_or_skip
    from playwright.sync_api import expect, sync_playwright

    chromium_or_skip()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(up.url)
            # Live first: a page that lost a file while loading (a network change as docker adds an interface)
            # loads itself again, and a click on the half-loaded page would be lost with it.
            expect(page.locator("#conn")).to_have_text("live", timeout=20_000)
            page.locator('#tabs button[data-tab="timeline"]').click()
            bars = page.locator(f'.tl-row[data-resource="{name}"] .bar.live')
            expect(bars).to_have_count(count, timeout=20_000)
            expect(bars.first).to_have_attribute("title", __import__("re").compile(r"\(live update\)"))
        finally:
            browser.close()


# A bundler that empties its output, then writes hashed assets, the page that references
# them and a manifest, one file at a time, slowly (the seed's UI build).
WRITE_SITE = """
import hashlib, json, os, time
version = open("ui_src/version.txt").read().strip()
h = hashlib.sha1(version.encode()).hexdigest()[:8]
out = "site"
for f in os.listdir(out + "/assets"):
    os.unlink(os.path.join(out, "assets", f))
js, css = f"assets/app.{h}.js", f"assets/app.{h}.css"
def write(rel, text):
    with open(os.path.join(out, rel), "w") as f:
        f.write(text)
    time.sleep(0.08)
write(js, f'window.VERSION="{version}";')
write(css, f"/* {version} */ body {{}}")
write("index.html", f'<html data-version="{version}"><script src="{js}"></script><link href="{css}"></html>')
write("manifest.json", json.dumps({"version": version, "files": sorted([js, css, "index.html"])}))
"""

DUMP = dump_script("/www")


STORMS = 8
EDITS_PER_STORM = 3


@pytest.mark.parametrize("declared", [False, True], ids=["learnt-writer", "resource-deps"])
def test_a_slow_writer_under_edit_storms_never_yields_a_partial_sync(
        tmp_path: Path, docker_engine: DockerEngine, busybox_image: str, declared: bool) -> None:
    """Without resource_deps (the seed's broken shape) the writer is held off by C4, learnt
    from its writes; with them, by C1. Either way every update after the first is live."""
    compose_available(docker_engine)
    port = free_port()
    (tmp_path / "ui_src").mkdir()
    (tmp_path / "site" / "assets").mkdir(parents=True)
    (tmp_path / "write_site.py").write_text(WRITE_SITE)
    (tmp_path / "ui_src" / "version.txt").write_text("0")
    (tmp_path / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY . /www/\n")
    (tmp_path / "docker-compose.yml").write_text(compose_file(port, "site", "lu-site"))
    tiltfile = """
local_resource('build-ui', cmd='python3 write_site.py', deps=['ui_src'], allow_parallel=True)
docker_build('lu-site', 'site', dockerfile='Dockerfile', live_update=[sync('site', '/www')])
docker_compose('docker-compose.yml', project_name='ls-livestorm')
""" + ("dc_resource('site', resource_deps=['build-ui'])\n" if declared else "")
    samples: list[tuple[float, float, dict[str, str]]] = []
    stop = threading.Event()

    def sample(cid: str) -> None:
        while not stop.is_set():
            t0 = time.time()
            out = docker_engine.docker("exec", cid, "sh", "-c", DUMP, check=False).stdout
            samples.append((t0, time.time(), parse_dump(out)))

    def served(version: str) -> bool:
        page = fetch(port, "manifest.json")
        return bool(page) and json.loads(page).get("version") == version

    started = time.monotonic()
    with Up.write(tmp_path, tiltfile) as up:
        wait_until(lambda: served("0"), timeout=120, what="the first site served", interval=0.3)
        first = containers(docker_engine, "ls-livestorm")
        since = time.time()
        tags = docker_engine.tags("lu-site")
        sampler = threading.Thread(target=sample, args=(first[0],), daemon=True)
        sampler.start()
        try:
            for storm in range(1, STORMS + 1):
                for k in range(EDITS_PER_STORM):
                    (tmp_path / "ui_src" / "version.txt").write_text(f"{storm}.{k}")
                    time.sleep(0.05)
                final = f"{storm}.{EDITS_PER_STORM - 1}"
                wait_until(lambda v=final: served(v), timeout=60,  # type: ignore[misc]
                           what=f"the site at {final} served", interval=0.2)
        finally:
            stop.set()
            sampler.join(30)
        assert containers(docker_engine, "ls-livestorm") == first, "every update was a live update"
        assert docker_engine.tags("lu-site") == tags
        up.stop()
    history = up.history()
    assert check_history(history) == []
    site = [r for r in history if r.resource == "site"]
    windows = [(r.start, r.end or float("inf")) for r in site]
    # A sample taken while no update of `site` ran sees what the last sync left: it must be whole.
    quiet = [s for s in samples if not any(s[0] <= end and start <= s[1] for start, end in windows)]
    partial = [(s[0], site_problems(s[2])) for s in quiet if site_problems(s[2])]
    lives = [r for r in site if r.live_update]
    shape = "resource_deps" if declared else "learnt writer"
    refused = up.log_text().count("files changed while they were read for the sync")
    summary.LINES.append(
        f"compose live-update storm ({shape}): {STORMS} storms x {EDITS_PER_STORM} edits, {len(lives)} live updates "
        f"({sum(r.result is UpdateResult.SUCCEEDED for r in lives)} ok), {len(samples)} container samples "
        f"({len(quiet)} between updates), {len(partial)} partial, {refused} syncs refused for moving files, "
        f"{time.monotonic() - started:.0f}s")
    assert len(quiet) >= STORMS, f"too few samples between updates: {len(quiet)} of {len(samples)}"
    assert not partial, f"partial sites served: {partial[:3]}"
    later = [r for r in site if r.start > since]
    assert later and all(r.live_update for r in later), [(r.id, r.live_update, r.error) for r in site]
    # The waits are explained in words (`lockstep why site` shows this hold history).
    texts = {str(h.get("text")) for entry in read_holds(up.sdir) if entry.get("resource") == "site"
             for h in entry.get("holds") or [] if isinstance(h, dict)}  # type: ignore[attr-defined]
    assert any("build-ui" in t for t in texts), texts
    if not declared:
        assert ("build-ui", "site") in up.inferred()
