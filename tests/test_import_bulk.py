"""A large import defers index upkeep to the end of its transaction: the journal ends up with the same
rows, indexes, trigger and full-text index as row-by-row writes, and a failure or a kill at any point
leaves the journal exactly as it was."""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.bulkload import BulkLoad
from mirror_kit.ids import normalize_text
from mirror_kit.importers import upsert
from mirror_kit.process_state import limited_csv_reader
from mirror_kit.timeutil import ISO_FORMAT, format_utc, to_utc

ROOT = Path(__file__).resolve().parents[1]
N = upsert._CHUNK * 2 + 37  # two full chunks (bulk mode) and a partial one


def _write_csv(path: Path, n: int, bad_line: int | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "title", "text", "tags", "mood"])
        for i in range(n):
            when = "not a date" if i + 2 == bad_line else f"2020-{i % 12 + 1:02d}-{i % 28 + 1:02d} 0{i % 10}:15"
            w.writerow([i, when, f"day {i}" if i % 5 == 0 else "", f"entry {i}: training by the river, calm {i % 7}",
                        "walk|River" if i % 3 else "Walk", str(i % 10)])
    return path


def _state(path: Path) -> dict:
    """Everything a bulk load may touch, in a comparable form."""
    conn = sqlite3.connect(path)
    try:
        return {
            "schema": conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall(),
            "reflections": conn.execute("SELECT id, created_at, title, content, source_id, content_hash, metadata "
                                        "FROM reflections ORDER BY id").fetchall(),
            "tags": conn.execute("SELECT rt.reflection_id, t.name FROM reflection_tags rt JOIN tags t "
                                 "ON t.id = rt.tag_id ORDER BY 1, 2").fetchall(),
            "fts": conn.execute("SELECT d.reflection_id, f.title, f.content FROM reflections_fts f "
                                "JOIN search_docs d ON d.rowid = f.rowid ORDER BY 1").fetchall(),
            "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
            # The full-text index's settings: a bulk pass's larger buffer is not left behind.
            "fts_config": conn.execute("SELECT k, v FROM reflections_fts_config ORDER BY k").fetchall(),
        }
    finally:
        conn.close()


def _import(path: Path, src: Path, **options) -> dict:
    with mirror_kit.open(path) as j:
        return j.imports.run(src, "maya", progress=False, **options)


def test_bulk_import_stores_the_same_rows_indexes_and_search_index_as_chunked_writes(tmp_path, monkeypatch):
    src = _write_csv(tmp_path / "big.csv", N)
    with mirror_kit.open(tmp_path / "bulk.db") as j:
        cache = j.execute("PRAGMA cache_size").fetchone()[0]
        assert j.imports.run(src, "maya", progress=False)["added"] == N
        assert j.execute("PRAGMA cache_size").fetchone()[0] == cache  # the page cache is back as it was
    monkeypatch.setattr(upsert, "_CHUNK", N + 1)  # one final flush: bulk mode never starts
    assert _import(tmp_path / "rows.db", src)["added"] == N
    bulk, rows = _state(tmp_path / "bulk.db"), _state(tmp_path / "rows.db")
    assert bulk["integrity"] == [("ok",)]
    assert bulk["schema"] == rows["schema"]  # every index and the trigger are back, as they were
    assert bulk["reflections"] == rows["reflections"]
    assert bulk["tags"] == rows["tags"] and len(bulk["tags"]) > N
    assert bulk["fts"] == rows["fts"] and len(bulk["fts"]) == N
    with mirror_kit.open(tmp_path / "bulk.db") as j:
        # The trigger is live again: a later single write is searchable.
        j.reflections.add("maya", "one more about mountains", "2025-01-01")
        assert j.execute("SELECT count(*) FROM reflections_fts WHERE reflections_fts MATCH 'mountains'"
                         ).fetchone()[0] == 1


def test_bad_row_after_bulk_chunks_leaves_journal_schema_and_index_unchanged(tmp_path):
    db = tmp_path / "j.db"
    _import(db, _write_csv(tmp_path / "small.csv", 20))
    before = _state(db)
    with pytest.raises(mirror_kit.MirrorKitError, match=f"line {N}: .*nothing was imported"):
        _import(db, _write_csv(tmp_path / "big.csv", N, bad_line=N), date_column="date")
    assert _state(db) == before


def test_reimport_after_bulk_import_skips_every_row(tmp_path):
    db, src = tmp_path / "j.db", _write_csv(tmp_path / "big.csv", N)
    _import(db, src)
    again = _import(db, src)
    assert (again["added"], again["skipped"], again["updated"]) == (0, N, 0)


