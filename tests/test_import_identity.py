"""An imported entry's identity when its key changes: notes moved or renamed in a vault, CSV ids
scoped to their file, sources named differently by earlier versions; never a duplicate, never an
overwrite of another entry, re-imports idempotent, stored ids kept."""

from __future__ import annotations

import json
import sqlite3

import mirror_kit
from mirror_kit.collections.identities import identity_id_for
from mirror_kit.collections.reflections import reflection_id_for

from .plugins.imports import JrnlJournal
from .plugins.store import run_cli


def _rows(db) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, source, source_id, content, created_at, metadata FROM reflections "
                           "ORDER BY created_at, content").fetchall()
    finally:
        con.close()


def _cli_import(db, *args: str, env: dict | None = None) -> dict:
    proc = run_cli("--db", str(db), "import", *args, "--identity", "maya", "--json", cwd=db.parent, env=env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def _vault(tmp_path):
    vault = tmp_path / "vault"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "Inbox").mkdir()
    (vault / "Inbox" / "2024-03-01.md").write_text("Walked to the sea. #walk\n", encoding="utf-8")
    (vault / "Inbox" / "2024-03-02.md").write_text("Rain all day, read a book.\n", encoding="utf-8")
    return vault


def test_a_note_moved_to_another_folder_keeps_its_reflection_and_its_path_is_updated(tmp_path):
    vault = _vault(tmp_path)
    db = tmp_path / "j.db"
    assert _cli_import(db, str(vault))["added"] == 2
    before = {r[3]: r for r in _rows(db)}
    (vault / "Archive" / "2024").mkdir(parents=True)
    (vault / "Inbox" / "2024-03-01.md").rename(vault / "Archive" / "2024" / "2024-03-01.md")
    (vault / "Inbox" / "2024-03-02.md").rename(vault / "Inbox" / "rainy day 2024-03-02.md")
    s = _cli_import(db, str(vault))
    assert (s["added"], s["updated"], s["skipped"]) == (0, 2, 0)
    after = {r[3]: r for r in _rows(db)}
    assert set(after) == set(before)
    walk = after["Walked to the sea. #walk"]
    assert walk[0] == before["Walked to the sea. #walk"][0]  # same reflection: its analyses stay attached
    assert walk[2] == "Archive/2024/2024-03-01.md" and json.loads(walk[5])["file"] == walk[2]
    assert after["Rain all day, read a book."][2] == "Inbox/rainy day 2024-03-02.md"
    s = _cli_import(db, str(vault))
    assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 2)


def test_a_note_moved_and_edited_is_recognised_by_its_front_matter_id(journal, tmp_path):
    vault = _vault(tmp_path)
    (vault / "Inbox" / "idea.md").write_text("---\nid: 20240305-idea\ndate: 2024-03-05\n---\nA first idea.\n")
    journal.imports.run(vault, "maya")
    stored = {r.source_id: r.id for r in journal.reflections.rows("maya")}
    (vault / "Inbox" / "idea.md").unlink()
    (vault / "Projects").mkdir()
    (vault / "Projects" / "big idea.md").write_text(
        "---\nid: 20240305-idea\ndate: 2024-03-05\n---\nA first idea, grown into a plan.\n")
    s = journal.imports.run(vault, "maya")
    assert (s["added"], s["updated"]) == (0, 1)
    idea = [r for r in journal.reflections.rows("maya") if r.source_id == "Projects/big idea.md"]
    assert [(r.id, r.content) for r in idea] == [(stored["Inbox/idea.md"], "A first idea, grown into a plan.")]
    assert len(journal.reflections.rows("maya")) == 3


def test_a_note_moved_and_edited_without_an_id_or_copied_is_a_new_note(journal, tmp_path):
    vault = _vault(tmp_path)
    journal.imports.run(vault, "maya")
    (vault / "Inbox" / "2024-03-01.md").rename(vault / "moved 2024-03-01.md")
    (vault / "moved 2024-03-01.md").write_text("Walked to the sea, then swam.\n")
    # A copy: the original is still where it was, so the copy is another note.
    (vault / "copy 2024-03-02.md").write_text("Rain all day, read a book.\n")
    s = journal.imports.run(vault, "maya")
    assert (s["added"], s["updated"]) == (2, 0)
    assert sorted(r.source_id for r in journal.reflections.rows("maya")) == [
        "Inbox/2024-03-01.md", "Inbox/2024-03-02.md", "copy 2024-03-02.md", "moved 2024-03-01.md"]


