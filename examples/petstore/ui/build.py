"""build-sample-ui: bundle ui/src into static_site/ the way JS bundlers do.

Reads ``src/index.html``, concatenates the local scripts and stylesheets it references
(in document order) into one JS and one CSS bundle, names each after its content hash
(``assets/index-<hash>.js``, ``assets/index-<hash>.css``) and rewrites index.html to
reference them.

Then, like a bundler's "empty the output directory" step, it clears ``static_site/`` and
writes the files one by one: ``index.html`` first, then the assets. This is deliberately
*not* atomic: for a moment the directory is empty, then holds an index.html whose assets
do not exist yet. That is the window the original pipeline's image build fell into.
``PETSTORE_UI_WRITE_DELAY`` (seconds, default 0) sleeps between files to widen it, so
tests can catch a half-written site.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
OUT = HERE.parent / "static_site"

_SCRIPT = re.compile(r'[ \t]*<script\s+src="([^"]+)"\s*>\s*</script>[ \t]*\n?')
_STYLE = re.compile(r'[ \t]*<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>[ \t]*\n?')
HASH_LEN = 8


class BuildError(Exception):
    pass


def _local(ref: str) -> bool:
    return not re.match(r"^([a-z]+:)?//", ref) and not ref.startswith("/")


def _read(src: Path, ref: str) -> str:
    path = (src / ref).resolve()
    if src.resolve() not in path.parents:
        raise BuildError(f"{ref} is outside {src}")
    if not path.is_file():
        raise BuildError(f"index.html references {ref}, which does not exist in {src}")
    return path.read_text(encoding="utf-8")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_LEN]


def bundle(src: Path) -> dict[str, bytes]:
    """The output files, by relative path. Pure apart from reading src."""
    html = (src / "index.html").read_text(encoding="utf-8")
    scripts = [m for m in _SCRIPT.finditer(html) if _local(m.group(1))]
    styles = [m for m in _STYLE.finditer(html) if _local(m.group(1))]
    if not scripts or not styles:
        raise BuildError("index.html must reference at least one local script and one stylesheet")
    js = "".join(f"/* {m.group(1)} */\n{_read(src, m.group(1)).rstrip()}\n" for m in scripts)
    css = "".join(f"/* {m.group(1)} */\n{_read(src, m.group(1)).rstrip()}\n" for m in styles)
    js_bytes, css_bytes = js.encode(), css.encode()
    js_name = f"assets/index-{content_hash(js_bytes)}.js"
    css_name = f"assets/index-{content_hash(css_bytes)}.css"

    # Replace the first tag of each kind with the bundle and drop the others.
    def one_tag(matches: list[re.Match[str]], tag: str, text: str) -> str:
        first = matches[0]
        indent = re.match(r"[ \t]*", first.group(0)).group(0)  # type: ignore[union-attr]
        pieces, last = [], 0
        for m in matches:
            pieces.append(text[last : m.start()])
            if m is first:
                pieces.append(f"{indent}{tag}\n")
            last = m.end()
        pieces.append(text[last:])
        return "".join(pieces)

    html = one_tag(scripts, f'<script type="module" src="/{js_name}"></script>', html)
    styles = [m for m in _STYLE.finditer(html) if _local(m.group(1))]
    html = one_tag(styles, f'<link rel="stylesheet" href="/{css_name}">', html)
    if '<div id="root">' not in html:
        raise BuildError('index.html must contain <div id="root">')
    return {"index.html": html.encode(), js_name: js_bytes, css_name: css_bytes}


def write(out: Path, files: dict[str, bytes], delay: float) -> None:
    """Clear ``out`` and write ``files`` one at a time (index.html first), not atomically."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    order = sorted(files, key=lambda name: (name != "index.html", name))
    for index, name in enumerate(order):
        if delay and index:
            time.sleep(delay)  # widen the half-written window on purpose (PETSTORE_UI_WRITE_DELAY)
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[name])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=SRC)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    delay = float(os.environ.get("PETSTORE_UI_WRITE_DELAY", "0") or 0)
    try:
        files = bundle(args.src)
    except (BuildError, OSError) as err:
        print(f"build-sample-ui: error: {err}", file=sys.stderr)
        return 1
    write(args.out, files, delay)
    for name in sorted(files):
        print(f"  {name:<28} {len(files[name]):>7} bytes")
    print(f"build-sample-ui: {len(files)} files -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
