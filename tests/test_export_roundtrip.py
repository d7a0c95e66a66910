"""Round trip: export -> import into an empty journal -> export gives the same bytes except
`exported_at`, checked on a fixed journal and on generated ones (hypothesis)."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mirror_kit
from mirror_kit.export.importer import import_export_file
from mirror_kit.export.validation import export_schema
from mirror_kit.ids import normalize_text
from tests.plugins.export import HOSTILE, strip_exported_at


def _round_trip(j, tmp: Path) -> tuple[str, str, dict]:
    j.exports.json(tmp / "first.json")
    with mirror_kit.open(tmp / "empty.db") as target:
        res = import_export_file(target, tmp / "first.json")
        target.exports.json(tmp / "second.json")
    return ((tmp / "first.json").read_text(encoding="utf-8"), (tmp / "second.json").read_text(encoding="utf-8"),
            res)


def test_round_trip_of_a_journal_with_everything(filled_journal, tmp_path):
    j, _ = filled_journal
    first, second, res = _round_trip(j, tmp_path)
    assert strip_exported_at(first) == strip_exported_at(second)
    assert res["conflicts"] == 0 and res["unchanged"] == 1  # the shared tension, seen again for sam
    assert res["counts"]["reflections"]["added"] == 8


ZONES = [None, "UTC", "+05:45", "-03:30", "Pacific/Chatham", "Asia/Kathmandu", "America/St_Johns",
         "Australia/Lord_Howe", "+14:00", "-12:00", "Europe/Paris"]
SPECIAL = [HOSTILE, "🎉👩‍👩‍👧‍👦 emoji ZWJ", "שלום עולם", "مرحبا بالعالم", "\u202eRTL override\u202c text",
           "<b>bold</b> &amp; <!-- comment -->", "x" * 60_000, "  leading spaces\n\n\ttab", "windows\r\nline\rends",
           "e\u0301 combining vs é", "\x7f delete \x0c form feed \x85 next line"]
# C0 controls other than tab, newline, CR and form feed are refused when stored (limits.check_controls)
REFUSED_CONTROLS = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r\x0c")
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=REFUSED_CONTROLS), max_size=120)
content = st.one_of(text, st.sampled_from(SPECIAL), st.tuples(st.sampled_from(SPECIAL), text).map("".join)).filter(
    lambda s: bool(normalize_text(s)))
json_value = st.one_of(st.none(), st.booleans(), st.integers(-(2**62), 2**62), text,
                       st.floats(allow_nan=False, allow_infinity=False))
reflection = st.fixed_dictionaries({
    "content": content,
    "created_at": st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2099, 12, 31)),
    "tz": st.sampled_from(ZONES),
    "title": st.one_of(st.none(), st.just(""), text),
    "tags": st.lists(st.text(min_size=1, max_size=12), max_size=4),
    "metadata": st.dictionaries(st.text(max_size=6), json_value, max_size=3),
    "intensity": st.one_of(st.none(), st.floats(0, 1)),
    "mirrorback": st.one_of(st.none(), text),
})
journal_spec = st.fixed_dictionaries({
    "identities": st.lists(st.text(min_size=1, max_size=20).filter(lambda s: bool(s.strip())), min_size=1,
                           max_size=2, unique_by=lambda s: s.strip()),
    "reflections": st.lists(reflection, min_size=1, max_size=8),
    "strengths": st.lists(st.floats(0, 1), min_size=1, max_size=8),
    "positions": st.lists(st.floats(-1, 1), min_size=1, max_size=8),
    "settings": st.dictionaries(st.text(min_size=1, max_size=8), json_value, max_size=3),
})


def _build(j, spec: dict) -> None:
    names = [n.strip() for n in spec["identities"]]
    for n in names:
        j.identities.add(n)
    ids: dict[str, list[str]] = {n: [] for n in names}
    for k, r in enumerate(spec["reflections"]):
        who = names[k % len(names)]
        rec = j.reflections.add(who, r["content"], r["created_at"], tz=r["tz"], title=r["title"], tags=r["tags"],
                               metadata=r["metadata"], intensity=r["intensity"], source="gen", source_id=str(k))
        ids[who].append(rec.id)
        if r["mirrorback"] is not None:
            j.mirrorbacks.add(rec.id, r["mirrorback"], "gen-model", valid=k % 2 == 0)
    now = "2024-01-01T00:00:00Z"
    with j.transaction():
        j.conn.execute("INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, is_seed, created_at, "
                       "updated_at) VALUES ('being_doing', NULL, 'Being / doing', 'being', 'doing', 1, ?, ?)",
                       (now, now))
        for n in names:
            iid = j.identities.get(n).id
            j.conn.execute("INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, created_at, "
                           "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (f"p_{iid}", iid, n, json.dumps([n]), spec["strengths"][0], len(ids[n]), now, now))
            for rid, s in zip(ids[n], spec["strengths"], strict=False):
                j.conn.execute("INSERT INTO pattern_occurrences VALUES (?, ?, ?)", (f"p_{iid}", rid, s))
            for rid, p in zip(ids[n], spec["positions"], strict=False):
                j.conn.execute("INSERT INTO tension_observations VALUES ('being_doing', ?, ?, ?, 'm', ?)",
                               (rid, p, abs(p), now))
    for n in names:
        if ids[n]:
            j.threads.add(n, f"thread of {n}", list(reversed(ids[n])))
    for key, value in spec["settings"].items():
        j.settings.set(key, value)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(journal_spec)
def test_round_trip_property(spec):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with mirror_kit.open(tmp / "source.db") as j:
            _build(j, spec)
            first, second, res = _round_trip(j, tmp)
        assert res["conflicts"] == 0
        assert strip_exported_at(first) == strip_exported_at(second)
        doc = json.loads(first)
        jsonschema.validate(doc, export_schema())
        contents = sorted(r["content"] for i in doc["identities"] for r in i["reflections"])
        assert contents == sorted(r["content"] for r in spec["reflections"])