def test_two_csv_files_numbering_rows_from_one_both_import_fully_and_never_overwrite(tmp_path):
    a = tmp_path / "gratitude.csv"
    a.write_text("id,date,text\n1,2024-01-01,Walked the dog.\n2,2024-01-02,Rain all day.\n")
    b = tmp_path / "work log.csv"
    b.write_text("id,date,text\n1,2024-02-01,Taxes filed online.\n2,2024-02-02,Rain all day again.\n")
    db = tmp_path / "j.db"
    assert [_cli_import(db, str(f))["added"] for f in (a, b)] == [2, 2]
    rows = _rows(db)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("csv:id:gratitude.csv", "1", "Walked the dog."), ("csv:id:gratitude.csv", "2", "Rain all day."),
        ("csv:id:work log.csv", "1", "Taxes filed online."), ("csv:id:work log.csv", "2", "Rain all day again.")]
    for f in (a, b):
        s = _cli_import(db, str(f))
        assert (s["added"], s["updated"], s["skipped"], s["conflicts"]) == (0, 0, 2, 0)
    assert _rows(db) == rows


def test_a_source_label_applies_to_csv_only_and_must_not_be_empty(journal, tmp_path):
    from mirror_kit.errors import InvalidInputError

    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "2024-01-01.md").write_text("x")
    f = tmp_path / "a.csv"
    f.write_text("id,date,text\n1,2024-01-01,x\n")
    for path, label, needle in ((tmp_path / "n", "diary", "only applies to CSV"), (f, " ", "must not be empty")):
        try:
            journal.imports.run(path, "maya", source_label=label)
            raise AssertionError("accepted")
        except InvalidInputError as exc:
            assert needle in str(exc)
    assert len(journal.reflections) == 0


