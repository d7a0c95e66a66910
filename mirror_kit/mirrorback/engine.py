"""The mirrorback engine: context -> generate -> validate -> retry with feedback -> store -> update
the analysis, every step timed and recorded as a `mirrorback` analysis run."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from ..errors import MirrorKitError
from ..records import Mirrorback, Reflection
from ..timeutil import format_utc
from .crisis import CRISIS_MODEL, CRISIS_REPLY, detect_crisis
from .llm import LLM, Completion, resolve_llm
from .validator import Constitution, Verdict, validate

SYSTEM_PROMPT = """You write a "mirrorback": a short reply to one entry of a person's private journal that \
mirrors it back to them. Reflect what they wrote, in their own words where possible, in two to four \
sentences. Never give advice, never diagnose, never judge; be tentative about their feelings ("it sounds \
like", "perhaps", "I wonder").

The principles you must respect:
{principles}

Reply with the mirrorback text only."""

RETRY_PROMPT = """That reply breaks these principles:
{feedback}
Rewrite it so that it respects every principle. Reply with the mirrorback text only."""

# One worked example: small local models copy the form (second person, the writer's words) far better
# from an example than from instructions alone.
EXAMPLE_ENTRY = ("The entry to mirror back (written 2024-01-01):\n"
                 "Cooked dinner for my flatmates. It felt good to make something with my hands.")
EXAMPLE_REPLY = ("You cooked dinner for your flatmates, and it sounds like making something with your hands "
                 "felt good.")

_EXCERPT = 240


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _excerpt(text: str, n: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "\u2026"


class MirrorbackEngine:
    """Writes, checks and stores mirrorbacks for one journal.

    llm: an adapter, a name ("local", "openai") or None for the configured one (see `resolve_llm`).
    max_retries: rewrites asked for after a reply that breaks the constitution; the reply with the
        fewest violations is stored (valid=False) when none passes.
    context_size: how many earlier reflections of the same identity the model sees.
    embedder: passed to `validate` to enable the embedding-similarity grounding check.
    llm_options: base_url=, model=, api_key_env=, timeout=... for `resolve_llm` (used on first need).
    """

    def __init__(
        self,
        journal: Any,
        llm: LLM | str | None = None,
        *,
        constitution: Constitution | str | Path | None = None,
        max_retries: int = 2,
        context_size: int = 5,
        max_tokens: int = 200,
        embedder: Any = None,
        llm_options: dict | None = None,
    ):
        if max_retries < 0:
            raise MirrorKitError(f"max_retries must be >= 0, got {max_retries}")
        self.journal = journal
        self._llm_arg = llm
        self._llm: LLM | None = llm if isinstance(llm, LLM) else None
        self.constitution = (
            constitution if isinstance(constitution, Constitution) else Constitution.load(constitution)
        )
        self.max_retries = max_retries
        self.context_size = context_size
        self.max_tokens = max_tokens
        self.embedder = embedder
        self.llm_options = {k: v for k, v in (llm_options or {}).items() if v is not None}

    @property
    def llm(self) -> LLM:
        """The adapter, resolved on first use (a crisis reply never needs one)."""
        if self._llm is None:
            self._llm = resolve_llm(self._llm_arg, self.journal, **self.llm_options)
        return self._llm

    # -- context ---------------------------------------------------------------------------------
    def context(self, reflection: Reflection) -> dict:
        """Recent reflections, active patterns and tensions of the writer (each may be empty)."""
        conn = self.journal.conn
        recent = conn.execute(
            "SELECT created_at, content FROM reflections WHERE identity_id = ? AND id != ? "
            "AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?",
            (reflection.identity_id, reflection.id, format_utc(reflection.created_at),
             format_utc(reflection.created_at), reflection.id, self.context_size),
        ).fetchall()
        # Patterns this reflection belongs to first, then the largest active ones.
        patterns = conn.execute(
            "SELECT p.id, p.label, p.keywords, po.strength FROM patterns p "
            "LEFT JOIN pattern_occurrences po ON po.pattern_id = p.id AND po.reflection_id = ? "
            "WHERE p.identity_id = ? AND p.status = 'active' "
            "ORDER BY po.strength IS NULL, po.strength DESC, p.size DESC, p.id LIMIT 5",
            (reflection.id, reflection.identity_id),
        ).fetchall()
        tensions = self._tension_context(reflection)
        return {
            "recent": [{"created_at": r[0], "excerpt": _excerpt(r[1])} for r in reversed(recent)],
            "patterns": [
                {"id": p[0], "label": p[1], "keywords": _json_list(p[2])[:6], "this_reflection": p[3] is not None}
                for p in patterns
            ],
            "tensions": tensions,
        }

    def _tension_context(self, reflection: Reflection, limit: int = 5) -> list[dict]:
        """The writer's tensions as every view reports them (`aggregate.ranked_summary`: intensity-weighted
        position, most active first), those this reflection was scored on first, with its own position."""
        import pandas as pd

        from ..tensions.aggregate import OBSERVATION_COLUMNS, ranked_summary

        conn = self.journal.conn
        obs = pd.DataFrame(conn.execute(
            "SELECT o.tension_id, o.reflection_id, r.created_at, o.position, o.intensity FROM tension_observations o "
            "JOIN reflections r ON r.id = o.reflection_id WHERE r.identity_id = ?", (reflection.identity_id,),
        ).fetchall(), columns=OBSERVATION_COLUMNS)
        if obs.empty:
            return []
        defs = [dict(r) for r in conn.execute("SELECT id, name, axis_a, axis_b FROM tensions")]
        ranked = ranked_summary(obs, defs)
        here = dict(zip(*obs.loc[obs["reflection_id"] == reflection.id, ["tension_id", "position"]].T.to_numpy(),
                        strict=True))
        rows = sorted(ranked.to_dict("records"), key=lambda t: (t["tension_id"] not in here, t["rank"]))[:limit]
        return [{"id": t["tension_id"], "name": t["name"], "axis_a": t["axis_a"], "axis_b": t["axis_b"],
                 "position": round(float(t["position"]), 2), "intensity": round(float(t["intensity"]), 2),
                 "this_reflection": round(float(here[t["tension_id"]]), 2) if t["tension_id"] in here else None}
                for t in rows]

    def messages(self, reflection: Reflection, context: dict) -> list[dict[str, str]]:
        """The chat messages for the first attempt."""
        parts = []
        if context["recent"]:
            parts.append("Earlier entries (context only, do not mirror them):\n" + "\n".join(
                f"- {r['created_at'][:10]}: {r['excerpt']}" for r in context["recent"]))
        if context["patterns"]:
            parts.append("Recurring themes in this journal:\n" + "\n".join(
                f"- {p['label']}" + (f" ({', '.join(p['keywords'])})" if p["keywords"] else "")
                + (" [this entry belongs to it]" if p["this_reflection"] else "")
                for p in context["patterns"]))
        if context["tensions"]:
            parts.append("Tensions the writer moves between (-1 = first pole, +1 = second):\n" + "\n".join(
                f"- {t['axis_a']} / {t['axis_b']}: usually {t['position']:+.2f}"
                + ("" if t["this_reflection"] is None else f", this entry {t['this_reflection']:+.2f}")
                for t in context["tensions"]))
        parts.append(f"The entry to mirror back (written {format_utc(reflection.created_at)[:10]}):\n"
                     f"{reflection.content.strip()}")
        return [
            {"role": "system", "content": SYSTEM_PROMPT.format(principles=self.constitution.instructions())},
            {"role": "user", "content": EXAMPLE_ENTRY},
            {"role": "assistant", "content": EXAMPLE_REPLY},
            {"role": "user", "content": "\n\n".join(parts)},
        ]

    # -- the run ---------------------------------------------------------------------------------
    def run(self, reflection_id: str) -> Mirrorback:
        """Write, validate and store a mirrorback for one reflection; returns the stored one."""
        j = self.journal
        if getattr(j, "readonly", False):
            raise MirrorKitError(f"{j.path}: journal is open read-only; cannot store a mirrorback")
        reflection = j.reflections.get(reflection_id)
        crisis = detect_crisis(reflection.content)
        params = {"reflection_id": reflection_id, "max_retries": self.max_retries,
                  "context_size": self.context_size}
        with j.runs.record("mirrorback", reflection.identity_id, params) as info:
            steps: dict[str, Any] = {}
            info["metadata"] = {"steps": steps}
            if crisis is not None:
                mb = self._store_crisis(reflection, crisis, info, steps)
            else:
                mb = self._generate_and_store(reflection, info, steps)
            t0 = time.perf_counter()
            steps["update"] = self._update_analysis(reflection)
            steps["update_ms"] = _ms(t0)
        return mb

    def _store_crisis(self, reflection: Reflection, crisis: Any, info: dict, steps: dict) -> Mirrorback:
        t0 = time.perf_counter()
        validation = {"ok": True, "crisis": True, "matched": crisis.as_dict(), "violations": [], "attempts": 0}
        mb = self.journal.mirrorbacks.add(
            reflection.id, CRISIS_REPLY, CRISIS_MODEL, valid=True, validation=validation,
            metadata={"crisis": True, "run_id": info["id"]},
        )
        steps["store_ms"] = _ms(t0)
        info["counts"] = {"attempts": 0, "retries": 0, "violations": 0, "crisis": 1}
        info["metadata"].update({"crisis": True, "matched": crisis.as_dict(), "model": CRISIS_MODEL,
                                 "mirrorback_id": mb.id})
        return mb

    def _generate_and_store(self, reflection: Reflection, info: dict, steps: dict) -> Mirrorback:
        t0 = time.perf_counter()
        context = self.context(reflection)
        messages = self.messages(reflection, context)
        steps["context_ms"] = _ms(t0)
        steps["context"] = {k: len(v) for k, v in context.items()}
        llm = self.llm
        info["metadata"]["llm"] = llm.describe()
        attempts: list[dict] = []
        steps["attempts"] = attempts
        best: tuple[Completion, Verdict] | None = None
        tokens = {"prompt_tokens": None, "completion_tokens": None}
        for n in range(1, self.max_retries + 2):
            t1 = time.perf_counter()
            try:
                completion = llm.complete(messages, max_tokens=self.max_tokens)
            except Exception:
                attempts.append({"attempt": n, "generate_ms": _ms(t1), "error": True})
                raise
            gen_ms = _ms(t1)
            raw_text = completion.text
            completion.text = clean_reply(raw_text)
            t2 = time.perf_counter()
            verdict = validate(reflection.content, completion.text, constitution=self.constitution,
                               embedder=self.embedder) if completion.text else _empty_verdict()
            attempts.append({
                "attempt": n, "generate_ms": gen_ms, "validate_ms": _ms(t2),
                "http_attempts": completion.attempts, "model": completion.model,
                "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
                "violations": [v.principle for v in verdict.violations],
                "cleaned": completion.text != raw_text.strip(),
            })
            for k in tokens:
                val = getattr(completion, k)
                if val is not None:
                    tokens[k] = (tokens[k] or 0) + int(val)
            if best is None or len(verdict.violations) <= len(best[1].violations):
                best = (completion, verdict)
            if verdict.ok:
                break
            messages = messages + [
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": RETRY_PROMPT.format(feedback=verdict.feedback())},
            ]
        assert best is not None
        completion, verdict = best
        t3 = time.perf_counter()
        validation = verdict.as_dict() | {
            "attempts": len(attempts),
            "history": [a["violations"] for a in attempts],
        }
        metadata = {"run_id": info["id"], "context": steps["context"], "attempts": len(attempts)}
        metadata.update({k: v for k, v in tokens.items() if v is not None})
        mb = self.journal.mirrorbacks.add(
            reflection.id, completion.text, completion.model or llm.name, valid=verdict.ok,
            validation=validation, metadata=metadata,
        )
        steps["store_ms"] = _ms(t3)
        info["counts"] = {
            "attempts": len(attempts),
            "retries": len(attempts) - 1,
            "violations": sum(len(a["violations"]) for a in attempts),
            "valid": int(verdict.ok),
        } | {k: v for k, v in tokens.items() if v is not None}
        info["metadata"].update({"model": completion.model or llm.name, "mirrorback_id": mb.id,
                                 "valid": verdict.ok, "final_violations": verdict.principles})
        return mb

    def _update_analysis(self, reflection: Reflection) -> dict:
        """Attach the reflection to existing patterns and score it on the tensions, when the writer has
        them (their errors are recorded, never raised: the mirrorback is already stored)."""
        conn = self.journal.conn
        out: dict[str, Any] = {}
        has_patterns = conn.execute(
            "SELECT 1 FROM patterns WHERE identity_id = ? LIMIT 1", (reflection.identity_id,)
        ).fetchone()
        assigned = conn.execute(
            "SELECT 1 FROM pattern_occurrences WHERE reflection_id = ? LIMIT 1", (reflection.id,)
        ).fetchone()
        out["patterns"] = self._call("assign_patterns", reflection.id, bool(has_patterns), bool(assigned))
        has_tensions = conn.execute(
            "SELECT 1 FROM tension_observations o JOIN reflections r ON r.id = o.reflection_id "
            "WHERE r.identity_id = ? LIMIT 1", (reflection.identity_id,)
        ).fetchone()
        scored = conn.execute(
            "SELECT 1 FROM tension_observations WHERE reflection_id = ? LIMIT 1", (reflection.id,)
        ).fetchone()
        out["tensions"] = self._call("score_tensions", reflection.id, bool(has_tensions), bool(scored))
        return out

    def _call(self, method: str, reflection_id: str, exists: bool, done: bool) -> dict:
        if not exists:
            return {"status": "skipped", "reason": "no analysis for this identity yet"}
        if done:
            return {"status": "skipped", "reason": "reflection already analysed"}
        fn = getattr(self.journal, method, None)
        if fn is None:
            return {"status": "skipped", "reason": f"journal has no {method}()"}
        t0 = time.perf_counter()
        try:
            result = fn([reflection_id])
        except Exception as exc:  # a failed update must not lose the stored mirrorback
            if self.journal.conn.in_transaction:
                self.journal.conn.execute("ROLLBACK")
            return {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "ms": _ms(t0)}
        return {"status": "ok", "ms": _ms(t0), "rows": int(len(result)) if hasattr(result, "__len__") else None}


_ECHO_RE = re.compile(r"^\s*(?:the entry to mirror back[^\n]*|mirrorback|reply|response)\s*:\s*", re.IGNORECASE)


def clean_reply(text: str) -> str:
    """Tidy a model's reply: drop an echoed prompt header or a "Mirrorback:" label, surrounding quotes,
    and a sentence cut off by the token limit (when a complete one comes before it)."""
    text = text.strip()
    while True:
        stripped = _ECHO_RE.sub("", text, count=1).strip()
        if stripped == text:
            break
        text = stripped
    if text and text[-1] not in ".!?\"\u201d)":
        cut = max(text.rfind(p) for p in (". ", "! ", "? "))
        if cut > 0:
            text = text[: cut + 1]
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    elif text[:1] == '"' and text.count('"') == 1:  # an opening quote whose end was cut off
        text = text[1:].strip()
    return text


def _json_list(value: Any) -> list:
    try:
        out = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return []
    return [str(x) for x in out] if isinstance(out, list) else []


def _empty_verdict() -> Verdict:
    from .validator import Violation

    return Verdict(False, [Violation("length", "the model returned an empty reply", 0, 0, "", "length")])
