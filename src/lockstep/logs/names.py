"""Log file names for resource names: flat, portable and reversible.

Resource names may hold '/', ':', spaces or any Unicode. Each UTF-8 byte
outside [A-Za-z0-9_-] becomes %XX (always two hex digits, so the encoding is
prefix-free: "🚀" and "\\x1f680" cannot meet, as they did when code points were
written with a variable number of digits). A name whose encoding would pass
the file-system's 255-byte limit keeps a readable prefix plus a hash of the
whole name: still one file per name.
"""

from __future__ import annotations

import hashlib
import re

SUFFIX = ".jsonl"
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
# Each byte's spelling in a file name, looked up rather than tested byte by byte.
_SPELLING = tuple(chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256))
_MAX = 200  # bytes of encoded name, leaving room for the suffix under NAME_MAX (255)
# A name that is its own encoding (the usual case): no per-byte work at all.
_PLAIN = re.compile(rf"[A-Za-z0-9_-]{{1,{_MAX}}}")


def encode(resource: str) -> str:
    if _PLAIN.fullmatch(resource):
        return resource + SUFFIX
    raw = resource.encode("utf-8", "surrogatepass")
    out = "".join([_SPELLING[b] for b in raw]) or "%"
    if len(out) > _MAX:
        digest = hashlib.sha256(raw).hexdigest()[:32]
        out = out[: _MAX - 34] + "~~" + digest
    return out + SUFFIX


def decode(file_name: str) -> str | None:
    """The resource name a file holds, or None for a hashed (too long) or foreign name."""
    if not file_name.endswith(SUFFIX) or "~~" in file_name:
        return None
    body = file_name[: -len(SUFFIX)]
    if body == "%":
        return ""
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "%":
            pair = body[i + 1 : i + 3]
            if len(pair) != 2 or not all(c in "0123456789ABCDEF" for c in pair):
                return None
            out.append(int(pair, 16))
            i += 3
        else:
            out += body[i].encode()
            i += 1
    try:
        return out.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