def test_csv_rows_stored_before_ids_were_scoped_keep_their_ids_and_updates(tmp_path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:  # as an earlier version stored `diary.csv`: source `csv:id`
        j.identities.add("maya")
        j.reflections.add_many("maya", [
            {"content": "Walked the dog in the park.", "created_at": "2024-01-01", "source": "csv:id", "source_id": "1"},
            {"content": "Rain all day.", "created_at": "2024-01-02", "source": "csv:id", "source_id": "2"}])
    old_ids = [reflection_id_for(identity_id_for("maya"), "csv:id", k, "", "") for k in ("1", "2")]
    assert [r[0] for r in _rows(db)] == old_ids
    diary = tmp_path / "diary.csv"
    diary.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park at dawn.\n2,2024-01-02,Rain all day.\n")
    s = _cli_import(db, str(diary))
    assert (s["added"], s["updated"], s["skipped"]) == (0, 1, 1)
    rows = _rows(db)
    assert [(r[0], r[1], r[3]) for r in rows] == [
        (old_ids[0], "csv:id:diary.csv", "Walked the dog in the park at dawn."),
        (old_ids[1], "csv:id:diary.csv", "Rain all day.")]
    assert _cli_import(db, str(diary))["skipped"] == 2
    # Another file with the same ids: all its rows are new, the diary's untouched.
    other = tmp_path / "other.csv"
    other.write_text("id,date,text\n1,2024-01-01,Quarterly taxes filed.\n2,2024-01-02,Rain all day.\n")
    assert _cli_import(db, str(other))["added"] == 1  # row 2 is the very row held from diary.csv
    assert {r[:4] for r in rows} < {r[:4] for r in _rows(db)} and len(_rows(db)) == 3


def test_legacy_csv_row_of_an_unrelated_file_is_not_taken_over(journal, tmp_path):
    journal.identities.add("maya")
    journal.reflections.add_many("maya", [
        {"content": "Walked the dog in the park.", "created_at": "2024-01-01", "source": "csv:id", "source_id": "1"}])
    f = tmp_path / "taxes.csv"
    f.write_text("id,date,text\n1,2024-01-01,Quarterly taxes filed online.\n1b,2024-03-01,Walked the dog in the park.\n")
    s = journal.imports.run(f, "maya")
    assert (s["added"], s["updated"], s["conflicts"]) == (2, 0, 0)
    got = sorted((r.source, r.source_id, r.content) for r in journal.reflections.rows("maya"))
    assert got == [("csv:id", "1", "Walked the dog in the park."),
                   ("csv:id:taxes.csv", "1", "Quarterly taxes filed online."),
                   ("csv:id:taxes.csv", "1b", "Walked the dog in the park.")]


def _legacy_copy(tmp_path, journal_file, db):
    """`db` holding `journal_file`'s entries as an earlier version stored them: source `jrnl:journal`."""
    with mirror_kit.open(tmp_path / "now.db") as j:
        j.imports.run(journal_file, "maya")
        recs = [{"content": r.content, "created_at": r.created_at.replace(tzinfo=None), "tz": r.tz, "title": r.title, "tags": r.tags,
                 "source": "jrnl:journal", "source_id": r.source_id, "metadata": r.metadata}
                for r in j.reflections.rows("maya")]
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        return j.reflections.add_many("maya", recs)


def test_a_jrnl_journal_stored_under_its_old_source_is_updated_not_added_again(tmp_path):
    jr = JrnlJournal(tmp_path / "home")
    jr.write("2024-03-01 09:00: Morning walk. By the river.")
    jr.write("2024-03-02 21:30: Evening. Long talk with Sam.")
    db = tmp_path / "j.db"
    ids = _legacy_copy(tmp_path, jr.file, db)
    jr.edit("2024-03-02", "s/Long talk/Long call/")
    s = _cli_import(db, str(jr.file))
    assert (s["source"], s["added"], s["updated"], s["skipped"]) == ("jrnl:default", 0, 1, 1)
    rows = _rows(db)
    assert sorted(r[0] for r in rows) == sorted(ids) and {r[1] for r in rows} == {"jrnl:default"}
    assert any("Long call with Sam" in r[3] for r in rows)
    s = _cli_import(db, str(jr.export_json(tmp_path / "default.json")))
    assert (s["added"], s["updated"], s["skipped"]) == (0, 0, 2)


def test_an_old_source_that_names_another_configured_journal_is_not_taken(tmp_path):
    jr = JrnlJournal(tmp_path / "home")
    jr.write("2024-03-01 09:00: Morning walk. By the river.")
    db = tmp_path / "j.db"
    ids = _legacy_copy(tmp_path, jr.file, db)
    # `journal` is a journal of its own in this config: its entries are not the default journal's.
    cfg = jr.config.read_text()
    jr.config.write_text(cfg.replace("journals:\n", f"journals:\n  journal:\n    journal: {jr.root / 'j2.txt'}\n"))
    s = _cli_import(db, str(jr.file), env={k: jr.env[k] for k in ("HOME", "XDG_CONFIG_HOME")})
    # Same text and minute in two configured journals: each journal's own entry, as for any two.
    assert (s["added"], s["updated"]) == (1, 0)
    assert sorted(r[1] for r in _rows(db)) == ["jrnl:default", "jrnl:journal"]
    assert [r[0] for r in _rows(db) if r[1] == "jrnl:journal"] == ids


def test_identical_entries_of_two_unconfigured_jrnl_exports_are_reported_not_merged_silently(journal, tmp_path):
    for name, day in (("alpha", "2024-03-01"), ("beta", "2024-03-01"), ("gamma", "2024-04-01")):
        (tmp_path / f"{name}.json").write_text(json.dumps({"tags": {}, "entries": [
            {"date": day, "time": "09:00", "title": "Same words.", "body": "", "tags": [], "starred": False}]}))
    assert journal.imports.run(tmp_path / "alpha.json", "maya")["added"] == 1
    s = journal.imports.run(tmp_path / "beta.json", "maya")
    assert (s["added"], s["skipped"]) == (0, 1)
    assert any("jrnl:alpha" in w and "1 of 1 entries" in w for w in s["warnings"])
    s = journal.imports.run(tmp_path / "gamma.json", "maya")  # another minute: another entry
    assert (s["added"], s["warnings"]) == (1, [])


def test_a_renamed_csv_file_keeps_its_entries_and_applies_edits(tmp_path):
    f = tmp_path / "diary.csv"
    f.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park.\n2,2024-01-02,Rain all day.\n")
    db = tmp_path / "j.db"
    _cli_import(db, str(f))
    ids = [r[0] for r in _rows(db)]
    renamed = f.rename(tmp_path / "diary 2024.csv")
    renamed.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park at dawn.\n2,2024-01-02,Rain all day.\n"
                       "3,2024-01-03,Quarterly taxes.\n")
    s = _cli_import(db, str(renamed))
    assert (s["added"], s["updated"], s["skipped"]) == (1, 1, 1)
    rows = _rows(db)
    assert [r[0] for r in rows[:2]] == ids and {r[1] for r in rows} == {"csv:id:diary 2024.csv"}
    assert rows[0][3] == "Walked the dog in the park at dawn."
    assert _cli_import(db, str(renamed))["skipped"] == 3


def test_csv_rows_with_the_same_text_and_day_under_two_ids_stay_two_entries(journal, tmp_path):
    f = tmp_path / "moods.csv"
    f.write_text("id,date,text\n1,2024-01-02,Rain.\n2,2024-01-02,Rain.\n")
    assert journal.imports.run(f, "maya")["added"] == 2
    f.write_text("id,date,text\n1,2024-01-02,Rain.\n2,2024-01-02,Rain.\n3,2024-01-02,Rain.\n")
    s = journal.imports.run(f, "maya")
    assert (s["added"], s["updated"], s["skipped"]) == (1, 0, 2)
    assert sorted(r.source_id for r in journal.reflections.rows("maya")) == ["1", "2", "3"]


