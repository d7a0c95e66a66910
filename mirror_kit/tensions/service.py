"""`journal.tensions`: two-pole axes (solitude <-> connection, ...) and where an identity stands on them.

The only writer of the tables `tensions` and `tension_observations`. The five seeds live in code and are
stored (identity_id NULL, is_seed=1) by the first write that needs them, never by a read; user tensions
are either shared by every identity (identity_id NULL) or private to one.
Observations (position, intensity per reflection and tension) live in `tension_observations`; a
calibration is stored as JSON in `tensions.calibration`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..analysis_writes import analysis_transaction
from ..blas import small_batch
from ..errors import InvalidInputError, MirrorKitError, NotFoundError
from ..timeutil import now_iso
from .definition import Tension, load_tension, seed_tensions

if TYPE_CHECKING:
    import pandas as pd

    from ..journal import Journal

_DEF_COLUMNS = ["id", "name", "axis_a", "axis_b", "is_seed", "identity_id", "calibrated"]
_TENSION_COLUMNS = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences", "spread",
                    "drift", "p_value", "direction", "rank", "n"]
_ANCHOR_CACHE: dict[tuple[str, str], Any] = {}  # (model, phrase) -> vector: anchors embed once per process


class _CachingEncoder:
    """Wraps an Embedder so anchor phrases are encoded once per process and model, and once per
    machine: their vectors are kept in the user's cache directory (`anchor_cache_file`), so scoring a
    few new reflections does not load the transformer at all.

    emb: an Embedder, or a callable returning one (called only when a phrase has no cached vector);
    model_name: its model's name (required with a callable).
    """

    def __init__(self, emb: Any, model_name: str | None = None):
        self._emb = emb
        self.model_name = model_name or emb.model_name

    @property
    def emb(self) -> Any:
        if callable(self._emb) and not hasattr(self._emb, "encode"):
            self._emb = self._emb()
        return self._emb

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        todo = sorted({t for t in texts if (self.model_name, t) not in _ANCHOR_CACHE})
        if todo:
            disk = _read_anchor_cache(self.model_name)
            for t in todo:
                if t in disk:
                    _ANCHOR_CACHE[(self.model_name, t)] = disk[t]
            todo = [t for t in todo if (self.model_name, t) not in _ANCHOR_CACHE]
        if todo:
            for t, v in zip(todo, self.emb.encode(todo), strict=True):
                _ANCHOR_CACHE[(self.model_name, t)] = np.asarray(v, dtype=np.float32)
            _write_anchor_cache(self.model_name)
        return np.stack([_ANCHOR_CACHE[(self.model_name, t)] for t in texts])


def anchor_cache_file(model_name: str) -> Path:
    """Where the anchor vectors of a model are kept (the user's mirror_kit cache directory)."""
    import hashlib

    from ..embedding.model import resolve_model
    from ..embedding.onnx_backend import cache_dir

    location = resolve_model(model_name)[1]
    # the model's files dated: a model replaced under the same name gets a fresh cache
    stamp = Path(location).stat().st_mtime_ns if Path(location).exists() else 0
    key = hashlib.sha256(f"{model_name}\x1f{location}\x1f{stamp}".encode()).hexdigest()[:20]
    return cache_dir() / "anchors" / f"{key}.npz"


def _read_anchor_cache(model_name: str) -> dict[str, Any]:
    import numpy as np

    try:
        with np.load(anchor_cache_file(model_name), allow_pickle=False) as z:
            return dict(zip(z["phrases"].tolist(), z["vectors"], strict=True))
    except Exception:  # missing, damaged or unreadable: the model computes them again
        return {}


def _write_anchor_cache(model_name: str) -> None:
    import os
    import tempfile

    import numpy as np

    mine = {t: v for (m, t), v in _ANCHOR_CACHE.items() if m == model_name}
    tmp = None
    try:
        target = anchor_cache_file(model_name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp.npz")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, phrases=np.array(list(mine), dtype=str), vectors=np.stack(list(mine.values())))
        os.replace(tmp, target)
    except Exception:  # a cache that cannot be written only costs time next run
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


@dataclass
class TensionDetail:
    """One tension for one identity: definition, aggregates (position -1 = axis_a .. 1 = axis_b,
    intensity 0..1), drift (per period, Mann-Kendall p-value), `evolution` DataFrame and the reflections
    leaning most to each pole."""

    id: str
    name: str
    axis_a: str
    axis_b: str
    is_seed: bool
    definition: dict
    calibration: dict | None
    position: float | None = None
    intensity: float | None = None
    occurrences: int = 0
    spread: float | None = None
    n: int = 0
    drift: float | None = None
    p_value: float | None = None
    direction: str = "stable"
    evolution: Any = None
    examples_a: list = field(default_factory=list)
    examples_b: list = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k != "evolution"}
        d["evolution"] = self.evolution
        return d


class Tensions:
    """Tensions of a journal: definitions (`definitions`, `define`, `remove`, `calibrate`), analysis
    (`analyze`, `score`) and statistics (`frame`, `evolution`, `get`, `map`)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.conn = journal.conn

    def _execute(self, sql: str, params: Any = ()) -> Any:
        return self.journal.execute(sql, params)

    # -- definitions ---------------------------------------------------------------------------
    def _ensure_seed_tensions(self) -> None:
        """Store the built-in seeds (or refresh their definitions after an upgrade); keeps calibrations.

        Only write paths call this: a read shows the seeds from code without storing them.
        """
        if self.journal.readonly:
            raise MirrorKitError(f"{self.journal.path}: journal is open read-only; cannot store tensions")
        now = now_iso()
        rows = {r["id"]: r["definition"] for r in self._execute("SELECT id, definition FROM tensions WHERE is_seed = 1")}
        todo = []
        for t in self._seeds():
            d = json.dumps(t.as_dict(), ensure_ascii=False, sort_keys=True)
            if rows.get(t.id) != d:
                todo.append((t, d))
        if not todo:
            return
        with self.journal.transaction():
            for t, d in todo:
                self._execute(
                    "INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, definition, is_seed, created_at, "
                    "updated_at) VALUES (?, NULL, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                    "name = excluded.name, axis_a = excluded.axis_a, axis_b = excluded.axis_b, "
                    "definition = excluded.definition, updated_at = excluded.updated_at",
                    (t.id, t.name, t.axis_a, t.axis_b, d, now, now),
                )

    def _tension_rows(self, identity: Any = None) -> list[dict]:
        """Tensions visible to an identity (seeds, shared, its own), seeds first; seeds not stored yet
        come from code."""
        sql = "SELECT * FROM tensions WHERE identity_id IS NULL"
        params: list = []
        if identity is not None:
            sql += " OR identity_id = ?"
            params.append(self.journal.identities.get(identity).id)
        rows = [dict(r) for r in self._execute(sql + " ORDER BY is_seed DESC, created_at, id", params)]
        stored = {r["id"]: r for r in rows if r["is_seed"]}
        code = []
        for t in self._seeds():
            d = json.dumps(t.as_dict(), ensure_ascii=False, sort_keys=True)
            have = stored.get(t.id)
            code.append({"id": t.id, "identity_id": None, "name": t.name, "axis_a": t.axis_a, "axis_b": t.axis_b,
                         "definition": d, "calibration": have["calibration"] if have else None, "is_seed": 1})
        rows = code + [r for r in rows if not r["is_seed"]]
        seed_order = {t.id: i for i, t in enumerate(seed_tensions())}
        rows.sort(key=lambda r: (not r["is_seed"], seed_order.get(r["id"], 0)))
        return rows

    def _seeds(self) -> list[Tension]:
        # A pinned Commons version may amend seeds (setting written by mirror_kit.commons): it wins over code.
        over = self.journal.settings.get("definitions.seed_overrides") or {}
        return [Tension.from_dict(over[t.id], f"pinned seed {t.id}") if t.id in over else t for t in seed_tensions()]

    def _resolve_tension(self, name_or_id: str, identity: Any = None) -> dict:
        rows = self._tension_rows(identity)
        key = str(name_or_id).strip()
        for match in (lambda r: r["id"] == key, lambda r: r["name"].lower() == key.lower(),
                      lambda r: f"{r['axis_a']}/{r['axis_b']}".lower() == key.lower().replace(" ", "")):
            hits = [r for r in rows if match(r)]
            if hits:
                return hits[0]
        known = ", ".join(r["id"] for r in rows)
        raise NotFoundError(f"no tension {key!r}; known: {known}")

    def seeds(self) -> pd.DataFrame:
        """The five built-in tensions: id, name, axis_a, axis_b, pole descriptions, anchor counts."""
        import pandas as pd

        return pd.DataFrame([
            {"id": t.id, "name": t.name, "axis_a": t.axis_a, "axis_b": t.axis_b,
             "description_a": t.a.description, "description_b": t.b.description,
             "anchors_a": len(t.a.anchors), "anchors_b": len(t.b.anchors)}
            for t in seed_tensions()
        ])

    def definitions(self, identity: Any = None) -> pd.DataFrame:
        """Every tension visible to an identity (seeds, shared, its own) as a DataFrame."""
        return _definitions_frame(self._tension_rows(identity))

    def definition(self, name_or_id: str, identity: Any = None) -> Tension:
        """The Tension (poles and anchors) with this id or name; `save_tensions` shares it as a file."""
        return Tension.from_dict(json.loads(self._resolve_tension(name_or_id, identity)["definition"]))

    def define(
        self, tension: Tension | Mapping | str | Path, *, identity: Any = None, replace: bool = False
    ) -> dict:
        """Store a user tension (a Tension, a mapping, or a YAML/JSON file path).

        identity: None shares it with every identity; else it is private to that identity.
        replace: overwrite an existing user tension with the same id (its calibration is dropped,
            its observations are kept until the next analysis). Seeds cannot be replaced.
        """
        if isinstance(tension, (str, Path)):
            t = load_tension(tension)
        elif isinstance(tension, Mapping):
            t = Tension.from_dict(dict(tension))
        elif isinstance(tension, Tension):
            t = Tension.from_dict(tension.as_dict())
        else:
            raise InvalidInputError(f"a tension must be a Tension, a mapping or a file path, not {type(tension).__name__}")
        self._ensure_seed_tensions()
        ident_id = self.journal.identities.id_of(identity)
        existing = self._execute("SELECT is_seed FROM tensions WHERE id = ?", (t.id,)).fetchone()
        if existing is not None:
            if existing["is_seed"]:
                raise InvalidInputError(f"tension id {t.id!r} is a built-in seed; choose another id")
            if not replace:
                raise InvalidInputError(f"tension {t.id!r} already exists (use replace=True / --replace)")
        now = now_iso()
        d = json.dumps(t.as_dict(), ensure_ascii=False, sort_keys=True)
        with self.journal.transaction():
            self._execute(
                "INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, definition, calibration, is_seed, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, 0, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                "identity_id = excluded.identity_id, name = excluded.name, axis_a = excluded.axis_a, "
                "axis_b = excluded.axis_b, definition = excluded.definition, calibration = NULL, "
                "updated_at = excluded.updated_at",
                (t.id, ident_id, t.name, t.axis_a, t.axis_b, d, now, now),
            )
        return {"id": t.id, "name": t.name, "axis_a": t.axis_a, "axis_b": t.axis_b, "identity_id": ident_id,
                "anchors_a": len(t.a.anchors), "anchors_b": len(t.b.anchors), "replaced": existing is not None}

    def remove(self, name_or_id: str, identity: Any = None) -> None:
        """Delete a user tension and its observations (seeds cannot be removed)."""
        row = self._resolve_tension(name_or_id, identity)
        if row["is_seed"]:
            raise InvalidInputError(f"tension {row['id']!r} is a built-in seed and cannot be removed")
        with self.journal.transaction():
            self._execute("DELETE FROM tensions WHERE id = ?", (row["id"],))

    def restore_definition(self, t: dict, *, update: bool = False) -> None:
        """Insert (or, with `update`, overwrite) one tension row as exported; definition and calibration
        as JSON text (inside the caller's transaction)."""
        values = (t["name"], t["axis_a"], t["axis_b"], t["definition"], t["calibration"], int(t["is_seed"]),
                  t["created_at"], t["updated_at"])
        if update:
            self._execute(
                "UPDATE tensions SET name = ?, axis_a = ?, axis_b = ?, definition = ?, calibration = ?, "
                "is_seed = ?, created_at = ?, updated_at = ? WHERE id = ?", (*values, t["id"]))
        else:
            self._execute(
                "INSERT INTO tensions (name, axis_a, axis_b, definition, calibration, is_seed, created_at, "
                "updated_at, id, identity_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, t["id"], t["identity_id"]))

    def delete_definitions(self, where: str, params: Iterable[Any]) -> int:
        """Delete the tensions matching a WHERE clause (their observations go with them)."""
        return self.conn.execute(f"DELETE FROM tensions WHERE {where}", list(params)).rowcount

    def restore_observations(self, rows: list[tuple]) -> None:
        """Insert (tension_id, reflection_id, position, intensity, model, created_at) rows as exported."""
        self.conn.executemany(
            "INSERT INTO tension_observations (tension_id, reflection_id, position, intensity, model, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", rows)

    def delete_observations(self, where: str, params: Iterable[Any]) -> int:
        return self.conn.execute(f"DELETE FROM tension_observations WHERE {where}", list(params)).rowcount

    # -- scoring -------------------------------------------------------------------------------
    def _tension_scorer(self, rows: list[dict]) -> Any:
        from .model import TensionScorer

        defs = [Tension.from_dict(json.loads(r["definition"]), f"stored tension {r['id']}") for r in rows]
        # the transformer is loaded only if an anchor phrase has no cached vector
        emb = _CachingEncoder(self.journal.embeddings.embedder, self.journal.embeddings.model_name())
        scorer = TensionScorer(defs, embedder=emb).fit()
        for r in rows:
            if r["calibration"]:
                cal = json.loads(r["calibration"])
                try:
                    scorer.apply_calibration(r["id"], cal)
                except InvalidInputError:
                    continue  # made with another model or other anchors: zero-shot until recalibrated
        return scorer

    def _texts_of(self, scorer: Any, reflection_ids: Sequence[str]) -> list[str] | None:
        """The contents of these reflections (what was embedded), when the scorer's calibrations need them."""
        if not scorer.needs_texts():
            return None
        from ..embedding import store as emb_store

        got = emb_store.contents(self.conn, list(reflection_ids))
        return [got[r] for r in reflection_ids]

    def _select_rows(self, identity: Any, tensions: Iterable[str] | None) -> list[dict]:
        rows = self._tension_rows(identity)
        if tensions is None:
            return rows
        if isinstance(tensions, str):
            tensions = [tensions]
        wanted = [self._resolve_tension(t, identity)["id"] for t in tensions]
        return [r for r in rows if r["id"] in wanted]

    def _write_observations(self, frame: Any, model: str) -> int:
        return self._write_scores((frame["reflection_id"].tolist(), frame["tension_id"].tolist(),
                                   frame["position"].tolist(), frame["intensity"].tolist(),
                                   frame["calibrated"].tolist()), model)

    def _write_scores(self, columns: tuple, model: str) -> int:
        """Store `TensionScorer.score_columns` output (or a score frame's columns) as observations."""
        now = now_iso()
        rids, tids, positions, intensities, calibrated = columns
        if not isinstance(positions, list):  # numpy: Python floats, as the frame's values were
            positions, intensities = positions.tolist(), intensities.tolist()
        data = [(t, r, float(min(1.0, max(-1.0, p))), float(min(1.0, max(0.0, i))),
                 f"{model}+calibrated" if c else model, now)
                for r, t, p, i, c in zip(rids, tids, positions, intensities, calibrated, strict=True)]
        self.conn.executemany(
            "INSERT INTO tension_observations (tension_id, reflection_id, position, intensity, model, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tension_id, reflection_id) DO UPDATE SET "
            "position = excluded.position, intensity = excluded.intensity, model = excluded.model, "
            "created_at = excluded.created_at",
            data,
        )
        return len(data)

    def analyze(self, identity: Any, *, tensions: Iterable[str] | None = None, refit: bool = False,
                chunk_size: int = 4096) -> dict:
        """Score the reflections of an identity on its tensions (default: all visible) and store them.

        When the last scoring used the same tensions, definitions, calibrations and model, only the
        reflections whose vectors came since (new or edited) are scored and written; `refit=True`
        rescores every reflection. Vectors are read and scored `chunk_size` rows at a time.
        Returns a summary: mode, reason, reflections, scored, tensions, observations (rows written),
        calibrated tensions, the most active tensions and the ones drifting significantly.
        Raises InvalidInputError, UnknownIdentityError, MirrorKitError (read-only journal).
        """
        from ..ids import content_hash
        from ..patterns.incremental import last_fit_run

        if not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidInputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        ident = self.journal.identities.get(identity)
        self._ensure_seed_tensions()
        rows = self._select_rows(ident.id, tensions)
        self.journal.embeddings.ensure(ident.id)
        scorer = self._tension_scorer(rows)
        params = {"model": scorer.model_name_, "tensions": scorer.tension_ids_,
                  "calibrated": sorted(scorer.calibrations_),
                  "definitions": self.journal.settings.get("definitions.version")}  # pinned Commons version
        # what the stored observations depend on: a change of any of it rescores every reflection
        signature = content_hash(json.dumps([params, [(r["id"], r["definition"], r["calibration"]) for r in rows]],
                                            sort_keys=True, default=str))
        embeddings = self.journal.embeddings
        with self.journal.runs.record("tensions", ident.id, params) as info:
            last = None if refit else last_fit_run(self.journal, ident.id, "tensions", scorer.model_name_)
            only = None
            mark = embeddings.mark()  # before listing what is new: nothing stored meanwhile is skipped
            if refit:
                reason = "asked for (--refit)"
            elif last is None:
                reason = "no earlier scoring recorded"
            elif last["metadata"].get("signature") != signature:
                reason = "tensions, their definitions, calibrations or the model changed"
            else:
                only = embeddings.changed_since(ident.id, last["metadata"]["mark"])
                reason = f"{len(only)} new or edited reflections scored"
            n = scored = 0
            with analysis_transaction(self.journal, "tension analysis"):
                if only is None:
                    # Observations of deleted/edited reflections are replaced; none of another identity is touched.
                    marks = ",".join("?" * len(scorer.tension_ids_))
                    self._execute(
                        f"DELETE FROM tension_observations WHERE tension_id IN ({marks}) AND reflection_id IN "
                        "(SELECT id FROM reflections WHERE identity_id = ?)",
                        [*scorer.tension_ids_, ident.id],
                    )
                if only is None or only:
                    with small_batch(None if only is None else len(only)):
                        for part_ids, X in embeddings.chunks(ident.id, size=chunk_size, only=only):
                            n += self._write_scores(scorer.score_columns(X, part_ids, self._texts_of(scorer, part_ids)),
                                                    scorer.model_name_)
                            scored += len(part_ids)
            total = embeddings.count_current(ident.id)
            mode = "full" if only is None else "incremental"
            info["counts"] = {"reflections": total, "scored": scored, "tensions": len(rows), "observations": n}
            info["metadata"] = {"model": scorer.model_name_, "mode": mode, "reason": reason, "mark": mark,
                                "signature": signature}
        # the definitions read for scoring are the frame's when every tension was scored
        defs = _definitions_frame(rows) if tensions is None else None
        summary = (self.frame(ident.id) if defs is None else self._frame(ident.id, defs)) if total else None
        active = [] if summary is None else summary["tension_id"].head(3).tolist()
        drifting = [] if summary is None else [
            {"tension_id": r.tension_id, "direction": r.direction, "drift": round(float(r.drift), 4),
             "p_value": round(float(r.p_value), 4)}
            for r in summary.itertuples() if r.direction != "stable"
        ]
        return {"identity": ident.name, "mode": mode, "reason": reason, "reflections": total, "scored": scored,
                "tensions": len(rows), "observations": n, "model": scorer.model_name_,
                "calibrated": sorted(scorer.calibrations_), "most_active": active, "drifting": drifting}

    def score(self, reflection_ids: Sequence[str], *, tensions: Iterable[str] | None = None) -> pd.DataFrame:
        """Score (and store) just these reflections on their identity's tensions, e.g. new entries.

        Returns reflection_id, tension_id, position, intensity, calibrated.
        """
        import pandas as pd

        ids = list(dict.fromkeys(reflection_ids))
        if not ids:
            return pd.DataFrame(columns=["reflection_id", "tension_id", "position", "intensity", "calibrated"])
        owners: dict[str, list[str]] = {}
        for rid in ids:
            row = self._execute("SELECT identity_id FROM reflections WHERE id = ?", (rid,)).fetchone()
            if row is None:
                raise NotFoundError(f"no reflection {rid!r}")
            owners.setdefault(row["identity_id"], []).append(rid)
        frames = []
        for ident_id, rids in owners.items():
            rows = self._select_rows(ident_id, tensions)
            X = self._embeddings_of(ident_id, rids)
            scorer = self._tension_scorer(rows)
            with small_batch(len(rids)):
                frame = scorer.score_frame(X, rids, self._texts_of(scorer, rids))
            if not self.journal.readonly:
                self._ensure_seed_tensions()
                with analysis_transaction(self.journal, "tension scoring"):
                    self._write_observations(frame, scorer.model_name_)
            frames.append(frame)
        out = pd.concat(frames, ignore_index=True)
        order = {rid: i for i, rid in enumerate(ids)}
        out["_order"] = out["reflection_id"].map(order)
        return out.sort_values("_order", kind="mergesort").drop(columns="_order").reset_index(drop=True)

    def _embeddings_of(self, identity_id: str, reflection_ids: Sequence[str], matrix: Any = None) -> Any:
        all_ids, X = matrix if matrix is not None else self.journal.embeddings.matrix(identity_id)
        pos = {rid: i for i, rid in enumerate(all_ids)}
        missing = [r for r in reflection_ids if r not in pos]
        if missing:
            raise NotFoundError(f"reflection(s) without embeddings: {', '.join(missing[:5])}")
        return X[[pos[r] for r in reflection_ids]]

    # -- calibration ---------------------------------------------------------------------------
    def calibrate(
        self, tension: str, labels: Mapping[str, Any] | Any | str | Path, *, identity: Any = None,
        rescore: bool = True,
    ) -> dict:
        """Learn a tension's axis from reflections you labelled as leaning to one pole (few-shot).

        labels: {reflection_id: label}, a DataFrame with reflection_id and label columns, or a CSV
            file with those columns. A label is `a`/`b`, a pole name, or a number (<= 0 is pole a,
            > 0 pole b, so both 0/1 and -1/+1 work).
        rescore: re-score the stored observations of this tension with the new axis.
        The journal's reflections (embeddings and texts) of the labelled identities shape the axis's
        prior and teach its words view (`words.py`).
        Returns the calibration summary: n_labels, n_a, n_b, cv_auc (held-out ROC AUC of the learned
        axis by cross-validation), zero_shot_auc (of the pole definitions alone on the same rows),
        words_terms (terms in the words view), lexicon_weight (of the seed lexicon count, 0: unused),
        rescored.
        """
        import numpy as np

        self._ensure_seed_tensions()
        row = self._resolve_tension(tension, identity)
        t = Tension.from_dict(json.loads(row["definition"]))
        pairs = _read_labels(labels)
        y = [_label_value(value, t, where) for where, _rid, value in pairs]
        rids = [rid for _, rid, _ in pairs]
        if len(set(rids)) != len(rids):
            dup = sorted({r for r in rids if rids.count(r) > 1})
            raise InvalidInputError(f"labels: reflection(s) labelled more than once: {', '.join(dup[:5])}")
        owners: dict[str, list[int]] = {}
        for i, (where, rid, _) in enumerate(pairs):
            r = self._execute("SELECT identity_id FROM reflections WHERE id = ?", (rid,)).fetchone()
            if r is None:
                raise InvalidInputError(f"{where}: no reflection with id {rid!r}")
            owners.setdefault(r["identity_id"], []).append(i)
        from ..embedding import store as emb_store

        X = None
        # every embedded reflection of the labelled identities: unlabelled data shapes the prior and
        # teaches the words view
        pool, pool_ids = [], []
        for ident_id, idx in owners.items():
            all_ids, E = self.journal.embeddings.matrix(ident_id)
            part = self._embeddings_of(ident_id, [rids[i] for i in idx], (all_ids, E))
            if X is None:
                X = np.zeros((len(rids), part.shape[1]), dtype=np.float32)
            X[idx] = part
            pool.append(E)
            pool_ids += all_ids
        contents = emb_store.contents(self.conn, pool_ids)
        scorer = self._tension_scorer([row])
        cal = scorer.calibrate(X, np.asarray(y), row["id"], unlabelled=np.vstack(pool) if pool else None,
                               texts=[contents[r] for r in rids], unlabelled_texts=[contents[r] for r in pool_ids])
        del contents
        cal["labelled_at"] = now_iso()
        with self.journal.transaction():
            self._execute("UPDATE tensions SET calibration = ?, updated_at = ? WHERE id = ?",
                          (json.dumps(cal), now_iso(), row["id"]))
        rescored = 0
        if rescore:
            idents = [r[0] for r in self._execute(
                "SELECT DISTINCT r.identity_id FROM tension_observations o JOIN reflections r "
                "ON r.id = o.reflection_id WHERE o.tension_id = ?", (row["id"],))]
            for ident_id in idents:
                ids, E = self.journal.embeddings.matrix(ident_id)
                with analysis_transaction(self.journal, "tension rescoring"):
                    for s in range(0, len(ids), 4096):  # the texts a block at a time
                        part = ids[s:s + 4096]
                        rescored += self._write_scores(
                            scorer.score_columns(E[s:s + 4096], part, self._texts_of(scorer, part)),
                            scorer.model_name_)
        return {"tension_id": row["id"], **{k: cal[k] for k in ("n_labels", "n_a", "n_b", "cv_auc",
                                                                  "zero_shot_auc", "folds", "model")},
                "words_terms": len(cal["words"]["terms"]) if cal.get("words") else 0,
                "lexicon_weight": cal["lexicon"]["weight"] if cal.get("lexicon") else 0.0, "rescored": rescored}

    def clear_calibration(self, tension: str, identity: Any = None) -> None:
        """Forget a tension's calibration (back to zero-shot from its pole phrases)."""
        row = self._resolve_tension(tension, identity)
        if not row["calibration"]:
            return
        with self.journal.transaction():
            self._execute("UPDATE tensions SET calibration = NULL, updated_at = ? WHERE id = ?", (now_iso(), row["id"]))

    # -- reading -------------------------------------------------------------------------------
    def _observations(self, identity: Any, tension_ids: Sequence[str] | None = None) -> Any:
        import pandas as pd

        ident = self.journal.identities.get(identity)
        sql = ("SELECT o.tension_id, o.reflection_id, r.created_at, o.position, o.intensity FROM tension_observations o "
               "JOIN reflections r ON r.id = o.reflection_id WHERE r.identity_id = ?")
        params: list = [ident.id]
        if tension_ids is not None:
            sql += f" AND o.tension_id IN ({','.join('?' * len(tension_ids))})"
            params += list(tension_ids)
        import numpy as np

        cols = ["tension_id", "reflection_id", "created_at", "position", "intensity"]
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: an identity can have millions of observations
        cur.execute(sql + " ORDER BY r.created_at, r.id", params)
        # Read in blocks, each turned into columns at once, with one string object per distinct id:
        # a million reflections' rows as Python tuples would take gigabytes.
        same: dict[str, str] = {}
        parts = []
        while rows := cur.fetchmany(100_000):
            t, r, c, p, i = zip(*rows, strict=True)
            del rows
            parts.append(pd.DataFrame({
                "tension_id": [same.setdefault(x, x) for x in t], "reflection_id": [same.setdefault(x, x) for x in r],
                "created_at": pd.to_datetime(pd.Series(c, dtype=object), utc=True),
                "position": np.asarray(p, dtype=float), "intensity": np.asarray(i, dtype=float)}))
        if not parts:
            df = pd.DataFrame({k: [] for k in cols}).astype({"position": float, "intensity": float})
            df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
            return df
        return pd.concat(parts, ignore_index=True)

    def stats(self, identity: Any, *, tensions: Sequence[str] | None = None, since: Any = None, until: Any = None,
              threshold: float | None = None) -> pd.DataFrame:
        """Per tension and UTC day, the sums every tension statistic is finished from, summed by SQLite.

        Columns `aggregate.STAT_COLUMNS` (see there); the same rows `aggregate.observation_stats`
        makes from the observations, so `aggregate.summarize_stats` / `evolution_stats` give the same
        numbers without reading the observations into Python.
        tensions: ids (None: all); since/until: bounds on the reflection time (`journal.frame` rules);
        threshold: intensity of an occurrence. Raises UnknownIdentityError, InvalidInputError (bounds).
        """
        import pandas as pd

        from ..timeutil import bound_iso
        from . import aggregate

        thr = aggregate.DEFAULT_THRESHOLD if threshold is None else float(threshold)
        ident = self.journal.identities.get(identity)
        # created_at is stored as UTC `YYYY-MM-DDTHH:MM:SSZ`: its first 10 characters are the UTC day
        # and text order is time order
        where, params = ["r.identity_id = ?"], [thr, ident.id]
        for value, op, end in ((since, ">=", False), (until, "<=", True)):
            if value is not None:
                where.append(f"r.created_at {op} ?")
                params.append(bound_iso(value, end=end))
        if tensions is not None:
            tensions = list(tensions)
            where.append(f"o.tension_id IN ({','.join('?' * len(tensions))})")
            params += tensions
        cur = self._execute(
            "SELECT o.tension_id, substr(r.created_at, 1, 10) AS day, count(*), sum(o.intensity), "
            "sum(o.intensity * o.position), sum(o.intensity * o.position * o.position), sum(o.position), "
            "sum(o.position * o.position), sum(o.intensity >= ?), min(o.position), max(o.position), "
            "min(r.created_at), max(r.created_at) FROM tension_observations o "
            "JOIN reflections r ON r.id = o.reflection_id WHERE " + " AND ".join(where)
            + " GROUP BY o.tension_id, day ORDER BY o.tension_id, day", params)
        cur.row_factory = None  # plain tuples, as the frame takes them
        rows = cur.fetchall()
        if not rows:
            return aggregate._empty_stats()
        df = pd.DataFrame(rows, columns=aggregate.STAT_COLUMNS)
        df["day"] = pd.to_datetime(df["day"], format="%Y-%m-%d")
        for c in ("first", "last"):
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
        return aggregate._typed_stats(df)

    def frame(self, identity: Any, *, period: str = "auto", threshold: float | None = None,
              stats: pd.DataFrame | None = None) -> pd.DataFrame:
        """Tensions of an identity, most active first: where it stands and whether it is drifting.

        Columns: tension_id, name, axis_a, axis_b, position (intensity-weighted mean, -1 = axis_a),
        intensity (mean), occurrences (reflections with intensity >= threshold), spread, drift (Sen's
        slope of period positions, per period), p_value (Mann-Kendall), direction, rank, n.
        stats: the identity's day statistics already read with `stats` (same threshold), so a
        caller that needs both reads them once.
        """
        return self._frame(identity, self.definitions(identity), period=period, threshold=threshold, stats=stats)

    def _frame(self, identity: Any, defs: pd.DataFrame, *, period: str = "auto", threshold: float | None = None,
               stats: pd.DataFrame | None = None) -> pd.DataFrame:
        """`frame` with the identity's tension definitions (`definitions`) already in hand."""
        import pandas as pd

        from . import aggregate

        thr = aggregate.DEFAULT_THRESHOLD if threshold is None else threshold
        st = self.stats(identity, threshold=thr) if stats is None else stats
        if st.empty:
            return pd.DataFrame(columns=_TENSION_COLUMNS)
        summary = aggregate.summarize_stats(st)
        trend = aggregate.drift(aggregate.evolution_stats(st, period=period))
        merged = defs.merge(summary, left_on="id", right_on="tension_id").merge(trend, on="tension_id")
        return aggregate.rank_active(merged)[_TENSION_COLUMNS].reset_index(drop=True)

    def evolution(
        self, identity: Any, *, period: str = "auto", tensions: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Per tension and period: position, intensity, count (reflections), occurrences."""
        from . import aggregate

        ids = None if tensions is None else [r["id"] for r in self._select_rows(identity, tensions)]
        return aggregate.evolution_stats(self.stats(identity, tensions=ids), period=period)

    def get(self, name_or_id: str, identity: Any, *, period: str = "auto") -> TensionDetail:
        """One tension for an identity: definition, aggregates, drift, `evolution` DataFrame and the
        reflections leaning most to each pole (`examples_a`, `examples_b`)."""
        from . import aggregate

        row = self._resolve_tension(name_or_id, identity)
        t = Tension.from_dict(json.loads(row["definition"]))
        obs = self._observations(identity, [row["id"]])
        evo = aggregate.evolution(obs, period=period)
        out: dict[str, Any] = {"id": row["id"], "name": row["name"], "axis_a": row["axis_a"],
                               "axis_b": row["axis_b"], "is_seed": bool(row["is_seed"]),
                               "definition": t.as_dict(),
                               "calibration": _calibration_info(row["calibration"])}
        summary = aggregate.summarize(obs)
        trend = aggregate.drift(evo)
        stats = summary.iloc[0].to_dict() if len(summary) else {"position": None, "intensity": None,
                                                                   "occurrences": 0, "spread": None, "n": 0}
        drift = trend.iloc[0].to_dict() if len(trend) else {"drift": None, "p_value": None, "direction": "stable"}
        out.update({k: stats.get(k) for k in ("position", "intensity", "occurrences", "spread", "n")})
        out.update({k: drift.get(k) for k in ("drift", "p_value", "direction")})
        out["evolution"] = evo.drop(columns=["tension_id"]).reset_index(drop=True)
        engaged = obs[obs["intensity"] >= aggregate.DEFAULT_THRESHOLD]
        for pole, asc in (("a", True), ("b", False)):
            top = engaged.sort_values("position", ascending=asc).head(5)
            out[f"examples_{pole}"] = [
                {"reflection_id": r.reflection_id, "position": round(float(r.position), 3),
                 "content": self.journal.reflections.get(r.reflection_id).content[:200]}
                for r in top.itertuples() if (r.position < 0 if pole == "a" else r.position > 0)
            ]
        return TensionDetail(**out)

    def map(self, identity: Any) -> pd.DataFrame:
        """2D map data, most active first: tension_id, name, axis_a, axis_b, position, intensity, occurrences."""
        import pandas as pd

        from . import aggregate

        st = self.stats(identity)
        cols = ["tension_id", "name", "axis_a", "axis_b", "position", "intensity", "occurrences"]
        if st.empty:
            return pd.DataFrame(columns=cols)
        return aggregate.map_data(aggregate.summarize_stats(st), self.definitions(identity))


def _definitions_frame(rows: list[dict]) -> pd.DataFrame:
    """`Tensions.definitions`' DataFrame from the rows of `Tensions._tension_rows`."""
    import pandas as pd

    return pd.DataFrame([{**{k: r[k] for k in _DEF_COLUMNS[:-1]}, "calibrated": r["calibration"] is not None}
                         for r in rows], columns=_DEF_COLUMNS)


def _calibration_info(raw: str | None) -> dict | None:
    if not raw:
        return None
    cal = json.loads(raw)
    info = {k: cal.get(k) for k in ("method", "model", "n_labels", "n_a", "n_b", "cv_auc", "zero_shot_auc",
                                    "folds", "labelled_at")}
    info["words_terms"] = len(cal["words"].get("terms") or []) if isinstance(cal.get("words"), dict) else 0
    info["lexicon_weight"] = cal["lexicon"].get("weight", 0.0) if isinstance(cal.get("lexicon"), dict) else 0.0
    return info


def _read_labels(labels: Any) -> list[tuple[str, str, Any]]:
    """(where, reflection_id, label) triples from a mapping, a DataFrame or a CSV path."""
    import csv

    if isinstance(labels, (str, Path)):
        p = Path(labels)
        try:
            with open(p, newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                fields = [f.strip().lower() for f in (reader.fieldnames or [])]
                id_col = next((f for f in ("reflection_id", "id") if f in fields), None)
                lab_col = next((f for f in ("label", "pole", "lean") if f in fields), None)
                if id_col is None or lab_col is None:
                    raise InvalidInputError(f"{p}: needs a header with columns reflection_id,label (got {fields})")
                out = []
                for i, rec in enumerate(reader, start=2):
                    rec = {(k or "").strip().lower(): (v or "").strip() for k, v in rec.items()}
                    if not rec.get(id_col):
                        raise InvalidInputError(f"{p}: row {i}: empty field {id_col}")
                    out.append((f"{p}: row {i}", rec[id_col], rec.get(lab_col, "")))
        except FileNotFoundError as exc:
            raise InvalidInputError(f"{p}: no such file") from exc
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"{p}: not UTF-8 text: {exc}") from exc
    elif isinstance(labels, Mapping):
        out = [(f"labels[{k!r}]", str(k), v) for k, v in labels.items()]
    elif hasattr(labels, "columns"):
        if "reflection_id" not in labels.columns or "label" not in labels.columns:
            raise InvalidInputError("labels DataFrame needs columns reflection_id and label")
        out = [(f"labels row {i}", str(r), v) for i, (r, v) in enumerate(zip(labels["reflection_id"], labels["label"],
                                                                           strict=True))]
    else:
        raise InvalidInputError("labels must be a mapping, a DataFrame or a CSV path")
    if not out:
        raise InvalidInputError("labels: no labelled reflections")
    return out


def _label_value(value: Any, t: Tension, where: str) -> int:
    """0 for pole a, 1 for pole b."""
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    if text in ("a", t.axis_a.lower()):
        return 0
    if text in ("b", t.axis_b.lower()):
        return 1
    try:
        num = float(text)
    except ValueError:
        num = float("nan")
    if num == num:  # not NaN
        return int(num > 0)
    raise InvalidInputError(
        f"{where}: field label {value!r} is not a pole of {t.id} (use a/b, {t.axis_a}/{t.axis_b}, or a number)"
    )
