"""Tag identity: one Unicode-aware rule for every place a tag is compared, stored or looked up.

Two spellings are the same tag when their keys are equal: NFC-normalised, then Unicode case-folded
(so `Été`, `ÉTÉ`, `e\u0301te\u0301` and `été` are one tag; `Straße` and `STRASSE` too). The journal
stores the first spelling it saw (NFC) as the tag's display name and never re-cases it later.
SQLite's NOCASE collation folds ASCII only, so lookups go through `journal.tags.ids`, not `name = ?`.
A leading `#` or `@` (how jrnl, Day One and Markdown type a tag) is not part of the name. A journal
written before `@` was stripped may hold a stored `@work`: lookups key both sides with `tag_key`, so
it is the same tag as `work` without rewriting any row.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable


def tag_key(name: str) -> str:
    """The identity of a tag: NFC, case-folded, NFC again (folding can decompose), leading '#'/'@' and
    blanks stripped (`@Work`, `#work` and `WORK` are one tag)."""
    # Memoised for strings: an import normalises the same few tags once per entry.
    return _tag_key(name) if type(name) is str else _tag_key.__wrapped__(str(name))


def tag_display(name: str) -> str:
    """The spelling stored for a new tag: NFC, leading '#'/'@' and surrounding blanks removed, case kept."""
    return _tag_display(name) if type(name) is str else _tag_display.__wrapped__(str(name))


@functools.lru_cache(maxsize=65536)
def _tag_display(name: str) -> str:
    # jrnl writes tags `@work` (its default tag symbols are `#` and `@`), Markdown front matter and
    # Day One `#work`: the symbol is how a tag is typed, not part of its name
    return unicodedata.normalize("NFC", name).strip().lstrip("#@").strip()


@functools.lru_cache(maxsize=65536)
def _tag_key(name: str) -> str:
    return unicodedata.normalize("NFC", _tag_display(name).casefold())


# clean_tags of recent short tag lists (only lists of exact `str`, whose equality is their
# spelling): imports clean the same few combinations once per entry. Cleared when full: stays small.
_CLEANED: dict[tuple[str, ...], tuple[str, ...]] = {}
_CLEANED_MAX = 4096
_CLEANED_MAX_TAGS = 16


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Display forms of `tags` in order, empty ones dropped, one per key (the first spelling wins)."""
    if isinstance(tags, str):
        tags = [tags]
    key = None
    if type(tags) is list and len(tags) <= _CLEANED_MAX_TAGS:
        key = tuple(tags)
        for t in key:
            if type(t) is not str:
                key = None
                break
        else:
            hit = _CLEANED.get(key)
            if hit is not None:
                return list(hit)
    out = _clean(tags)
    if key is not None:
        if len(_CLEANED) >= _CLEANED_MAX:
            _CLEANED.clear()
        _CLEANED[key] = tuple(out)
    return out


def _clean(tags: Iterable[str] | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for t in tags or ():
        shown = tag_display(t)
        key = tag_key(shown)
        if key and key not in seen:
            seen.add(key)
            out.append(shown)
    return out
