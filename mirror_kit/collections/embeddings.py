"""`journal.embeddings`: one vector per (reflection, model) (table `embeddings`, rows coded in
`mirror_kit.embedding.store`); the model is named once, by the journal's `embedding.model` setting."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..analysis_writes import analysis_transaction
from ..embedding import store as emb_store
from ..errors import InvalidInputError, MirrorKitError
from ._base import Collection

# Journal setting that picks the model when `model=None` (else DEFAULT_MODEL).
MODEL_SETTING = "embedding.model"
# Journal setting that picks the precision ("auto", "fp32", "bf16", "int8"; default "auto" = fp32);
# vectors of another precision are stored under `<model>#<precision>` (embedding.model.stored_name).
PRECISION_SETTING = "embedding.precision"
_WRITE_CHUNK = 1024  # texts encoded and committed together: an interrupted run keeps what it finished


class Embeddings(Collection):
    """Stored vectors: `embed` computes the missing ones, `matrix` reads them, `model_name` names the model."""

    # while `checked_once` holds: ("current", identity id, model) -> (reflections, reflections without
    # a current vector) and ("changed", identity id, model) -> (rowid, at, `changed_rows` since that
    # mark), and ("matrix", identity id, model) -> (ids, read-only matrix, storage order), each with the
    # `data_version` it was read at; None outside it (every call asks the database)
    _checked: dict[tuple[str, Any, str], tuple[int, Any]] | None = None

    @contextlib.contextmanager
    def checked_once(self) -> Iterator[None]:
        """Within the block, which reflections have a current vector is read once per identity and
        model: `embed`, `ensure` and `count_current` reuse it (each is a pass over every reflection),
        and `changed_since` a later mark is picked from what an earlier mark's call read. Reused only
        while no other connection has committed (SQLite's data_version) and this collection has not
        written vectors, so the answers are those of the database; for one analysis of several steps
        that writes no reflections itself."""
        outer = self._checked
        if outer is None:
            self._checked = {}
        try:
            yield
        finally:
            if outer is None:
                self._checked = None

    def _data_version(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def _recall(self, kind: str, ident_id: Any, name: str) -> Any:
        """What `_keep` stored, while it is still what the database would say (else None)."""
        if self._checked is None:
            return None
        hit = self._checked.get((kind, ident_id, name))
        if hit is None or hit[0] != self._data_version():
            return None
        return hit[1]

    def _version(self) -> int | None:
        """The data_version to `_keep` a read with: taken before the read (None when not keeping)."""
        return self._data_version() if self._checked is not None else None

    def _keep(self, kind: str, ident_id: Any, name: str, value: Any, version: int | None) -> None:
        if self._checked is not None and ident_id is not None and version is not None:
            self._checked[(kind, ident_id, name)] = (version, value)

    def _forget(self) -> None:
        if self._checked is not None:
            self._checked.clear()

    def configured_model(self) -> str | None:
        """The model the journal's `embedding.model` setting names (None: the default model)."""
        return self.journal.settings.get(MODEL_SETTING) or None

    def configured_precision(self) -> str:
        """The precision the journal's `embedding.precision` setting names ("auto" when unset).

        Raises InvalidInputError when the setting holds an unknown precision.
        """
        from ..embedding.model import PRECISIONS

        value = self.journal.settings.get(PRECISION_SETTING) or "auto"
        if value not in PRECISIONS:
            raise InvalidInputError(f"{self.journal.path}: setting {PRECISION_SETTING!r} is {value!r}; "
                                    f"expected one of {', '.join(PRECISIONS)}")
        return value

    def model_name(self, model: str | os.PathLike | None = None, *, precision: str | None = None) -> str:
        """The canonical name of `model` (default: the journal's setting) at `precision` (default: the
        journal's setting), without loading it: the model's name for fp32, `<name>#int8` etc. otherwise.

        Every analysis (patterns, tensions, figures) keys its results by this name, so results of
        two models, or of two precisions of one model, are never mixed.
        """
        from ..embedding.model import resolve_model, stored_name

        base = resolve_model(model if model is not None else self.configured_model())[0]
        return stored_name(base, precision if precision is not None else self.configured_precision())

    def embedder(self, model: str | os.PathLike | None = None, *, precision: str | None = None) -> Any:
        """The loaded encoder of `model` at `precision` (default: the journal's settings); loads the transformer."""
        return self._embedder(model, precision)

    def _embedder(self, model: str | os.PathLike | None, precision: str | None = None):
        from ..embedding.model import get_embedder

        precision = precision if precision is not None else self.configured_precision()
        model = model if model is not None else self.configured_model()
        if precision in ("auto", "fp32"):
            return get_embedder(model)  # the one shared fp32 encoder, however it was asked for
        return get_embedder(model, precision=precision)

    def embed(
        self,
        identity: Any = None,
        *,
        model: str | os.PathLike | None = None,
        precision: str | None = None,
        progress: bool | None = None,
    ) -> dict:
        """Store embeddings for the reflections that lack a current one (new, edited, or another model).

        identity: None embeds every identity's reflections.
        model: a model name or local directory (default: the journal's `embedding.model` setting,
            else all-MiniLM-L6-v2); vectors of different models are kept side by side.
        precision: "auto"/"fp32", "bf16" or "int8" (default: the journal's `embedding.precision`
            setting); vectors of each precision are stored under their own name (`model_name`), so
            an int8 vector never stands in for an fp32 one.
        progress: a progress bar; None shows it on a terminal for long runs.
        Returns {model, total, embedded, cached, seconds}.
        """
        t0 = time.perf_counter()
        ident_id = self.journal.identities.id_of(identity)
        if self.journal.readonly:
            raise MirrorKitError(f"{self.journal.path}: journal is open read-only; cannot store embeddings")
        version = self._version()
        total = emb_store.count(self.conn, ident_id)
        name = self.model_name(model, precision=precision)
        todo = emb_store.stale(self.conn, ident_id, name)
        self._keep("current", ident_id, name, (total, len(todo)), version)
        # Load the encoder only when there is something to encode: loading it (ONNX session or torch)
        # costs far more than the whole call when every vector is current.
        emb = self._embedder(model, precision) if todo else None
        params: dict[str, Any] = {"model": name}
        if emb is not None:
            params.update(precision=emb.resolved_precision, window=emb.window)
        with self.journal.runs.record("embed", identity, params) as info:
            show = progress if progress is not None else (len(todo) > 256 and sys.stderr.isatty())
            bar = None
            if show and todo:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(todo), desc="embedding", unit="reflection")
            try:
                for start in range(0, len(todo), _WRITE_CHUNK):
                    part = todo[start:start + _WRITE_CHUNK]
                    vecs = _encode_unique(emb, [c for _, c, _ in part])
                    self._forget()
                    with analysis_transaction(self.journal, "embedding"):
                        emb_store.write(
                            self.conn, name, ((rid, h, v) for (rid, _, h), v in zip(part, vecs, strict=True))
                        )
                    if bar is not None:
                        bar.update(len(part))
            finally:
                if bar is not None:
                    bar.close()
            summary = {
                "model": name,
                "total": total,
                "embedded": len(todo),
                "cached": total - len(todo),
                "seconds": round(time.perf_counter() - t0, 3),
            }
            info["counts"] = {k: summary[k] for k in ("total", "embedded", "cached")}
            info["metadata"] = {"seconds": summary["seconds"]}
            if emb is not None:
                info["metadata"]["dim"] = emb.dim
        return summary

    def stored(self, identity: Any = None, *, model: str | os.PathLike | None = None) -> tuple[list[str], Any]:
        """(reflection ids, float32 matrix) of the current stored vectors of `model` (default: the
        journal's), chronological; reflections without one are left out. Never loads the model, so
        figures and reports show exactly what `analyze` computed."""
        import numpy as np

        ident_id = self.journal.identities.id_of(identity)
        ids, hashes, stored = emb_store.read(self.conn, ident_id, self.model_name(model))
        keep = [i for i, (h, s) in enumerate(zip(hashes, stored, strict=True)) if s is not None and s[0] == h]
        if not keep:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [ids[i] for i in keep], emb_store.from_blobs([stored[i][2] for i in keep], stored[keep[0]][1])

    def matrix(self, identity: Any = None, *, model: str | os.PathLike | None = None) -> tuple[list[str], Any]:
        """(reflection ids, float32 matrix of L2-normalised rows) in chronological order.

        Missing or outdated vectors are computed first (and stored, unless the journal is read-only).
        """
        import numpy as np

        ident_id = self.journal.identities.id_of(identity)
        if model is None:
            model = self.configured_model()
        # Resolve the name without loading the transformer: when every vector is stored, none is needed.
        model_name = self.model_name(model)
        known = self._recall("matrix", ident_id, model_name)
        if known is not None:
            return known[0], known[1]
        version = self._version()
        order: list[int] = []
        ids, matrix, missing = emb_store.read_matrix(self.conn, ident_id, model_name, storage_order=order)
        if ids and not missing and self._checked is not None:
            # kept for the later steps of one analysis (`chunks` serves from it): one read of the
            # vectors per analysis; read-only so that no step changes what the next one sees
            matrix.flags.writeable = False
            self._keep("matrix", ident_id, model_name, (ids, matrix, order), version)
        if ids and not missing:
            return ids, matrix
        emb = self._embedder(model)
        if not self.journal.readonly:
            self.embed(identity, model=model, progress=False)
            ids, matrix, missing = emb_store.read_matrix(self.conn, ident_id, model_name)
        if matrix.shape[1] != emb.dim:  # nothing stored yet (read-only journal)
            matrix = np.zeros((len(ids), emb.dim), dtype=np.float32)
        if missing:  # read-only journal: compute in memory, store nothing
            contents = emb_store.contents(self.conn, [ids[i] for i in missing])
            matrix[missing] = _encode_unique(emb, [contents[ids[i]] for i in missing])
        return ids, matrix

    def chunks(self, identity: Any, *, model: str | os.PathLike | None = None, size: int = 4096,
               only: list[str] | None = None) -> Any:
        """Yield (reflection ids, (m, d) float32 matrix) blocks of the identity's current stored vectors,
        at most `size` rows each, in storage order (never the whole matrix at once); `only` restricts
        to these reflection ids. Reflections without a current vector are skipped."""
        ident_id = self.journal.identities.id_of(identity)
        name = self.model_name(model)
        known = self._recall("matrix", ident_id, name) if only is None else None
        if known is not None:  # an earlier step of this analysis read every vector: same blocks, no second read
            ids, matrix, order = known
            for start in range(0, len(order), size):
                part = order[start:start + size]
                yield [ids[i] for i in part], matrix[part]
            return
        yield from emb_store.iter_current(self.conn, ident_id, name, size, only)

    def ensure(self, identity: Any = None, *, model: str | os.PathLike | None = None) -> None:
        """Compute and store the missing or outdated vectors of the identity, if there are any (no run
        is recorded and no model is loaded when every vector is current)."""
        ident_id = self.journal.identities.id_of(identity)
        name = self.model_name(model)
        known = self._recall("current", ident_id, name)
        if known is not None and known[1] == 0:
            return
        version = self._version()
        todo = emb_store.stale(self.conn, ident_id, name)
        if todo:
            self.embed(identity, model=model, progress=False)
        else:
            self._keep("current", ident_id, name, (emb_store.count(self.conn, ident_id), 0), version)

    def mark(self) -> dict:
        """A mark of the stored vectors now ({rowid, at}); `changed_since(mark)` lists what came after."""
        return emb_store.mark(self.conn)

    def changed_since(self, identity: Any, mark: dict, *, model: str | os.PathLike | None = None) -> list[str]:
        """Reflection ids of the identity whose current vector was stored after `mark` (new or edited)."""
        ident_id = self.journal.identities.id_of(identity)
        name, rowid, at = self.model_name(model), int(mark["rowid"]), str(mark["at"])
        known = self._recall("changed", ident_id, name)
        # the patterns and the tensions step each ask since their own last run's mark: the later
        # mark's rows are among the earlier one's
        if known is not None and rowid >= known[0] and at >= known[1]:
            return emb_store.changed_after(known[2], rowid, at)
        version = self._version()
        rows = emb_store.changed_rows(self.conn, ident_id, name, rowid, at)
        self._keep("changed", ident_id, name, (rowid, at, rows), version)
        return emb_store.changed_after(rows, rowid, at)

    def count_current(self, identity: Any, *, model: str | os.PathLike | None = None) -> int:
        """How many of the identity's reflections have a current vector of `model`."""
        ident_id = self.journal.identities.id_of(identity)
        name = self.model_name(model)
        known = self._recall("current", ident_id, name)
        if known is not None:
            # content hashes are NOT NULL and a reflection has one vector per model: the current ones
            # are the reflections less the stale ones
            return known[0] - known[1]
        return self.conn.execute(
            "SELECT count(*) FROM embeddings e JOIN reflections r "
            "ON r.id = e.reflection_id AND e.content_hash = r.content_hash "
            "WHERE e.model = ? AND r.identity_id = ?", (name, ident_id)).fetchone()[0]


def _encode_unique(emb: Any, texts: list[str]) -> Any:
    """Encode each distinct text once (journals and corpora repeat entries)."""
    import numpy as np

    uniq: dict[str, int] = {}
    index = [uniq.setdefault(t, len(uniq)) for t in texts]
    if len(uniq) == len(texts):
        return emb.encode(texts, progress=False)
    return emb.encode(list(uniq), progress=False)[np.asarray(index)]
