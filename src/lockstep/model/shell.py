"""When a command string needs no shell: the words `sh -c STRING` would exec, without the shell.

A `cmd` string runs as `sh -c STRING`, as in Tilt. For a string that is only
plain words (`go build ./...`, `npm run build`, `sleep 0.1`), the shell does
nothing but split it on blanks and exec the first word: starting it costs a
second exec (the shell's own) per update, about 0.2-1 ms, which in a graph of
thousands of short commands is a large share of each update. make skips the
shell the same way for commands without shell syntax.

The rule is a whitelist, so that anything the shell could interpret keeps the
shell: every character of the string is a letter, a digit, a blank or one of
`_ . / : , + @ % = -`; the first word is not a shell keyword or builtin (they
behave differently, or only exist, inside the shell; `true` and `false` alone
are the exception, their programs doing exactly the same) and does not assign a
variable (`FOO=1 cmd`). Everything else (quotes, `$`, globs, `~`, redirects,
`;`, `&&`, non-ASCII, newlines, tabs) goes to `sh -c` unchanged.

The caller still falls back to `sh -c` when the direct exec cannot start (a
script without `#!`, a missing command): the shell then reports, or runs, it
exactly as it would have (engine/runners.py).
"""

from __future__ import annotations

import re

# Plain words separated by spaces; nothing the shell would expand, quote or redirect.
_PLAIN = re.compile(r" *[A-Za-z0-9_./:,+@%=-]+(?: +[A-Za-z0-9_./:,+@%=-]+)* *")

# POSIX special builtins, regular builtins dash/bash implement in the shell, and keywords.
# `echo`, `printf`, `test`, `[`, `true`, `false`, `kill` and `pwd` exist as programs too,
# but the shell's own differ in options or output (`echo -e`, `pwd` with symlinks).
SHELL_WORDS = frozenset([
    "!", ".", ":", "[", "[[", "alias", "bg", "break", "builtin", "case", "cd", "command", "continue",
    "declare", "do", "done", "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc",
    "fg", "fi", "for", "function", "getopts", "hash", "if", "in", "jobs", "kill", "let", "local", "logout",
    "printf", "pwd", "read", "readonly", "return", "select", "set", "shift", "source", "test", "then", "time",
    "times", "trap", "true", "type", "typeset", "ulimit", "umask", "unalias", "unset", "until", "wait",
    "while",
])
# Builtins whose program does exactly the same when given no arguments (exit 0 or 1, no output).
_SAME_ALONE = frozenset(["true", "false"])


def direct_argv(script: str) -> tuple[str, ...] | None:
    """The argv `sh -c script` would exec, when the shell adds nothing; None when it may."""
    if not _PLAIN.fullmatch(script):
        return None
    words = tuple(w for w in script.split(" ") if w)
    if not words or "=" in words[0]:
        return None
    if words[0] in SHELL_WORDS and not (len(words) == 1 and words[0] in _SAME_ALONE):
        return None
    return words
