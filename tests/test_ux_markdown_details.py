"""The Markdown export keeps what a source recorded beside the text (Daylio mood and activities, Day One
place, weather, photos, star, front-matter fields): it was the one export where they were lost."""

from __future__ import annotations

import mirror_kit
from mirror_kit.export.markdown import metadata_details


def test_markdown_export_shows_each_reflections_recorded_details(tmp_path):
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("maya")
        j.reflections.add("maya", "Made ramen with Tom.", "2024-05-03T21:15:00Z",
                          metadata={"mood": "rad", "activities": ["friends", "cooking"], "weekday": "Friday"})
        j.reflections.add("maya", "Coffee on the balcony.", "2024-05-01T06:30:00Z", tz="Europe/Paris",
                          metadata={"starred": True, "location": {"localityName": "Lyon", "country": "France"},
                                    "media": [{"file": "photos/ab12.jpeg", "md5": "ab12", "kind": "photo"}],
                                    "dayone_version": "1.0"})
        j.reflections.add("maya", "Plain entry.", "2024-05-02T08:00:00Z", metadata={"starred": False})
        j.exports.markdown(tmp_path / "md")
    text = (tmp_path / "md" / "maya" / "reflections.md").read_text(encoding="utf-8")
    assert "Details: activities: friends, cooking · mood: rad · weekday: Friday\n" in text
    assert "Details: location: France, Lyon · media: photos/ab12.jpeg · starred: yes\n" in text, text
    # an entry with nothing worth showing gets no Details line; bookkeeping keys never show
    plain = text.split("Plain entry.")[0].rsplit("###", 1)[1]
    assert "Details" not in plain
    assert "dayone_version" not in text and "ab12\n" not in text


def test_metadata_details_flattens_front_matter_and_ignores_bad_json():
    assert metadata_details('{"front_matter": {"mood": 8, "aliases": ["sunday"]}, "file": "Daily/x.md"}') == \
        "aliases: sunday · mood: 8"
    assert metadata_details("not json") == ""
    assert metadata_details("[1, 2]") == ""
