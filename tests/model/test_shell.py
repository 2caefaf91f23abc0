"""Which command strings skip the shell, and that the words are the ones the shell itself would exec."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lockstep.model.resource import Cmd
from lockstep.model.shell import SHELL_WORDS, direct_argv


@pytest.mark.parametrize(("script", "words"), [
    ("go build ./...", ("go", "build", "./...")),
    ("  npm   run build ", ("npm", "run", "build")),
    ("sleep 0.05", ("sleep", "0.05")),
    ("./gradlew :app:assemble --info", ("./gradlew", ":app:assemble", "--info")),
    ("cc -O2 -o out/a.out a.c -DX=1", ("cc", "-O2", "-o", "out/a.out", "a.c", "-DX=1")),
    ("true", ("true",)),
    ("false", ("false",)),
])
def test_plain_words_are_exec_directly(script: str, words: tuple[str, ...]) -> None:
    assert direct_argv(script) == words


@pytest.mark.parametrize("script", [
    "", "   ",
    "make build && ./run",      # a list
    "echo $HOME",               # an expansion (and a builtin)
    "ls *.go",                  # a glob
    "cat ~/x",                  # a tilde
    "go test > out.txt",        # a redirect
    "sleep 1; sleep 2",
    "printf 'a b'",             # quotes
    'echo "x"',
    "run\tthis",                # a tab
    "run\nthat",                # two commands
    "a\\ b",                    # an escape
    "FOO=1 make",               # an assignment
    "cd web",                   # builtins and keywords
    "export X",
    "exit 3",
    "true --help",              # the program differs from the builtin once given arguments
    "echo -e hi",
    "if",
    "café build",               # non-ASCII: left to the shell and the locale
    "run #comment",
    "ls [ab]",
    "x & y",
])
def test_anything_the_shell_could_interpret_keeps_the_shell(script: str) -> None:
    assert direct_argv(script) is None


def test_every_shell_word_keeps_the_shell_with_arguments() -> None:
    for word in SHELL_WORDS:
        assert direct_argv(f"{word} x") is None, word


def test_a_list_command_is_never_rewritten() -> None:
    assert Cmd(("make", "build")).direct_argv is None
    assert Cmd(("sh", "-c", "make build")).direct_argv == ("make", "build")
    assert Cmd(("sh", "-c", "make | tee")).direct_argv is None


def _shell_words(script: str) -> tuple[str, ...]:
    """The words the shell itself makes of `script` (as the arguments of `set --`)."""
    out = subprocess.run(["sh", "-c", f'set -- {script}\nprintf "%s\\0" "$@"'], capture_output=True, check=True)
    return tuple(out.stdout.decode().split("\0")[:-1])


_SAFE = "abcXYZ019_./:,+@%=-"
_UNSAFE = "$*?~'\"\\;&|<>(){}[]#!\t\né"


def _scripts(chars: str) -> st.SearchStrategy[str]:
    word = st.text(st.sampled_from(list(chars)), min_size=1, max_size=6)
    return st.lists(st.tuples(st.sampled_from([" ", "  "]), word), min_size=1, max_size=5).map(
        lambda parts: "".join(sep + w for sep, w in parts))


@settings(max_examples=150)
@given(_scripts(_SAFE))
def test_the_direct_words_are_the_shells_own_words(script: str) -> None:
    words = direct_argv(script)
    if words is not None:
        assert words == _shell_words(script)


@given(_scripts(_SAFE + _UNSAFE))
def test_a_character_outside_the_whitelist_always_keeps_the_shell(script: str) -> None:
    if any(c in _UNSAFE for c in script):
        assert direct_argv(script) is None