def test_import_killed_after_bulk_index_rebuild_leaves_journal_as_before(tmp_path):
    db = tmp_path / "j.db"
    _import(db, _write_csv(tmp_path / "small.csv", 20))
    before = _state(db)
    src = _write_csv(tmp_path / "big.csv", N)
    code = f"""
        import os, signal
        import mirror_kit
        from mirror_kit import bulkload
        real = bulkload.BulkLoad.finish
        def finish(self):
            real(self)  # indexes rebuilt, search rows written, trigger restored, not yet committed
            os.kill(os.getpid(), signal.SIGKILL)
        bulkload.BulkLoad.finish = finish
        with mirror_kit.open({str(db)!r}) as j:
            j.imports.run({str(src)!r}, "maya", progress=False)
    """
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.returncode == -9, p.stderr
    assert _state(db) == before


def test_rebuilt_unique_index_refuses_a_duplicate_source_id_and_rolls_back(tmp_path):
    db = tmp_path / "j.db"
    _import(db, _write_csv(tmp_path / "small.csv", 3))
    before = _state(db)
    with mirror_kit.open(db) as j:
        bulk = BulkLoad(j.conn, db)
        with pytest.raises(mirror_kit.MirrorKitError, match="source_id '1' would be stored twice"), \
                j.transaction():
            bulk.begin()
            # A second row under a stored (identity, source, source id): only the rebuilt
            # unique index can notice it.
            j.conn.execute("INSERT INTO reflections (id, identity_id, created_at, content, source, source_id, "
                           "content_hash, updated_at) SELECT 'r_dup', identity_id, created_at, content, source, "
                           "source_id, content_hash, updated_at FROM reflections WHERE source_id = '1'")
            try:
                bulk.finish()
            finally:
                bulk.abort()
    assert _state(db) == before


def test_bulk_import_writes_new_rows_in_id_order_and_leaves_no_scratch_tables(tmp_path):
    src = _write_csv(tmp_path / "big.csv", N)
    with mirror_kit.open(tmp_path / "j.db") as j:
        assert j.imports.run(src, "maya", progress=False)["added"] == N
        # Hash ids in key order: the id index (and the tag links) grew at one end, not at random pages.
        ids = [r[0] for r in j.execute("SELECT id FROM reflections ORDER BY rowid")]
        assert len(ids) == N and ids == sorted(ids)
        assert j.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
        with pytest.raises(mirror_kit.MirrorKitError, match="nothing was imported"):
            j.imports.run(_write_csv(tmp_path / "bad.csv", N + 5, bad_line=N + 3), "ines", progress=False,
                          date_column="date")
        assert j.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
        assert j.execute("SELECT count(*) FROM reflections").fetchone()[0] == N


def test_bulk_import_without_its_scratch_tables_stores_the_same_rows(tmp_path):
    src = _write_csv(tmp_path / "big.csv", N)
    _import(tmp_path / "staged.db", src)
    with mirror_kit.open(tmp_path / "direct.db") as j:
        # A temp table of that name already on the connection: staging is skipped, not the import,
        # and the other table is left alone.
        j.execute("CREATE TEMP TABLE mirror_kit_bulk_links (x)")
        j.execute("INSERT INTO temp.mirror_kit_bulk_links VALUES (1)")
        assert j.imports.run(src, "maya", progress=False)["added"] == N
        assert [tuple(r) for r in j.execute("SELECT x FROM temp.mirror_kit_bulk_links")] == [(1,)]
        assert [r[0] for r in j.execute("SELECT name FROM sqlite_temp_master")] == ["mirror_kit_bulk_links"]
        ids = [r[0] for r in j.execute("SELECT id FROM reflections ORDER BY rowid")]
        assert ids != sorted(ids)  # stored as read: staging really was skipped
    staged, direct = _state(tmp_path / "staged.db"), _state(tmp_path / "direct.db")
    assert staged == direct