def test_a_jrnl_journal_in_a_notes_folder_stored_under_its_old_source_is_not_added_again(journal, tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "journal.txt").write_text("[2024-03-01 09:00] Morning walk.\nBy the river.\n\n"
                                       "[2024-03-02 09:00] Rain.\nRead all day.\n", encoding="utf-8")
    (notes / "2024-03-03.md").write_text("A plain note.\n", encoding="utf-8")
    journal.identities.add("maya")
    ids = journal.reflections.add_many("maya", [  # as an earlier version stored the journal
        {"content": "Morning walk.\nBy the river.", "title": "Morning walk.", "created_at": "2024-03-01 09:00",
         "source": "jrnl:journal", "source_id": "2024-03-01T09:00", "metadata": {"starred": False}},
        {"content": "Rain.\nRead all day.", "title": "Rain.", "created_at": "2024-03-02 09:00",
         "source": "jrnl:journal", "source_id": "2024-03-02T09:00", "metadata": {"starred": False}}])
    s = journal.imports.run(notes, "maya")
    assert (s["added"], s["updated"]) == (1, 0)  # the note only
    got = {r.id: r.source for r in journal.reflections.rows("maya") if r.id in ids}
    assert got == {i: "jrnl:default" for i in ids}
    assert journal.imports.run(notes, "maya")["added"] == 0


def test_a_dry_run_or_a_refused_import_leaves_moved_notes_and_old_keys_as_stored(tmp_path):
    vault = _vault(tmp_path)
    db = tmp_path / "j.db"
    _cli_import(db, str(vault))
    before = _rows(db)
    (vault / "Inbox" / "2024-03-01.md").rename(vault / "2024-03-01.md")
    s = _cli_import(db, str(vault), "--dry-run")
    assert (s["added"], s["updated"]) == (0, 1) and _rows(db) == before
    (vault / "bad.md").write_text("---\ndate: 2024-02-30\n---\nNo such day.\n")
    proc = run_cli("--db", str(db), "import", str(vault), "--identity", "maya", cwd=tmp_path)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "bad.md" in proc.stderr
    assert _rows(db) == before  # the move was not applied alone
    with mirror_kit.open(db) as j:
        j.reflections.add_many("maya", [{"content": "Old row.", "created_at": "2024-01-01", "source": "csv:id",
                                         "source_id": "1"}])
    legacy = _rows(db)
    f = tmp_path / "old.csv"
    f.write_text("id,date,text\n1,2024-01-01,Old row.\n2,not a date,Broken.\n")
    proc = run_cli("--db", str(db), "import", str(f), "--identity", "maya", cwd=tmp_path)
    assert proc.returncode != 0 and "old.csv: line 3" in proc.stderr
    assert _rows(db) == legacy


def test_ids_of_unchanged_notes_jrnl_entries_and_keyless_rows_are_what_earlier_versions_gave(journal, tmp_path):
    vault = _vault(tmp_path)
    (tmp_path / "journal.txt").write_text("[2024-03-01 09:00] Morning walk.\nBy the river.\n", encoding="utf-8")
    (tmp_path / "noid.csv").write_text("date,text\n2024-01-01,Rain.\n")
    for path in (vault, tmp_path / "journal.txt", tmp_path / "noid.csv"):
        journal.imports.run(path, "maya")
    iid = identity_id_for("maya")
    got = {(r.source, r.source_id): r.id for r in journal.reflections.rows("maya")}
    keyed = [("text:vault", "Inbox/2024-03-01.md"), ("text:vault", "Inbox/2024-03-02.md"),
             ("jrnl:default", "2024-03-01T09:00")]
    for key in keyed:
        assert got[key] == reflection_id_for(iid, *key, "", "")
    rain = next(r for r in journal.reflections.rows("maya") if r.source == "csv")
    assert rain.id == reflection_id_for(iid, "csv", None, "2024-01-01T12:00:00Z", rain.content_hash)


def test_a_source_label_on_a_csv_without_ids_is_said_to_be_ignored(journal, tmp_path):
    f = tmp_path / "noid.csv"
    f.write_text("date,text\n2024-01-01,Rain.\n")
    s = journal.imports.run(f, "maya", source_label="diary")
    assert s["added"] == 1 and any("--source-label ignored" in w for w in s["warnings"])
