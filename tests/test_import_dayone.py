"""Day One export ZIPs: text unescaping, dates and zones, metadata, idempotency, hostile archives."""

from __future__ import annotations

import json
import zipfile

import pytest

from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.dayone import unescape
from mirror_kit.timeutil import format_utc
from tests.plugins.imports import PHOTO_MD5, dayone_entry, dayone_journals, write_dayone_zip


def test_unescape():
    assert unescape(r"Hello\! 1\. item \- dash \(x\) a\\b \#tag") == r"Hello! 1. item - dash (x) a\b #tag"
    assert unescape("no escapes: C:\\Users stays") == "no escapes: C:\\Users stays"


def test_export_zip(journal, dayone_zip):
    s = journal.imports.run(dayone_zip, "maya")
    assert (s["format"], s["source"], s["added"], s["rejected"]) == ("dayone", "dayone", 3, [])
    refs = {r.source_id: r for r in journal.reflections.rows("maya")}
    run = refs["A1B2C3D4E5F60718293A4B5C6D7E8F90"]
    assert run.title == "Sunrise run"
    assert run.content == ("# Sunrise run\n\nRan 5 km before work. Felt strong - really strong! "
                           "(Legs (and lungs) held up.)\n\nTomorrow: rest.")
    assert format_utc(run.created_at) == "2024-05-01T06:30:00Z" and run.tz == "Europe/Paris"
    assert sorted(run.tags) == ["morning", "running"]
    md = run.metadata
    assert md["journal"] == "Journal" and md["starred"] is True
    assert md["location"]["placeName"] == "Jardin du Luxembourg"
    assert md["weather"]["temperatureCelsius"] == 11.5
    assert md["media"] == [{"kind": "photo", "identifier": "3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C", "md5": PHOTO_MD5,
                            "type": "jpeg", "file": f"photos/{PHOTO_MD5}.jpeg"}]
    assert not any("media not in the archive" in w for w in s["warnings"])
    call = refs["0F1E2D3C4B5A69788796A5B4C3D2E1F0"]
    assert call.tz == "America/New_York" and call.metadata["starred"] is False and call.title is None
    work = refs["99887766554433221100AABBCCDDEEFF"]
    assert work.metadata["journal"] == "Work Notes"
    assert work.content == "Sprint review went well. Next: *ship* it + write docs."


def test_reimport_and_edit(journal, dayone_zip, tmp_path):
    journal.imports.run(dayone_zip, "maya")
    assert journal.imports.run(dayone_zip, "maya")["skipped"] == 3
    journals = dayone_journals()
    journals["Journal"][1]["text"] = "Long call with Mum\\. We planned a visit in June\\."
    journals["Journal"][1]["modifiedDate"] = "2024-05-04T08:00:00Z"
    journals["Journal"][1]["tags"] = ["family", "plans"]
    journals["Work Notes"].append(dayone_entry("ABCDEF0123456789ABCDEF0123456789", "2024-05-06T09:00:00Z",
                                               "Planning day\\."))
    edited = write_dayone_zip(tmp_path / "edited.zip", journals)
    s = journal.imports.run(edited, "maya")
    assert (s["added"], s["updated"], s["skipped"]) == (1, 1, 2)
    call = [r for r in journal.reflections.rows("maya") if r.source_id == "0F1E2D3C4B5A69788796A5B4C3D2E1F0"][0]
    assert call.content == "Long call with Mum. We planned a visit in June."
    assert sorted(call.tags) == ["family", "plans"] and call.metadata["modified_at"] == "2024-05-04T08:00:00Z"
    # The photo is not in this archive: a warning, and the entry itself is unchanged.
    assert any(f"photos/{PHOTO_MD5}.jpeg" in w and "not in the archive" in w for w in s["warnings"])
    assert len(journal.reflections.rows("maya")) == 4


def test_hostile_and_broken_archives(journal, dayone_zip, tmp_path):
    journal.imports.run(dayone_zip, "maya")
    n = len(journal.reflections.rows("maya"))

    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("Journal.json", json.dumps({"metadata": {"version": "1.0"}, "entries": []}))
        zf.writestr("../../etc/cron.d/owned", "* * * * * root sh")
    with pytest.raises(InvalidInputError, match=r"evil.zip: refusing member '../../etc/cron.d/owned': '..' in path"):
        journal.imports.run(evil, "maya")

    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(dayone_zip.read_bytes()[:-60])
    with pytest.raises(InvalidInputError, match="truncated.zip: not a ZIP archive or truncated"):
        journal.imports.run(truncated, "maya")

    not_zip = tmp_path / "export.zip"
    not_zip.write_text("this is not a zip file", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="not a ZIP archive"):
        journal.imports.run(not_zip, "maya", format="dayone")

    empty = write_dayone_zip(tmp_path / "nojson.zip", {}, {"photos/x.jpeg": b"\xff\xd8"})
    with pytest.raises(InvalidInputError, match="no Day One journal"):
        journal.imports.run(empty, "maya")

    broken = dayone_journals()
    del broken["Journal"][0]["uuid"]
    broken["Journal"][1]["creationDate"] = "yesterday-ish"
    bad = write_dayone_zip(tmp_path / "bad.zip", broken)
    with pytest.raises(InvalidInputError, match=r"bad.zip:Journal.json: entry 1: missing 'uuid' \(and 1 more"):
        journal.imports.run(bad, "maya")
    assert len(journal.reflections.rows("maya")) == n
    s = journal.imports.run(bad, "other", skip_bad=True)
    assert s["added"] == 1 and [r["reason"] for r in s["rejected"]] == [
        "missing 'uuid'", "cannot read creationDate 'yesterday-ish'"]


def test_bare_journal_json(journal, tmp_path):
    doc = {"metadata": {"version": "1.0"}, "entries": dayone_journals()["Work Notes"]}
    path = tmp_path / "Work Notes.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    s = journal.imports.run(path, "maya")
    assert (s["format"], s["added"]) == ("dayone", 1)
    assert journal.reflections.rows("maya")[0].metadata["journal"] == "Work Notes"