def test_bulk_import_whose_zone_changes_after_the_first_chunks_stores_what_row_writes_store(tmp_path, monkeypatch):
    src = tmp_path / "zones.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "date", "text"])
        for i in range(N):  # naive times (no zone stored), then times with an offset (zone "+02:00")
            w.writerow([i, f"2020-01-{i % 28 + 1:02d} 08:15" + ("+02:00" if i > upsert._CHUNK * 1.5 else ""),
                        f"entry {i}"])
    _import(tmp_path / "bulk.db", src)
    monkeypatch.setattr(upsert, "_CHUNK", N + 1)  # one final flush: bulk mode never starts
    _import(tmp_path / "rows.db", src)

    def zones(path: Path) -> list:
        conn = sqlite3.connect(path)
        try:
            return conn.execute("SELECT id, created_at, tz, identity_id, source, visibility, intensity, language "
                                "FROM reflections ORDER BY id").fetchall()
        finally:
            conn.close()

    bulk = zones(tmp_path / "bulk.db")
    assert bulk == zones(tmp_path / "rows.db")
    assert {r[2] for r in bulk} == {None, "+02:00"}
    assert _state(tmp_path / "bulk.db") == _state(tmp_path / "rows.db")


def test_bulk_import_keeps_a_full_text_buffer_size_set_before(tmp_path):
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.execute("INSERT INTO reflections_fts (reflections_fts, rank) VALUES ('hashsize', 2097152)")
        assert j.imports.run(_write_csv(tmp_path / "big.csv", N), "maya", progress=False)["added"] == N
        assert [tuple(r) for r in j.execute("SELECT k, v FROM reflections_fts_config ORDER BY k")] == [
            ("hashsize", 2097152), ("version", 4)]


def test_staged_row_colliding_with_a_stored_one_is_named_and_nothing_is_stored(tmp_path):
    db = tmp_path / "j.db"
    _import(db, _write_csv(tmp_path / "small.csv", 3))
    before = _state(db)
    with mirror_kit.open(db) as j:
        stored = j.execute("SELECT id, identity_id, source FROM reflections WHERE source_id = '1'").fetchone()
        row = j.reflections.encode(stored["identity_id"], {
            "content": "another text under the same key", "created_at": "2021-01-01", "source": stored["source"],
            "source_id": "1", "id": stored["id"]})
        bulk = BulkLoad(j.conn, db, j)
        with pytest.raises(mirror_kit.MirrorKitError, match="already stored.*nothing was stored"), \
                j.transaction():
            bulk.begin()
            assert bulk.stage([row])  # held back: the collision shows only when finish inserts it
            try:
                bulk.finish()
            finally:
                bulk.abort()
        assert j.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
    assert _state(db) == before


def test_batched_csv_reader_hands_out_the_same_rows_and_line_numbers_as_csv_reader():
    lines = ["id,text\n"]
    for i in range(limited_csv_reader.BATCH * 2 + 3):
        lines.append(f'{i},"two\nlines {i}"\n' if i % 7 == 0 else f"{i},one line {i}\n")
    plain, batched = csv.reader(lines), limited_csv_reader(lines, field_limit=1 << 20)
    for row in plain:
        assert next(batched) == row and batched.line_num == plain.line_num
    with pytest.raises(StopIteration):
        next(batched)


def test_batched_csv_reader_raises_a_malformed_row_after_the_good_rows_before_it():
    lines = ["a,b\n"] * 300 + ['x,"bad"quote\n'] + ["c,d\n"] * 10
    reader = limited_csv_reader(lines, field_limit=1 << 20, strict=True)
    good = []
    with pytest.raises(csv.Error):
        for row in reader:
            good.append(row)
    assert len(good) == 300 and reader.line_num == 301


def test_fast_stored_time_format_equals_strftime_with_four_digit_years_for_every_year():
    rng = random.Random(3)
    start = datetime(1, 1, 1, tzinfo=UTC)
    for _ in range(20000):
        dt = start + timedelta(seconds=rng.randrange(0, 315_537_897_599), microseconds=rng.randrange(10**6))
        # strftime's %Y is not zero-padded below year 1000; the stored form always is (it sorts).
        assert format_utc(dt) == f"{dt.year:04d}" + dt.strftime(ISO_FORMAT.removeprefix("%Y"))
    assert format_utc(datetime(99, 1, 1, 12, tzinfo=UTC)) == "0099-01-01T12:00:00Z"


def test_fast_text_normalisation_equals_line_by_line_rule():
    import unicodedata

    def rule(text: str) -> str:
        text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
        return "\n".join(line.rstrip() for line in text.split("\n")).strip()

    rng = random.Random(5)
    alphabet = ["a", " ", "\n", "\r", "\t", "\x85", "\u2028", "\u3000", "e\u0301", "\x0b", "\x1c", "\xa0", "é"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert normalize_text(text) == rule(text), repr(text)


def test_fast_flat_metadata_json_equals_the_encoder_output():
    from mirror_kit.records import _ENCODER, to_json

    rng = random.Random(7)
    alphabet = ["a", '"', "\\", "\n", "\t", "\x00", "\x7f", "é", "\u2028", "\ud800", "😀", " ", "}", "\x1f"]

    def text() -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))

    for _ in range(5000):
        meta = {text(): text() for _ in range(rng.randint(0, 4))}
        assert to_json(meta, "metadata") == _ENCODER.encode(meta), meta


