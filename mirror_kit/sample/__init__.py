"""The sample journal: a deterministic generator of two writers' reflections with planted structure.

`generate(seed)` returns the records; `python -m mirror_kit.sample --out data/` writes
`data/sample_journal.jsonl` and `data/sample_truth.json` (what the analysis must recover, see
`data/README.md`); `load_sample(journal)` stores the committed journal (idempotent).

Entries are composed from hand-written phrase banks (`banks_maya.py`, `banks_sam.py`): a theme
per entry (drawn per month from planted shares), 1-4 theme sentences, a solitude or connection
sentence (the probability of connection rises linearly over maya's 20 months: the planted drift),
pole sentences that offset a theme's lean on the tensions that must stay flat, and everyday
openers, fillers, questions and closers.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..ids import stable_id
from . import banks_maya, banks_sam

DEFAULT_SEED = 20240101
REPO_DATA = Path(__file__).resolve().parents[2] / "data"
JOURNAL_FILE = "sample_journal.jsonl"
TRUTH_FILE = "sample_truth.json"
SOURCE = "sample"

MAYA_START, MAYA_END = date(2024, 1, 1), date(2025, 8, 31)
SAM_START, SAM_END = date(2024, 9, 2), date(2025, 5, 31)
HOME_TZ = "Europe/Berlin"
# (first day, last day, IANA zone): where maya writes from when she is not in Berlin.
MAYA_TRAVEL = [
    (date(2024, 6, 8), date(2024, 6, 15), "Europe/Lisbon"),
    (date(2024, 9, 22), date(2024, 9, 28), "America/New_York"),
    (date(2025, 4, 6), date(2025, 5, 24), "America/New_York"),
    (date(2025, 7, 19), date(2025, 7, 26), "Europe/Rome"),
]
# Weeks she does not write at all (holidays, illness, life).
MAYA_GAPS = [
    (date(2024, 2, 19), date(2024, 3, 2)),
    (date(2024, 8, 5), date(2024, 8, 15)),
    (date(2024, 12, 21), date(2024, 12, 30)),
    (date(2025, 6, 16), date(2025, 6, 26)),
]
SAM_TRAVEL = [(date(2025, 3, 14), date(2025, 3, 19), "America/Denver")]
SAM_GAPS = [(date(2024, 12, 23), date(2025, 1, 5)), (date(2025, 4, 7), date(2025, 4, 13))]

BACKGROUND = ["cooking", "reading", "family_calls", "sleep_health", "garden", "music"]
PLANTED = ["new_job", "race_training", "grief"]
# Windows (inclusive, by month index 1..20 from 2024-01) and monthly shares of the planted themes;
# the planted themes and `everyday` share half of each month, the background themes the other half,
# so the background shares stay flat whatever the planted themes do.
JOB_SHARE = {4: 0.38, 5: 0.40, 6: 0.40, 7: 0.36, 8: 0.30, 9: 0.24, 10: 0.18}
GRIEF_SHARE = {13: 0.30, 14: 0.24, 15: 0.16, 16: 0.05, 17: 0.03, 18: 0.02, 19: 0.01}


def _race_share(m: int) -> float:
    return 0.0 if m < 8 else round(0.05 + (m - 8) * 0.0225, 4)


WINDOWS = {
    "new_job": ("2024-04-01", "2024-10-31"),
    "race_training": ("2024-08-01", "2025-08-31"),
    "grief": ("2025-01-01", "2025-03-31"),
}
KEYWORDS = {
    "new_job": ["new job", "manager", "deadline", "office", "onboarding", "standup", "sprint", "overtime"],
    "race_training": ["half marathon", "long run", "pace", "km", "intervals", "tempo", "training plan",
                      "running"],
    "grief": ["oma", "grandmother", "funeral", "grief", "cemetery", "loss", "mourning", "hospice"],
    "cooking": ["recipe", "soup", "sourdough", "oven", "baked", "pesto", "dough", "leftovers"],
    "reading": ["novel", "library", "chapter", "author", "page", "reading", "books", "bookshop"],
    "family_calls": ["mum", "dad", "parents", "brother", "jonas", "voice message", "family chat", "video call"],
    "sleep_health": ["slept", "insomnia", "headache", "woke", "nap", "doctor", "sleep tracker", "migraine"],
    "garden": ["seedlings", "pots", "soil", "tomatoes", "compost", "watering", "repotted", "basil"],
    "music": ["piano", "chords", "playlist", "concert", "scales", "practice", "sheet music", "metronome"],
    # sam
    "night_shift": ["shift", "nights", "er", "patient", "charge nurse", "nurse", "trauma", "charting"],
    "dog": ["biscuit", "dog", "shelter", "dog park", "vet", "harness"],
    "woodworking": ["garage", "dovetails", "chisel", "sanding", "glue", "lumber", "workbench", "jig"],
    "fishing": ["fishing", "caught", "lure", "rod", "tackle", "harbor", "fish"],
    "money": ["rent", "budget", "paycheck", "loan", "savings", "insurance", "credit card"],
}
# Tensions verified by bench/check_sample.py with all-MiniLM-L6-v2 (zero-shot pole projection,
# monthly means, Mann-Kendall): the drifting one at p < 0.001 with the right sign, flat ones p > 0.2.
# Update VERIFIED (and re-run the script) whenever a bank or a probability changes.
TENSIONS = [
    {"tension": "solitude_connection", "direction": "+", "poles": ["solitude", "connection"]},
]
FLAT_TENSIONS = ["reason_feeling", "stability_change", "being_doing", "surrender_agency"]
VERIFIED = {
    "method": "bench/check_sample.py: all-MiniLM-L6-v2, pole = mean of 8 general phrases, position = "
              "cos(pole b) - cos(pole a), monthly means over maya's 20 months, Mann-Kendall",
    "criteria": {"drift": "p < 0.001 with the claimed sign", "flat": "p > 0.2"},
    "results": {
        "solitude_connection": {"tau": 0.789, "p_value": 1.34e-06},
        "reason_feeling": {"tau": 0.042, "p_value": 0.82},
        "stability_change": {"tau": -0.042, "p_value": 0.82},
        "being_doing": {"tau": -0.147, "p_value": 0.381},
        "surrender_agency": {"tau": 0.011, "p_value": 0.974},
    },
    "theme_separability": {"nearest_centroid_accuracy": 0.96, "kmeans_ari": 0.92},
    "other_seeds": "seeds 7, 11, 12: the drift holds in all three (p <= 9e-5); flat holds in 11 of 12 "
                   "(seed 7: stability_change p = 0.018): the balance is in expectation, this seed is verified",
}

# Connectives put before a middle sentence (the next letter is lower-cased unless it starts a name).
_CONNECTIVES = ["Also, ", "And ", "But ", "Anyway, ", "Then again, ", "Plus, ", "Meanwhile, ", "Oh, and ",
                "Still, ", "Later, ", "Honestly, ", "Funny thing: ", "In other news, ", "Otherwise, "]
_ASIDES = [" (again)", " (don't ask)", ", typical", " (of course)", ", for the record", " (long story)",
           ", as usual", " (I know, I know)", " (sigh)", " (who knew)", " (for once)", " (mostly)",
           " (ha)", " (surprise)", " (obviously)", ", I think", ", weirdly", ", for a change", " (noted)",
           ", no idea why", " (more on that later)", ", if I'm honest", " (classic)", " (finally)"]
_LEADS = ["Honestly, ", "To be fair, ", "Weirdly, ", "For what it's worth, ", "If I'm honest, ", "Okay: ",
          "Again, ", "Right, ", "Okay, so ", "Not gonna lie, ", "Also: ", "Looking back, ", "For the record, ",
          "Note to self: ", "Small thing, but ",
          "Truthfully, ", "As it turns out, ", "Mind you, ", "Basically, ", "Side note: ", "Oddly enough, "]
_KEEP_CASE = re.compile(r"^(I\b|I'|Oma|Mum|Dad|Tomás|Jonas|Lena|Aylin|Jakob|Priya|Marta|Ben|Berlin|New York|"
                        r"Lisbon|Rome|Biscuit|Dana|Rico|Dee|Hannah|Marcus|[A-Z]{2,}|[A-Z][a-z]+day\b)")
_ALT = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]


class _Writer:
    """Shared machinery: seeded decks (draw without replacement, reshuffle when empty) and templates."""

    B: Any  # the writer's phrase banks module (SLOTS, THEMES, ...)

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.slots = self.B.SLOTS
        self._decks: dict[str, list[str]] = {}
        self.used_first: set[str] = set()

    def core(self, theme: str) -> str:
        """A theme sentence; a theme's `first` sentence (its introduction) comes exactly once, first."""
        first = self.B.THEMES[theme].get("first")
        if first and theme not in self.used_first:
            self.used_first.add(theme)
            return first
        return self.draw(f"{theme}:core", self.B.THEMES[theme]["core"])

    def draw(self, key: str, items: Sequence[str], allow=None) -> str:
        for _ in range(len(items) + 1):
            deck = self._decks.get(key)
            if not deck:
                deck = list(items)
                self.rng.shuffle(deck)
                self._decks[key] = deck
            item = deck.pop()
            if allow is None or allow(item):
                return self.expand(item)
        return self.expand(item)

    def expand(self, template: str) -> str:
        text = _ALT.sub(lambda m: self.rng.choice(m.group(1).split("|")), template)
        return _SLOT.sub(lambda m: self.rng.choice(self.slots[m.group(1)]), text)

    def connect(self, sentence: str) -> str:
        con = self.rng.choice(_CONNECTIVES)
        return con + (sentence if _KEEP_CASE.match(sentence) else sentence[:1].lower() + sentence[1:])

    def aside(self, sentence: str) -> str:
        if sentence[-1:] in ".!" and not sentence.endswith(".."):
            return sentence[:-1] + self.rng.choice(_ASIDES) + sentence[-1]
        return sentence

    def vary(self, sentence: str) -> str:
        """Now and then a lead-in or a parenthetical, as people write: the same thought never twice alike."""
        r = self.rng.random()
        if r < 0.14 and not sentence.endswith("?"):
            lead = self.rng.choice(_LEADS)
            keep = _KEEP_CASE.match(sentence) or lead.endswith(": ")
            return lead + (sentence if keep else sentence[:1].lower() + sentence[1:])
        if r < 0.28:
            return self.aside(sentence)
        return sentence

    def typo(self, text: str) -> str:
        words = text.split(" ")
        idx = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
        if not idx:
            return text
        i = self.rng.choice(idx)
        w = words[i]
        k = self.rng.randrange(1, len(w) - 2)
        words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
        return " ".join(words)


