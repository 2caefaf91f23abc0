"""Ignore patterns with .dockerignore / .tiltignore semantics, plus built-ins: the pure matcher.

Pattern rules (moby/patternmatcher, which Tilt uses for `ignore=` and
.tiltignore):

- patterns are relative to `base_dir`; a leading `/` means the same thing
  (the base), and a trailing `/` is dropped (`foo/` == `foo`);
- `*` matches within one path component, `?` one character, `[...]` a class,
  `**` any number of components (including none), `\\` escapes;
- a pattern that matches a directory matches everything beneath it;
- `!pattern` re-includes; the last matching pattern wins;
- unlike .gitignore there is no implicit `**/`: `*.pyc` only matches at the
  base. Write `**/*.pyc` for every level.

Absolute patterns: Tilt lets `ignore=` name absolute paths. A pattern is
taken as absolute when it lies under `base_dir` or its first component is one
of `root_dirs`, the directories at the filesystem root (`/tmp/...`,
`/home/...`); otherwise the leading `/` is the dockerignore "root of the
context" form. Which directories exist is a fact about the machine, so the
caller observes it (`lockstep.watch.ignore.filesystem_roots`) and passes it
in: this module never touches the filesystem, which lets the reducers use it.

Built-ins (always on, not negatable): `.git` directories anywhere, and the
temporary files editors write next to the file being saved (`editor_temp`).
"""

from __future__ import annotations

# posixpath, not os.path: pure string operations on the POSIX paths the
# engine deals in, with no access to the process's working directory.
import posixpath
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

# Editor droppings, the same list as Tilt's built-in "ephemeral" ignores (so a Tiltfile
# triggers on exactly the files it triggers on under Tilt), matched on the file name:
#   vim:       `4913` (its write-permission probe), `*~` backups, `.*.swp` `.*.swx` `.*.swo`
#              `.*.swn` swap files (only the first few of vim's swap names: `.swf`, `.swi`
#              and the like are real file types);
#   emacs:     `.#*` lock links, `#*#` autosaves, `flymake_*.*` syntax-check copies;
#   JetBrains: `*___jb_tmp___` / `*___jb_old___` safe-write files, and the `.idea` directory;
#   kate:      `.*.kate-swp`;
#   go:        `*-go-tmp-umask` (written and removed at once by the go tool).
# Not in it, as in Tilt: `sed -i`'s `sedXXXXXX` (renamed over the edited file, which changes
# too, so the update is due anyway) and `*.tmp` (too common a name for real files).
_BUILTIN_NAMES = re.compile(
    r"""(?x)^(?:
        4913 | .*~ | \..*\.sw[pxon]
        | \.\#.* | \#.*\# | flymake_.*\..*
        | .*___jb_(?:tmp|old)___
        | \..*\.kate-swp
        | .*-go-tmp-umask
    )$"""
)
_EDITOR_DIRS = frozenset({".idea"})
_BUILTIN_DIRS = frozenset({".git"}) | _EDITOR_DIRS


def editor_temp(abs_path: str) -> bool:
    """Whether `abs_path` is an editor's temporary or lock file (or inside `.idea`): never
    worth an update, and never synced into a container."""
    parts = abs_path.split("/")
    return bool(_BUILTIN_NAMES.match(parts[-1])) or not _EDITOR_DIRS.isdisjoint(parts)


