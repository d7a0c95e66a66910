"""Markdown export: the folder layout, the overview, and user text that cannot break the structure."""

from __future__ import annotations

import os
import stat

from markdown_it import MarkdownIt

from mirror_kit.cli import main as cli
from mirror_kit.export.markdown import md_inline, md_text
from tests.plugins.export import HOSTILE

STRUCTURAL = {"html_block", "html_inline", "fence", "code_block", "code_inline", "bullet_list_open",
              "ordered_list_open", "table_open", "hr", "link_open", "image", "lheading"}


def _tokens(text: str) -> list:
    md = MarkdownIt("commonmark").enable("table")
    out = []
    for tok in md.parse(text):
        out.append(tok)
        out.extend(tok.children or [])
    return out


def test_hostile_text_stays_one_paragraph_of_text():
    toks = _tokens(md_text(HOSTILE))
    kinds = {t.type for t in toks}
    assert not kinds & STRUCTURAL and "heading_open" not in kinds and "blockquote_open" not in kinds
    html = MarkdownIt("commonmark").enable("table").render(md_text(HOSTILE))
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html and "<script>" not in html
    for words in ("# Not a heading", "- not a list", "1. not ordered", "```python", "| a | b |", "[ref]: http"):
        assert words in html.replace("&quot;", '"')
    assert md_inline("line one\n# line two") == "line one # line two"  # one line: a mid-line # is inert
    assert md_inline("# starts\nhere") == "\\# starts here"
    assert md_text("    indented\n\tcode").startswith("\u00a0\u00a0\u00a0\u00a0indented")


def test_markdown_export_layout_and_content(filled_journal, tmp_path):
    j, info = filled_journal
    res = j.exports.markdown(tmp_path / "md")
    root = tmp_path / "md"
    assert sorted(p.name for p in root.iterdir()) == ["maya", "sam"]
    for name in ("README.md", "reflections.md", "patterns.md", "tensions.md"):
        f = root / "maya" / name
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert res["identities"]["maya"]["reflections"] == 5
    readme = (root / "maya" / "README.md").read_text(encoding="utf-8")
    assert "| Reflections | 5 |" in readme and "| First | 2024-01-02 |" in readme and "| Last | 2024-03-10 |" in readme
    assert "calm \\<evenings\\>" in readme  # top pattern, neutralised
    assert "**Solitude vs connection**" in readme and "intensity 0.57" in readme  # mean of 0.9, 0.6, 0.2
    assert "leans toward solitude, position -0.19" in readme  # intensity-weighted: -0.32 / 1.7
    assert "sam" not in (root / "maya" / "reflections.md").read_text(encoding="utf-8")
    patterns = (root / "maya" / "patterns.md").read_text(encoding="utf-8")
    assert "- Keywords: calm, walk" in patterns and "- Confidence: 0.83" in patterns
    tensions = (root / "maya" / "tensions.md").read_text(encoding="utf-8")
    assert "alone or with others" in tensions and "| 2024-01-29 | 1 | -0.80 | 0.90 |" in tensions


def test_reflections_md_structure_survives_hostile_entries(filled_journal, tmp_path):
    j, info = filled_journal
    j.exports.markdown(tmp_path / "md", identity="maya")
    text = (tmp_path / "md" / "maya" / "reflections.md").read_text(encoding="utf-8")
    toks = _tokens(text)
    levels = [t.tag for t in toks if t.type == "heading_open"]
    assert levels.count("h1") == 1
    assert levels.count("h2") == 3  # January, February, March 2024 (local time)
    assert levels.count("h3") == 5  # one per reflection, nothing from inside the entries
    assert sum(t.type == "blockquote_open" for t in toks) == 1  # the one mirrorback
    assert not {t.type for t in toks} & STRUCTURAL
    # chronological with local times and zones
    assert text.index("Tue 02 Jan 2024, 07:30 (Asia/Kathmandu)") < text.index("Fri 05 Jan 2024, 22:10 (+05:45)")
    assert "Tags: \\#Calm, \\#walk" in text
    heading = next(t for t in toks if t.type == "inline" and "22:10" in t.content)
    assert "hostile" in heading.content and not any(c.type == "html_inline" for c in heading.children)


