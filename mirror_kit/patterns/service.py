"""`journal.patterns`: recurring themes of an identity's reflections, their evolution and trends.

The only writer of the tables `patterns` and `pattern_occurrences`. Heavy imports (numpy, pandas,
scikit-learn) stay inside the methods.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..analysis_writes import analysis_transaction, check_still_there
from ..errors import InvalidInputError, NotFoundError
from ..timeutil import now_iso

if TYPE_CHECKING:
    from ..journal import Journal

SORTS = ("size", "confidence", "first_seen", "last_seen", "label")
_PATTERN_COLS = ["id", "label", "keywords", "confidence", "size", "status", "first_seen", "last_seen", "trend",
                 "representatives", "created_at", "updated_at"]


def _blob(vec) -> bytes:
    import numpy as np

    return np.asarray(vec, dtype="<f4").tobytes()


def _unblob(b: bytes):
    import numpy as np

    return np.frombuffer(b, dtype="<f4").astype(np.float64)


class _ReflectionColumn:
    """One column of the given reflections, fetched on demand: `take(positions)` reads just those rows
    (a fit reads the texts of its sample and representatives, never every text of a big journal)."""

    def __init__(self, journal: Journal, ids: list[str], column: str):
        self.journal, self.ids, self.column = journal, ids, column

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> Any:
        return self.take([i])[0]

    def take(self, positions: Any) -> list:
        wanted = [self.ids[int(i)] for i in positions]
        found: dict[str, Any] = {}
        uniq = list(dict.fromkeys(wanted))
        for start in range(0, len(uniq), 900):
            chunk = uniq[start:start + 900]
            found.update((r[0], r[1]) for r in self.journal.execute(
                f"SELECT id, {self.column} FROM reflections WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        missing = [w for w in uniq if w not in found]
        if missing:  # deleted by another process since the analysis read the ids
            check_still_there(self.journal, missing, "pattern analysis")
        return [found[w] for w in wanted]


@dataclass
class Pattern:
    """One pattern with its occurrences (DataFrame: reflection_id, created_at, strength, content), its
    evolution (DataFrame, see `Patterns.evolution`) and its trend (emerging/fading/stable/recurring)."""

    id: str
    identity_id: str
    label: str
    keywords: list
    confidence: float
    size: int
    status: str
    first_seen: str | None
    last_seen: str | None
    representatives: list
    created_at: str
    updated_at: str
    trend: str | None = None
    slope: float | None = None
    p_value: float | None = None
    history: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    occurrences: Any = None
    evolution: Any = None

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("occurrences", "evolution")}
        d["occurrences"], d["evolution"] = self.occurrences, self.evolution
        return d


class Patterns:
    """Patterns of a journal: `analyze`, `frame`, `get`, `evolution`, `trends`, `assign`."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.conn = journal.conn

    def _execute(self, sql: str, params: Any = ()) -> Any:
        return self.journal.execute(sql, params)

    # -- analysis -------------------------------------------------------------------------------
    def analyze(self, identity: Any, *, random_state: int = 0, n_patterns: int | None = None,
                refit: bool = False, chunk_size: int | None = None, **model_params: Any) -> dict:
        """Detect patterns for an identity and update the stored ones (ids kept, new themes added,
        vanished ones marked dormant). Returns a summary dict (mode, reason, patterns, new, matched,
        dormant, assigned, unassigned, unassigned_share, seconds; `incremental` when it only assigned).

        When the stored patterns were fitted with the same parameters and only a small share of the
        reflections is new, the new ones are assigned to the stored centroids (see
        `mirror_kit.patterns.incremental`); drift, many changes or `refit=True` refit from scratch.
        n_patterns: ask for this many instead of choosing; model_params go to `PatternModel`.
        chunk_size: rows per assignment pass (default: PatternModel's).
        Stored patterns are matched only with patterns of the same embedding model.
        Raises InvalidInputError, UnknownIdentityError.
        """
        import numpy as np

        from . import incremental
        from .matching import match_patterns, member_overlap

        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise InvalidInputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        ident = self.journal.identities.get(identity)
        if n_patterns is not None:
            self.check_n_patterns(ident, n_patterns)
        params = {"random_state": random_state, "n_patterns": n_patterns, **model_params}
        if chunk_size is not None:
            model_params["chunk_size"] = chunk_size
        model_name = self.journal.embeddings.model_name()
        with self.journal.runs.record("patterns", ident, params) as info:
            t0 = time.perf_counter()
            self.journal.embeddings.ensure(ident)  # new or edited reflections get their vectors first
            active = self._stored_centroids(ident.id, model_name, active_only=True)
            # taken before the plan lists what is new: a vector stored while this run works is then
            # after the mark and seen by the next run, never skipped
            mark = self.journal.embeddings.mark()
            p = incremental.plan(self.journal, ident.id, model_name, params, refit=refit, have_patterns=bool(active))
            if p.mode == "incremental":
                summary = self._assign_new(ident, p, active, info, t0, mark)
                if summary is not None:
                    return summary
                p.reason = info.pop("drift")
            mark = self.journal.embeddings.mark()
            ids, E = self.journal.embeddings.matrix(ident)
            t_embed = time.perf_counter() - t0
            summary: dict[str, Any] = {"run_id": info["id"], "identity": ident.name, "reflections": len(ids),
                                       "mode": "refit", "reason": p.reason}
            stored = [r for r in self._stored_centroids(ident.id, model_name, active_only=False)
                      if len(_unblob(r["centroid"])) == (E.shape[1] if len(ids) else -1)]
            t1 = time.perf_counter()
            from .model import PatternModel  # scikit-learn: only a fit needs it

            texts = _ReflectionColumn(self.journal, ids, "content")
            if not ids:
                model = None
                k = 0
            else:
                model = PatternModel(n_patterns=n_patterns, random_state=random_state, **model_params)
                # dates: ids are chronological, so each pattern's first/last member gives them (below)
                model.fit(E, texts=texts, ids=ids)
                k = model.n_patterns_
                self._name_patterns(model, texts)
                self._first_last_seen(model, ids)
            del E
            t_fit = time.perf_counter() - t1
            labels = model.labels_ if model is not None else np.zeros(0, int)
            members = [[ids[i] for i in np.flatnonzero(labels == c)] for c in range(k)]
            m = match_patterns(
                ident.id, model.cluster_centers_ if model is not None else np.zeros((0, 1)), members,
                [r["id"] for r in stored],
                np.array([_unblob(r["centroid"]) for r in stored]) if stored else None,
                overlap=member_overlap(labels, k, self._stored_members(stored, ids)) if stored and k else None,
            )
            del members
            all_stored = {r["id"] for r in self._execute("SELECT id FROM patterns WHERE identity_id = ?",
                                                        (ident.id,))}
            now = now_iso()
            with analysis_transaction(self.journal, "pattern analysis"):
                check_still_there(self.journal, list(ids), "pattern analysis")
                for c in range(k):
                    self._write_pattern(ident.id, m.ids[c], model.patterns_.iloc[c], model.cluster_centers_[c],
                                        model.outlier_threshold_, model_name, info["id"], now,
                                        exists=m.ids[c] in all_stored)
                    self._execute("DELETE FROM pattern_occurrences WHERE pattern_id = ?", (m.ids[c],))
                    idx = np.flatnonzero(labels == c)
                    self.conn.executemany(
                        "INSERT INTO pattern_occurrences (pattern_id, reflection_id, strength) VALUES (?, ?, ?)",
                        ((m.ids[c], ids[i], round(float(model.strengths_[i]), 5)) for i in idx),
                    )
                if m.dormant:
                    self.conn.executemany(
                        "UPDATE patterns SET status = 'dormant', updated_at = ? WHERE id = ? AND status != 'dormant'",
                        [(now, pid) for pid in m.dormant],
                    )
            n_un = int((labels < 0).sum())
            summary.update({
                "patterns": k,
                "new": len(m.new),
                "matched": len(m.matched),
                "dormant": len(m.dormant),
                "assigned": int(len(labels) - n_un),
                "unassigned": n_un,
                "unassigned_share": round(n_un / len(labels), 4) if len(labels) else 0.0,
                "seconds": {"embeddings": round(t_embed, 3), "fit": round(t_fit, 3),
                            "total": round(time.perf_counter() - t0, 3)},
            })
            info["counts"] = {key: summary[key] for key in
                              ("reflections", "patterns", "new", "matched", "dormant", "assigned", "unassigned")}
            info["metadata"] = {"seconds": summary["seconds"], "model": model_name, "mode": "refit",
                                "reason": p.reason, "mark": mark, "analysed": len(ids), "since_fit": 0,
                                **({"selection": model.info_} if model is not None else {})}
        return summary

    def _stored_members(self, stored: list, ids: list[str]) -> list:
        """Per stored pattern, the positions in `ids` of its stored members that still exist."""
        import numpy as np

        pos = {rid: i for i, rid in enumerate(ids)}
        slot = {r["id"]: c for c, r in enumerate(stored)}
        members: list[list[int]] = [[] for _ in stored]
        qs = ",".join("?" * len(slot))
        for pid, rid in self._execute(
                f"SELECT pattern_id, reflection_id FROM pattern_occurrences WHERE pattern_id IN ({qs})", list(slot)):
            i = pos.get(rid)
            if i is not None:
                members[slot[pid]].append(i)
        return [np.asarray(m, dtype=np.int64) for m in members]

    def check_n_patterns(self, identity: Any, n_patterns: Any, name: str = "n_patterns") -> None:
        """Refuse, before any work, a number of patterns the identity's reflections cannot carry.

        Raises InvalidInputError naming `name` (see `patterns.model.check_n_patterns`), UnknownIdentityError.
        """
        from .model import check_n_patterns

        ident = self.journal.identities.get(identity)
        n = self._execute("SELECT count(*) FROM reflections WHERE identity_id = ?", (ident.id,)).fetchone()[0]
        check_n_patterns(n_patterns, int(n), name)

    def _stored_centroids(self, identity_id: str, model_name: str, *, active_only: bool) -> list:
        sql = "SELECT id, centroid, status, metadata FROM patterns WHERE identity_id = ?"
        if active_only:
            sql += " AND status = 'active'"
        return [r for r in self._execute(sql + " ORDER BY id", (identity_id,)).fetchall()
                if r["centroid"] is not None and json.loads(r["metadata"]).get("model", model_name) == model_name]

    def _first_last_seen(self, model: Any, ids: list[str]) -> None:
        """first_seen/last_seen of each pattern from its first and last member (ids are chronological)."""
        import numpy as np
        import pandas as pd

        labels = model.labels_
        rows = [(c, np.flatnonzero(labels == c)) for c in range(model.n_patterns_)]
        ends = {int(i) for _, idx in rows if len(idx) for i in (idx[0], idx[-1])}
        when = dict(zip(sorted(ends), _ReflectionColumn(self.journal, ids, "created_at").take(sorted(ends)),
                        strict=True))
        first, last = [], []
        for _, idx in rows:
            first.append(pd.Timestamp(when[int(idx[0])]) if len(idx) else pd.NaT)
            last.append(pd.Timestamp(when[int(idx[-1])]) if len(idx) else pd.NaT)
        model.patterns_["first_seen"] = first
        model.patterns_["last_seen"] = last

    def _refresh_sizes(self, pattern_ids: Any, now: str) -> None:
        """Recount each pattern's size and first/last seen from its occurrences (inside the caller's
        transaction)."""
        pattern_ids = list(pattern_ids)
        found: dict[str, tuple] = {}
        for start in range(0, len(pattern_ids), 900):
            chunk = pattern_ids[start:start + 900]
            # one pass over the occurrences (each joined to its reflection once) for count, min and max,
            # rather than three subqueries per pattern; LEFT JOIN: count(*) counts occurrences as before
            found.update((r[0], (r[1], r[2], r[3])) for r in self._execute(
                "SELECT o.pattern_id, count(*), min(r.created_at), max(r.created_at) FROM pattern_occurrences o "
                "LEFT JOIN reflections r ON r.id = o.reflection_id "
                f"WHERE o.pattern_id IN ({','.join('?' * len(chunk))}) GROUP BY o.pattern_id", chunk))
        self.conn.executemany(
            "UPDATE patterns SET size = ?, first_seen = ?, last_seen = ?, updated_at = ? WHERE id = ?",
            [(*found.get(pid, (0, None, None)), now, pid) for pid in pattern_ids])

    def _assign_new(self, ident: Any, p: Any, active: list, info: dict, t0: float,
                    mark: dict) -> dict | None:
        """Assign the plan's new reflections to the stored patterns and store them; None (with
        info["drift"] set) when too many fit poorly, so the caller refits."""
        import numpy as np

        from . import incremental

        pids = [r["id"] for r in active]
        metas = [json.loads(r["metadata"]) for r in active]
        C = np.array([_unblob(r["centroid"]) for r in active])
        thr = np.array([float(mt.get("threshold", -1.0)) for mt in metas])
        radius = np.array([float(mt["radius"]) if mt.get("radius") is not None else float(mt.get("threshold", -1.0))
                           for mt in metas])
        done_ids: list[str] = []
        labs, strengths, poor = [], [], []
        from ..blas import small_batch

        with small_batch(len(p.new_ids)):  # a few new reflections: BLAS threads would cost more than the products
            for part_ids, X in self.journal.embeddings.chunks(ident, only=p.new_ids):
                lab, st, pr = incremental.assign(X, C, thr, radius)
                done_ids += part_ids
                labs.append(lab)
                strengths.append(st)
                poor.append(pr)
        lab = np.concatenate(labs) if labs else np.zeros(0, int)
        st = np.concatenate(strengths) if strengths else np.zeros(0)
        pr = np.concatenate(poor) if poor else np.zeros(0, bool)
        n_poor = int(pr.sum())
        share = n_poor / len(pr) if len(pr) else 0.0
        if n_poor >= incremental.DRIFT_MIN_ROWS and share > incremental.DRIFT_SHARE:
            info["drift"] = (f"drift: {n_poor} of {len(pr)} new reflections ({share:.0%}) fit the stored patterns "
                             f"poorly (more than {incremental.DRIFT_SHARE:.0%})")
            return None
        now = now_iso()
        writes = [(pids[int(c)], rid, round(float(s), 5)) for rid, c, s in zip(done_ids, lab, st, strict=True)
                  if c >= 0]
        with analysis_transaction(self.journal, "pattern assignment"):
            check_still_there(self.journal, done_ids, "pattern assignment")
            marks_active = ",".join("?" * len(pids))
            had = 0
            for start in range(0, len(done_ids), 900):
                chunk = done_ids[start:start + 900]
                # an edited reflection leaves the pattern it was in: it belongs where it fits now
                had += self.conn.execute(
                    f"DELETE FROM pattern_occurrences WHERE reflection_id IN ({','.join('?' * len(chunk))}) "
                    f"AND pattern_id IN ({marks_active})", [*chunk, *pids]).rowcount
            self.conn.executemany(
                "INSERT INTO pattern_occurrences (pattern_id, reflection_id, strength) VALUES (?, ?, ?)", writes)
            touched = pids if (p.removed or had) else sorted({w[0] for w in writes})
            self._refresh_sizes(touched, now)
        n_new = len(done_ids)
        n_in = len(writes)
        total = self.journal.embeddings.count_current(ident)
        assigned = self._execute(
            f"SELECT count(DISTINCT reflection_id) FROM pattern_occurrences WHERE pattern_id IN ({marks_active})",
            pids).fetchone()[0]
        summary = {
            "run_id": info["id"], "identity": ident.name, "reflections": total, "mode": "incremental",
            "reason": (f"{n_new} new reflection{'s' if n_new != 1 else ''}: {n_in} joined the stored patterns"
                       + (f", {n_new - n_in} fit none of them" if n_new > n_in else "")),
            "incremental": {"assigned": n_in, "unassigned": n_new - n_in, "poorly_fitting": n_poor,
                            "removed": p.removed},
            "patterns": len(pids), "new": 0, "matched": len(pids), "dormant": 0,
            "assigned": int(assigned), "unassigned": int(total - assigned),
            "unassigned_share": round((total - assigned) / total, 4) if total else 0.0,
            "seconds": {"total": round(time.perf_counter() - t0, 3)},
        }
        info["counts"] = {key: summary[key] for key in
                          ("reflections", "patterns", "new", "matched", "dormant", "assigned", "unassigned")}
        info["metadata"] = {"seconds": summary["seconds"], "model": self.journal.embeddings.model_name(),
                            "mode": "incremental", "reason": summary["reason"], "mark": mark,
                            "analysed": p.analysed - p.removed + n_new - had, "since_fit": p.since_fit + n_new,
                            "incremental": summary["incremental"]}
        return summary

    def _write_pattern(self, identity_id, pid, row, centroid, threshold, model_name, run_id, now, *, exists):
        first = row.get("first_seen")
        last = row.get("last_seen")
        def fmt(t):
            return (None if t is None or t != t else t.strftime("%Y-%m-%dT%H:%M:%SZ"))
        entry = {"run_id": run_id, "at": now, "size": int(row["size"]), "confidence": float(row["confidence"])}
        values = {
            "label": row["label"], "keywords": json.dumps(list(row["keywords"]), ensure_ascii=False),
            "confidence": float(row["confidence"]), "size": int(row["size"]), "first_seen": fmt(first),
            "last_seen": fmt(last), "centroid": _blob(centroid),
            "representatives": json.dumps(list(row["representatives"])),
        }
        if exists:
            meta = json.loads(self._execute("SELECT metadata FROM patterns WHERE id = ?", (pid,)).fetchone()[0])
        else:
            meta = {}
        history = (meta.get("history") or []) + [entry]
        # a name the user gave (or accepted from a language model) wins over the computed one,
        # through every re-analysis
        meta["auto_label"] = values["label"]
        if meta.get("user_label") or meta.get("llm_label"):
            values["label"] = meta.get("user_label") or meta["llm_label"]
        meta.update({"history": history[-50:], "model": model_name, "threshold": float(threshold),
                     "cohesion": row.get("cohesion"), "stability": row.get("stability"),
                     "radius": row.get("radius")})
        values["metadata"] = json.dumps(meta, default=str)
        if exists:
            sets = ", ".join(f"{c} = ?" for c in values)
            self._execute(f"UPDATE patterns SET {sets}, status = 'active', updated_at = ? WHERE id = ?",
                          [*values.values(), now, pid])
        else:
            cols = ["id", "identity_id", *values, "status", "created_at", "updated_at"]
            self._execute(
                f"INSERT INTO patterns ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [pid, identity_id, *values.values(), "active", now, now],
            )

    def _name_patterns(self, model: Any, texts: Any) -> None:
        """Replace the keyword labels of a fitted model by phrase names (`labels.phrase_labels`)."""
        from .labels import phrase_labels
        from .model import _take

        if not model.n_patterns_:
            return
        emb = self.journal.embeddings.embedder()
        # the fit sample (every row of a small journal) names the patterns, as it gave their keywords
        rows = model.sample_index_
        names = phrase_labels(_take(texts, rows), model.labels_[rows], model.cluster_centers_,
                              lambda xs: emb.encode(xs, progress=False))
        for c, name in enumerate(names):
            if name:
                model.patterns_.at[c, "label"] = name

    def rename(self, pattern_id: str, name: str | None) -> str:
        """Give a pattern a name of one's own; it is kept through every later `analyze`.

        name: 1-80 characters on one line; None or "" goes back to the computed name.
        Returns the label now shown. Raises NotFoundError, InvalidInputError, MirrorKitError (read-only).
        """
        from ..errors import MirrorKitError

        if self.journal.readonly:
            raise MirrorKitError(f"{self.journal.path} is open read-only; cannot rename a pattern")
        r = self._execute("SELECT metadata, identity_id FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no pattern with id {pattern_id!r}")
        if name is not None and not isinstance(name, str):
            raise InvalidInputError(f"a pattern name must be text, got {type(name).__name__}")
        clean = " ".join((name or "").split())
        if name and "\n" in name.strip():
            raise InvalidInputError("a pattern name must be one line")
        if len(clean) > 80:
            raise InvalidInputError(f"a pattern name must be at most 80 characters, got {len(clean)}")
        # A terminal escape in a name would recolour or rewrite the CLI tables it is printed in.
        if any(unicodedata.category(c) == "Cc" for c in clean):
            raise InvalidInputError("a pattern name must not hold control characters")
        if clean:
            # The views group and colour points by name: two patterns of one person under one name
            # would be drawn as one.
            twin = self._execute(
                "SELECT id FROM patterns WHERE identity_id = ? AND id <> ? AND status = 'active' "
                "AND lower(label) = lower(?)", (r["identity_id"], pattern_id, clean)).fetchone()
            if twin is not None:
                raise InvalidInputError(f"another pattern ({twin[0]}) is already called {clean!r}; "
                                        "choose another name")
        meta = json.loads(r["metadata"])
        if clean:
            meta["user_label"] = clean
        else:
            meta.pop("user_label", None)
            meta.pop("llm_label", None)
        label = clean or meta.get("auto_label") or self._execute(
            "SELECT label FROM patterns WHERE id = ?", (pattern_id,)).fetchone()[0]
        with self.journal.transaction():
            self._execute("UPDATE patterns SET label = ?, metadata = ?, updated_at = ? WHERE id = ?",
                          (label, json.dumps(meta, default=str), now_iso(), pattern_id))
        return label

    def relabel(self, identity: Any, *, llm: Any = None, llm_options: dict | None = None,
                dry_run: bool = False) -> Any:
        """Ask a language model for a name a person would give each active pattern, from its keywords
        and up to 5 representative reflections; names the user gave are left alone.

        llm: an adapter or its kind, as for mirrorbacks (`mirror_kit.mirrorback.llm.resolve_llm`;
        default: the configured one, else the installed local model); llm_options: base_url, model,
        api_key, timeout. A kept name survives later analyses; `rename(ID, "")` drops it.
        Returns a DataFrame (pattern_id, before, suggested, label, status) where status is "renamed",
        "unchanged" (same name), "kept" (user's name), "rejected" (the reply was not a short name),
        "duplicate" (another pattern of the person has that name) or "failed: REASON".
        Raises UnknownIdentityError, LLMNotConfiguredError, LLMUnavailableError or LLMAuthError (at
        the first pattern: nothing is renamed), MirrorKitError (read-only).
        """
        import pandas as pd

        from ..errors import MirrorKitError
        from ..mirrorback.llm import (
            LLMAuthError,
            LLMError,
            LLMNotConfiguredError,
            LLMUnavailableError,
            resolve_llm,
        )
        from . import llmlabels

        if self.journal.readonly and not dry_run:
            raise MirrorKitError(f"{self.journal.path} is open read-only; cannot rename patterns")
        ident = self.journal.identities.get(identity)
        model = resolve_llm(llm, self.journal, **(llm_options or {}))
        rows = self._execute("SELECT id, label, keywords, representatives, metadata FROM patterns "
                             "WHERE identity_id = ? AND status = 'active' ORDER BY size DESC, id",
                             (ident.id,)).fetchall()
        out = []
        # names taken by another pattern of the person: a reply repeating one would merge two
        # patterns in every view (they are grouped and coloured by name)
        taken = {str(r["id"]): str(r["label"]).lower() for r in rows}
        for r in rows:
            meta = json.loads(r["metadata"] or "{}")
            base = {"pattern_id": r["id"], "before": r["label"], "suggested": None, "label": r["label"]}
            if meta.get("user_label"):
                out.append({**base, "status": "kept"})
                continue
            reps = [x for x in json.loads(r["representatives"] or "[]")][:5]
            texts = [t[0] for t in self._execute(
                f"SELECT content FROM reflections WHERE id IN ({','.join('?' * len(reps))})", reps)] if reps else []
            try:
                reply = model.complete(llmlabels.prompt(json.loads(r["keywords"] or "[]"),
                                                        meta.get("auto_label") or r["label"], texts),
                                       max_tokens=24, temperature=0.0).text
            except (LLMUnavailableError, LLMAuthError, LLMNotConfiguredError):
                # Every later pattern would wait through the same retries and fail the same way:
                # one line now instead of a table of identical failures minutes later.
                raise
            except LLMError as exc:
                out.append({**base, "status": f"failed: {str(exc).splitlines()[0] if str(exc) else exc}"})
                continue
            name = llmlabels.parse(reply)
            if name is None:
                out.append({**base, "suggested": reply.strip()[:120], "status": "rejected"})
                continue
            if name == r["label"]:
                out.append({**base, "suggested": name, "status": "unchanged"})
                continue
            if name.lower() in {v for k, v in taken.items() if k != r["id"]}:
                out.append({**base, "suggested": name, "status": "duplicate"})
                continue
            taken[str(r["id"])] = name.lower()
            out.append({**base, "suggested": name, "label": name if not dry_run else r["label"],
                        "status": "renamed" if not dry_run else "suggested"})
            if not dry_run:
                meta["llm_label"] = name
                with self.journal.transaction():
                    self._execute("UPDATE patterns SET label = ?, metadata = ?, updated_at = ? WHERE id = ?",
                                  (name, json.dumps(meta, default=str), now_iso(), r["id"]))
        return pd.DataFrame(out, columns=["pattern_id", "before", "suggested", "label", "status"])

    def restore(self, identity_id: str, x: dict) -> None:
        """Insert one pattern row as exported, with its occurrences (inside the caller's transaction);
        keywords, representatives and metadata as JSON text, centroid as bytes or None."""
        self._execute(
            "INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, status, first_seen, "
            "last_seen, centroid, representatives, created_at, updated_at, metadata) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (x["id"], identity_id, x["label"], x["keywords"], x["confidence"], x["size"], x["status"],
             x["first_seen"], x["last_seen"], x["centroid"], x["representatives"], x["created_at"],
             x["updated_at"], x["metadata"]))
        self.conn.executemany(
            "INSERT INTO pattern_occurrences (pattern_id, reflection_id, strength) VALUES (?, ?, ?)",
            [(x["id"], o["reflection_id"], o["strength"]) for o in x["occurrences"]])

    def delete_rows(self, where: str, params: Iterable[Any]) -> int:
        """Delete the patterns matching a WHERE clause (their occurrences go with them)."""
        return self.conn.execute(f"DELETE FROM patterns WHERE {where}", list(params)).rowcount

    # -- reading --------------------------------------------------------------------------------
    def frame(self, identity: Any, *, min_confidence: float | None = None, limit: int | None = None,
                 sort: str = "size", include_dormant: bool = True, trend: bool = True):
        """The identity's patterns as a DataFrame (id, label, keywords, confidence, size, status,
        first_seen, last_seen, trend, ...), biggest (or most confident) first.

        sort: size, confidence, first_seen, last_seen or label.
        trend: False leaves the trend column None (it costs the whole journal's pattern evolution).
        """
        import pandas as pd

        if sort not in SORTS:
            raise InvalidInputError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
        if min_confidence is not None and not (0 <= float(min_confidence) <= 1):
            raise InvalidInputError(f"min_confidence must be between 0 and 1, got {min_confidence!r}")
        if limit is not None and int(limit) < 0:
            raise InvalidInputError(f"limit must be >= 0, got {limit!r}")
        ident = self.journal.identities.get(identity)
        sql = "SELECT * FROM patterns WHERE identity_id = ?"
        params: list = [ident.id]
        if not include_dormant:
            sql += " AND status = 'active'"
        if min_confidence is not None:
            sql += " AND confidence >= ?"
            params.append(float(min_confidence))
        rows = self._execute(sql, params).fetchall()
        df = pd.DataFrame([self._pattern_dict(r) for r in rows], columns=[*_PATTERN_COLS, "metadata"])
        if df.empty:
            return df.drop(columns=["metadata"])
        if trend:
            trends = self.trends(ident).set_index("pattern_id")["trend"]
            df["trend"] = df["id"].map(trends)
        asc = sort in ("label", "first_seen")
        df = df.sort_values([sort, "id"], ascending=[asc, True], kind="stable").reset_index(drop=True)
        if limit is not None:
            df = df.head(int(limit))
        return df.drop(columns=["metadata"])

    @staticmethod
    def _pattern_dict(r) -> dict:
        return {
            "id": r["id"], "label": r["label"], "keywords": json.loads(r["keywords"]),
            "confidence": r["confidence"], "size": r["size"], "status": r["status"],
            "first_seen": r["first_seen"], "last_seen": r["last_seen"], "trend": None,
            "representatives": json.loads(r["representatives"]), "created_at": r["created_at"],
            "updated_at": r["updated_at"], "metadata": json.loads(r["metadata"]),
        }

    def get(self, pattern_id: str) -> Pattern:
        """One pattern with its occurrences, evolution and trend (NotFoundError if there is none)."""
        import pandas as pd

        r = self._execute("SELECT * FROM patterns WHERE id = ?", (pattern_id,)).fetchone()
        if r is None:
            raise NotFoundError(f"no pattern with id {pattern_id!r}")
        d = self._pattern_dict(r)
        occ = self._execute(
            "SELECT o.reflection_id, r.created_at, o.strength, r.content FROM pattern_occurrences o "
            "JOIN reflections r ON r.id = o.reflection_id WHERE o.pattern_id = ? ORDER BY r.created_at, r.id",
            (pattern_id,),
        ).fetchall()
        d["occurrences"] = pd.DataFrame([dict(o) for o in occ],
                                        columns=["reflection_id", "created_at", "strength", "content"])
        d["identity_id"] = r["identity_id"]
        evo = self.evolution(r["identity_id"], patterns=[pattern_id])
        d["evolution"] = evo
        from .evolution import trends_frame

        t = trends_frame(evo)
        if len(t):
            d.update({k: t.iloc[0][k] for k in ("trend", "slope", "p_value")})
        d["history"] = d["metadata"].get("history", [])
        return Pattern(**d)

    def evolution(self, identity: Any, *, period: str = "auto", patterns: Iterable[str] | None = None):
        """Per pattern and period: count, total reflections and share (gaps are zero rows).

        patterns: restrict to these pattern ids or labels. period: day, week, month, quarter or auto.
        """
        import pandas as pd

        from .evolution import evolution_frame

        ident = self.journal.identities.get(identity)
        prow = self._execute("SELECT id, label FROM patterns WHERE identity_id = ? ORDER BY size DESC, id",
                             (ident.id,)).fetchall()
        labels = {r["id"]: r["label"] for r in prow}
        if patterns is not None:
            wanted = list(patterns)
            by_label = {v: k for k, v in labels.items()}
            chosen = {}
            for p in wanted:
                pid = p if p in labels else by_label.get(p)
                if pid is None:
                    raise NotFoundError(f"no pattern {p!r} for identity {ident.name!r}")
                chosen[pid] = labels[pid]
            labels = chosen
        dates = [r[0] for r in self._execute(
            "SELECT created_at FROM reflections WHERE identity_id = ?", (ident.id,))]
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: one row per occurrence
        occ = pd.DataFrame(
            cur.execute(
                "SELECT o.pattern_id, r.created_at FROM pattern_occurrences o JOIN reflections r "
                "ON r.id = o.reflection_id WHERE r.identity_id = ?", (ident.id,)).fetchall(),
            columns=["pattern_id", "created_at"],
        )
        occ = occ[occ["pattern_id"].isin(list(labels))]
        if not labels:
            return pd.DataFrame(columns=["pattern_id", "label", "period", "count", "total", "share"])
        try:
            return evolution_frame(occ, dates, period, labels)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from exc

    def trends(self, identity: Any, *, period: str = "auto"):
        """One row per pattern: pattern_id, label, trend (emerging/fading/stable/recurring), slope, p_value."""
        from .evolution import trends_frame

        return trends_frame(self.evolution(identity, period=period))

    def assign(self, reflection_ids: Iterable[str]):
        """Attach reflections to the existing active patterns of their identity without refitting.

        Returns reflection_id, pattern_id (None when unlike every pattern), label, strength.
        """
        import numpy as np
        import pandas as pd

        wanted = list(dict.fromkeys(reflection_ids))
        cols = ["reflection_id", "pattern_id", "label", "strength"]
        if not wanted:
            return pd.DataFrame(columns=cols)
        owners: dict[str, str] = {}
        for start in range(0, len(wanted), 900):
            chunk = wanted[start:start + 900]
            for r in self._execute(f"SELECT id, identity_id FROM reflections WHERE id IN ({','.join('?' * len(chunk))})",
                                   chunk):
                owners[r["id"]] = r["identity_id"]
        missing = [w for w in wanted if w not in owners]
        if missing:
            raise NotFoundError(f"no reflection with id {missing[0]!r}" + (
                f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        out = []
        now = now_iso()
        writes: list[tuple] = []
        for ident_id in sorted(set(owners.values())):
            model_name = self.journal.embeddings.model_name()
            pats = [p for p in self._execute(
                "SELECT id, label, centroid, metadata FROM patterns WHERE identity_id = ? AND status = 'active' "
                "AND centroid IS NOT NULL ORDER BY id", (ident_id,)).fetchall()
                if json.loads(p["metadata"]).get("model", model_name) == model_name]
            mine = [w for w in wanted if owners[w] == ident_id]
            if not pats:
                raise InvalidInputError("no patterns of this embedding model yet for this identity: run analyze first")
            ids, E = self.journal.embeddings.matrix(ident_id)
            pos = {rid: i for i, rid in enumerate(ids)}
            X = E[[pos[w] for w in mine]].astype(np.float64)
            X /= np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
            C = np.array([_unblob(p["centroid"]) for p in pats])
            S = X @ C.T
            best = S.argmax(1)
            for j, rid in enumerate(mine):
                p = pats[int(best[j])]
                sim = float(S[j, best[j]])
                thr = json.loads(p["metadata"]).get("threshold", -1.0)
                if sim < thr:
                    out.append({"reflection_id": rid, "pattern_id": None, "label": None, "strength": 0.0})
                    continue
                strength = round(min(max(sim, 0.0), 1.0), 5)
                out.append({"reflection_id": rid, "pattern_id": p["id"], "label": p["label"], "strength": strength})
                writes.append((p["id"], rid, strength))
        with analysis_transaction(self.journal, "pattern assignment"):
            if writes:
                rids = [w[1] for w in writes]
                for start in range(0, len(rids), 900):
                    chunk = rids[start:start + 900]
                    # a reflection belongs to one active pattern: drop its old active membership
                    self._execute(
                        "DELETE FROM pattern_occurrences WHERE reflection_id IN "
                        f"({','.join('?' * len(chunk))}) AND pattern_id IN "
                        "(SELECT id FROM patterns WHERE status = 'active')", chunk)
                self.conn.executemany(
                    "INSERT OR REPLACE INTO pattern_occurrences (pattern_id, reflection_id, strength) VALUES (?, ?, ?)",
                    writes)
                self._refresh_sizes(sorted({w[0] for w in writes}), now)
        return pd.DataFrame(out, columns=cols)
