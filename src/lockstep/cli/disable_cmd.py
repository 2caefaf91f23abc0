"""`lockstep disable [--all] NAME…`."""

from __future__ import annotations

import argparse

from lockstep.cli._toggle import register_toggle
from lockstep.cli.catalog import HELP


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    register_toggle(sub, "disable", False, HELP["disable"])