def test_identity_names_cannot_escape_the_folder_and_reexport_replaces(journal, tmp_path):
    journal.identities.add("../../evil")
    journal.reflections.add("../../evil", "hello", "2024-01-01")
    res = journal.exports.markdown(tmp_path / "out")
    folder = res["identities"]["../../evil"]["folder"]
    assert os.path.commonpath([folder, str(tmp_path / "out")]) == str(tmp_path / "out")
    assert not (tmp_path / "evil").exists()
    journal.reflections.add("../../evil", "second entry", "2024-01-02")
    journal.exports.markdown(tmp_path / "out")
    text = (tmp_path / "out" / "evil" / "reflections.md").read_text(encoding="utf-8")
    assert "second entry" in text and sorted(p.name for p in (tmp_path / "out").iterdir()) == ["evil"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_export_markdown(filled_journal, tmp_path, capsys):
    j, _ = filled_journal
    assert cli(["--db", str(j.path), "export", "markdown", "--identity", "sam", "--out", str(tmp_path / "m")]) == 0
    assert "3 reflections" in capsys.readouterr().out
    assert (tmp_path / "m" / "sam" / "README.md").is_file() and not (tmp_path / "m" / "maya").exists()


def _trend_journal(j, days_between: float, n: int = 240) -> None:
    from datetime import datetime, timedelta

    j.identities.add("t")
    start = datetime(2021, 3, 7, 23, 30)
    ids = j.reflections.add_many("t", [{"content": f"entry {i}", "created_at": start + timedelta(days=i * days_between)}
                                  for i in range(n)])
    iid = j.identities.get("t").id
    now = "2024-01-01T00:00:00Z"
    shapes = {
        "rising": lambda i: i % max(1, (n - i) // 20 + 1) == 0,
        "falling": lambda i: i < n * 0.4 and i % 2 == 0,
        "bursts": lambda i: (n * 0.1 < i < n * 0.2) or (n * 0.6 < i < n * 0.7),
        "flat": lambda i: i % 5 == 0,
    }
    with j.transaction():
        for pid, keep in shapes.items():
            j.conn.execute("INSERT INTO patterns (id, identity_id, label, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                           (pid, iid, pid, now, now))
            j.conn.executemany("INSERT INTO pattern_occurrences VALUES (?, ?, 0.5)",
                               [(pid, rid) for i, rid in enumerate(ids) if keep(i)])


def test_markdown_trends_match_the_patterns_api(fresh_journal):
    """The README's trends are computed without pandas; they must equal `journal.pattern_trends`."""
    from mirror_kit.export.markdown import pattern_trends

    seen = set()
    for k, gap in enumerate((0.2, 1.5, 5.0, 12.0)):  # day, week, month and quarter periods
        j = fresh_journal(f"t{k}.db")
        _trend_journal(j, gap)
        ours = pattern_trends(j.conn, j.identities.get("t").id)
        theirs = dict(zip(j.patterns.trends("t")["pattern_id"], j.patterns.trends("t")["trend"], strict=True))
        assert ours == theirs, gap
        seen |= set(ours.values())
    assert {"emerging", "fading"} <= seen


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_MD_CHARS = st.sampled_from(list("#>-+*=_~`|[]()!<>&\\:.1234567890 \t\nabc") + ["```", "~~~", "<div>", "    ", "\r\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_MD_CHARS, max_size=40).map("".join) | st.text(max_size=80))
def test_any_user_text_renders_as_plain_paragraphs(text):
    allowed = {"paragraph_open", "paragraph_close", "inline", "text", "softbreak", "hardbreak"}
    kinds = {t.type for t in _tokens(md_text(text))}
    assert kinds <= allowed, (text, kinds - allowed)
    assert {t.type for t in _tokens("# Title\n\n" + md_inline(text))} <= allowed | {"heading_open", "heading_close"}
