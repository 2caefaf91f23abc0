"""A staged web site inside a container, as the storm tests read it: every file's text, and
why the site is not complete and consistent (its manifest names its version and files)."""

from __future__ import annotations

import json


def dump_script(root: str) -> str:
    """A shell line printing every file under `root` as `== ./path` then its text."""
    return f'cd {root} && for f in $(find . -type f | sort); do echo "== $f"; cat "$f"; echo; done'


def parse_dump(out: str) -> dict[str, str]:
    files: dict[str, str] = {}
    name = ""
    for line in out.splitlines():
        if line.startswith("== ./"):
            name = line[5:]
            files[name] = ""
        elif name:
            files[name] += line
    return files


def site_problems(files: dict[str, str], *, index_refs: bool = False) -> list[str]:
    """Why a site is not complete and consistent (empty: it is). With `index_refs`, the page
    must also reference every hashed asset the manifest lists."""
    if "manifest.json" not in files:
        return [f"no manifest.json; files: {sorted(files)}"]
    manifest = json.loads(files["manifest.json"])
    version, listed = manifest["version"], manifest["files"]
    found = []
    if sorted(files) != sorted([*listed, "manifest.json"]):
        found.append(f"files {sorted(files)} != manifest {listed}")
    for rel in listed:
        if f'"{version}"' not in files.get(rel, "") and f"/* {version} */" not in files.get(rel, ""):
            found.append(f"{rel} is not at version {version}")
    if index_refs:
        index = files.get("index.html", "")
        for asset in (a for a in listed if a.startswith("assets/")):
            if asset not in index:
                found.append(f"index.html does not reference {asset}")
    return found
