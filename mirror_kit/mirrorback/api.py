"""Journal methods for mirrorbacks (issue 6); heavy imports stay inside the methods."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

PENDING_COLUMNS = ["reflection_id", "created_at", "mirrorback_id", "valid", "attempts", "violations", "crisis",
                   "model", "content"]


class MirrorbackMixin:
    """Mixed into `mirror_kit.Journal`."""

    def mirrorback(self, reflection_id: str, *, llm: Any = None, max_retries: int = 2, **engine_options: Any):
        """Write, validate and store a mirrorback for one reflection; returns the stored `Mirrorback`.

        llm: an adapter (`OpenAICompatibleLLM`, `LocalLLM`), "local", "openai", a model path, or None for
            the configured one ($MIRROR_KIT_LLM_BASE_URL, the `mirrorback.llm` setting, else the local
            model if installed). Crisis language in the reflection gets a fixed caring reply instead.
        max_retries: rewrites asked for when a reply breaks the constitution.
        engine_options: constitution=, context_size=, max_tokens=, embedder=, llm_options= (see
            MirrorbackEngine).
        """
        from .engine import MirrorbackEngine

        return MirrorbackEngine(self, llm, max_retries=max_retries, **engine_options).run(reflection_id)

    def pending_mirrorbacks(self, identity: Any) -> list[str]:
        """Ids of the identity's reflections that have no mirrorback yet, oldest first."""
        ident = self.identity(identity)  # type: ignore[attr-defined]
        rows = self.conn.execute(  # type: ignore[attr-defined]
            "SELECT r.id FROM reflections r WHERE r.identity_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM mirrorbacks m WHERE m.reflection_id = r.id) ORDER BY r.created_at, r.id",
            (ident.id,),
        ).fetchall()
        return [r[0] for r in rows]

    def mirrorback_pending(
        self,
        identity: Any,
        *,
        llm: Any = None,
        max_retries: int = 2,
        progress: bool | Callable[[int, int], None] | None = None,
        limit: int | None = None,
        **engine_options: Any,
    ):
        """Mirrorbacks for every reflection of `identity` that has none yet; one row per reflection.

        progress: True for a progress bar, a callable(done, total), or None (a bar on a terminal).
        limit: at most this many reflections (oldest first).
        If the model fails (server down...), the ones already written stay stored and the error says
        how many are left.
        Returns a DataFrame: reflection_id, created_at, mirrorback_id, valid, attempts, violations,
        crisis, model, content.
        """
        import pandas as pd

        from .engine import MirrorbackEngine
        from .llm import LLMError

        todo = self.pending_mirrorbacks(identity)
        if limit is not None:
            todo = todo[: int(limit)]
        engine = MirrorbackEngine(self, llm, max_retries=max_retries, **engine_options)
        bar = None
        if progress is True or (progress is None and len(todo) > 1 and sys.stderr.isatty()):
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc="mirrorbacks", unit="reflection")
        rows = []
        try:
            for i, rid in enumerate(todo):
                try:
                    mb = engine.run(rid)
                except LLMError as exc:
                    raise type(exc)(
                        f"{exc} (stopped after {i} of {len(todo)} reflections; the rest are still pending)"
                    ) from exc
                rows.append({
                    "reflection_id": rid,
                    "created_at": self.reflection(rid).created_at,  # type: ignore[attr-defined]
                    "mirrorback_id": mb.id,
                    "valid": mb.valid,
                    "attempts": mb.validation.get("attempts", 0),
                    "violations": [v["principle"] for v in mb.validation.get("violations", [])],
                    "crisis": bool(mb.validation.get("crisis", False)),
                    "model": mb.model,
                    "content": mb.content,
                })
                if bar is not None:
                    bar.update(1)
                if callable(progress):
                    progress(i + 1, len(todo))
        finally:
            if bar is not None:
                bar.close()
        return pd.DataFrame(rows, columns=PENDING_COLUMNS)