def _in_ranges(d: date, ranges: Iterable[tuple]) -> bool:
    return any(r[0] <= d <= r[1] for r in ranges)


def _tz_for(d: date, travel: list[tuple[date, date, str]], home: str) -> str:
    for start, end, tz in travel:
        if start <= d <= end:
            return tz
    return home


def _month_index(d: date, start: date) -> int:
    return (d.year - start.year) * 12 + d.month - start.month + 1


def _schedule(rng: random.Random, start: date, end: date, gaps, p_weekday: Sequence[float],
              p_double: float) -> list[date]:
    """Writing days: irregular (weekday rhythm, random skips, whole gap weeks), some days twice."""
    days: list[date] = []
    d = start
    while d <= end:
        if not _in_ranges(d, gaps) and rng.random() < p_weekday[d.weekday()]:
            days.append(d)
            if rng.random() < p_double:
                days.append(d)
        d += timedelta(days=1)
    return days


def _local_times(rng: random.Random, days: list[date], tzs: list[str]) -> list[datetime]:
    """A local writing time for each entry: mornings, lunch breaks, mostly evenings; doubles split."""
    out: list[datetime] = []
    i = 0
    while i < len(days):
        same = 2 if i + 1 < len(days) and days[i + 1] == days[i] else 1
        slots = ["morning", "evening"] if same == 2 else [rng.choices(
            ["morning", "lunch", "evening", "late"], weights=[28, 10, 50, 12])[0]]
        for k, slot in enumerate(slots):
            lo, hi = {"morning": (6 * 60 + 15, 9 * 60 + 30), "lunch": (12 * 60, 13 * 60 + 45),
                      "evening": (19 * 60, 22 * 60 + 50), "late": (23 * 60, 23 * 60 + 55)}[slot]
            minute = rng.randint(lo, hi)
            d = days[i + k]
            out.append(datetime(d.year, d.month, d.day, minute // 60, minute % 60, 0,
                                tzinfo=ZoneInfo(tzs[i + k])))
        i += same
    return out


