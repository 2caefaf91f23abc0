"""Child process of s_floor: spawn N short commands at a given concurrency, print wall and CPU seconds.

    python spawn_floor.py {asyncio|asyncio-pidfd|forkserver|lockstep|lockstep-sh} N CONCURRENCY

Prints `WALL CPU`: CPU is this process's own user + system time (the event
loop's work per start, without the children's), over the same span as WALL.

Runs in a fresh interpreter so that the parent's memory (fork cost grows with
it) is the same for every variant.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time


async def bare(n: int, conc: int) -> None:
    sem = asyncio.Semaphore(conc)

    async def one() -> None:
        async with sem:
            proc = await asyncio.create_subprocess_exec("true", stdin=subprocess.DEVNULL,
                                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await proc.wait()

    await asyncio.gather(*(one() for _ in range(n)))


async def lockstep(n: int, conc: int, argv: tuple[str, ...]) -> tuple[float, float]:
    # The start path `up` and `ci` use (engine/app.py): the runner with a live watchdog (one exec per
    # command, no setpriv wrapper), child exits learnt through pidfds, own session, piped and
    # line-split output.
    from lockstep.adapters.process import ProcessSpec, SubprocessRunner, pidfd_child_watcher
    from lockstep.adapters.reaper import Reaper

    with Reaper() as reaper, pidfd_child_watcher():
        runner = SubprocessRunner(reaper)
        assert reaper.watching, "the watchdog did not start: this would measure the setpriv fallback"
        sem = asyncio.Semaphore(conc)
        cwd = tempfile.gettempdir()

        async def one() -> None:
            async with sem:
                handle = await runner.start(ProcessSpec(argv, cwd), lambda line, stream: None)
                await handle.wait()

        # The watchdog starts once per `up`, before any command: not part of the per-start cost.
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - t0, time.process_time() - c0


async def bare_pidfd(n: int, conc: int) -> None:
    from lockstep.adapters.process import pidfd_child_watcher

    with pidfd_child_watcher():
        await bare(n, conc)


# A fork server: a separate process that starts each command (posix_spawn, own session, output to
# /dev/null), watches it through a pidfd and reports `S<pid>` on start and `X<pid> <status>` on exit over
# a SOCK_SEQPACKET pair. The event loop then never waits for a child to be scheduled and exec'd; the
# question this variant answers is whether that beats the two extra process wake-ups per command.
FORK_SERVER = '''
import os, selectors, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
sel = selectors.DefaultSelector()
sel.register(sock, selectors.EVENT_READ, None)
null = os.open("/dev/null", os.O_RDWR)
acts = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
env = dict(os.environ)
while True:
    for key, _ in sel.select():
        if key.data is None:
            msg = sock.recv(65536)
            if not msg:
                sys.exit(0)
            argv = msg.split(b"\\0")
            pid = os.posix_spawnp(argv[0], argv, env, file_actions=acts, setsid=True)
            fd = os.pidfd_open(pid)
            sel.register(fd, selectors.EVENT_READ, pid)
            sock.send(b"S%d" % pid)
        else:
            sel.unregister(key.fd)
            os.close(key.fd)
            _, status = os.waitpid(key.data, 0)
            sock.send(b"X%d %d" % (key.data, status))
'''


async def forkserver(n: int, conc: int) -> tuple[float, float]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server = subprocess.Popen([sys.executable, "-S", "-c", FORK_SERVER, str(theirs.fileno())],
                              pass_fds=(theirs.fileno(),))
    theirs.close()
    ours.setblocking(False)
    loop = asyncio.get_running_loop()
    starts: list[asyncio.Future[int]] = []
    exits: dict[int, asyncio.Future[int]] = {}
    early: dict[int, int] = {}

    def readable() -> None:
        while True:
            try:
                msg = ours.recv(64)
            except BlockingIOError:
                return
            if msg[:1] == b"S":
                starts.pop(0).set_result(int(msg[1:]))
            else:
                pid_s, status = msg[1:].split()
                fut = exits.pop(int(pid_s), None)
                if fut is None:
                    early[int(pid_s)] = int(status)
                else:
                    fut.set_result(int(status))

    loop.add_reader(ours.fileno(), readable)
    sem = asyncio.Semaphore(conc)

    async def one() -> None:
        async with sem:
            started: asyncio.Future[int] = loop.create_future()
            starts.append(started)
            ours.send(b"true")
            pid = await started
            if pid in early:
                early.pop(pid)
                return
            done: asyncio.Future[int] = loop.create_future()
            exits[pid] = done
            await done

    # Warm: the server's own start is once per run, not per command.
    await one()
    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(n)))
    took = time.perf_counter() - t0, time.process_time() - c0
    loop.remove_reader(ours.fileno())
    ours.close()
    server.wait()
    return took


def main() -> None:
    variant, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0, c0 = time.perf_counter(), time.process_time()
    if variant == "asyncio":
        asyncio.run(bare(n, conc))
    elif variant == "asyncio-pidfd":
        asyncio.run(bare_pidfd(n, conc))
    elif variant == "forkserver":
        print(*asyncio.run(forkserver(n, conc)))
        return
    elif variant == "lockstep":
        print(*asyncio.run(lockstep(n, conc, ("true",))))
        return
    elif variant == "lockstep-sh":
        print(*asyncio.run(lockstep(n, conc, ("sh", "-c", "true"))))
        return
    else:
        raise SystemExit(f"unknown variant {variant}")
    print(time.perf_counter() - t0, time.process_time() - c0)


if __name__ == "__main__":
    main()
