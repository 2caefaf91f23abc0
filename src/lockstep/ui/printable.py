"""Resource names as a terminal shows them.

Tilt accepts any name that is a URL path segment, so a name may hold a newline or an
escape sequence (`\x1b[2J` clears the screen). Where a name is printed as a label (the
log prefix, a table cell) its control characters are shown escaped, so one name stays
one cell on one line and cannot drive the terminal.
"""

from __future__ import annotations


def printable(name: str) -> str:
    if name.isprintable():
        return name
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
