"""Language-level builtins: print, fail, warn, exit, blob, and the hooks the prelude uses."""

from __future__ import annotations

from lockstep.tiltfile.args import Args, TiltfileError
from lockstep.tiltfile.registry import builtin
from lockstep.tiltfile.state import EvalState


@builtin("_print", "text")
def _print(st: EvalState, a: Args) -> None:
    # Shadowing Starlark's print keeps output out of the process's stdout (the
    # Rust print writes there directly) and in the LoadResult, where views show it.
    st.printed.append(a.string("text"))


@builtin("_fail", "msg", located=True)
def _fail(st: EvalState, a: Args) -> None:
    raise TiltfileError(f"fail(): {a.string('msg')}",
                        hint="the Tiltfile stopped itself: satisfy the condition it checks")


@builtin("warn", "msg", 1, located=True)
def _warn(st: EvalState, a: Args) -> None:
    st.warn(a.string("msg"), st.call_location)


@builtin("exit", "code")
def _exit(st: EvalState, a: Args) -> None:
    # Tilt's exit() ends evaluation early and keeps what was registered so far.
    code = a.raw("code")
    if code not in (None, 0):
        st.printed.append(str(code))
    st.exited = True
    raise TiltfileError("exit() called")


@builtin("blob", "contents", 1)
def _blob(st: EvalState, a: Args) -> str:
    text = a.string("contents")
    st.blobs.add(text)
    return text


@builtin("_w2r_registered", "stack")
def _w2r_registered(st: EvalState, a: Args) -> None:
    # The function itself stays in the module's `_lk_w2r` list; assembly calls it
    # through `_lk_call_w2r` on the frozen module once all workloads are known.
    st.w2r_modules.append(st.frame.path)


@builtin("_call_dynamic", "slot", loose=True)
def _call_dynamic(st: EvalState, a: Args) -> object:
    slot = a.raw("slot")
    if not isinstance(slot, int) or slot >= len(st.dynamic_functions):
        raise TiltfileError("call of an unbound load_dynamic() function")
    module, name = st.dynamic_functions[slot]
    args = [v for k, v in sorted(a.values.items(), key=lambda kv: kv[0].zfill(9)) if k.isdigit()]
    kwargs = {k: v for k, v in a.values.items() if k != "slot" and not k.isdigit()}
    return module.call(name, *args, **kwargs)  # type: ignore[attr-defined]


@builtin("set_team", "team_id", 1)
def _set_team(st: EvalState, a: Args) -> None:
    team = a.string("team_id")
    if not team:
        raise TiltfileError("set_team(): team_id cannot be empty", hint="pass the team id, or drop the call")
    if st.settings.get("team_id"):
        raise TiltfileError(f"set_team(): team_id set twice ({st.settings['team_id']!r} and {team!r})",
                            hint="call set_team() once")
    st.settings["team_id"] = team
