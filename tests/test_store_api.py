"""The record-level Python API (`Store`) on real SQLite files."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import mirror_kit
from mirror_kit import db
from mirror_kit.errors import InvalidInputError, JournalLockedError, NotFoundError, UnknownIdentityError
from mirror_kit.ids import content_hash
from mirror_kit.timeutil import format_utc


def count(j, table: str) -> int:
    return j.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- identities --------------------------------------------------------------------------------------
def test_identities_are_created_found_by_name_or_id_and_listed_by_name(journal):
    sam = journal.identities.add("sam", {"role": "partner"})
    maya = journal.identities.add("maya")
    assert journal.identities.get("maya") == maya
    assert journal.identities.get(sam.id).name == "sam"
    assert journal.identities.get(sam.id).metadata == {"role": "partner"}
    assert [i.name for i in journal.identities.rows()] == ["maya", "sam"]
    assert maya.id.startswith("i_") and maya.id != sam.id


def test_identity_ids_are_deterministic_across_files(tmp_path):
    with mirror_kit.open(tmp_path / "a.db") as a, mirror_kit.open(tmp_path / "b.db") as b:
        assert a.identities.add("maya").id == b.identities.add("maya").id


def test_duplicate_or_empty_identity_is_refused_and_exist_ok_returns_the_existing_one(journal):
    first = journal.identities.add("maya")
    with pytest.raises(InvalidInputError, match="'maya' already exists"):
        journal.identities.add("maya")
    assert journal.identities.add("maya", exist_ok=True) == first
    with pytest.raises(InvalidInputError, match="must not be empty"):
        journal.identities.add("   ")
    assert count(journal, "identities") == 1


def test_unknown_identity_error_names_it_and_lists_the_known_ones(journal):
    journal.identities.add("maya")
    journal.identities.add("sam")
    with pytest.raises(UnknownIdentityError) as info:
        journal.reflections.rows("nobody")
    assert str(info.value) == "unknown identity 'nobody' (known: maya, sam)"


# -- reflections ----------------------------------------------------------------------------------
def test_add_reflection_round_trips_every_field(journal):
    journal.identities.add("maya")
    r = journal.reflections.add(
        "maya", "Ran 5 km before work.", "2024-05-01T06:30:00Z", title="Run", tags=["running", "#Morning"],
        source="jrnl", source_id="42", visibility="shared", intensity=0.75, metadata={"mood": "good"},
    )
    got = journal.reflections.get(r.id)
    assert got.content == "Ran 5 km before work."
    assert got.created_at == datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
    assert (got.title, got.source, got.source_id, got.visibility, got.intensity) == (
        "Run", "jrnl", "42", "shared", 0.75)
    assert got.metadata == {"mood": "good"}
    assert got.tags == ["Morning", "running"]
    assert got.content_hash == content_hash("Ran 5 km before work.")
    assert got.identity_id == journal.identities.get("maya").id
    assert got.updated_at is not None and got.language is None


def test_reflection_ids_are_stable_for_the_same_input(tmp_path):
    ids = []
    for name in ("a.db", "b.db"):
        with mirror_kit.open(tmp_path / name) as j:
            j.identities.add("maya")
            ids.append(j.reflections.add("maya", "Same words.", "2024-01-01T10:00:00Z").id)
            ids.append(j.reflections.add("maya", "Other words.", "2024-01-01T10:00:00Z").id)
    assert ids[0] == ids[2] and ids[1] == ids[3] and ids[0] != ids[1]


@pytest.mark.parametrize(
    "created, tz, stored, kept",
    [
        ("2024-03-10 08:00", "Europe/Paris", "2024-03-10T07:00:00Z", "Europe/Paris"),  # winter, UTC+1
        ("2024-07-10 08:00", "Europe/Paris", "2024-07-10T06:00:00Z", "Europe/Paris"),  # summer, UTC+2
        (datetime(2024, 7, 10, 8, 0), "America/New_York", "2024-07-10T12:00:00Z", "America/New_York"),
        (datetime(2024, 7, 10, 8, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))), None,
         "2024-07-10T02:30:00Z", "+05:30"),
        ("2024-07-10T08:00:00+02:00", None, "2024-07-10T06:00:00Z", "+02:00"),
        ("2024-07-10 08:00", None, "2024-07-10T08:00:00Z", None),  # naive, no zone: read as UTC
        (date(2024, 7, 10), "Asia/Tokyo", "2024-07-10T03:00:00Z", "Asia/Tokyo"),  # a date is its noon
    ],
)
def test_naive_times_are_read_in_the_writers_zone_stored_utc_and_the_zone_kept(journal, created, tz, stored, kept):
    journal.identities.add("maya")
    r = journal.reflections.add("maya", "A day.", created, tz=tz)
    row = journal.conn.execute("SELECT created_at, tz FROM reflections WHERE id = ?", (r.id,)).fetchone()
    assert tuple(row) == (stored, kept)
    assert format_utc(r.created_at) == stored and r.tz == kept


def test_bad_reflection_fields_are_refused_by_name(journal):
    journal.identities.add("maya")
    cases = [
        (dict(content="   "), "field 'content'"),
        (dict(content="x", created_at="not a date at all"), "field 'created_at'"),
        (dict(content="x", created_at=12345), "field 'created_at'"),
        (dict(content="x", tz="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (dict(content="x", visibility="everyone"), "field 'visibility'"),
        (dict(content="x", intensity=1.5), "field 'intensity'"),
        (dict(content="x", intensity="high"), "field 'intensity'"),
    ]
    for kwargs, needle in cases:
        content = kwargs.pop("content")
        with pytest.raises(InvalidInputError, match=needle):
            journal.reflections.add("maya", content, **kwargs)
    assert count(journal, "reflections") == 0


def test_bulk_insert_returns_ids_in_order_with_tags(journal):
    journal.identities.add("maya")
    recs = [{"content": f"entry {i}", "created_at": f"2024-02-{i + 1:02d}", "tags": ["bulk", f"n{i % 2}"]}
            for i in range(10)]
    ids = journal.reflections.add_many("maya", recs)
    assert len(ids) == 10 and len(set(ids)) == 10
    assert [r.id for r in journal.reflections.rows("maya")] == ids
    assert journal.reflections.get(ids[3]).tags == ["bulk", "n1"]
    assert dict(journal.tags.counts("maya").itertuples(index=False)) == {"bulk": 10, "n0": 5, "n1": 5}
    assert journal.reflections.add_many("maya", []) == []


@pytest.mark.parametrize(
    "bad, needle",
    [
        ({"content": ""}, "reflection #3: field 'content'"),
        ({"content": "x", "visibility": "loud"}, "reflection #3: field 'visibility'"),
        ({"content": "x", "created_at": "yesterday-ish?"}, "reflection #3: field 'created_at'"),
        ({"content": "entry 1", "created_at": "2024-02-02"}, "reflection #3: duplicate of reflection #1"),
        ({"content": "x", "source": "csv", "source_id": "row-0"}, "reflection #3: duplicate of reflection #0"),
        ("just a string", "reflection #3: expected a mapping"),
    ],
)
def test_bulk_insert_is_all_or_nothing_and_names_the_bad_record(journal, bad, needle):
    journal.identities.add("maya")
    recs = [{"content": f"entry {i}", "created_at": f"2024-02-{i + 1:02d}", "tags": ["t"]} for i in range(3)]
    recs[0].update(source="csv", source_id="row-0")
    recs += [bad, {"content": "after", "created_at": "2024-03-01"}]
    with pytest.raises(InvalidInputError) as info:
        journal.reflections.add_many("maya", recs)
    assert needle in str(info.value)
    assert count(journal, "reflections") == 0
    assert count(journal, "reflection_tags") == 0


def test_bulk_conflict_with_a_stored_reflection_past_the_first_chunk_stores_nothing(journal):
    """The batch is written in chunks of 5000: a conflict in the third chunk must undo the first two."""
    journal.identities.add("maya")
    journal.reflections.add("maya", "already here", source="csv", source_id="old")
    recs = [{"content": f"entry {i}", "created_at": "2024-01-01", "source": "csv", "source_id": str(i)}
            for i in range(11_000)]
    recs[10_500]["source_id"] = "old"
    with pytest.raises(InvalidInputError, match=r"reflection #10500: source 'csv' source_id 'old' is already"):
        journal.reflections.add_many("maya", recs)
    assert count(journal, "reflections") == 1


def test_reflections_filter_by_identity_time_range_tag_and_limit(journal):
    journal.identities.add("maya")
    journal.identities.add("sam")
    journal.reflections.add_many("maya", [
        {"content": f"maya {d}", "created_at": f"2024-01-{d:02d}T23:30:00Z", "tags": ["even"] if d % 2 == 0 else []}
        for d in range(1, 11)
    ])
    journal.reflections.add("sam", "sam's only one", "2024-01-05")
    assert len(journal.reflections.rows()) == 11
    assert len(journal.reflections.rows("maya")) == 10
    days = [r.created_at.day for r in journal.reflections.rows("maya", since="2024-01-03", until="2024-01-05")]
    assert days == [3, 4, 5]  # a bare `until` date covers that whole day (23:30 included)
    assert [r.created_at.day for r in journal.reflections.rows("maya", tag="#even")] == [2, 4, 6, 8, 10]
    assert [r.created_at.day for r in journal.reflections.rows("maya", limit=2)] == [1, 2]


def test_update_reflection_changes_fields_keeps_the_id_and_sets_updated_at(journal):
    journal.identities.add("maya")
    r = journal.reflections.add("maya", "first draft", "2024-01-01 09:00", tz="Europe/Paris", tags=["a"])
    journal.conn.execute("UPDATE reflections SET updated_at = '2000-01-01T00:00:00Z' WHERE id = ?", (r.id,))
    u = journal.reflections.update(r.id, content="second draft", tags=["b", "c"], intensity=0.2)
    assert u.id == r.id
    assert u.content == "second draft" and u.content_hash == content_hash("second draft")
    assert u.tags == ["b", "c"] and u.intensity == 0.2
    assert u.created_at == r.created_at and u.tz == "Europe/Paris"
    assert u.updated_at > datetime(2020, 1, 1, tzinfo=UTC)
    moved = journal.reflections.update(r.id, created_at="2024-06-01 09:00")  # read in the kept zone (CEST)
    assert format_utc(moved.created_at) == "2024-06-01T07:00:00Z" and moved.tags == ["b", "c"]


def test_update_reflection_refuses_bad_or_unknown_fields_and_changes_nothing(journal):
    journal.identities.add("maya")
    r = journal.reflections.add("maya", "keep me", "2024-01-01", source="csv", source_id="1")
    other = journal.reflections.add("maya", "other", "2024-01-02", source="csv", source_id="2")
    before = dict(journal.conn.execute("SELECT * FROM reflections WHERE id = ?", (r.id,)).fetchone())
    with pytest.raises(InvalidInputError, match="cannot update field.*colour"):
        journal.reflections.update(r.id, colour="blue")
    with pytest.raises(InvalidInputError, match="identity_id"):
        journal.reflections.update(r.id, identity_id="i_someone_else")
    with pytest.raises(InvalidInputError, match="field 'visibility'"):
        journal.reflections.update(r.id, visibility="everyone")
    with pytest.raises(InvalidInputError, match="UNIQUE"):
        journal.reflections.update(r.id, source_id="2")
    with pytest.raises(NotFoundError):
        journal.reflections.update("r_missing", content="x")
    assert dict(journal.conn.execute("SELECT * FROM reflections WHERE id = ?", (r.id,)).fetchone()) == before
    assert journal.reflections.get(other.id).source_id == "2"


def _add_derived_rows(j, rid: str, identity_id: str, suffix: str) -> None:
    """Rows other features write about a reflection: embedding, pattern occurrence, tension observation."""
    with j.transaction() as c:
        c.execute("INSERT INTO embeddings VALUES (?, 'm', 'h', 2, x'0000803f0000803f', '2024-01-01T00:00:00Z')",
                  (rid,))
        c.execute("INSERT OR IGNORE INTO patterns (id, identity_id, label, created_at, updated_at) "
                  "VALUES ('p1', ?, 'walks', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')", (identity_id,))
        c.execute("INSERT INTO pattern_occurrences VALUES ('p1', ?, 0.9)", (rid,))
        c.execute("INSERT OR IGNORE INTO tensions (id, name, axis_a, axis_b, created_at, updated_at) "
                  "VALUES ('t1', 'solitude', 'alone', 'together', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')")
        c.execute("INSERT INTO tension_observations VALUES ('t1', ?, 0.5, 0.5, 'm', '2024-01-01T00:00:00Z')", (rid,))


def test_delete_reflection_removes_everything_derived_from_it_and_nothing_else(journal):
    maya = journal.identities.add("maya")
    gone = journal.reflections.add("maya", "to delete", "2024-01-01", tags=["shared", "only-here"])
    kept = journal.reflections.add("maya", "to keep", "2024-01-02", tags=["shared"])
    for r in (gone, kept):
        _add_derived_rows(journal, r.id, maya.id, r.id)
        journal.mirrorbacks.add(r.id, "You walked.", "echo-1")
    journal.threads.add("maya", "walks", [gone.id, kept.id])
    journal.reflections.delete(gone.id)
    for table in ("reflection_tags", "embeddings", "pattern_occurrences", "tension_observations", "mirrorbacks",
                  "thread_reflections"):
        rows = journal.conn.execute(f"SELECT reflection_id FROM {table}").fetchall()
        assert [r[0] for r in rows] == [kept.id], table
    assert journal.reflections.get(kept.id).tags == ["shared"]
    assert journal.threads.rows("maya")[0].reflection_ids == [kept.id]
    assert count(journal, "patterns") == 1 and count(journal, "tensions") == 1 and count(journal, "tags") == 2
    with pytest.raises(NotFoundError):
        journal.reflections.get(gone.id)
    with pytest.raises(NotFoundError):
        journal.reflections.delete(gone.id)


# -- tags, threads, mirrorbacks, settings ---------------------------------------------------------
def test_tag_and_untag_are_case_insensitive_and_a_string_is_one_tag(journal):
    journal.identities.add("maya")
    r = journal.reflections.add("maya", "tagged", tags="work")
    assert r.tags == ["work"]
    assert journal.tags.add(r.id, "Family", "#family", "work") == ["Family", "work"]
    assert journal.tags.remove(r.id, "FAMILY") == ["work"]
    with pytest.raises(NotFoundError):
        journal.tags.add("r_missing", "x")


def test_threads_keep_order_append_and_refuse_unknown_reflections_atomically(journal):
    journal.identities.add("maya")
    a, b, c = (journal.reflections.add("maya", f"part {i}", f"2024-01-0{i + 1}").id for i in range(3))
    t = journal.threads.add("maya", "A long week", [b, a], metadata={"k": 1})
    assert t.reflection_ids == [b, a] and t.title == "A long week" and t.metadata == {"k": 1}
    assert journal.threads.extend(t.id, c).reflection_ids == [b, a, c]
    with pytest.raises(InvalidInputError, match="r_missing"):
        journal.threads.add("maya", "broken", [a, "r_missing"])
    assert [x.title for x in journal.threads.rows("maya")] == ["A long week"]
    with pytest.raises(NotFoundError):
        journal.threads.get("t_missing")


def test_mirrorbacks_store_the_reply_model_and_validation(journal):
    journal.identities.add("maya")
    journal.identities.add("sam")
    r = journal.reflections.add("maya", "I felt stuck today.")
    s = journal.reflections.add("sam", "Good day.")
    m = journal.mirrorbacks.add(r.id, "You felt stuck.", "echo-1", valid=True, validation={"checks": ["tone"]})
    journal.mirrorbacks.add(s.id, "A good day.", "echo-1", valid=False)
    assert (m.content, m.model, m.valid, m.validation) == ("You felt stuck.", "echo-1", True, {"checks": ["tone"]})
    assert [x.id for x in journal.mirrorbacks.rows(reflection_id=r.id)] == [m.id]
    assert [x.valid for x in journal.mirrorbacks.rows(identity="sam")] == [False]
    with pytest.raises(NotFoundError):
        journal.mirrorbacks.add("r_missing", "x", "echo-1")


def test_settings_round_trip_json_values(journal):
    assert journal.settings.get("model", "default") == "default"
    journal.settings.set("model", "minilm")
    journal.settings.set("weights", {"a": [1, 2], "nan": float("nan")})
    journal.settings.set("model", "mpnet")
    assert journal.settings.get("model") == "mpnet"
    assert journal.settings.all() == {"model": "mpnet", "weights": {"a": [1, 2], "nan": None}}
    loop: list = []
    loop.append(loop)
    with pytest.raises(InvalidInputError, match="setting 'bad'"):
        journal.settings.set("bad", loop)
    assert "bad" not in journal.settings.all()


# -- analysis runs ---------------------------------------------------------------------------------
def test_a_successful_run_records_counts_duration_and_status(journal):
    journal.identities.add("maya")
    with journal.runs.record("patterns", "maya", {"k": 5}) as info:
        info["counts"]["patterns"] = 5
        info["metadata"]["note"] = "ok"
    (run,) = journal.runs.rows("patterns", "maya")
    assert run["status"] == "ok" and run["error"] is None
    assert run["parameters"] == {"k": 5} and run["counts"] == {"patterns": 5} and run["metadata"] == {"note": "ok"}
    assert run["duration_ms"] >= 0 and run["identity_id"] == journal.identities.get("maya").id


def test_a_failed_run_is_recorded_as_failed_and_its_writes_are_rolled_back(journal):
    journal.identities.add("maya")
    with pytest.raises(RuntimeError, match="boom"), journal.runs.record("tensions", "maya") as info:
        info["counts"]["scored"] = 3
        journal.conn.execute("BEGIN")  # a block that dies in the middle of its own transaction
        journal.conn.execute("INSERT INTO settings VALUES ('half', '1', '2024-01-01T00:00:00Z')")
        raise RuntimeError("boom")
    (run,) = journal.runs.rows("tensions")
    assert run["status"] == "failed" and run["error"] == "RuntimeError: boom" and run["counts"] == {"scored": 3}
    assert journal.settings.get("half") is None
    assert not journal.conn.in_transaction


def test_a_run_inside_an_outer_transaction_commits_with_it(journal):
    journal.identities.add("maya")
    with journal.transaction(), journal.runs.record("embed", "maya") as info:
        journal.settings.set("inside", True)
        info["counts"]["n"] = 1
    assert journal.runs.rows("embed")[0]["status"] == "ok" and journal.settings.get("inside") is True
    with pytest.raises(ValueError), journal.transaction(), journal.runs.record("embed", "maya"):
        journal.settings.set("inside2", True)
        raise ValueError("fails")
    assert len(journal.runs.rows("embed")) == 1 and journal.settings.get("inside2") is None


def test_a_run_whose_counts_cannot_be_stored_is_marked_failed_not_left_running(journal):
    with journal.runs.record("odd") as info:
        info["counts"] = {"x": {1, 2}}  # sets are not JSON, default=str turns them into text
        info["metadata"] = [info["metadata"]]
        info["metadata"][0]["self"] = info["metadata"]  # circular: cannot be stored
    (run,) = journal.runs.rows("odd")
    assert run["status"] == "failed" and "not JSON-serialisable" in run["error"]


# -- stats -----------------------------------------------------------------------------------------
def test_stats_counts_per_identity_with_the_date_range(journal):
    journal.identities.add("maya")
    journal.identities.add("sam")
    ids = journal.reflections.add_many("maya", [
        {"content": "a", "created_at": "2024-01-05", "tags": ["x", "y"]},
        {"content": "b", "created_at": "2023-12-31", "tags": ["x"]},
        {"content": "c", "created_at": "2024-03-01"},
    ])
    journal.mirrorbacks.add(ids[0], "reply", "echo-1")
    st = {row["name"]: row for row in journal.stats()}
    assert st["maya"]["reflections"] == 3 and st["maya"]["tags"] == 2 and st["maya"]["mirrorbacks"] == 1
    assert (st["maya"]["first"], st["maya"]["last"]) == ("2023-12-31T12:00:00Z", "2024-03-01T12:00:00Z")
    assert st["sam"]["reflections"] == 0 and st["sam"]["first"] is None


# -- connections -----------------------------------------------------------------------------------
def test_connections_use_wal_foreign_keys_and_a_busy_timeout(journal, journal_path):
    c = journal.conn
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS == 5000
    ro = db.connect(journal_path, readonly=True, busy_timeout_ms=250)
    try:
        assert ro.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert ro.execute("PRAGMA busy_timeout").fetchone()[0] == 250
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro.execute("INSERT INTO settings VALUES ('x', '1', 'now')")
    finally:
        ro.close()


def test_a_read_only_open_leaves_no_side_files_and_the_file_unchanged(tmp_path, closed_journal):
    from tests.plugins.store import snapshot

    before = snapshot(closed_journal)
    assert before["-wal"] is None and before["-shm"] is None
    with mirror_kit.open(closed_journal, readonly=True) as j:
        assert len(j.reflections.rows("maya")) == 5
    assert snapshot(closed_journal) == before


def test_a_locked_journal_gives_a_clear_locked_error_and_nothing_is_written(journal_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    j = mirror_kit.open(journal_path)
    holder = sqlite3.connect(journal_path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(JournalLockedError, match=r"locked by another process \(waited 0.1 s\)"):
            j.identities.add("maya")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert j.identities.rows() == []
    j.identities.add("maya")  # the lock is gone: writes work again
    j.close()


def test_runs_threads_and_mirrorbacks_made_in_the_same_second_keep_their_order(journal):
    journal.identities.add("maya")
    r = journal.reflections.add("maya", "one")
    for i in range(8):
        with journal.runs.record(f"step{i}", "maya"):
            pass
        journal.threads.add("maya", f"thread{i}")
        journal.mirrorbacks.add(r.id, f"reply{i}", "echo-1")
    assert [x["kind"] for x in journal.runs.rows(identity="maya")] == [f"step{i}" for i in range(8)]
    assert [t.title for t in journal.threads.rows("maya")] == [f"thread{i}" for i in range(8)]
    assert [m.content for m in journal.mirrorbacks.rows(r.id)] == [f"reply{i}" for i in range(8)]


def test_a_read_only_file_opens_with_mode_ro_even_with_odd_characters_in_its_path(tmp_path, monkeypatch):
    path = tmp_path / "my journal #1 ?.db"
    with mirror_kit.open(path) as j:
        j.identities.add("maya")
    monkeypatch.setattr(db, "_writable", lambda p: False)  # as for a file on read-only media
    with mirror_kit.open(path, readonly=True) as j:
        assert [i.name for i in j.identities.rows()] == ["maya"]
        with pytest.raises(mirror_kit.MirrorKitError, match="read-only"):
            j.identities.add("sam")