def _translate(pattern: str) -> str:
    """A dockerignore pattern (already cleaned, relative) as a regex body."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")  # `**/` : zero or more whole components
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            negated_class = pattern.startswith(("[!", "[^"), i)
            end = pattern.find("]", i + 2 if negated_class else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    # A match on a directory covers everything beneath it.
    return "".join(out) + "(?:/.*)?"


@dataclass(frozen=True)
class _Rule:
    negate: bool
    absolute: bool
    regex: re.Pattern[str]
    # Components, for the conservative "could this match under dir D?" test.
    parts: tuple[str, ...]


class IgnoreMatcher:
    def __init__(
        self,
        base_dir: str,
        patterns: Iterable[str] = (),
        *,
        builtins: bool = True,
        root_dirs: Collection[str] = (),
    ) -> None:
        # base_dir is absolute (the caller resolved it); normalised here as a string.
        self.base_dir = posixpath.normpath(base_dir)
        self._builtins = builtins
        self._root_dirs = frozenset(root_dirs)
        self._rules: list[_Rule] = []
        for raw in patterns:
            rule = self._compile(raw)
            if rule is not None:
                self._rules.append(rule)
        self._has_negation = any(r.negate for r in self._rules)

    def _compile(self, raw: str) -> _Rule | None:
        pat = raw.strip()
        negate = pat.startswith("!")
        if negate:
            pat = pat[1:].strip()
        if not pat:
            return None
        absolute = self._is_absolute(pat)
        if absolute:
            pat = posixpath.normpath(pat)
        else:
            pat = posixpath.normpath(pat.lstrip("/"))
            if pat in (".", ""):
                return None
            if pat.startswith("../"):
                # Outside the base: resolve to an absolute pattern.
                pat = posixpath.normpath(posixpath.join(self.base_dir, pat))
                absolute = True
        return _Rule(negate, absolute, re.compile(_translate(pat)), tuple(pat.strip("/").split("/")))

    def _is_absolute(self, pat: str) -> bool:
        if not pat.startswith("/"):
            return False
        if pat == self.base_dir or pat.startswith(self.base_dir.rstrip("/") + "/"):
            return True
        first = pat.lstrip("/").split("/", 1)[0]
        return bool(first) and not any(ch in first for ch in "*?[\\") and first in self._root_dirs

    def _rel(self, abs_path: str) -> str | None:
        base = self.base_dir
        if abs_path == base:
            return "."
        if base == "/":
            return abs_path[1:]
        if abs_path.startswith(base + "/"):
            return abs_path[len(base) + 1 :]
        return None

    def _builtin(self, abs_path: str) -> bool:
        if not self._builtins:
            return False
        parts = abs_path.split("/")
        if _BUILTIN_DIRS.intersection(parts):
            return True
        return bool(_BUILTIN_NAMES.match(parts[-1]))

    def matches(self, abs_path: str) -> bool:
        """Whether `abs_path` (a file or directory) is ignored."""
        abs_path = posixpath.normpath(abs_path)
        if self._builtin(abs_path):
            return True
        rel = self._rel(abs_path)
        for rule in reversed(self._rules):
            subject = abs_path if rule.absolute else rel
            if subject is not None and rule.regex.fullmatch(subject):
                return not rule.negate
        return False

    def matches_dir(self, abs_dir: str) -> bool:
        """Whether the whole tree at `abs_dir` is ignored, so a watcher may skip it.

        Conservative: False whenever some `!` pattern might re-include a path
        beneath it.
        """
        abs_dir = posixpath.normpath(abs_dir)
        if self._builtins and _BUILTIN_DIRS.intersection(abs_dir.split("/")):
            return True
        if not self.matches(abs_dir):
            return False
        if not self._has_negation:
            return True
        rel = self._rel(abs_dir)
        for rule in self._rules:
            if not rule.negate:
                continue
            subject = abs_dir if rule.absolute else rel
            if subject is None:
                continue
            if _could_match_below(rule.parts, tuple(subject.strip("/").split("/"))):
                return False
        return True


def _could_match_below(pattern: Sequence[str], dir_parts: Sequence[str]) -> bool:
    """Could `pattern` match some path strictly inside the directory `dir_parts`?"""
    for i, d in enumerate(dir_parts):
        if i >= len(pattern):
            return True  # matched a parent: conservatively yes
        p = pattern[i]
        if "**" in p:
            return True
        if not re.fullmatch(_translate(p)[: -len("(?:/.*)?")], d):
            return False
    return len(pattern) > len(dir_parts)


class AnyMatcher:
    """The union of several matchers (a path is ignored if any ignores it)."""

    def __init__(self, matchers: Sequence[IgnoreMatcher]) -> None:
        self._matchers = tuple(matchers)

    def matches(self, abs_path: str) -> bool:
        return any(m.matches(abs_path) for m in self._matchers)

    def matches_dir(self, abs_dir: str) -> bool:
        return any(m.matches_dir(abs_dir) for m in self._matchers)
