"""The per-row shortcuts of a large import give exactly what the general code gives: remembered date
values, cleaned tag lists and split tag cells, reflection ids, one-column metadata, row numbering,
and the end-of-file quote check of a file read in blocks."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirror_kit.collections.reflections import reflection_id_for
from mirror_kit.errors import InvalidInputError
from mirror_kit.ids import stable_id
from mirror_kit.importers import csvfile, dates
from mirror_kit.importers.common import Context, Entry, csv_rows
from mirror_kit.importers.csvfile import read_csv
from mirror_kit.process_state import limited_csv_reader
from mirror_kit.records import _ENCODER, to_json
from mirror_kit.textnorm import _clean, clean_tags

# Values that repeat, that prove an order late, that read differently before and after the order is
# known (space-separated fields are read at once, in the order known then), and that are refused.
RAW_DATES = ["2024-03-05", "2024-03-05 10:00", "03/04/2024", "03/04/2024 08:30", "04/03/2024",
             "25/12/2024", "12/25/2024", "03 04 2024 10:00", "05.06.2024", "01/01/2024", "31/02/2024",
             "not a date", "2024-13-01"]


def _read(f, options: dict) -> list:
    try:
        return [(type(i).__name__, getattr(i, "created_at", None), getattr(i, "reason", None))
                for i in read_csv(f, Context(f, dict(options)))]
    except InvalidInputError as exc:
        return [("error", str(exc))]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(RAW_DATES), min_size=1, max_size=14),
       st.sampled_from([{}, {"dayfirst": True}, {"dayfirst": False}]), st.integers(1, 4))
def test_remembered_date_values_read_as_if_each_were_read_afresh(tmp_path_factory, monkeypatch, values,
                                                                  options, memo_max):
    f = tmp_path_factory.mktemp("memo") / "d.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["date", "text"])
    for i, v in enumerate(values):
        w.writerow([v, f"entry {i}"])
    f.write_text(buf.getvalue(), encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr(dates, "_MEMO_MAX", memo_max)  # tiny: the memo fills, is cleared or given up on
        remembered = _read(f, options)
    with monkeypatch.context() as m:
        m.setattr(dates.DateColumn, "parse", lambda self, raw: dates.parse_value(
            raw, dayfirst=self.order == "dmy", date_format=self.date_format))
        afresh = _read(f, options)
    assert remembered == afresh


def test_a_value_read_before_the_order_was_proved_is_read_again_in_the_proved_order(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("date,text\n03 04 2024 10:00,a\n25/12/2024 09:00,b\n03 04 2024 10:00,c\n", encoding="utf-8")
    got = {e.content: e.created_at for e in read_csv(f, Context(f, {})) if isinstance(e, Entry)}
    assert (got["a"].month, got["c"].month) == (3, 4)  # before the proof: month-first; after: day-first


def test_cleaned_tag_lists_are_remembered_only_for_text_and_handed_out_as_new_lists():
    assert clean_tags([1]) == ["1"] and clean_tags([True]) == ["True"] and clean_tags([1.0]) == ["1.0"]
    first = clean_tags(["Été", "été", " #walk "])
    first.append("changed")
    assert clean_tags(["Été", "été", " #walk "]) == ["Été", "walk"] == _clean(["Été", "été", " #walk "])


def test_split_tag_cells_are_handed_out_as_new_lists_per_row(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("date,text,tags\n2024-01-01,a,x|y\n2024-01-02,b,x|y\n", encoding="utf-8")
    a, b = (e for e in read_csv(f, Context(f, {})) if isinstance(e, Entry))
    a.tags.append("z")
    assert b.tags == ["x", "y"]


@given(st.text(max_size=12), st.text(max_size=12), st.text(min_size=1, max_size=12))
def test_reflection_id_of_a_keyed_entry_is_the_generic_stable_id(identity, source, source_id):
    assert reflection_id_for(identity, source, source_id, "2024-01-01T12:00:00Z", "h") == stable_id(
        "r", identity, source, source_id, None, None)


@given(st.text(max_size=20), st.text(max_size=20))
def test_one_column_metadata_is_written_as_the_json_encoder_writes_it(key, value):
    assert to_json({key: value}, "m") == _ENCODER.encode({key: value})
    assert json.loads(to_json({key: value}, "m")) == {key: value}


def test_numbered_rows_give_the_line_numbers_and_the_malformed_row_error_of_row_by_row_reading():
    lines = ["id,text\n"]
    for i in range(limited_csv_reader.BATCH * 2 + 3):
        lines.append(f'{i},"two\nlines {i}"\n' if i % 7 == 0 else ("\n" if i % 11 == 0 else f"{i},one {i}\n"))
    plain = list(csv_rows(csv.reader(lines), "f.csv"))
    assert list(csv_rows(limited_csv_reader(lines, field_limit=1 << 20), "f.csv")) == plain
    bad = ["a,b\n"] * 300 + ['x,"bad"quote\n'] + ["c,d\n"] * 10
    for reader in (csv.reader(bad, strict=True), limited_csv_reader(bad, field_limit=1 << 20, strict=True)):
        with pytest.raises(InvalidInputError, match=r"f.csv: line 301: malformed CSV"):
            list(csv_rows(reader, "f.csv"))


def test_unclosed_quote_found_on_its_line_in_a_file_read_in_small_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfile._StreamLines, "MIN_BYTES", 0)  # read in blocks, whatever the size
    monkeypatch.setattr(csvfile._StreamLines, "BLOCK", 64)
    f = tmp_path / "q.csv"
    rows = [f"2024-01-{1 + i % 28:02d},entry number {i}\n" for i in range(200)]
    f.write_text("date,text\n" + "".join(rows) + '2024-02-01,"never closed\nmore\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"q.csv: line 202: a quoted field opens here"):
        list(read_csv(f, Context(f, {})))
    f.write_text("date,text\n" + "".join(rows), encoding="utf-8")
    assert sum(isinstance(i, Entry) for i in read_csv(f, Context(f, {}))) == 200


@pytest.mark.parametrize("text", ["a\nb\nc\n", "a\nb", "", "\n\n\n", "x" * 10 + "\n" + "y\n" * 5])
def test_line_offsets_found_by_counting_equal_offsets_found_line_by_line(text):
    def by_line(t: str, line: int) -> int:
        pos = 0
        for _ in range(line - 1):
            pos = t.find("\n", pos) + 1
            if pos == 0:
                return len(t)
        return pos

    for line in range(1, 9):
        assert csvfile._line_offset(text, line) == by_line(text, line)


@given(st.text(alphabet="0123456789./- \t²٣a", max_size=12))
def test_date_order_shortcut_for_year_first_values_agrees_with_the_pattern(raw):
    m = dates._NUMERIC.match(raw)
    if raw[:3].isdigit():
        assert m is None
    else:
        assert (dates._order_of(raw) is None) == (m is None or int(m.group(1)) == int(m.group(3)))
