"""The constitutional validator: checks a mirrorback against the principles of `constitution.yaml`
and returns a `Verdict` naming each violated principle with the offending span."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError

DEFAULT_CONSTITUTION = Path(__file__).with_name("constitution.yaml")

_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
_WORD_RE = re.compile(r"[a-z][a-z']*")
_QUOTE_RE = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|(?<![a-z])'[^']{3,}'(?![a-z])", re.IGNORECASE)
_STOPWORDS_TEXT = """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its it's itself me more most my
    myself no nor not of off on once only or other our ours ourselves out over own same she should so some
    such than that that's the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves i'm i've i'd i'll you're you've you'd don't didn't can't won't isn't wasn't
    it's there's what's let's also just like get got one"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass
class Violation:
    """One broken principle: which, why, and where in the mirrorback (start/end are character offsets)."""

    principle: str
    message: str
    start: int
    end: int
    text: str
    check: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Verdict:
    """The result of `validate`: `ok` is True when no principle is violated."""

    ok: bool
    violations: list[Violation] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def principles(self) -> list[str]:
        """Ids of the violated principles, in constitution order, without repeats."""
        return list(dict.fromkeys(v.principle for v in self.violations))

    def as_dict(self) -> dict:
        return {"ok": self.ok, "violations": [v.as_dict() for v in self.violations], "scores": self.scores}

    def feedback(self) -> str:
        """The violations as instructions for a rewrite (what the engine sends back to the model)."""
        lines = [f'- {v.principle}: {v.message}: "{v.text}"' for v in self.violations]
        return "\n".join(lines)

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class Principle:
    id: str
    description: str
    checks: list[dict]


class Constitution:
    """The principles a mirrorback must respect, read from a YAML file (see constitution.yaml)."""

    def __init__(self, principles: list[Principle], lists: dict[str, Any], path: Path | None = None):
        self.principles = principles
        self.lists = lists
        self.path = path
        self._reported = _alternation(lists.get("reported", []))
        self._hedges = _alternation(lists.get("hedges", []))
        self.framing_words = frozenset(_stem(w) for w in lists.get("framing_words", []))
        for p in principles:
            for c in p.checks:
                if c["type"] == "phrases":
                    c["_res"] = [_compile(pat, p.id, self.path) for pat in c.get("patterns", [])]
                elif c["type"] == "sentence_start":
                    c["_words"] = frozenset(w.lower() for w in c.get("words", []))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Constitution:
        """Read a constitution file (default: the one shipped with mirror_kit)."""
        p = Path(path) if path else DEFAULT_CONSTITUTION
        return _load_cached(str(p.resolve()), p.stat().st_mtime_ns if p.exists() else 0)

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.principles]

    def instructions(self) -> str:
        """The principles as a numbered list, for the model's system prompt."""
        return "\n".join(f"{i}. {' '.join(p.description.split())}" for i, p in enumerate(self.principles, 1))


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: int) -> Constitution:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"constitution file {p} does not exist")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{p}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("principles"), list):
        raise InvalidInputError(f"{p}: expected a mapping with a 'principles' list")
    principles = []
    known = {"phrases", "sentence_start", "length", "overlap", "embedding"}
    for i, raw in enumerate(data["principles"]):
        if not isinstance(raw, dict) or not raw.get("id"):
            raise InvalidInputError(f"{p}: principles[{i}]: field 'id' is missing")
        checks = raw.get("checks") or []
        for j, c in enumerate(checks):
            if not isinstance(c, dict) or c.get("type") not in known:
                raise InvalidInputError(
                    f"{p}: principle {raw['id']!r} checks[{j}]: field 'type' must be one of {sorted(known)}"
                )
        principles.append(Principle(str(raw["id"]), str(raw.get("description", "")), [dict(c) for c in checks]))
    return Constitution(principles, data.get("lists") or {}, p)


def _compile(pattern: Any, principle: str, path: Path | None) -> re.Pattern:
    if not isinstance(pattern, str):
        raise InvalidInputError(
            f"{path}: principle {principle!r}: pattern {pattern!r} is not a string (quote it in the YAML)"
        )
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InvalidInputError(f"{path}: principle {principle!r}: bad pattern {pattern!r}: {exc}") from exc


