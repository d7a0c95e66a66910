"""Tag identity: one Unicode-aware rule for every place a tag is compared, stored or looked up.

Two spellings are the same tag when their keys are equal: NFC-normalised, then Unicode case-folded
(so `Été`, `ÉTÉ`, `e\u0301te\u0301` and `été` are one tag; `Straße` and `STRASSE` too). The journal
stores the first spelling it saw (NFC) as the tag's display name and never re-cases it later.
SQLite's NOCASE collation folds ASCII only, so lookups go through `tag_ids` here, not `name = ?`.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Iterable


def tag_key(name: str) -> str:
    """The identity of a tag: NFC, case-folded, NFC again (folding can decompose), '#' and blanks stripped."""
    text = unicodedata.normalize("NFC", str(name)).strip().lstrip("#").strip()
    return unicodedata.normalize("NFC", text.casefold())


def tag_display(name: str) -> str:
    """The spelling stored for a new tag: NFC, '#' and surrounding blanks removed, case kept."""
    return unicodedata.normalize("NFC", str(name)).strip().lstrip("#").strip()


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Display forms of `tags` in order, empty ones dropped, one per key (the first spelling wins)."""
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    seen: set[str] = set()
    for t in tags or ():
        shown = tag_display(t)
        key = tag_key(shown)
        if key and key not in seen:
            seen.add(key)
            out.append(shown)
    return out


def tag_ids(conn: sqlite3.Connection, names: Iterable[str], *, create: bool = True) -> dict[str, int]:
    """{tag_key: tags.id} for `names`, inserting missing tags under their first spelling when `create`.

    Reads every stored tag once (the tags table holds one row per distinct tag, a small table);
    an older journal may hold two spellings of one key, the oldest row wins.
    """
    wanted: dict[str, str] = {}
    for n in names:
        shown = tag_display(n)
        if shown:
            wanted.setdefault(tag_key(shown), shown)
    found: dict[str, int] = {}
    for tid, stored in conn.execute("SELECT id, name FROM tags ORDER BY id"):
        k = tag_key(stored)
        if k in wanted and k not in found:
            found[k] = tid
    if create:
        for k, shown in wanted.items():
            if k not in found:
                cur = conn.execute("INSERT INTO tags (name) VALUES (?)", (shown,))
                found[k] = cur.lastrowid
    return found


def attach_tags(conn: sqlite3.Connection, pairs: list[tuple[str, str]]) -> None:
    """Link (reflection_id, tag) pairs, creating tags as needed; a link that exists is kept."""
    if not pairs:
        return
    ids = tag_ids(conn, [t for _, t in pairs])
    conn.executemany(
        "INSERT OR IGNORE INTO reflection_tags (reflection_id, tag_id) VALUES (?, ?)",
        [(rid, ids[tag_key(t)]) for rid, t in pairs if tag_key(t) in ids],
    )
