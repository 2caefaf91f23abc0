"""Custom buttons: Tilt's `v1alpha1.ui_button` objects, drawn by the dashboard and run on click.

A Tiltfile (usually through the `uibutton` extension's `cmd_button`) declares a
`ui_button` and a `v1alpha1.cmd` whose `start_on.ui_buttons` names it. A click
runs that command once, in its own process group, its output going to the
log of the resource the button sits on (or to "(buttons)" for global ones).
A second click while it runs is refused; everything still running stops with
the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from dataclasses import dataclass
from typing import Any

from lockstep.adapters.process import ProcessHandle, ProcessSpec, ProcessStartError, Stream, SubprocessRunner
from lockstep.logs.levels import level_of
from lockstep.logs.store import LogLevel, LogSource, LogStore, LogStream
from lockstep.model.resource import LoadResult

GLOBAL_LOG = "(buttons)"


@dataclass(frozen=True)
class Button:
    name: str
    text: str
    resource: str | None  # None: a global button (Tilt's component_type "Global")
    icon: str
    argv: tuple[str, ...]
    dir: str
    env: tuple[tuple[str, str], ...]
    confirm: bool
    disabled: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "resource": self.resource, "icon": self.icon,
                "confirm": self.confirm, "disabled": self.disabled or not self.argv,
                "command": " ".join(self.argv)}


def _dict(v: object) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _env(raw: object) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, str) and "=" in item:
            k, v = item.split("=", 1)
            out.append((k, v))
    return tuple(out)


def buttons_of(load: LoadResult | None) -> list[Button]:
    """The buttons a Tiltfile declared, in declaration order (malformed ones are skipped)."""
    if load is None:
        return []
    base = os.path.dirname(load.tiltfile)
    cmds: dict[str, dict[str, Any]] = {}
    specs: list[dict[str, Any]] = []
    for kind, raw in load.api_objects:
        try:
            args = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(args, dict) or not isinstance(args.get("name"), str):
            continue
        if kind == "cmd":
            for b in _dict(args.get("start_on")).get("ui_buttons") or []:
                if isinstance(b, str):
                    cmds[b] = args
        elif kind == "ui_button":
            specs.append(args)
    out: list[Button] = []
    for spec in specs:
        name = spec["name"]
        loc = _dict(spec.get("location"))
        resource = loc.get("component_id") if str(loc.get("component_type", "")).lower() == "resource" else None
        cmd = cmds.get(name, {})
        argv = cmd.get("args")
        argv = tuple(str(a) for a in argv) if isinstance(argv, list) else ()
        d = cmd.get("dir")
        out.append(Button(
            name=name, text=str(spec.get("text") or name), resource=str(resource) if resource else None,
            icon=str(spec.get("icon_name") or ""), argv=argv,
            dir=os.path.join(base, d) if isinstance(d, str) and d else base, env=_env(cmd.get("env")),
            confirm=bool(spec.get("requires_confirmation")), disabled=bool(spec.get("disabled")),
        ))
    return out


class ButtonRunner:
    def __init__(self, logs: LogStore, clock: Any) -> None:
        self.logs = logs
        self.clock = clock
        self._processes = SubprocessRunner()
        self._running: dict[str, tuple[asyncio.Task[None], list[ProcessHandle]]] = {}

    def running(self, name: str) -> bool:
        return name in self._running

    def start(self, button: Button) -> asyncio.Task[None]:
        handles: list[ProcessHandle] = []
        task = asyncio.ensure_future(self._run(button, handles))
        self._running[button.name] = (task, handles)
        task.add_done_callback(lambda _: self._running.pop(button.name, None))
        return task

    def _log(self, button: Button, text: str, stream: LogStream = LogStream.NONE, error: bool = False) -> None:
        level = level_of(text) if stream is not LogStream.NONE else LogLevel.ERROR if error else LogLevel.INFO
        self.logs.append(button.resource or GLOBAL_LOG, LogSource.SYSTEM if stream is LogStream.NONE
                         else LogSource.RUNTIME, text, self.clock(), level, stream)

    async def _run(self, button: Button, handles: list[ProcessHandle]) -> None:
        self._log(button, f"Button {button.text!r}: running {' '.join(button.argv)}")

        def on_line(text: str, stream: Stream) -> None:
            self._log(button, text, LogStream.STDERR if stream is Stream.STDERR else LogStream.STDOUT)

        try:
            handle = await self._processes.start(ProcessSpec(button.argv, button.dir, button.env), on_line)
        except ProcessStartError as exc:
            self._log(button, f"Button {button.text!r}: {exc}", error=True)
            return
        handles.append(handle)
        try:
            code = await handle.wait()
        finally:
            await asyncio.shield(handle.stop(2.0))
        self._log(button, f"Button {button.text!r}: exited with code {code}", error=code != 0)

    async def close(self) -> None:
        tasks = [t for t, _ in self._running.values()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