def _alternation(items: list[str]) -> re.Pattern | None:
    if not items:
        return None
    return re.compile(r"\b(?:" + "|".join(f"(?:{x})" for x in items) + r")\b", re.IGNORECASE)


def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'walked'/'walking'/'walks' with 'walk'."""
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    for suf in ("ingly", "edly", "ness", "ment", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            w = w[: -len(suf)]
            if suf in ("ies", "ied"):
                w += "y"
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":  # stopped -> stopp -> stop
        w = w[:-1]
    return w.rstrip("e") if len(w) > 4 else w


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("\u2019", "'"))


def _content_stems(text: str) -> list[str]:
    return [_stem(w) for w in _words(text) if w not in _STOPWORDS and len(w) > 2]


def _sentence_bounds(text: str, pos: int) -> int:
    """Start offset of the clause holding `pos` (sentences and ';'/':'/',' clauses)."""
    cut = max(text.rfind(ch, 0, pos) for ch in ".!?\n")
    return cut + 1


def _inside_quotes(text: str, start: int, end: int) -> bool:
    return any(m.start() <= start and end <= m.end() for m in _QUOTE_RE.finditer(text))


class _Ctx:
    def __init__(self, reflection: str, mirrorback: str):
        self.reflection = reflection
        self.original = mirrorback
        # Curly apostrophes become straight ones (same length, so offsets stay valid for the original).
        self.text = mirrorback.replace("\u2019", "'")
        self.reflection_stems = set(_content_stems(reflection)) | {_stem(w) for w in _words(reflection)}


def validate(
    reflection: Any,
    mirrorback: Any,
    *,
    constitution: Constitution | str | Path | None = None,
    embedder: Any = None,
    judge: Callable[[str, str], list[tuple[str, str]]] | None = None,
) -> Verdict:
    """Check a mirrorback against the constitution.

    reflection / mirrorback: strings or objects with a `.content` (Reflection, Mirrorback).
    embedder: enables the optional embedding-similarity check: True for the default
        `mirror_kit.embedding` model, or any object with `.encode(list[str])` (e.g. an `Embedder`).
    judge: an optional model-based check, `judge(reflection, mirrorback) -> [(principle_id, message)]`;
        its findings are added as violations spanning the whole mirrorback.
    """
    reflection_text = getattr(reflection, "content", reflection)
    mb_text = getattr(mirrorback, "content", mirrorback)
    if not isinstance(reflection_text, str) or not isinstance(mb_text, str):
        raise InvalidInputError("validate() needs the reflection and the mirrorback as text")
    const = constitution if isinstance(constitution, Constitution) else Constitution.load(constitution)
    ctx = _Ctx(reflection_text, mb_text)
    violations: list[Violation] = []
    scores: dict[str, float] = {}
    for p in const.principles:
        for check in p.checks:
            kind = check["type"]
            if kind == "phrases":
                violations += _check_phrases(const, p, check, ctx)
            elif kind == "sentence_start":
                violations += _check_sentence_start(p, check, ctx)
            elif kind == "length":
                violations += _check_length(p, check, ctx)
            elif kind == "overlap":
                violations += _check_overlap(const, p, check, ctx, scores, violations)
            elif kind == "embedding" and (embedder is not None or not check.get("optional")):
                violations += _check_embedding(p, check, ctx, scores, embedder)
    if judge is not None:
        ids = set(const.ids)
        for pid, msg in judge(reflection_text, mb_text):
            if pid not in ids:
                raise InvalidInputError(f"judge returned unknown principle {pid!r} (known: {sorted(ids)})")
            violations.append(Violation(pid, msg, 0, len(mb_text), mb_text, "judge"))
    order = {pid: i for i, pid in enumerate(const.ids)}
    violations.sort(key=lambda v: (order.get(v.principle, 99), v.start))
    return Verdict(not violations, violations, scores)


def _check_phrases(const: Constitution, p: Principle, check: dict, ctx: _Ctx) -> list[Violation]:
    out: list[Violation] = []
    text = ctx.text
    taken: list[tuple[int, int]] = []
    for rx in check["_res"]:
        for m in rx.finditer(text):
            start, end = m.start(), m.end()
            if any(s < end and start < e for s, e in taken):
                continue
            clause = text[_sentence_bounds(text, start):start]
            if check.get("exempt_quoted") and _inside_quotes(text, start, end):
                continue
            if check.get("exempt_reported") and const._reported is not None and const._reported.search(clause):
                continue
            if check.get("exempt_hedged") and const._hedges is not None and const._hedges.search(clause):
                continue
            if check.get("exempt_echoed"):
                probe = m.group(1) if m.groups() and m.group(1) else m.group(0)
                stems = [_stem(w) for w in _words(probe) if w not in _STOPWORDS] or [_stem(w) for w in _words(probe)]
                if stems and all(s in ctx.reflection_stems for s in stems):
                    continue
            taken.append((start, end))
            out.append(Violation(p.id, check.get("message", p.id), start, end, ctx.original[start:end], "phrases"))
    return out


def _check_sentence_start(p: Principle, check: dict, ctx: _Ctx) -> list[Violation]:
    out = []
    for m in _SENTENCE_RE.finditer(ctx.text):
        seg = m.group(0)
        lead = len(seg) - len(seg.lstrip(" \t\"'\u201c(*-"))
        words = _words(seg[lead:lead + 40])
        if not words:
            continue
        first = words[0]
        if first in check["_words"] and not _inside_quotes(ctx.text, m.start() + lead, m.start() + lead + 1):
            start = m.start() + lead
            clause = re.split(r"(?<=[;:])|\s[\u2014\u2013-]\s", seg[lead:], maxsplit=1)[0]
            end = start + len(clause.rstrip())
            out.append(Violation(p.id, check.get("message", p.id), start, end, ctx.original[start:end],
                                 "sentence_start"))
    return out


def _check_length(p: Principle, check: dict, ctx: _Ctx) -> list[Violation]:
    n = len(ctx.text.split())
    sentences = [s for s in _SENTENCE_RE.findall(ctx.text) if _words(s)]
    span = (0, len(ctx.text), ctx.original)
    if n < int(check.get("min_words", 0)):
        return [Violation(p.id, f"too short: {n} words (at least {check['min_words']})", *span, "length")]
    if "max_words" in check and n > int(check["max_words"]):
        return [Violation(p.id, f"too long: {n} words (at most {check['max_words']})", *span, "length")]
    if "max_sentences" in check and len(sentences) > int(check["max_sentences"]):
        return [Violation(p.id, f"too long: {len(sentences)} sentences (at most {check['max_sentences']})",
                          *span, "length")]
    return []


def _check_overlap(
    const: Constitution, p: Principle, check: dict, ctx: _Ctx, scores: dict, found: list[Violation]
) -> list[Violation]:
    # Words already flagged by another principle (a label, a piece of advice) are left out: grounding
    # asks whether the rest of the reply is about what the writer wrote, not the same question twice.
    text = ctx.text
    for v in found:
        if v.end - v.start < len(text):
            text = text[:v.start] + " " * (v.end - v.start) + text[v.end:]
    stems = [s for s in _content_stems(text) if s not in const.framing_words]
    if len(stems) < int(check.get("min_content_words", 1)):
        return []
    share = sum(s in ctx.reflection_stems for s in stems) / len(stems)
    scores["overlap"] = round(share, 3)
    if share < float(check.get("min_share", 0.0)):
        msg = f"{check.get('message', p.id)} (share {share:.2f} < {check['min_share']})"
        return [Violation(p.id, msg, 0, len(ctx.text), ctx.original, "overlap")]
    return []


def _check_embedding(p: Principle, check: dict, ctx: _Ctx, scores: dict, embedder: Any) -> list[Violation]:
    import numpy as np

    if embedder is True or embedder is None:
        from ..embedding import get_embedder  # lazy: loads the transformer model (once per process)

        embedder = get_embedder()
    vecs = np.asarray(embedder.encode([ctx.reflection, ctx.text]), dtype=np.float32)
    sim = float(vecs[0] @ vecs[1] / (np.linalg.norm(vecs[0]) * np.linalg.norm(vecs[1]) + 1e-12))
    scores["similarity"] = round(sim, 3)
    if sim < float(check.get("min_similarity", 0.0)):
        msg = f"{check.get('message', p.id)} (similarity {sim:.2f} < {check['min_similarity']})"
        return [Violation(p.id, msg, 0, len(ctx.text), ctx.original, "embedding")]
    return []
