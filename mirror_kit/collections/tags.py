"""`journal.tags`: tags and their links to reflections (tables `tags`, `reflection_tags`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..limits import check_tags
from ..textnorm import clean_tags, tag_display, tag_key
from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd


class Tags(Collection):
    """Tag a reflection (`add`, `remove`), count tags (`counts`), and the bulk link writer used by imports."""

    def ids(self, names: Iterable[str], *, create: bool = True) -> dict[str, int]:
        """{tag_key: tags.id} for `names`, inserting missing tags under their first spelling when `create`.

        Tag identity is `mirror_kit.textnorm.tag_key` (NFC + case-fold): SQLite's NOCASE folds ASCII only.
        Reads every stored tag once (one row per distinct tag, a small table); an older journal may hold
        two spellings of one key, the oldest row wins.
        """
        wanted: dict[str, str] = {}
        for n in names:
            shown = tag_display(n)
            if shown:
                wanted.setdefault(tag_key(shown), shown)
        found: dict[str, int] = {}
        if not wanted:
            return found
        for tid, stored in self.conn.execute("SELECT id, name FROM tags ORDER BY id"):
            k = tag_key(stored)
            if k in wanted and k not in found:
                found[k] = tid
        if create:
            for k, shown in wanted.items():
                if k not in found:
                    found[k] = self.conn.execute("INSERT INTO tags (name) VALUES (?)", (shown,)).lastrowid
        return found

    def id_of(self, name: str) -> int | None:
        """The id of the tag `name` (any spelling of it), or None; never creates one."""
        return self.ids([name], create=False).get(tag_key(name))

    def ids_of(self, name: str) -> list[int]:
        """Every stored tag id that is the tag `name` (one, or more in a journal that stored two
        spellings of one key, e.g. `@work` before the `@` was stripped); [] for an unknown tag."""
        key = tag_key(name)
        if not key:
            return []
        return [tid for tid, stored in self.conn.execute("SELECT id, name FROM tags ORDER BY id")
                if tag_key(stored) == key]

    def attach(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Link (reflection id, tag) pairs, creating tags as needed; call inside a transaction."""
        # In key order: each link lands next to the previous one in the table's B-tree, not at a
        # random page (reflection ids are hashes).
        links = sorted(self.links(pairs))
        if links:
            self.conn.executemany("INSERT OR IGNORE INTO reflection_tags (reflection_id, tag_id) VALUES (?, ?)",
                                  links)

    def links(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, int]]:
        """(reflection id, tags.id) for (reflection id, tag name) pairs, creating missing tags (as `ids`)."""
        pairs = list(pairs)
        if not pairs:
            return []
        names = list(dict.fromkeys(t for _, t in pairs))  # first spelling first: it names a new tag
        ids = self.ids(names)
        by_name = {t: ids.get(tag_key(t)) for t in names}
        return [(rid, by_name[t]) for rid, t in pairs if by_name[t] is not None]

    def attach_staged(self, table: str) -> None:
        """Link the (reflection_id, tag_id) rows of a scratch table (see `mirror_kit.bulkload`), in key
        order: one pass along the B-tree instead of a random page per link."""
        self.conn.execute("INSERT OR IGNORE INTO reflection_tags (reflection_id, tag_id) "
                          f"SELECT reflection_id, tag_id FROM {table} ORDER BY reflection_id, tag_id")

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
            self.attach((reflection_id, t) for t in check_tags(clean_tags(tags), f"reflection {reflection_id}"))
        return self.journal.reflections.get(reflection_id).tags

    def remove(self, reflection_id: str, *tags: str) -> list[str]:
        """Remove tags from a reflection; returns its tags."""
        self._writable()
        with self.journal.transaction():
            for t in clean_tags(tags):
                for tid in self.ids_of(t):
                    self._execute("DELETE FROM reflection_tags WHERE reflection_id = ? AND tag_id = ?",
                                  (reflection_id, tid))
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
                out[rid].append(tag_display(name))  # a stored `@work` reads as `work`
        for rid, names in out.items():
            out[rid] = sorted(clean_tags(names))
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
        sql += " GROUP BY t.id ORDER BY t.id"
        # spellings of one key (a stored `@work` beside `work`) count as one tag, shown as the oldest
        shown: dict[str, str] = {}
        counts: dict[str, int] = {}
        for name, n in self._execute(sql, params):
            k = tag_key(name)
            shown.setdefault(k, tag_display(name))
            counts[k] = counts.get(k, 0) + n
        rows = sorted(((shown[k], n) for k, n in counts.items()), key=lambda r: (-r[1], r[0]))
        return pd.DataFrame(rows, columns=["tag", "reflections"])

    def frame(self, identity: Any = None, since: Any = None, until: Any = None) -> pd.DataFrame:
        """DataFrame with one row per (reflection, tag)."""
        return self.journal.frame("tags", identity, since, until)
