"""`journal.tags`: tags and their links to reflections (tables `tags`, `reflection_tags`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd


def tag_key(tag: str) -> str:
    """The key two spellings of one tag share (`Walk` and `walk` are one tag)."""
    return tag.lower()


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Tags as stored: stripped, without a leading `#`, empty ones dropped, one per key (first spelling kept)."""
    out: list[str] = []
    seen: set[str] = set()
    if isinstance(tags, str):
        tags = [tags]
    for t in tags or ():
        t = str(t).strip().lstrip("#").strip()
        if t and tag_key(t) not in seen:
            seen.add(tag_key(t))
            out.append(t)
    return out


class Tags(Collection):
    """Tag a reflection (`add`, `remove`), count tags (`counts`), and the bulk link writer used by imports."""

    def attach(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Link (reflection id, tag) pairs, creating tags as needed; call inside a transaction."""
        pairs = list(pairs)
        if not pairs:
            return
        names = sorted({t for _, t in pairs})
        self.conn.executemany("INSERT OR IGNORE INTO tags (name) VALUES (?)", [(t,) for t in names])
        ids: dict[str, int] = {}
        keys = sorted({tag_key(t) for t in names} | set(names))
        for start in range(0, len(keys), 900):
            chunk = keys[start:start + 900]
            # tags.name is COLLATE NOCASE: `Family` finds the stored `family`.
            for tid, tname in self.conn.execute(
                f"SELECT id, name FROM tags WHERE name IN ({','.join('?' * len(chunk))})", chunk
            ):
                ids[tag_key(tname)] = tid
        self.conn.executemany(
            "INSERT OR IGNORE INTO reflection_tags (reflection_id, tag_id) VALUES (?, ?)",
            [(rid, ids[tag_key(t)]) for rid, t in pairs],
        )

    def replace(self, pairs_by_reflection: dict[str, list[str]]) -> None:
        """Make each reflection's tags exactly the given list; call inside a transaction."""
        self.conn.executemany("DELETE FROM reflection_tags WHERE reflection_id = ?",
                              [(rid,) for rid in pairs_by_reflection])
        self.attach((rid, t) for rid, tags in pairs_by_reflection.items() for t in tags)

    def add(self, reflection_id: str, *tags: str) -> list[str]:
        """Add tags to a reflection; returns its tags (NotFoundError for an unknown reflection)."""
        self.journal.reflections.get(reflection_id)
        self._writable()
        with self.journal.transaction():
            self.attach((reflection_id, t) for t in clean_tags(tags))
        return self.journal.reflections.get(reflection_id).tags

    def remove(self, reflection_id: str, *tags: str) -> list[str]:
        """Remove tags from a reflection; returns its tags."""
        self._writable()
        with self.journal.transaction():
            for t in clean_tags(tags):
                self._execute(
                    "DELETE FROM reflection_tags WHERE reflection_id = ? AND tag_id = "
                    "(SELECT id FROM tags WHERE name = ?)",
                    (reflection_id, t),
                )
        return self.journal.reflections.get(reflection_id).tags

    def of(self, reflection_ids: list[str]) -> dict[str, list[str]]:
        """Tags of each reflection id, alphabetical."""
        out: dict[str, list[str]] = {i: [] for i in reflection_ids}
        for start in range(0, len(reflection_ids), 900):
            chunk = reflection_ids[start:start + 900]
            q = (
                "SELECT rt.reflection_id, t.name FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id "
                f"WHERE rt.reflection_id IN ({','.join('?' * len(chunk))}) ORDER BY t.name"
            )
            for rid, name in self.conn.execute(q, chunk):
                out[rid].append(name)
        return out

    def counts(self, identity: Any = None) -> pd.DataFrame:
        """DataFrame (tag, reflections): how many reflections carry each tag, most used first."""
        import pandas as pd

        sql = (
            "SELECT t.name, count(*) AS n FROM tags t JOIN reflection_tags rt ON rt.tag_id = t.id "
            "JOIN reflections r ON r.id = rt.reflection_id"
        )
        params: list = []
        if identity is not None:
            sql += " WHERE r.identity_id = ?"
            params.append(self.journal.identities.get(identity).id)
        sql += " GROUP BY t.name ORDER BY n DESC, t.name"
        rows = [(r[0], r[1]) for r in self._execute(sql, params)]
        return pd.DataFrame(rows, columns=["tag", "reflections"])

    def frame(self, identity: Any = None, since: Any = None, until: Any = None) -> pd.DataFrame:
        """DataFrame with one row per (reflection, tag)."""
        return self.journal.frame("tags", identity, since, until)