def _allocate(counts_by_month: dict[int, int], shares_for, rng: random.Random) -> dict[int, list[str]]:
    """Per month, exact theme counts (largest remainder) in shuffled order: low-noise planted shares."""
    out: dict[int, list[str]] = {}
    for m, n in counts_by_month.items():
        shares = shares_for(m)
        raw = [(theme, share * n) for theme, share in shares]
        base = {t: int(x) for t, x in raw}
        rest = n - sum(base.values())
        # ties (equal background shares) broken at random, not by name: no theme is favoured
        keys = {t: rng.random() for t, _ in raw}
        order = sorted(raw, key=lambda tx: (-round(tx[1] - int(tx[1]), 9), keys[tx[0]]))
        for t, _ in order[:rest]:
            base[t] += 1
        themes = [t for t, _ in raw for _ in range(base[t])]
        rng.shuffle(themes)
        out[m] = themes
    return out


def _maya_shares(m: int) -> list[tuple[str, float]]:
    planted = [("new_job", JOB_SHARE.get(m, 0.0)), ("race_training", _race_share(m)),
               ("grief", GRIEF_SHARE.get(m, 0.0))]
    everyday = 0.5 - sum(s for _, s in planted)
    return [(t, 0.5 / len(BACKGROUND)) for t in BACKGROUND] + planted + [("everyday", everyday)]


