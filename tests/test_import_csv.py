"""CSV import: encodings, delimiters, multi-line fields, column guessing, dates, ids, HappyDB."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.common import MAX_ENTRY_CHARS
from mirror_kit.timeutil import format_utc

ROWS = [
    ("1", "2024-01-02 08:00", "Café au lait – “très” bon; a good start", "morning|food"),
    ("2", "2024-01-03T21:15:00+01:00", "Naïve façade, Zoë à Noël\nsecond line, with a comma", "family"),
    ("3", "March 5, 2024", "Plain English entry", ""),
]


def write_csv(path: Path, rows, header=("id", "date", "text", "tags"), *, delimiter=",", encoding="utf-8",
              bom=False) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return path


def contents(journal, identity="maya") -> list[str]:
    return [r.content for r in journal.reflections.rows(identity)]


@pytest.mark.parametrize(
    "encoding,bom,delimiter,rows",
    [
        ("utf-8", False, ",", ROWS),
        ("utf-8", True, ";", ROWS),
        ("utf-16", False, "\t", ROWS),  # Python's utf-16 codec writes a BOM, as Excel does
        ("cp1252", False, ";", ROWS),
        ("latin-1", False, ",", [r[:2] + (r[2].replace("–", "-").replace("“", '"').replace("”", '"'),) + r[3:]
                                 for r in ROWS]),
    ],
)
def test_encodings_and_delimiters(journal, tmp_path, encoding, bom, delimiter, rows):
    path = write_csv(tmp_path / "diary.csv", rows, delimiter=delimiter, encoding=encoding, bom=bom)
    summary = journal.imports.run(path, "maya")
    assert summary["added"] == 3 and summary["rejected"] == []
    assert sorted(contents(journal)) == sorted(r[2] for r in rows)
    first = journal.reflections.rows("maya")[0]
    assert first.source_id == "1" and first.source == "csv:id:diary.csv"
    assert sorted(first.tags) == ["food", "morning"]
    assert format_utc(first.created_at) == "2024-01-02T08:00:00Z"
    second = journal.reflections.rows("maya")[1]
    assert format_utc(second.created_at) == "2024-01-03T20:15:00Z" and second.tz == "+01:00"


def test_multiline_fields_keep_line_numbers(journal, tmp_path):
    rows = [("1", "2024-01-01", "one\ntwo\nthree", ""), ("2", "not a date", "bad row", ""),
            ("3", "2024-01-03", "fine", "")]
    path = write_csv(tmp_path / "m.csv", rows)
    with pytest.raises(InvalidInputError) as exc:
        journal.imports.run(path, "maya")
    # header = line 1, the 3-line row = lines 2-4, so the bad row starts on line 5.
    assert "m.csv: line 5: cannot read date 'not a date'" in str(exc.value)
    assert journal.identities.rows() == []
    summary = journal.imports.run(path, "maya", skip_bad=True)
    assert summary["added"] == 2
    assert summary["rejected"] == [{"file": "m.csv", "line": 5, "reason": "cannot read date 'not a date' in column 'date'"}]
    assert "one\ntwo\nthree" in contents(journal)


def test_explicit_columns_metadata_and_updates(journal, tmp_path):
    header = ("Entry No", "When", "What happened", "Heading", "Labels", "Mood")
    rows = [("a1", "2024-02-01", "Long lunch with Ana.", "Lunch", "friends, food", "8"),
            ("a2", "2024-02-02", "Deadline stress.", "", "work", "3")]
    path = write_csv(tmp_path / "export.csv", rows, header=header)
    opts = dict(text_column="What happened", date_column="When", id_column="Entry No", title_column="Heading",
                tags_column="Labels")
    assert journal.imports.run(path, "maya", "csv", **opts)["added"] == 2
    lunch = journal.reflections.rows("maya")[0]
    assert (lunch.title, lunch.source_id, sorted(lunch.tags), lunch.metadata) == (
        "Lunch", "a1", ["food", "friends"], {"Mood": "8"})
    again = journal.imports.run(path, "maya", "csv", **opts)
    assert (again["added"], again["updated"], again["skipped"]) == (0, 0, 2)
    rows[1] = ("a2", "2024-02-02", "Deadline stress, then relief.", "Relief", "work|health", "6")
    write_csv(path, rows, header=header)
    edited = journal.imports.run(path, "maya", "csv", **opts)
    assert (edited["added"], edited["updated"], edited["skipped"]) == (0, 1, 1)
    r = [x for x in journal.reflections.rows("maya") if x.source_id == "a2"][0]
    assert (r.content, r.title, sorted(r.tags), r.metadata) == (
        "Deadline stress, then relief.", "Relief", ["health", "work"], {"Mood": "6"})
    assert len(journal.reflections.rows("maya")) == 2


def test_without_ids_dedupe_by_text_and_time_not_by_text_alone(journal, tmp_path):
    path = write_csv(tmp_path / "noid.csv", [("2024-01-01", "Same text"), ("2024-01-02", "Other text"),
                                             ("2024-01-03", "Same text"), ("2024-01-03", "Same text")],
                     header=("date", "text"))
    s = journal.imports.run(path, "maya")
    assert (s["added"], s["skipped"]) == (3, 1)  # the same words on another day are another entry
    s2 = journal.imports.run(path, "maya")
    assert (s2["added"], s2["skipped"]) == (0, 4)
    other = write_csv(tmp_path / "other.csv", [("2024-01-03", "Same text"), ("2024-02-01", "Same text")],
                      header=("date", "text"))
    s3 = journal.imports.run(other, "maya")
    assert (s3["added"], s3["skipped"]) == (1, 1)


def test_missing_dates_policy(journal, tmp_path):
    path = write_csv(tmp_path / "d.csv", [("2024-01-01", "dated"), ("", "undated")], header=("date", "text"))
    with pytest.raises(InvalidInputError, match=r"d.csv: line 3: no date"):
        journal.imports.run(path, "maya")
    s = journal.imports.run(path, "maya", default_date="2023-12-31")
    assert s["added"] == 2
    assert {r.content: r.created_at.date().isoformat() for r in journal.reflections.rows("maya")} == {
        "dated": "2024-01-01", "undated": "2023-12-31"}
    nodate = write_csv(tmp_path / "nodate.csv", [("just text",)], header=("text",))
    with pytest.raises(InvalidInputError, match="no date column.*--default-date"):
        journal.imports.run(nodate, "maya")


def test_bad_files(journal, tmp_path):
    no_text = write_csv(tmp_path / "scores.csv", [("2024-01-01", "7")], header=("date", "score"))
    with pytest.raises(InvalidInputError, match=r"scores.csv: no text column \(columns: date, score\)"):
        journal.imports.run(no_text, "maya")
    with pytest.raises(InvalidInputError, match="--text-column 'nope' is not a column"):
        journal.imports.run(no_text, "maya", text_column="nope")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInputError, match="empty"):
        journal.imports.run(empty, "maya")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00" * 50)
    with pytest.raises(InvalidInputError, match="binary"):
        journal.imports.run(binary, "maya")
    bad_utf8 = write_csv(tmp_path / "declared.csv", [("2024-01-01", "ok")], header=("date", "text"))
    bad_utf8.write_bytes(bad_utf8.read_bytes() + b"2024-01-02,caf\xe9\r\n")
    with pytest.raises(InvalidInputError, match=r"declared.csv: line 3: invalid utf-8"):
        journal.imports.run(bad_utf8, "maya", encoding="utf-8")
    assert journal.identities.rows() == []


def test_absurdly_large_entry_is_rejected(journal, tmp_path):
    huge = "word " * (MAX_ENTRY_CHARS // 5 + 10)
    path = write_csv(tmp_path / "big.csv", [("2024-01-01", "small"), ("2024-01-02", huge)], header=("date", "text"))
    with pytest.raises(InvalidInputError, match=r"big.csv: line 3: entry is [\d,]+ characters, over the limit"):
        journal.imports.run(path, "maya")
    s = journal.imports.run(path, "maya", skip_bad=True)
    assert s["added"] == 1 and s["rejected"][0]["line"] == 3


def test_extra_fields_rejected_short_rows_padded(journal, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("date,text,mood\n2024-01-01,short row\n2024-01-02,too,many,fields\n", encoding="utf-8")
    s = journal.imports.run(path, "maya", skip_bad=True)
    assert s["added"] == 1
    assert s["rejected"][0]["line"] == 3 and "4 fields" in s["rejected"][0]["reason"]


def test_happydb_profile(journal, happydb_slice):
    s = journal.imports.run(happydb_slice, "happydb")
    assert (s["added"], s["rejected"], s["source"]) == (200, [], "happydb")
    assert any("HappyDB has no dates" in w and "2017-03-28" in w for w in s["warnings"])
    with happydb_slice.open(newline="", encoding="utf-8") as fh:
        first = next(csv.DictReader(fh))
    r = [x for x in journal.reflections.rows("happydb") if x.source_id == first["hmid"]][0]
    assert r.content == first["moment"]
    assert sorted(r.tags) == sorted(first["concepts"].split("|"))
    assert r.metadata["agency"] == first["agency"] and r.metadata["social"] == first["social"]
    assert "moment" not in r.metadata and "hmid" not in r.metadata
    assert r.created_at.date().isoformat() == "2017-03-28"
    assert journal.imports.run(happydb_slice, "happydb")["skipped"] == 200
    other = journal.imports.run(happydb_slice, "h2", default_date="2020-01-01")
    assert other["added"] == 200 and not any("HappyDB has no dates" in w for w in other["warnings"])
    assert journal.reflections.rows("h2")[0].created_at.date().isoformat() == "2020-01-01"


def test_happydb_full_corpus_one_command(journal_path, capsys):
    from mirror_kit.cli import main

    corpus = Path(__file__).resolve().parent.parent / "data" / "happydb" / "claff_happydb_labeled_10k.csv"
    rc = main(["--db", str(journal_path), "import", str(corpus), "--identity", "happydb"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "10560 added" in out and "0 rejected" in out and "2017-03-28" in out
    import mirror_kit

    with mirror_kit.open(journal_path) as j:
        n = j.conn.execute("SELECT count(DISTINCT source_id) FROM reflections WHERE source = 'happydb'").fetchone()[0]
        assert n == 10560
        assert set(j.tags.counts("happydb")["tag"]) >= {"family", "career", "food", "exercise"}


def test_bad_row_after_written_chunks_rolls_everything_back(journal, tmp_path):
    journal.identities.add("maya")
    journal.reflections.add("maya", "An entry written before the import.", "2023-01-01")
    rows = [(str(i), "2024-01-01", f"entry number {i}", "") for i in range(6000)]
    rows.append(("6000", "2024-13-99", "bad date at the very end", ""))
    path = write_csv(tmp_path / "long.csv", rows)
    with pytest.raises(InvalidInputError, match=r"long.csv: line 6002: cannot read date"):
        journal.imports.run(path, "maya")
    assert contents(journal) == ["An entry written before the import."]
    with pytest.raises(InvalidInputError):
        journal.imports.run(path, "newperson")
    assert [i.name for i in journal.identities.rows()] == ["maya"]


def test_progress_bar_and_classic_mac_line_endings(journal, tmp_path, capsys):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"date,text\r2024-01-01,one\r2024-01-02,two\r")
    assert journal.imports.run(path, "maya", progress=False)["added"] == 2
    assert capsys.readouterr().err == ""
    rows = [(str(i), "2024-01-01", f"entry {i}", "") for i in range(3000)]
    big = write_csv(tmp_path / "bar.csv", rows)
    assert journal.imports.run(big, "maya", progress=True)["added"] == 3000
    err = capsys.readouterr().err
    assert "import csv" in err and "3000" in err and "entries" in err


def test_non_western_single_byte_encoding_is_detected(journal, tmp_path):
    text = "Привет мир, это мой дневник. Сегодня был хороший день."
    path = write_csv(tmp_path / "ru.csv", [("2024-01-02", text)], header=("date", "text"), encoding="cp1251")
    s = journal.imports.run(path, "maya")
    assert s["added"] == 1 and any("cp1251" in w for w in s["warnings"])
    assert contents(journal) == [text]
