"""Pattern names suggested by a language model: a prompt from a pattern's keywords and a few of its
representative reflections, and a strict reading of the reply (a 2-6 word noun phrase, or nothing).

Only called on request (`journal.patterns.relabel`, `mirror-kit patterns relabel`): the model is the
one configured for mirrorbacks, local by default, so no reflection leaves the machine unless the user
has pointed mirror_kit at a remote server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MIN_WORDS, MAX_WORDS, MAX_CHARS = 1, 6, 60
SNIPPET_CHARS = 280  # per reflection shown to the model
SYSTEM = ("You name recurring themes in a person's private journal. Reply with the name only: "
          "a noun phrase of 2 to 5 words, as the person would write it (for example \"Running and race "
          "training\" or \"Work stress at the new job\"). No quotes, no explanation.")


def prompt(keywords: Sequence[str], current: str, examples: Sequence[str]) -> list[dict]:
    """Chat messages asking for one theme name. keywords: the pattern's key terms; current: its
    computed name; examples: texts of representative reflections (each cut to `SNIPPET_CHARS`)."""
    shown = "\n".join(f"- {' '.join(t.split())[:SNIPPET_CHARS]}" for t in examples if t and t.strip())
    user = (f"Key words of the theme: {', '.join(keywords[:10])}\n"
            f"Name computed from its phrases: {current}\n"
            f"Entries of this theme:\n{shown}\n\n"
            "What would the writer call this theme?")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse(reply: str) -> str | None:
    """The theme name in a model's reply, or None when the reply is not a short name (too long, more
    than one line of content, or no letters). A sentence quoting a name yields its first quoted phrase."""
    lines = [ln.strip() for ln in (reply or "").strip().splitlines() if ln.strip()]
    if not lines:
        return None
    name = re.sub(r"^(name|theme|title)\s*:\s*", "", lines[0], flags=re.I)
    # Small models often answer in a sentence around the name (`The writer would call this theme
    # "Marathon training"`): the first quoted phrase of such a sentence is the name.
    quoted = re.findall(r'["“]([^"“”]{2,' + str(MAX_CHARS) + r'})["”]', name)
    if quoted and not re.fullmatch(r'\W*["“][^"“”]*["”]\W*', name):
        name = quoted[0]
    name = name.strip().strip("\"'“”‘’*`").strip().rstrip(".!;:,").strip()
    name = " ".join(name.split())
    words = name.split(" ")
    if not re.search(r"[^\W\d_]", name) or not MIN_WORDS <= len(words) <= MAX_WORDS or len(name) > MAX_CHARS:
        return None
    return name[0].upper() + name[1:]
