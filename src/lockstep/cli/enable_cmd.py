"""`lockstep enable [--all|--only] NAME…`."""

from __future__ import annotations

import argparse

from lockstep.cli._toggle import register_toggle


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_toggle(sub, "enable", True, "enable resources in the running `lockstep up`")
