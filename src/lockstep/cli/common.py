"""Flags and helpers shared by the commands."""

from __future__ import annotations

import argparse
import os
import re

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def add_file_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", default="Tiltfile", help="path to the Tiltfile (default: ./Tiltfile)")


def tiltfile_path(args: argparse.Namespace) -> str:
    return os.path.abspath(str(args.file))


def parse_duration(text: str) -> float:
    """Go-style durations as Tilt takes them: 30m, 90s, 1h30m, or plain seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _DURATION.match(text)
    if not text or not m:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (examples: 90s, 30m, 1h30m)")
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s