def test_naive_times_are_stored_as_their_utc_reading_on_the_fast_path(tmp_path):
    rng = random.Random(11)
    with mirror_kit.open(tmp_path / "j.db") as j:
        for _ in range(3000):
            naive = datetime(rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                             rng.randint(0, 59), rng.randint(0, 59), rng.choice([0, rng.randint(0, 999_999)]))
            fast = j.reflections.encode("i_x", {"content": "x", "created_at": naive})
            slow_dt, slow_tz = to_utc(naive)  # what the general path stores
            assert (fast["created_at"], fast["tz"]) == (format_utc(slow_dt), slow_tz)


def _import_result(db: Path, src: Path) -> tuple:
    try:
        summary = _import(db, src, skip_bad=True)
    except mirror_kit.MirrorKitError as exc:
        return ("error", str(exc).replace(str(db), "DB"))
    return ("ok", summary["added"], summary["skipped"], [(r["line"], r["reason"]) for r in summary["rejected"]],
            _state(db)["reflections"])


@pytest.mark.parametrize("tail", [
    "",  # a clean file
    '9999,2021-01-01,,"a quote that never closes\n1,2,3,4,5,6\n',  # the csv module would swallow the rest
    "5,2021-01-01,,duplicate id five,,1\n",
    "77,not a date,,bad date,,1\n",
])
def test_streamed_large_csv_reads_like_the_whole_file(tmp_path, monkeypatch, tail):
    from mirror_kit.importers.csvfile import _StreamLines

    src = _write_csv(tmp_path / "f.csv", 600)
    with src.open("a", encoding="utf-8", newline="") as fh:
        fh.write('600,2021-02-03,,"two\r\nlines, café",x|y,3\n' + tail)
    whole = _import_result(tmp_path / "whole.db", src)
    monkeypatch.setattr(_StreamLines, "MIN_BYTES", 0)
    monkeypatch.setattr(_StreamLines, "BLOCK", 1000)  # lines and rows cut across blocks
    assert _StreamLines.open(src, None) is not None
    assert _import_result(tmp_path / "streamed.db", src) == whole


@pytest.mark.parametrize("skip_bad", [False, True])
def test_ids_moved_out_of_memory_still_catch_a_repeated_id_at_its_first_line(tmp_path, monkeypatch, skip_bad):
    from mirror_kit.importers import seen

    src = _write_csv(tmp_path / "f.csv", 300)
    with src.open("a", encoding="utf-8", newline="") as fh:
        fh.write("3,2021-01-01,,the id of line 5 again,,1\n299,2021-01-02,,and the last one again,,1\n")

    def run(db: Path) -> tuple:
        with mirror_kit.open(db) as j:
            try:
                s = j.imports.run(src, "maya", progress=False, skip_bad=skip_bad)
            except mirror_kit.MirrorKitError as exc:
                s = None
                out = ("error", str(exc))
            # the spilled ids leave nothing behind on the connection
            assert not j.execute("SELECT name FROM sqlite_temp_master").fetchall()
        return out if s is None else ("ok", s["added"], [(r["line"], r["reason"]) for r in s["rejected"]])

    in_memory = run(tmp_path / "a.db")
    assert "duplicate id '3' (first seen at f.csv: line 5)" in str(in_memory)
    monkeypatch.setattr(seen, "KEEP", 7)  # ids spill to the temp table every 7 entries
    assert run(tmp_path / "b.db") == in_memory


def test_spilled_ids_give_back_line_numbers_and_places_as_they_were_added(tmp_path):
    from mirror_kit.importers.seen import SeenIds

    conn = sqlite3.connect(tmp_path / "j.db", isolation_level=None)
    seen = SeenIds(conn, keep=3)
    places = {f"id{i}": (i + 2 if i % 2 else {"file": f"day{i}.md", "entry": i}) for i in range(10)}
    for sid, place in places.items():
        seen.add(sid, place)
    assert seen.recent.keys() == {"id9"}  # the rest moved to the temp table
    assert {sid: seen.get(sid) for sid in places} == places
    assert seen.get("id10") is None and seen.get("") is None
    seen.close()
    assert conn.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
