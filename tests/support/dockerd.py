"""A private Docker engine for the tests, started and stopped by the test session.

The tests never talk to a daemon that was already running: they start their own `dockerd`
with its own data root, exec root, socket and pid file under a temporary directory, point
DOCKER_HOST (and an empty DOCKER_CONFIG) at it for this process and its children only, and
stop it at the end. Its containers sit on a bridge of its own (`lsdk…`, created here and
deleted at the end, on a free 10.213.x.0/24), without iptables rules: published ports go
through docker's userland proxy. So it leaves the host's `docker0`, its firewall and any
other daemon untouched.

No registry is reachable from the test machine, so base images are made locally: `FROM
scratch` plus Debian's static busybox.

Outside CI, with no engine installed (or not root), the docker tests skip and say why.
With CI=true they fail instead: CI installs the engine (`.ci/install-docker`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
BUSYBOX_IMAGE = "lockstep-test/busybox:latest"
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip visibly, or fail in CI, where the engine must be there."""
    if in_ci():
        pytest.fail(f"CI=true but the Docker tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"no private Docker engine: {reason}")


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + _SBIN)


def is_static_elf(path: str) -> bool:
    """True for an ELF executable without a program interpreter (PT_INTERP)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
                return False
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(struct.unpack_from("<I", table, i * phentsize)[0] != 3 for i in range(phnum))


def static_busybox() -> str | None:
    for candidate in ("/bin/busybox", "/usr/bin/busybox", _which("busybox") or ""):
        if candidate and is_static_elf(candidate):
            return candidate
    return None


@dataclass
class DockerEngine:
    root: Path
    host: str
    env: dict[str, str] = field(default_factory=dict)
    bridge: str = ""

    def docker(self, *args: str, check: bool = True, timeout: float = 120,
               input: bytes | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["docker", *args], env={**os.environ, **self.env}, capture_output=True,
                              timeout=timeout, input=input.decode("latin-1") if input is not None else None,
                              text=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return proc

    def cat(self, image: str, *paths: str) -> str:
        """`docker run --rm IMAGE cat PATHS…`: what the image really holds."""
        return self.docker("run", "--rm", "--network", "none", image, "cat", *paths).stdout

    def tags(self, repo: str) -> list[str]:
        out = self.docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repo).stdout
        return sorted(line for line in out.splitlines() if line.strip() and not line.endswith(":<none>"))


def _make_bridge() -> tuple[str, list[str]]:
    """A private bridge for the daemon's default network, and an address pool of its own for the
    networks it creates (Compose projects), both clear of the host's routes, so that sessions
    running side by side do not collide; ("", flags) when no bridge can be made."""
    ip = _which("ip")
    if ip is None:
        return "", ["--bridge=none"]
    used = subprocess.run([ip, "-4", "-o", "route"], capture_output=True, text=True, check=False).stdout
    used += subprocess.run([ip, "-4", "-o", "addr"], capture_output=True, text=True, check=False).stdout
    name = "lsdk" + os.urandom(3).hex()
    free = [n for n in range(50, 250) if f"10.213.{n}." not in used and f"10.{n}." not in used and n != 213]
    if not free:
        return "", ["--bridge=none"]
    third = free[int.from_bytes(os.urandom(2), "big") % len(free)]
    subnet = f"10.213.{third}."
    pool = ["--default-address-pool", f"base=10.{third}.0.0/16,size=24"]
    for cmd in (["link", "add", "name", name, "type", "bridge"], ["addr", "add", f"{subnet}1/24", "dev", name],
                ["link", "set", name, "up"]):
        if subprocess.run([ip, *cmd], capture_output=True, check=False).returncode != 0:
            _drop_bridge(name)
            return "", ["--bridge=none"]
    return name, [f"--bridge={name}", *pool]


def _drop_bridge(name: str) -> None:
    ip = _which("ip")
    if name and ip:
        subprocess.run([ip, "link", "del", name], capture_output=True, check=False)


def _bridge_networks(engine: DockerEngine) -> list[str]:
    """Host interfaces of the networks this daemon created (they outlive a stopped daemon)."""
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        out = engine.docker("network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge", check=False,
                            timeout=10).stdout
        return [f"br-{nid[:12]}" for nid in out.split() if Path(f"/sys/class/net/br-{nid[:12]}").exists()]
    return []


def compose_available(engine: DockerEngine) -> None:
    """Skip (or fail in CI) unless `docker compose` or `docker-compose` works."""
    for argv in (["docker", "compose", "version"], ["docker-compose", "version"]):
        with contextlib.suppress(OSError):
            if subprocess.run(argv, env={**os.environ, **engine.env}, capture_output=True,
                              check=False).returncode == 0:
                return
    unavailable("neither `docker compose` (v2) nor `docker-compose` (v1) is installed "
                "(Debian: apt-get install docker-compose)")


def _own_processes(marker: str) -> list[int]:
    """Processes whose command line mentions our private directory (dockerd, its containerd, shims)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and int(entry) != os.getpid():
            pids.append(int(entry))
    return pids


