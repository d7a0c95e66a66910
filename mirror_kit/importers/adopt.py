"""An entry's identity when its key changed: a stored reflection recognised under another key.

A reflection's id comes from (identity, source, source id), so an entry whose key changed would be
stored again beside itself. Three changes of key are recognised, and the stored reflection is then
kept (same id, so its analyses, threads and mirrorbacks stay attached) and given the new key:

- an older form of the source (`Entry.aliases`): the source an earlier version of an importer gave
  (`jrnl:journal` for jrnl's `journal.txt`, now `jrnl:default`; `csv:id` for a CSV whose ids are now
  scoped to its file, `csv:id:diary.csv`). The stored entry under the same key is this one when it
  has the same date and its text is the same or an edit of it (shares words with it); an unrelated
  entry under that key stays as it is and this one is added.
- a note moved or renamed inside its folder or vault (`Entry.gone`): the stored note of the same
  source whose file no longer exists and which has the same text and date, or the same `id`/`uuid`
  in its front matter (then also when edited), is this note at its new path. A note moved and edited
  without such an id is a new note (nothing else says it is the same one).
- a CSV file renamed (`Entry.kin` and `Entry.gone`): a row stored under the same id from a CSV of
  another name that no longer exists beside this one, with the same date and the same or related
  text, is this row (as for an older source). A file of another name still beside it is another
  file: its rows are never taken over.
- the same row read from a CSV of another name (`Entry.kin`): a row whose id, text and date are
  stored from another file is held already (skipped, never added twice, never relabelled).
- notes folders are kin too (`text:`, keyed by the folder's name): a note whose relative path, text
  and date are stored from a folder of another name is held already; when that folder is gone from
  beside this one (the folder was renamed), a note at the same path with the same date and the same
  or related text is that note (as for a renamed CSV), so an edit made since updates it.
"""

from __future__ import annotations

import json
from typing import Any

from .common import Entry
from .guard import unrelated_to_stored

# The kin of every notes folder's source (`text:<folder name>`).
NOTES_KIN = "text:"
# Front matter keys that give a note an identity of its own (Obsidian's unique-note and ID plugins).
NOTE_ID_KEYS = ("id", "uuid")


def note_id(metadata: Any) -> str | None:
    """The front matter id of a note's metadata (a dict or its JSON text), or None."""
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata or "{}")
        except ValueError:
            return None
    fm = metadata.get("front_matter") if isinstance(metadata, dict) else None
    if not isinstance(fm, dict):
        return None
    for key in NOTE_ID_KEYS:
        value = fm.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return f"{key}:{str(value).strip()}"
    return None


class Adopter:
    """Finds, for an entry whose key is not stored, the stored reflection it is (see the module)."""

    def __init__(self, journal: Any, identity_id: str, existing: bool) -> None:
        self.journal, self.identity_id, self.existing = journal, identity_id, existing
        self._alias_sids: dict[str, dict] = {}
        self._kin_sources: dict[str, list[str]] = {}
        self._moved: dict[str, tuple[dict, dict]] = {}  # source -> ((hash, created) -> sids, note id -> sids)
        self.claimed: set[tuple[str, str]] = set()  # (source, key) already given to an entry of this import

    def find(self, item: Entry, src: str, sid: str, row: dict, by_sid: dict) -> tuple | None:
        """(id, fingerprint) of the stored reflection `item` is, or None; the caller rewrites its key."""
        if not self.existing:
            return None
        aliases = item.aliases
        if item.kin and item.gone is not None:
            aliases = aliases + tuple(self._renamed(item, src))
        for alias in aliases:
            if alias == src:
                continue
            by = self._alias_sids.get(alias)
            if by is None:
                by = self._alias_sids[alias] = self.journal.reflections.known(self.identity_id, alias)[0]
            hit = by.get(sid)
            if hit is None or (alias, sid) in self.claimed:
                continue
            fp = hit[1]
            same = fp[0] == row["content_hash"]
            if fp[2] == row["created_at"] and (same or not unrelated_to_stored(self.journal, hit[0], row)):
                self.claimed.add((alias, sid))
                return hit
        if item.gone is not None and item.kin in ("", NOTES_KIN) and by_sid:  # notes, keyed by path
            by_text, by_note = self._moved_index(src, by_sid)
            nid = note_id(row["metadata"])
            candidates = by_note.get(nid, ()) if nid else by_text.get((row["content_hash"], row["created_at"]), ())
            for old in candidates:
                if old != sid and (src, old) not in self.claimed and item.gone(old):
                    self.claimed.add((src, old))
                    return by_sid[old]
        return None

    def _renamed(self, item: Entry, src: str) -> list[str]:
        """Sources of `item.kin` named after a file (`csv:id:diary.csv`) that is gone from beside this one."""
        found = self._kin_sources.get(item.kin)
        if found is None:
            n = len(item.kin)
            found = [s for (s,) in self.journal.conn.execute(
                "SELECT DISTINCT source FROM reflections WHERE identity_id = ? AND substr(source, 1, ?) = ?",
                (self.identity_id, n, item.kin))
                if s != src and self._gone_kin(item, s[n:])]
            self._kin_sources[item.kin] = found
        return found

    @staticmethod
    def _gone_kin(item: Entry, name: str) -> bool:
        if item.kin == NOTES_KIN:
            # a notes folder's source names the folder: gone when no folder of that name is beside
            # this one (`gone` takes paths relative to this folder)
            return "/" not in name and bool(name) and item.gone(f"../{name}")
        return name.lower().endswith((".csv", ".tsv")) and item.gone(name)

    def held_elsewhere(self, item: Entry, src: str, sid: str, row: dict) -> str | None:
        """The other source of its kin under which the very row (key, text, date) is stored, or None."""
        if not self.existing or not item.kin:
            return None
        found = self.journal.conn.execute(
            "SELECT source FROM reflections WHERE identity_id = ? AND content_hash = ? AND created_at = ? "
            "AND source_id = ? AND source <> ? AND substr(source, 1, ?) = ? LIMIT 1",
            (self.identity_id, row["content_hash"], row["created_at"], sid, src, len(item.kin), item.kin),
        ).fetchone()
        return found[0] if found is not None else None

    def _moved_index(self, src: str, by_sid: dict) -> tuple[dict, dict]:
        found = self._moved.get(src)
        if found is None:
            by_text: dict[tuple, list] = {}
            by_note: dict[str, list] = {}
            for key, (_, fp) in by_sid.items():
                by_text.setdefault((fp[0], fp[2]), []).append(key)
                nid = note_id(fp[4])
                if nid:
                    by_note.setdefault(nid, []).append(key)
            found = self._moved[src] = (by_text, by_note)
        return found