# Which flat-tension poles to add to a theme's entries, with probability: the theme's own lean is
# offset so that the monthly mix does not drift on tensions that must stay flat.
BALANCE_PLAN: dict[str, list[tuple[str, float]]] = {
    "new_job": [("being", 0.85), ("stability", 0.3), ("feeling", 0.3)],
    "race_training": [("being", 0.25), ("surrender", 0.3), ("feeling", 0.2), ("stability", 0.2)],
    "grief": [("reason", 0.6), ("agency", 0.4), ("doing", 0.3), ("stability", 0.2)],
}
COUNTER_PLAN = {
    "together": [("stability", 0.45), ("being", 0.2), ("agency", 0.25)],
    "alone": [("change", 0.4), ("doing", 0.35), ("surrender", 0.35)],
}
RAMP_PLAN = [(("change", "stability"), 0.6), (("surrender", "agency"), 0.5)]
# A little of every pole everywhere, so that no pole sentence is a marker of one theme.
BALANCE_BASE = 0.06


class _Maya(_Writer):
    B = banks_maya

    def p_connection(self, t: float) -> float:
        return 0.05 + 0.9 * t

    def social(self, theme: str, connected: bool, when: date) -> str:
        pole = "together" if connected else "alone"
        allow = (lambda s: "Tomás" not in s) if when < date(2024, 10, 1) else None
        bank = self.B.THEMES[theme].get(pole)
        # grief is only ever spoken of with its own social sentences: no party chatter next to a death
        if bank and (theme == "grief" or self.rng.random() < 0.65):
            return self.draw(f"{theme}:{pole}", bank, allow)
        return self.draw(f"generic:{pole}", self.B.GENERIC[pole], allow)

    def balance(self, theme: str) -> list[str]:
        out = []
        for pole, p in BALANCE_PLAN.get(theme, []):
            if self.rng.random() < p:
                out.append(self.draw(f"balance:{pole}", self.B.BALANCE[pole]))
        for pole in sorted(self.B.BALANCE):
            if self.rng.random() < BALANCE_BASE:
                out.append(self.draw(f"balance:{pole}", self.B.BALANCE[pole]))
        return out

    def counter(self, connected: bool) -> list[str]:
        """Offset what solitude/connection sentences carry on the other tensions (alone reads settled,
        still, self-reliant; together reads eventful and busy), so only solitude_connection drifts."""
        out = []
        side = "together" if connected else "alone"
        for pole, p in COUNTER_PLAN[side]:
            if self.rng.random() < p:
                out.append(self.draw(f"counter:{side}_{pole}", self.B.COUNTER[f"{side}_{pole}"]))
        return out

    def ramp(self, t: float) -> list[str]:
        """Pole sentences whose frequency moves with time against the residual drift that the rising
        share of connection sentences brings to stability_change and surrender_agency."""
        out = []
        for (early, late), amp in RAMP_PLAN:
            for pole, p in ((early, amp * (1 - t)), (late, amp * t)):
                if self.rng.random() < p:
                    out.append(self.draw(f"balance:{pole}", self.B.BALANCE[pole]))
        return out

    def entry(self, theme: str, when: datetime, t: float, month: int, gap_days: int,
              kind: str) -> tuple[str, bool]:
        rng = self.rng
        connected = rng.random() < self.p_connection(t)
        if kind == "long":
            return self.long_entry(theme, when, connected, month), connected
        opener = None
        if gap_days >= 5:
            opener = rng.choice([f"First entry in {gap_days} days.", f"{gap_days} days without writing.",
                                 f"Back after {gap_days} days.", f"Haven't written for {gap_days} days."])
        elif rng.random() < 0.35:
            opener = self.draw("generic:openers", self.B.GENERIC["openers"])
        n_core = rng.choice([2, 2, 3, 3, 3, 4, 5])
        middle = [self.core(theme) for _ in range(n_core)]
        extra = [self.social(theme, connected, when.date())]
        if theme != "grief" and rng.random() < 0.5:
            extra.append(self.draw(f"generic:{'together' if connected else 'alone'}",
                                   self.B.GENERIC["together" if connected else "alone"],
                                   (lambda s: "Tomás" not in s) if when.date() < date(2024, 10, 1) else None))
        extra += self.balance(theme)
        extra += self.counter(connected)
        extra += self.ramp(t)
        # a planted theme in its window leaks into other entries too, as life does
        for planted, shares in (("new_job", JOB_SHARE), ("grief", GRIEF_SHARE)):
            if planted != theme and rng.random() < shares.get(month, 0.0) * 0.35:
                extra.append(self.core(planted))
        if theme not in BACKGROUND and rng.random() < 0.25:
            bg = rng.choice(BACKGROUND)
            extra.append(self.draw(f"{bg}:core", self.B.THEMES[bg]["core"]))
        tz = when.tzinfo.key  # type: ignore[union-attr]
        if tz in self.B.TRAVEL and rng.random() < 0.6:
            extra.append(self.draw(f"travel:{tz}", self.B.TRAVEL[tz]))
        if rng.random() < 0.3:
            extra.append(self.draw("generic:fillers", self.B.GENERIC["fillers"]))
        if rng.random() < 0.12:
            extra.append(self.draw("generic:questions", self.B.GENERIC["questions"]))
        rng.shuffle(extra)
        body = middle[:1] + extra + middle[1:] if rng.random() < 0.5 else middle + extra
        body = [self.connect(s) if i and not s.endswith("?") and rng.random() < 0.18 else s
                for i, s in enumerate(body)]
        body = [s if s.startswith(tuple(_CONNECTIVES)) else self.vary(s) for s in body]
        closer = self.draw("generic:closers", self.B.GENERIC["closers"]) if rng.random() < 0.28 else None
        if kind in ("list", "markdown"):
            intro = opener or rng.choice(self.B.LIST_INTROS)
            text = intro + "\n\n" + "\n".join(f"- {s}" for s in body)
            if closer:
                text += "\n\n" + closer
            return text, connected
        sentences = ([opener] if opener else []) + body + ([closer] if closer else [])
        if len(sentences) >= 5 and rng.random() < 0.6:
            cut = rng.randrange(2, len(sentences) - 1)
            text = " ".join(sentences[:cut]) + "\n\n" + " ".join(sentences[cut:])
        else:
            text = " ".join(sentences)
        return text, connected

    def long_entry(self, theme: str, when: datetime, connected: bool, month: int) -> str:
        """350+ words over several themes, with Markdown headings: exercises chunking."""
        rng = self.rng
        others = [t for t in BACKGROUND if t != theme]
        rng.shuffle(others)
        sections = [theme] + others[:3]
        parts = [rng.choice(self.B.LONG_HEADINGS)]
        words = 0
        while words < 380:
            for sec in sections:
                head = sec.replace("_", " ").capitalize()
                sents = [self.core(sec) for _ in range(rng.randint(3, 5))]
                sents.append(self.social(sec, connected, when.date()))
                sents += self.balance(sec)
                rng.shuffle(sents)
                sents = [self.connect(s) if i and rng.random() < 0.2 else self.vary(s)
                         for i, s in enumerate(sents)]
                parts.append(f"### {head}\n\n" + " ".join(sents))
                words = sum(len(p.split()) for p in parts)
            if words < 380:
                sections = [theme]
        q = self.draw("generic:questions", self.B.GENERIC["questions"])
        parts.append(q + " " + self.draw("generic:closers", self.B.GENERIC["closers"]))
        return "\n\n".join(parts)

    def title(self, theme: str, when: datetime) -> str | None:
        r = self.rng.random()
        if r < 0.16:
            return self.expand(self.rng.choice(self.B.THEMES[theme]["titles"]))
        if r < 0.25:
            return f"{when.day} {_MONTHS[when.month - 1]}"
        return None

    def tags(self, theme: str) -> list[str]:
        if self.rng.random() >= 0.3:
            return []
        pool = self.B.THEMES[theme]["tags"]
        k = self.rng.choice([1, 1, 2, 2, 3])
        picked = self.rng.sample(pool, min(k, len(pool)))
        if self.rng.random() < 0.15:
            picked.append(self.rng.choice(["mood", "evening", "morning", "note-to-self"]))
        return picked


