"""`lockstep disable [--all] NAME…`."""

from __future__ import annotations

import argparse

from lockstep.cli._toggle import register_toggle


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_toggle(sub, "disable", False, "disable resources (stop them) in the running `lockstep up`")
