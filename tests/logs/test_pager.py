"""Scroll-back pages: from memory while it reaches back, then from this run's file, backwards."""

from __future__ import annotations

from pathlib import Path

from lockstep.logs.pager import lines_before
from lockstep.logs.runfile import reversed_lines
from lockstep.logs.store import LogSource, LogStore, LogStream


def fill(store: LogStore, n: int, resource: str = "r", other: str | None = None) -> None:
    for i in range(n):
        store.append(resource, LogSource.BUILD, f"line {i}", float(i), stream=LogStream.STDOUT)
        if other:
            store.append(other, LogSource.RUNTIME, f"noise {i}", float(i))


def test_page_from_memory(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), per_resource_lines=100)
    fill(store, 50)
    page = lines_before(store, ["r"], before=31, limit=10)
    assert [x.text for x in page] == [f"line {i}" for i in range(20, 30)]
    assert lines_before(store, ["r"], before=5, limit=10)[0].text == "line 0"


def test_page_from_disk_when_memory_does_not_reach(tmp_path: Path) -> None:
    store = LogStore(str(tmp_path), per_resource_lines=100)
    fill(store, 1000, other="chatty")
    oldest_in_memory = store.tail("r", 1000)[0].seq
    page = lines_before(store, ["r"], before=oldest_in_memory, limit=50)
    assert len(page) == 50
    assert page[-1].text == "line 899" and page[0].text == "line 850"
    assert page[0].stream is LogStream.STDOUT
    first = lines_before(store, ["r"], before=page[0].seq, limit=10_000)
    assert [x.text for x in first] == [f"line {i}" for i in range(850)]


def test_disk_page_stops_at_the_previous_run(tmp_path: Path) -> None:
    old = LogStore(str(tmp_path), per_resource_lines=10)
    fill(old, 30)
    old.close()
    new = LogStore(str(tmp_path), per_resource_lines=10)
    fill(new, 30)
    page = lines_before(new, ["r"], before=new.tail("r", 10)[0].seq, limit=1000)
    # Only this run's lines (seqs 1..19), not the previous run's, which reuse the same seqs.
    assert [x.text for x in page] == [f"line {i}" for i in range(20)]
    new.close()
    assert old.run_path != new.run_path


def test_disk_page_reads_only_the_resources_own_extents(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A page from disk parses the resource's own records, not the whole run file's."""
    from lockstep.logs import records

    store = LogStore(str(tmp_path), per_resource_lines=10)
    for i in range(200):
        store.append("r", LogSource.BUILD, f"line {i}", float(i))
        for k in range(20):
            store.append(f"other{k}", LogSource.RUNTIME, f"noise {i}", float(i))
        if i % 10 == 9:
            store.flush()
    parsed: list[bytes] = []
    real = records.parse
    monkeypatch.setattr(records, "parse", lambda raw: parsed.append(raw) or real(raw))
    page = lines_before(store, ["r"], before=store.tail("r", 10)[0].seq, limit=30)
    assert [x.text for x in page] == [f"line {i}" for i in range(160, 190)]
    assert len(parsed) <= 40, "the page parsed other resources' lines"
    store.close()


def test_reversed_lines_across_blocks(tmp_path: Path) -> None:
    p = tmp_path / "f"
    lines = [f"{i:06d}" + "x" * (i % 300) for i in range(3000)]
    p.write_text("\n".join(lines) + "\n")
    assert [x.decode() for x in reversed_lines(str(p))] == lines[::-1]
