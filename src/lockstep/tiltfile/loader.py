"""The loader's entry point: evaluate a Tiltfile into a LoadResult. Never raises."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from lockstep.filecase import other_case
from lockstep.model.resource import Diagnostic, LoadResult, Resource, Settings, Severity, SourceLocation
from lockstep.tiltfile import (  # noqa: F401  (importing registers each module's builtins)
    commands,
    common,
    compose,
    config,
    core,
    docker,
    files,
    k8s,
    k8s_tools,
    live_update,
    local_resource,
    localexec,
    noop,
    osmod,
    probes,
    settings,
    v1alpha1,
)
from lockstep.tiltfile.args import TiltfileError
from lockstep.tiltfile.assemble import assemble
from lockstep.tiltfile.limits import DEFAULT_TIMEOUT, MEMORY_ENV, out_of_memory, read_text_file
from lockstep.tiltfile.loads import load_module
from lockstep.tiltfile.runtime import LoadFailed, eval_file
from lockstep.tiltfile.state import EvalState

__all__ = ["DEFAULT_TIMEOUT", "MEMORY_ENV", "load", "out_of_memory"]

# A dry run leaves out at most this many failing statements (each costs one more evaluation).
MAX_SKIPPED = 100


def load(path: str, args: Sequence[str] = (), *, dry_run: bool = False, subcommand: str = "up",
         timeout: float | None = DEFAULT_TIMEOUT, memory_mb: int | None = None) -> LoadResult:
    """Evaluate the Tiltfile at `path`. Errors come back as `LoadResult.errors`, never raised.

    `memory_mb` only words the error when memory runs out: the bound itself is set by
    the evaluation child (see `isolate`)."""
    commands.reset()
    main = os.path.abspath(path)
    if os.path.isdir(main):
        main = os.path.join(main, "Tiltfile")
    try:
        return _load(main, tuple(args), dry_run, subcommand, timeout)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # the interpreter's Rust panics are BaseExceptions
        if isinstance(exc, MemoryError) or "out of memory" in str(exc) or "capacity overflow" in str(exc):
            return out_of_memory(main, args, memory_mb)
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        # A lockstep bug must still not reach the user as a traceback.
        return LoadResult(tiltfile=main, args=tuple(args), errors=(Diagnostic(
            Severity.ERROR, f"internal error while loading the Tiltfile: {type(exc).__name__}: {exc}",
            SourceLocation(main, 1, 1), "this is a lockstep bug; please report it with the Tiltfile"),))


def _load(main: str, args: tuple[str, ...], dry_run: bool, subcommand: str,
          timeout: float | None) -> LoadResult:
    skipped: dict[str, dict[int, Diagnostic]] = {}
    started = time.monotonic()
    while True:
        st = EvalState(main_path=main, dry_run=dry_run, subcommand=subcommand, args=args, timeout=timeout,
                       skipped=skipped, started=started)
        if skipped:
            # What a skipped statement would have computed is unknown as well.
            st.missing_inputs.append("<results of skipped statements>")
        resources, final = _attempt(st, main)
        if not st.restart:
            break
        if sum(len(s) for s in skipped.values()) >= MAX_SKIPPED:
            st.error(f"{main}: dry run stopped: more than {MAX_SKIPPED} statements failed for want of "
                     "unavailable inputs", None, "provide the missing files, or run without --dry-run")
            break
    # Statements a dry run left out are reported once, in file order.
    for per_file in skipped.values():
        st.warnings.extend(per_file[line] for line in sorted(per_file))
    return _result(st, resources, final)


def _attempt(st: EvalState, main: str) -> tuple[list[Resource], Settings | None]:
    try:
        source = read_text_file(main, "Tiltfile")
    except TiltfileError as exc:
        st.watch(main)
        st.error(exc.message, None, exc.hint)
        return [], None
    except OSError as exc:
        st.watch(main)
        other = other_case(main)
        st.error(f"cannot read Tiltfile {main}: {exc.strerror}", None,
                 f"did you mean `-f {other}`?" if other else "create a Tiltfile here, or point at one with -f PATH")
        return [], None
    st.loading.append(main)
    try:
        module = eval_file(st, main, source, load_module)
        st.loaded_modules[main] = module.freeze()
    except LoadFailed:
        st.stopped_early = True
        if st.restart:
            return [], None
    return assemble(st)


def _result(st: EvalState, resources: list[Resource], final: Settings | None) -> LoadResult:
    return LoadResult(
        tiltfile=st.main_path,
        resources=tuple(resources),
        images=tuple(st.images),
        config_files=tuple(st.config_files),
        settings=final or Settings(),
        enabled_resources=st.enabled_resources,
        warnings=tuple(st.warnings),
        errors=tuple(st.errors),
        local_commands=tuple(st.local_commands),
        args=st.args,
        printed=tuple(st.printed),
        api_objects=tuple(st.api_objects),
    )
