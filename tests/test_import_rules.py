"""Import rules that hold across formats: one date order per column (property-tested), source
identity as the key, conflicts instead of unrelated updates, non-journal files, links, ZIP names."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.common import Context, Entry, Rejection
from mirror_kit.importers.csvfile import read_csv
from mirror_kit.timeutil import format_utc

from .plugins.imports import JrnlJournal

FORMATS = ["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)),
                min_size=1, max_size=6),
       st.sampled_from(FORMATS))
def test_dates_written_in_a_format_read_back_same_instant_or_refused(tmp_path_factory, values, fmt):
    d = tmp_path_factory.mktemp("prop")
    f = d / "p.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["date", "text"])
    for i, v in enumerate(values):
        w.writerow([v.strftime(fmt), f"entry {i}"])
    f.write_text(buf.getvalue(), encoding="utf-8")
    try:
        items = list(read_csv(f, Context(f, {})))
    except InvalidInputError as exc:
        # Only a column that never proves its order may be refused, and it says how to go on.
        assert "--dayfirst" in str(exc) and fmt in ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y")
        return
    assert not [i for i in items if isinstance(i, Rejection)]
    got = sorted((int(e.content.split()[1]), e.created_at) for e in items if isinstance(e, Entry))
    for i, when in got:
        want = values[i].replace(second=0, microsecond=0)
        if fmt == "%d/%m/%Y":
            want = want.replace(hour=12, minute=0)  # a bare day is its noon, as `2024-01-03` is
        assert datetime(when.year, when.month, when.day, getattr(when, "hour", 12),
                        getattr(when, "minute", 0)) == want or (
            fmt == "%Y-%m-%d %H:%M" and when == want)


def test_two_real_jrnl_journals_exported_by_jrnl_do_not_overwrite(journal, tmp_path):
    exports = {}
    for name, title in (("personal", "Letter to my sister."), ("work", "Sprint planning.")):
        j = JrnlJournal(tmp_path / name)
        j.file = j.root / f"{name}.txt"
        j.config.write_text(j.config.read_text().replace(str(j.root / "journal.txt"), str(j.file)))
        j.write(f"2024-03-01 09:00: {title} Details of {name}.")
        j.write(f"2024-03-02 09:00: Second {name} day. More about {name}.")
        exports[name] = j.export_json(tmp_path / f"{name}.json")
    assert journal.imports.run(exports["personal"], "maya")["added"] == 2
    assert journal.imports.run(exports["work"], "maya")["added"] == 2
    assert len(journal.reflections.rows("maya")) == 4
    assert journal.imports.run(exports["personal"], "maya")["skipped"] == 2


def test_renamed_csv_export_under_one_source_label_updates_not_duplicates(journal, tmp_path):
    old = tmp_path / "diary-2024-01.csv"
    old.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park.\n2,2024-01-02,Rain all day.\n")
    new = tmp_path / "diary-export-final.csv"
    new.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park at dawn.\n2,2024-01-02,Rain all day.\n"
                   "3,2024-01-03,Sun again.\n")
    journal.imports.run(old, "maya", source_label="diary")
    s = journal.imports.run(new, "maya", source_label="diary")
    assert (s["added"], s["updated"], s["skipped"], s["conflicts"]) == (1, 1, 1, 0)
    assert len(journal.reflections.rows("maya")) == 3


def test_renamed_csv_export_without_a_label_adds_no_row_twice_but_keeps_edits_apart(journal, tmp_path):
    old = tmp_path / "diary-2024-01.csv"
    old.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park.\n2,2024-01-02,Rain all day.\n")
    new = tmp_path / "diary-export-final.csv"
    new.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park at dawn.\n2,2024-01-02,Rain all day.\n")
    journal.imports.run(old, "maya")
    s = journal.imports.run(new, "maya")
    # The identical row is held already; the edited one may be another file's entry: added, not overwritten.
    assert (s["added"], s["updated"], s["skipped"], s["conflicts"]) == (1, 0, 1, 0)
    assert sorted(r.content for r in journal.reflections.rows("maya")) == [
        "Rain all day.", "Walked the dog in the park at dawn.", "Walked the dog in the park."]
    assert journal.imports.run(new, "maya")["added"] == 0


def test_update_sharing_nothing_with_stored_text_is_a_conflict_not_applied(journal, tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("id,date,text\n1,2024-01-01,Walked the dog in the park.\n")
    b = tmp_path / "b.csv"
    b.write_text("id,date,text\n1,2024-01-01,Quarterly taxes filed online finally.\n")
    journal.imports.run(a, "maya", source_label="diary")
    s = journal.imports.run(b, "maya", source_label="diary")
    assert (s["updated"], s["conflicts"]) == (0, 1)
    assert any("conflict" in w for w in s["warnings"])
    assert journal.reflections.rows("maya")[0].content == "Walked the dog in the park."


def test_templates_drawings_canvases_skipped_and_counted(journal, tmp_path):
    vault = tmp_path / "vault"
    (vault / ".obsidian" / "plugins" / "x").mkdir(parents=True)
    (vault / ".obsidian" / "templates.json").write_text('{"folder": "Meta/Tpl"}')
    (vault / ".obsidian" / "plugins" / "x" / "README.md").write_text("plugin docs")
    (vault / "Meta" / "Tpl").mkdir(parents=True)
    (vault / "Meta" / "Tpl" / "daily.md").write_text("# {{date}}\n")
    (vault / "Templates").mkdir()
    (vault / "Templates" / "t.md").write_text("template text")
    (vault / "2024-05-01.md").write_text("A real note.")
    (vault / "Drawing 2024-05-02.excalidraw.md").write_text("excalidraw-plugin: parsed")
    (vault / "board.canvas").write_text("{}")
    (vault / "empty.md").write_text("---\ntitle: x\n---\n")
    s = journal.imports.run(vault, "maya")
    assert (s["added"], s["skipped_files"], s["skipped_empty"]) == (1, 5, 1)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
def test_links_inside_imported_once_outside_reported_and_followed_on_request(journal, tmp_path):
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "2024-05-01.md").write_text("Inside note.")
    os.symlink(notes / "2024-05-01.md", notes / "sub" / "alias.md")
    os.symlink(notes, notes / "sub" / "loop")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "2024-05-02.md").write_text("Outside note.")
    os.symlink(outside, notes / "ext")
    s = journal.imports.run(notes, "maya")
    assert s["added"] == 1
    assert any("ext" in w and "--follow-links" in w for w in s["warnings"])
    s2 = journal.imports.run(notes, "bob", follow_links=True)
    assert s2["added"] == 2


def test_zip_member_names_without_utf8_flag_read_as_utf8(journal, tmp_path):
    z = tmp_path / "export.zip"
    doc = ('{"metadata": {"version": "1.0"}, "entries": [{"uuid": "U1", "creationDate": "2024-01-01T10:00:00Z",'
           ' "text": "Caf\\u00e9 morning."}]}')
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("Journal.json")
        zf.writestr(info, doc)
        zf.writestr(zipfile.ZipInfo("photos/cafZZ.jpeg"), b"x")
    # The UTF-8 bytes of the name, without the UTF-8 flag (what many zip tools write).
    z.write_bytes(z.read_bytes().replace(b"photos/cafZZ.jpeg", "photos/caf\u00e9.jpeg".encode()))
    with zipfile.ZipFile(z) as zf:
        assert not zf.getinfo(next(n for n in zf.namelist() if n.startswith("photos/"))).flag_bits & 0x800
    from mirror_kit.importers.common import open_zip

    with open_zip(z) as zf:
        assert "photos/caf\u00e9.jpeg" in zf.namelist()
        assert zf.read("photos/caf\u00e9.jpeg") == b"x"


def test_dayone_media_links_in_any_case_removed(journal, tmp_path):
    f = tmp_path / "Journal.json"
    f.write_text('{"metadata": {}, "entries": [{"uuid": "V1", "creationDate": "2024-01-01T10:00:00Z",'
                 ' "text": "Clip.\\n\\n![](DayOne-Moment:/Video/VID1)\\n[](dayone-moment://AUD1)",'
                 ' "videos": [{"identifier": "VID1", "md5": "abc", "type": "mov"}]}]}')
    journal.imports.run(f, "maya", format="dayone")
    (r,) = journal.reflections.rows("maya")
    assert r.content == "Clip." and r.metadata["media"][0]["file"] == "videos/abc.mov"


def test_jrnl_text_file_read_in_one_proven_day_order(journal, tmp_path):
    f = tmp_path / "diary.txt"
    f.write_text("[03/01/2024 08:00] First.\n\n[25/01/2024 09:00] Second.\n")
    journal.imports.run(f, "maya", format="jrnl")
    assert sorted(format_utc(r.created_at)[:10] for r in journal.reflections.rows("maya")) == ["2024-01-03", "2024-01-25"]


def test_front_matter_year_outside_range_and_bad_default_date(journal, tmp_path):
    d = tmp_path / "n"
    d.mkdir()
    (d / "a.md").write_text("---\ndate: 0001-01-01T00:30:00+01:00\n---\nAncient.\n")
    with pytest.raises(InvalidInputError, match=r"a.md: .*outside years 1..9999"):
        journal.imports.run(d, "maya")
    (d / "a.md").write_text("No date here.\n")
    with pytest.raises(InvalidInputError, match=r"--default-date: .*has no year"):
        journal.imports.run(d, "maya", default_date="March 3")


def test_path_dates_and_month_names(tmp_path):
    from mirror_kit.importers.dates import date_from_path

    assert date_from_path(("2024", "06", "01.txt")).date().isoformat() == "2024-06-01"
    assert date_from_path(("Daily", "2023", "March", "05.md")).date().isoformat() == "2023-03-05"
    assert date_from_path(("2023-Jan-01.md",)).date().isoformat() == "2023-01-01"
    assert date_from_path(("notes", "random.md")) is None


def test_cli_dayfirst_option(journal_path, tmp_path):
    from .test_import_cases import _cli

    f = tmp_path / "amb.csv"
    f.write_text("date,text\n03/01/2024,one\n")
    out = _cli(journal_path, "import", str(f), "--identity", "maya")
    assert out.returncode != 0 and "--dayfirst" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    out = _cli(journal_path, "import", str(f), "--identity", "maya", "--dayfirst", "--json")
    assert out.returncode == 0, out.stderr
    out = _cli(journal_path, "import", str(f), "--identity", "bob", "--date-format", "%m/%d/%Y")
    assert out.returncode == 0, out.stderr


def test_a_day_equal_to_its_month_does_not_decide_the_order_of_the_dates_waiting_for_it(tmp_path):
    f = tmp_path / "diary.csv"
    f.write_text("date,text\n02/01/2000 00:00,entry 0\n01/01/1900 00:00,entry 1\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="could be day-first or month-first"):
        list(read_csv(f, Context(f, {})))
    f.write_text("date,text\n02/01/2000 00:00,entry 0\n01/01/1900 00:00,entry 1\n25/12/2001 10:00,entry 2\n",
                 encoding="utf-8")
    got = {e.content: e.created_at for e in read_csv(f, Context(f, {})) if hasattr(e, "content")}
    assert got["entry 0"] == datetime(2000, 1, 2, 0, 0)  # day-first, as 25/12 proves
