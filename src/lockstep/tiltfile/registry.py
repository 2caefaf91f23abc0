"""The table of builtins. Each API module registers its functions here with `@builtin`.

A builtin declares Tilt's parameter names in positional order and how many are
required; `runtime` binds arguments against that before the function runs.
Dotted names (`os.path.join`) are exposed through namespaces the prelude builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lockstep.tiltfile.args import Args
from lockstep.tiltfile.state import EvalState

BuiltinFn = Callable[[EvalState, Args], object]


@dataclass(frozen=True)
class Builtin:
    name: str
    params: tuple[str, ...]
    required: int
    fn: BuiltinFn
    # Needs its call site (resources, warnings): wrapped in Starlark to pass call_stack().
    located: bool
    # A namespace attribute computed once per module (config.main_path), not a function.
    value: bool = False
    # Accepts any keyword (v1alpha1.* objects are recorded, not interpreted).
    loose: bool = False
    # Returns `values.value_struct(...)`: the prelude makes it a struct with readable attributes.
    struct: bool = False
    # At most this many positional arguments (None: all parameters), as Tilt limits some.
    positional: int | None = None

    @property
    def internal(self) -> str:
        return "_lk_" + self.name.lstrip("_").replace(".", "_")


REGISTRY: dict[str, Builtin] = {}


def builtin(name: str, params: str = "", required: int = 0, *, located: bool = False,
            value: bool = False, loose: bool = False, struct: bool = False,
            positional: int | None = None) -> Callable[[BuiltinFn], BuiltinFn]:
    def register(fn: BuiltinFn) -> BuiltinFn:
        REGISTRY[name] = Builtin(name, tuple(params.split()), required, fn, located, value, loose, struct,
                                 positional)
        return fn

    return register


# Names of builtins Tilt once had and removed (so "unknown name" can say so).
UNSUPPORTED = ("set_setting",)
