"""Lines that tests want in pytest's closing summary (e.g. the corpus pass count)."""

LINES: list[str] = []
