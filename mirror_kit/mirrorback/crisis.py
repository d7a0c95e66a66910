"""Crisis language (suicide, self-harm) in a reflection: detected before any generation, answered with
a fixed, caring reply that says where to find help. No model writes this reply."""

from __future__ import annotations

import re
from dataclasses import dataclass

CRISIS_MODEL = "crisis-response"

CRISIS_REPLY = (
    "What you wrote sounds very heavy, and I'm glad you put it into words. You don't have to carry this "
    "alone. If you are thinking about ending your life or hurting yourself, please reach out to someone "
    "now: if you are in immediate danger, call your local emergency number (112 in Europe, 911 in the US "
    "and Canada). In the US you can call or text 988 (Suicide & Crisis Lifeline); in the UK and Ireland "
    "Samaritans answer on 116 123, day and night; elsewhere, findahelpline.com lists free, confidential "
    "lines in your country. Talking to someone you trust, or to a doctor, can help too."
)

# Direct and indirect phrasings. Kept deliberately broad: a false alarm costs a kind message,
# a miss costs far more.
_PATTERNS = [
    r"\bsuicid(?:e|al)\b",
    r"\bkill(?:ing)?\s+my\s*self\b",
    r"\bend(?:ing)?\s+(?:my|this)\s+(?:own\s+)?life\b",
    r"\bend(?:ing)?\s+it\s+all\b",
    r"\btake\s+my\s+(?:own\s+)?life\b",
    r"\b(?:want|wanted|wanting|wish|wished)\s+(?:to\s+|i\s+(?:was|were|could)\s+)?(?:be\s+)?(?:die|dead)\b",
    r"\bi\s+(?:just\s+)?want\s+to\s+die\b",
    r"\b(?:don'?t|do\s+not|didn'?t)\s+want\s+to\s+(?:be\s+here|live|exist|be\s+alive|wake\s+up|go\s+on)"
    r"(?:\s+any\s*more)?\b",
    r"\bno\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|go(?:ing)?\s+on)\b",
    r"\b(?:can'?t|cannot)\s+go\s+on\s+(?:any\s*more|like\s+this)\b",
    r"\b(?:better\s+off|be\s+better)\s+without\s+me\b",
    r"\bnot\s+(?:be|being)\s+(?:around|here)\s+any\s*more\b",
    r"\bself[-\s]?harm(?:ing)?\b",
    r"\b(?:cut|cutting|burn|burning|hurt|hurting|harm|harming)\s+my\s*self\b",
    r"\boverdos(?:e|ed|ing)\b",
    r"\bdisappear\s+(?:forever|for\s+good)\b",
    r"\bgo\s+to\s+sleep\s+and\s+(?:never|not)\s+wake\s+up\b",
]
_CRISIS_RE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


@dataclass
class CrisisMatch:
    """Where crisis language was found in the reflection."""

    start: int
    end: int
    text: str

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "text": self.text}


def detect_crisis(text: str) -> CrisisMatch | None:
    """The first crisis phrase in `text`, or None."""
    m = _CRISIS_RE.search(text.replace("\u2019", "'"))
    return CrisisMatch(m.start(), m.end(), text[m.start():m.end()]) if m else None
