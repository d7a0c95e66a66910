"""`journal.mirrorbacks`: replies that mirror a reflection back (table `mirrorbacks`).

Stored replies are read with `rows`/`frame`; `generate` and `generate_pending` write new ones through the
engine in `mirror_kit.mirrorback` (language model, constitution, validator), which is imported lazily.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..ids import random_id
from ..records import Identity, Mirrorback, to_json
from ..timeutil import format_utc, now_iso, parse_utc, to_utc
from ._base import Collection

if TYPE_CHECKING:
    import pandas as pd

PENDING_COLUMNS = ["reflection_id", "created_at", "mirrorback_id", "valid", "attempts", "violations", "crisis",
                   "model", "content"]


class Mirrorbacks(Collection):
    """Mirrorbacks: `add`, `rows`, `frame`, `pending`, and `generate`/`generate_pending` (need an LLM)."""

    def add(
        self,
        reflection_id: str,
        content: str,
        model: str,
        *,
        valid: bool | None = None,
        validation: dict | None = None,
        metadata: dict | None = None,
        created_at: datetime | str | None = None,
        id: str | None = None,
    ) -> Mirrorback:
        """Store a reply to a reflection with its validation result (NotFoundError for an unknown reflection)."""
        self.journal.reflections.get(reflection_id)
        self._writable()
        mid = id or random_id("m")
        created = format_utc(to_utc(created_at)[0]) if created_at else now_iso()
        with self.journal.transaction():
            self.restore({"id": mid, "reflection_id": reflection_id, "content": content, "model": model,
                          "created_at": created, "valid": valid, "validation": validation or {},
                          "metadata": metadata or {}})
        return self.get(mid)

    def restore(self, m: dict) -> None:
        """Insert one mirrorback row (inside the caller's transaction); JSON fields as Python values."""
        self._execute(
            "INSERT INTO mirrorbacks (id, reflection_id, content, model, created_at, valid, validation, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (m["id"], m["reflection_id"], m["content"], m["model"], m["created_at"],
             None if m.get("valid") is None else int(m["valid"]),
             to_json(m.get("validation"), "validation"), to_json(m.get("metadata"), "metadata")),
        )

    def delete_rows(self, where: str, params: Any) -> int:
        return self.conn.execute(f"DELETE FROM mirrorbacks WHERE {where}", list(params)).rowcount

    def get(self, mirrorback_id: str) -> Mirrorback:
        """One mirrorback by id (NotFoundError if there is none)."""
        from ..errors import NotFoundError

        found = self._select("m.id = ?", [mirrorback_id])
        if not found:
            raise NotFoundError(f"no mirrorback with id {mirrorback_id!r}")
        return found[0]

    def rows(self, reflection_id: str | None = None, identity: str | Identity | None = None) -> list[Mirrorback]:
        """Stored mirrorbacks, oldest first, of one reflection or one identity (or all)."""
        where, params = [], []
        if reflection_id is not None:
            where.append("m.reflection_id = ?")
            params.append(reflection_id)
        if identity is not None:
            where.append("r.identity_id = ?")
            params.append(self.journal.identities.get(identity).id)
        return self._select(" AND ".join(where), params)

    def _select(self, where: str, params: list) -> list[Mirrorback]:
        sql = "SELECT m.* FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id"
        if where:
            sql += " WHERE " + where
        rows = self._execute(sql + " ORDER BY m.created_at, m.rowid", params).fetchall()
        return [
            Mirrorback(r["id"], r["reflection_id"], r["content"], r["model"], parse_utc(r["created_at"]),
                       None if r["valid"] is None else bool(r["valid"]), json.loads(r["validation"]),
                       json.loads(r["metadata"]))
            for r in rows
        ]

    def frame(self, identity: Any = None, since: Any = None, until: Any = None) -> pd.DataFrame:
        return self.journal.frame("mirrorbacks", identity, since, until)

    def generate(self, reflection_id: str, *, llm: Any = None, max_retries: int = 2, **engine_options: Any):
        """Write, validate and store a mirrorback for one reflection; returns the stored `Mirrorback`.

        llm: an adapter (`OpenAICompatibleLLM`, `LocalLLM`), "local", "openai", a model path, or None for
            the configured one ($MIRROR_KIT_LLM_BASE_URL, the `mirrorback.llm` setting, else the local
            model if installed). Crisis language in the reflection gets a fixed caring reply instead.
        max_retries: rewrites asked for when a reply breaks the constitution.
        engine_options: constitution=, context_size=, max_tokens=, embedder=, llm_options= (see
            MirrorbackEngine).
        """
        from ..mirrorback.engine import MirrorbackEngine

        return MirrorbackEngine(self.journal, llm, max_retries=max_retries, **engine_options).run(reflection_id)

    def pending(self, identity: Any) -> list[str]:
        """Ids of the identity's reflections that have no mirrorback yet, oldest first."""
        ident = self.journal.identities.get(identity)
        rows = self.conn.execute(
            "SELECT r.id FROM reflections r WHERE r.identity_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM mirrorbacks m WHERE m.reflection_id = r.id) ORDER BY r.created_at, r.id",
            (ident.id,),
        ).fetchall()
        return [r[0] for r in rows]

    def generate_pending(
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

        from ..mirrorback.engine import MirrorbackEngine
        from ..mirrorback.llm import LLMError

        todo = self.pending(identity)
        if limit is not None:
            todo = todo[: int(limit)]
        engine = MirrorbackEngine(self.journal, llm, max_retries=max_retries, **engine_options)
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
                    "created_at": self.journal.reflections.get(rid).created_at,
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