def _gaps_before(days: list[date]) -> list[int]:
    out, prev = [], None
    for d in days:
        out.append(0 if prev is None else (d - prev).days)
        prev = d
    return out


def _maya(seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(f"{seed}:maya")
    days = _schedule(rng, MAYA_START, MAYA_END, MAYA_GAPS,
                     p_weekday=[0.9, 0.88, 0.9, 0.86, 0.78, 0.74, 0.93], p_double=0.1)
    tzs = [_tz_for(d, MAYA_TRAVEL, HOME_TZ) for d in days]
    times = _local_times(rng, days, tzs)
    months = [_month_index(d, MAYA_START) for d in days]
    per_month: dict[int, int] = {}
    for m in months:
        per_month[m] = per_month.get(m, 0) + 1
    alloc = _allocate(per_month, _maya_shares, rng)
    writer = _Maya(rng)
    span = (MAYA_END - MAYA_START).days
    gaps = _gaps_before(days)
    records, labels = [], []
    cursor = {m: 0 for m in alloc}
    for i, (d, when, m) in enumerate(zip(days, times, months, strict=True)):
        theme = alloc[m][cursor[m]]
        cursor[m] += 1
        r = rng.random()
        kind = "long" if r < 0.018 else "markdown" if r < 0.045 else "list" if r < 0.07 else "prose"
        t = (d - MAYA_START).days / span
        content, connected = writer.entry(theme, when, t, m, gaps[i], kind)
        title = writer.title(theme, when)
        if kind in ("markdown", "long") and title is None:
            title = writer.expand(rng.choice(banks_maya.THEMES[theme]["titles"]))
        if kind == "markdown":
            content = f"## {title}\n\n" + content
        if rng.random() < 0.04:
            content = writer.typo(content)
        records.append({"identity": "maya", "created_at": when.isoformat(), "tz": tzs[i], "title": title,
                        "content": content, "tags": writer.tags(theme)})
        labels.append({"theme": theme, "social": 1 if connected else -1, "kind": kind})
    return records, labels


class _Sam(_Writer):
    B = banks_sam

    def entry(self, theme: str) -> str:
        rng = self.rng
        if theme == "downtime":
            sents = [self.draw("fillers", self.B.GENERIC["fillers"]) for _ in range(rng.choice([1, 2, 2, 3]))]
        else:
            sents = [self.core(theme) for _ in range(rng.choice([1, 1, 2, 2, 3]))]
        if rng.random() < 0.3:
            other = rng.choice(sorted(t for t in self.B.THEMES if t != theme and t != "dog"))
            sents.append(self.core(other))
        if rng.random() < 0.35:
            sents.append(self.draw("fillers", self.B.GENERIC["fillers"]))
        rng.shuffle(sents)
        if rng.random() < 0.25:
            sents.insert(0, self.draw("openers", self.B.GENERIC["openers"]))
        if rng.random() < 0.2:
            sents.append(self.draw("closers", self.B.GENERIC["closers"]))
        # sam capitalises only sometimes and ends sentences with a full stop or nothing
        if rng.random() < 0.35:
            sents = [s[:1].upper() + s[1:] for s in sents]
        sep = rng.choice([". ", ". ", ". ", "\n"])
        return sep.join(s.rstrip(".") for s in sents) + rng.choice(["", "."])


def _sam_shares(m: int) -> list[tuple[str, float]]:
    dog = 0.0 if m < 3 else 0.25  # Biscuit is adopted in November 2024 (month 3)
    return [("night_shift", 0.1875), ("woodworking", 0.1875), ("fishing", 0.1875), ("money", 0.1875),
            ("dog", dog), ("downtime", 0.25 - dog)]


def _sam(seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(f"{seed}:sam")
    days = _schedule(rng, SAM_START, SAM_END, SAM_GAPS,
                     p_weekday=[0.6, 0.5, 0.55, 0.5, 0.55, 0.65, 0.68], p_double=0.04)
    tzs = [_tz_for(d, SAM_TRAVEL, "America/Chicago") for d in days]
    times = _local_times(rng, days, tzs)
    months = [_month_index(d, SAM_START) for d in days]
    per_month: dict[int, int] = {}
    for m in months:
        per_month[m] = per_month.get(m, 0) + 1
    alloc = _allocate(per_month, _sam_shares, rng)
    cursor = {m: 0 for m in alloc}
    writer = _Sam(rng)
    records, labels = [], []
    for i, (when, m) in enumerate(zip(times, months, strict=True)):
        theme = alloc[m][cursor[m]]
        cursor[m] += 1
        content = writer.entry(theme)
        title = None
        if rng.random() < 0.1:
            title = f"{_MONTHS[when.month - 1].lower()} {when.day}"
        tags = [theme.replace("_", "-")] if rng.random() < 0.2 else []
        records.append({"identity": "sam", "created_at": when.isoformat(), "tz": tzs[i], "title": title,
                        "content": content, "tags": tags})
        labels.append({"theme": theme, "social": 0, "kind": "prose"})
    return records, labels


def _generate(seed: int) -> tuple[list[dict], list[dict]]:
    records, labels = [], []
    for make in (_maya, _sam):
        recs, labs = make(seed)
        for i, rec in enumerate(recs):
            rec["id"] = stable_id("r", "sample", rec["identity"], i)
        records += recs
        labels += labs
    return records, labels


def generate(seed: int = DEFAULT_SEED) -> list[dict]:
    """The sample journal's records (maya then sam, each chronological); same seed, same records."""
    return _generate(seed)[0]


def keyword_hits(text: str, keywords: Iterable[str]) -> int:
    """How many of `keywords` occur in `text` (case-insensitive, whole words/phrases)."""
    low = text.lower()
    return sum(1 for k in keywords if re.search(r"(?<![\w])" + re.escape(k.lower()) + r"(?![\w])", low))


def _monthly(records: list[dict], labels: list[dict], identity: str) -> tuple[list[str], dict[str, list[int]]]:
    months: list[str] = []
    for rec in records:
        if rec["identity"] == identity and rec["created_at"][:7] not in months:
            months.append(rec["created_at"][:7])
    counts: dict[str, list[int]] = {}
    for rec, lab in zip(records, labels, strict=True):
        if rec["identity"] != identity:
            continue
        row = counts.setdefault(lab["theme"], [0] * len(months))
        row[months.index(rec["created_at"][:7])] += 1
    return months, counts


def truth(seed: int = DEFAULT_SEED, records: list[dict] | None = None,
          labels: list[dict] | None = None) -> dict:
    """The planted structure, machine-readable (what data/sample_truth.json holds)."""
    from ..timeseries import mann_kendall

    if records is None or labels is None:
        records, labels = _generate(seed)
    out: dict[str, Any] = {"version": 1, "seed": seed, "generator": "mirror_kit.sample",
                           "period": "month", "month_of": "local date of created_at"}
    idents: dict[str, Any] = {}
    for name in ("maya", "sam"):
        recs = [r for r in records if r["identity"] == name]
        tzc: dict[str, int] = {}
        for r in recs:
            tzc[r["tz"]] = tzc.get(r["tz"], 0) + 1
        idents[name] = {
            "reflections": len(recs), "first": recs[0]["created_at"][:10], "last": recs[-1]["created_at"][:10],
            "months": len({r["created_at"][:7] for r in recs}), "time_zones": dict(sorted(tzc.items())),
            "titled": sum(1 for r in recs if r["title"]), "tagged": sum(1 for r in recs if r["tags"]),
            "long_entries": sum(1 for r in recs if len(r["content"].split()) >= 350),
        }
    idents["maya"]["home_tz"] = HOME_TZ
    idents["maya"]["travel"] = [{"start": a.isoformat(), "end": b.isoformat(), "tz": tz} for a, b, tz in MAYA_TRAVEL]
    idents["maya"]["gaps"] = [{"start": a.isoformat(), "end": b.isoformat()} for a, b in MAYA_GAPS]
    idents["sam"]["home_tz"] = "America/Chicago"
    out["identities"] = idents

    themes: dict[str, Any] = {}
    expect = {
        "new_job": ("planted", "hump", "Stressful new job: present only inside the window, heaviest in its "
                    "first months; absent in the second half (2024-11 onwards)."),
        "race_training": ("planted", "emerging", "Half-marathon training: absent before 2024-08, then a share "
                          "rising steadily to the end."),
        "grief": ("planted", "hump", "Her grandmother (Oma) dies in early January 2025: grief concentrated in "
                  "2025-01..2025-03, a small tail fading to nothing after."),
    }
    for name, months_counts in (("maya", _monthly(records, labels, "maya")),
                                ("sam", _monthly(records, labels, "sam"))):
        months, counts = months_counts
        totals = [sum(c[i] for c in counts.values()) for i in range(len(months))]
        for theme in sorted(counts, key=lambda t: (t not in PLANTED, t)):
            share = [round(c / n, 4) if n else 0.0 for c, n in zip(counts[theme], totals, strict=True)]
            mk = mann_kendall(share)
            entry: dict[str, Any] = {"identity": name}
            if theme in expect:
                kind, shape, desc = expect[theme]
                entry.update({"kind": kind, "shape": shape, "description": desc,
                              "window": {"start": WINDOWS[theme][0], "end": WINDOWS[theme][1]}})
            elif theme in ("everyday", "downtime"):
                entry.update({"kind": "filler", "shape": "varies", "description": "Errands, weather, the city: "
                              "fills the planted half of each month, so its share moves opposite the planted themes."})
            elif name == "maya":
                entry.update({"kind": "background", "shape": "flat", "description": "Steady background theme: "
                              "a constant expected share (1/12) in every month."})
            else:
                entry.update({"kind": "planted" if theme == "dog" else "background",
                              "shape": "emerging" if theme == "dog" else "flat"})
                if theme == "dog":
                    entry["window"] = {"start": "2024-11-01", "end": SAM_END.isoformat()}
            if name == "maya":
                half = len(months) // 2
                entry["halves"] = {"first": f"{months[0]}..{months[half - 1]}",
                                   "second": f"{months[half]}..{months[-1]}",
                                   "first_share": round(sum(counts[theme][:half]) / sum(totals[:half]), 4),
                                   "second_share": round(sum(counts[theme][half:]) / sum(totals[half:]), 4)}
            entry["expected_trend"] = {"hump": None, "flat": "stable", "emerging": "emerging",
                                       "varies": None}[entry["shape"]]
            entry["keywords"] = KEYWORDS.get(theme, [])
            entry["reflections"] = sum(counts[theme])
            entry["monthly_count"] = dict(zip(months, counts[theme], strict=True))
            entry["monthly_share"] = dict(zip(months, share, strict=True))
            entry["mann_kendall_share"] = {k: round(v, 6) if isinstance(v, float) else v for k, v in mk.items()}
            themes[theme] = entry
    out["themes"] = themes
    out["tensions"] = [dict(t) for t in TENSIONS] + [
        {"tension": t, "direction": "flat"} for t in FLAT_TENSIONS]
    for t in out["tensions"]:
        t.setdefault("poles", t["tension"].split("_"))  # first pole -1, second +1
    out["tensions_verified"] = VERIFIED
    ids = [r["id"] for r in records]
    out["labels"] = {
        "description": "Per reflection: the theme it was written about, and for maya whether its social "
                       "sentences were solitude (-1) or connection (+1); kind is prose/list/markdown/long.",
        "reflections": {i: lab for i, lab in zip(ids, labels, strict=True)},
    }
    return out


def write(out_dir: str | os.PathLike, seed: int = DEFAULT_SEED) -> tuple[Path, Path]:
    """Write the journal (JSONL) and its truth (JSON) into `out_dir`, atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    records, labels = _generate(seed)
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)
    tr = json.dumps(truth(seed, records, labels), ensure_ascii=False, indent=1) + "\n"
    paths = (out / JOURNAL_FILE, out / TRUTH_FILE)
    for path, text in zip(paths, (body, tr), strict=True):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return paths


def read_records(path: str | os.PathLike | None = None) -> list[dict]:
    """The committed sample journal's records; regenerated in memory when the file is not there."""
    from ..errors import InvalidInputError

    p = Path(path) if path is not None else REPO_DATA / JOURNAL_FILE
    if path is None and not p.exists():
        return generate()
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such file")
    records = []
    with open(p, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(f"{p}: line {n}: not valid JSON ({exc.msg})") from exc
            for key in ("id", "identity", "content", "created_at"):
                if not rec.get(key):
                    raise InvalidInputError(f"{p}: line {n}: field {key!r} is missing or empty")
            records.append(rec)
    return records


def load_truth(path: str | os.PathLike | None = None) -> dict:
    """data/sample_truth.json as a dict (computed in memory when the file is not there)."""
    p = Path(path) if path is not None else REPO_DATA / TRUTH_FILE
    if path is None and not p.exists():
        return truth()
    return json.loads(p.read_text(encoding="utf-8"))


def load_sample(journal, path: str | os.PathLike | None = None,
                identities: Iterable[str] | None = None) -> dict:
    """Store the sample journal in `journal`; reflections already there (same id) are skipped.

    Returns counts: {"added": {identity: n}, "skipped": n, "total": n}.
    """
    records = read_records(path)
    wanted = None if identities is None else list(identities)
    by_ident: dict[str, list[dict]] = {}
    for rec in records:
        if wanted is None or rec["identity"] in wanted:
            by_ident.setdefault(rec["identity"], []).append(rec)
    added: dict[str, int] = {}
    skipped = 0
    with journal.transaction():  # all identities and reflections, or nothing
        skipped = _store(journal, by_ident, added)
    return {"added": added, "skipped": skipped, "total": sum(added.values())}


def _store(journal, by_ident: dict[str, list[dict]], added: dict[str, int]) -> int:
    skipped = 0
    for name, recs in by_ident.items():
        journal.identities.add(name, {"source": SOURCE}, exist_ok=True)
        ids = [r["id"] for r in recs]
        existing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = journal.conn.execute(
                f"SELECT id FROM reflections WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
            existing.update(r[0] for r in rows)
        new = [{"id": r["id"], "content": r["content"], "created_at": r["created_at"], "tz": r.get("tz"),
                "title": r.get("title"), "tags": r.get("tags") or [], "source": SOURCE, "source_id": r["id"]}
               for r in recs if r["id"] not in existing]
        journal.reflections.add_many(name, new)
        added[name] = len(new)
        skipped += len(recs) - len(new)
    return skipped


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m mirror_kit.sample",
                                 description="Regenerate the sample journal and its truth file. "
                                             "Example: python -m mirror_kit.sample --out data/")
    ap.add_argument("--out", default=str(REPO_DATA), help="output folder (default: the repo's data/)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    for p in write(args.out, args.seed):
        print(p)
    return 0


__all__ = ["DEFAULT_SEED", "generate", "keyword_hits", "load_sample", "load_truth", "read_records", "truth",
           "write", "main"]