def _unmount_below(root: str) -> None:
    with open("/proc/mounts") as f:
        points = [line.split()[1] for line in f]
    for point in sorted((p for p in points if p.startswith(root + "/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _wait_gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() and _state(p) != "Z" for p in pids):
            return True
        time.sleep(0.05)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "Z"


@contextlib.contextmanager
def private_dockerd() -> Iterator[DockerEngine]:
    dockerd, client = _which("dockerd"), shutil.which("docker")
    if dockerd is None or client is None:
        unavailable("`dockerd` and `docker` are not installed (Debian: apt-get install docker.io)")
    if os.geteuid() != 0:
        unavailable("dockerd needs root here (rootless mode is not set up)")
    assert dockerd is not None
    # Short path: the socket's name must fit in a sockaddr_un.
    root = Path(tempfile.mkdtemp(prefix="lsdk-", dir="/tmp"))
    sock = root / "docker.sock"
    (root / "config").mkdir()
    log = open(root / "dockerd.log", "wb")  # noqa: SIM115
    bridge, net_flags = _make_bridge()
    setpriv = _which("setpriv")
    # A parent-death signal: if the test session dies, the daemon shuts down with it.
    prefix = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
    proc = subprocess.Popen(
        [*prefix, dockerd, "--data-root", str(root / "data"), "--exec-root", str(root / "exec"),
         "-H", f"unix://{sock}", "--pidfile", str(root / "dockerd.pid"),
         *net_flags, "--iptables=false", "--ip-masq=false", "--ip6tables=false"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    engine = DockerEngine(root, f"unix://{sock}", {"DOCKER_HOST": f"unix://{sock}",
                                                     "DOCKER_CONFIG": str(root / "config")}, bridge)
    saved = {k: os.environ.get(k) for k in ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT")}
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                break
            if sock.exists() and engine.docker("version", check=False, timeout=10).returncode == 0:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if proc.poll() is not None or engine.docker("version", check=False, timeout=10).returncode != 0:
            tail = (root / "dockerd.log").read_text(errors="replace")[-1500:]
            unavailable(f"the private dockerd did not start:\n{tail}")
        os.environ.pop("DOCKER_CONTEXT", None)
        os.environ.update(engine.env)
        yield engine
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        networks = _bridge_networks(engine)
        _stop(proc, str(root))
        _drop_bridge(bridge)
        for name in networks:
            _drop_bridge(name)
        log.close()
        _unmount_below(str(root))
        shutil.rmtree(root, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes], root: str) -> None:
    """SIGTERM (dockerd stops its containers and containerd), then SIGKILL whatever is left."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    leftovers = _own_processes(root)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _wait_gone(leftovers, 5)


def make_busybox_image(engine: DockerEngine) -> str:
    """`FROM scratch` + static busybox with its applets linked into /bin."""
    busybox = static_busybox()
    if busybox is None:
        unavailable("no static busybox (Debian: apt-get install busybox-static)")
    assert busybox is not None
    with tempfile.TemporaryDirectory() as ctx:
        os.mkdir(os.path.join(ctx, "bin"))
        shutil.copy2(busybox, os.path.join(ctx, "bin", "busybox"))
        Path(ctx, "Dockerfile").write_text(
            'FROM scratch\nCOPY bin/busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n')
        proc = subprocess.run(["docker", "build", "-t", BUSYBOX_IMAGE, ctx], capture_output=True, text=True,
                              env={**os.environ, **engine.env, "DOCKER_BUILDKIT": "0"}, timeout=120, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"building {BUSYBOX_IMAGE} failed: {proc.stdout[-1000:]}{proc.stderr[-1000:]}")
    return BUSYBOX_IMAGE
