"""`Journal`: the handle of one SQLite journal file.

The handle keeps the connection, transactions, the migrator and `close`; what a journal holds is reached
through collections named for the domain's nouns, each the only code that writes its tables, and
analysis services that take the journal:

>>> j = mirror_kit.open("mirror.db")
>>> j.identities.add("maya"); j.reflections.add("maya", "Walked by the river.")
>>> j.imports.run("diary.csv", "maya"); j.patterns.analyze("maya"); j.patterns.frame("maya")
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import db
from .collections import (
    Embeddings,
    Identities,
    Mirrorbacks,
    Reflections,
    Runs,
    Settings,
    Tags,
    Threads,
    Tokens,
)
from .collections.runs import mark_interrupted
from .errors import InvalidInputError, MirrorKitError
from .export.service import Exports
from .frames import Frames
from .importers.api import Imports
from .legacy_api import LegacyWriters
from .migrate import Migrator
from .patterns.service import Patterns
from .tensions.service import Tensions
from .viz.service import Viz

if TYPE_CHECKING:
    import pandas as pd

    from .commons.service import Commons


class Journal(LegacyWriters):
    """One journal file: collections (`identities`, `reflections`, `tags`, `threads`, `settings`, `runs`,
    `embeddings`, `mirrorbacks`), services (`imports`, `exports`, `patterns`, `tensions`, `viz`) and
    read-only queries (`frame`, `sql`, `stats`).

    Use `mirror_kit.open(path)` rather than constructing this directly.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, migrator: Migrator, readonly: bool = False):
        self.conn = conn
        self.path = path
        self.migrator = migrator
        self.readonly = readonly

    def __repr__(self) -> str:
        mode = " read-only" if self.readonly else ""
        return f"<Journal {str(self.path)!r} schema v{self.migrator.current_version()}{mode}>"

    # -- connection ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together or not at all (nested blocks join the outer one)."""
        with db.transaction(self.conn) as c:
            yield c

    def execute(self, sql: str, params: Sequence | Mapping = ()) -> sqlite3.Cursor:
        """Run SQL on the journal's connection; SQLite errors become MirrorKitError with a message."""
        try:
            return self.conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise InvalidInputError(f"{self.path}: {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise db.translate(exc, self.path) from exc

    def close(self) -> None:
        """Close the SQLite connection and this journal's DuckDB connection, if one was opened."""
        frames = self.__dict__.get("frames")
        if frames is not None:
            frames.close_sql()
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections ---------------------------------------------------------------------------
    @cached_property
    def identities(self) -> Identities:
        return Identities(self)

    @cached_property
    def reflections(self) -> Reflections:
        return Reflections(self)

    @cached_property
    def tags(self) -> Tags:
        return Tags(self)

    @cached_property
    def threads(self) -> Threads:
        return Threads(self)

    @cached_property
    def settings(self) -> Settings:
        return Settings(self)

    @cached_property
    def runs(self) -> Runs:
        return Runs(self)

    @cached_property
    def embeddings(self) -> Embeddings:
        return Embeddings(self)

    @cached_property
    def mirrorbacks(self) -> Mirrorbacks:
        return Mirrorbacks(self)

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens(self)

    # -- services ------------------------------------------------------------------------------
    @cached_property
    def imports(self) -> Imports:
        return Imports(self)

    @cached_property
    def exports(self) -> Exports:
        return Exports(self)

    @cached_property
    def patterns(self) -> Patterns:
        return Patterns(self)

    @cached_property
    def tensions(self) -> Tensions:
        return Tensions(self)

    @cached_property
    def viz(self) -> Viz:
        return Viz(self)

    @cached_property
    def commons(self) -> Commons:
        from .commons.service import Commons

        return Commons(self)

    @cached_property
    def frames(self) -> Frames:
        return Frames(self)

    # -- queries -------------------------------------------------------------------------------
    def frame(self, name: str, identity: Any = None, since: datetime | date | str | None = None,
              until: datetime | date | str | None = None) -> pd.DataFrame:
        """A typed pandas DataFrame of one kind of record (see `frame_names()`); reads only.

        identity: name or id (None: every identity); since/until bound the reflection time (a bare
        date `until` covers that day). Raises InvalidInputError for an unknown name.
        """
        return self.frames.frame(name, identity, since, until)

    def frame_names(self) -> pd.DataFrame:
        """DataFrame (name, row): the frames `frame(name)` accepts and what one row is."""
        return self.frames.names()

    def sql(self, query: str, params: Any = None) -> Any:
        """A DuckDB relation for a read-only query over the journal's tables; finish with `.df()`."""
        return self.frames.sql(query, params)

    def stats(self) -> list[dict]:
        """Per identity: reflections, first and last date (UTC ISO), tags, patterns, tensions observed,
        mirrorbacks."""
        # Distinct tags/tensions are counted as "those with at least one row of this identity": each
        # EXISTS stops at the first matching row of the tag's (tension's) index range, where
        # count(DISTINCT ...) over a join visits every tag link and every observation.
        rows = self.execute(
            """
            SELECT i.name, i.id,
                   (SELECT count(*) FROM reflections r WHERE r.identity_id = i.id) AS reflections,
                   (SELECT min(created_at) FROM reflections r WHERE r.identity_id = i.id) AS first,
                   (SELECT max(created_at) FROM reflections r WHERE r.identity_id = i.id) AS last,
                   (SELECT count(*) FROM tags t WHERE EXISTS (SELECT 1 FROM reflection_tags rt
                        JOIN reflections r ON r.id = rt.reflection_id
                        WHERE rt.tag_id = t.id AND r.identity_id = i.id)) AS tags,
                   (SELECT count(*) FROM patterns p WHERE p.identity_id = i.id) AS patterns,
                   (SELECT count(*) FROM tensions t WHERE EXISTS (SELECT 1 FROM tension_observations o
                        JOIN reflections r ON r.id = o.reflection_id
                        WHERE o.tension_id = t.id AND r.identity_id = i.id)) AS tensions,
                   (SELECT count(*) FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id
                        WHERE r.identity_id = i.id) AS mirrorbacks
            FROM identities i ORDER BY i.name
            """
        ).fetchall()
        return [dict(r) for r in rows]

    def search(self, query: str | None = None, *, identity: Any = None, k: int = 10,
               since: datetime | date | str | None = None, until: datetime | date | str | None = None,
               tag: str | None = None, like: str | None = None, mode: str = "hybrid",
               min_similarity: float | None = None) -> Any:
        """Reflections matching `query` by words and meaning (or like the reflection `like`), best first;
        reads only. See `mirror_kit.search.Search.run` for the columns and errors."""
        from .search import search_service

        return search_service(self).run(query, identity=identity, k=k, since=since, until=until, tag=tag,
                                        like=like, mode=mode, min_similarity=min_similarity)

    def compact(self) -> dict:
        """Rebuild the file densely with the page size of new journals (16 KB); rows stay as they are.

        Returns {path, bytes_before, bytes_after, page_size_before, page_size_after, seconds}. Raises
        JournalLockedError when another program has the journal open, MirrorKitError when read-only or
        short of disk space (about twice the file); the file is then unchanged.
        """
        from .compact import compact

        return compact(self)

    def analyze(self, identity: str, *, random_state: int = 0, refit: bool = False) -> dict:
        """The whole analysis for an identity: embeddings, then patterns, then tensions.

        After a first analysis, a few new reflections are assigned to the stored patterns and only
        they are scored on the tensions; refit=True fits and scores everything again.
        Returns each step's summary (what `mirror-kit analyze --identity NAME` prints).
        """
        with self.embeddings.checked_once():  # which vectors are current: read once for the three steps
            return {
                "embeddings": self.embeddings.embed(identity),
                "patterns": self.patterns.analyze(identity, random_state=random_state, refit=refit),
                "tensions": self.tensions.analyze(identity, refit=refit),
            }


def open_journal(
    path: str | Path = "mirror.db",
    *,
    create: bool = True,
    migrate: bool = True,
    readonly: bool = False,
    migrations_dir: str | Path | None = None,
) -> Journal:
    """Open a journal file, creating and migrating it to the latest schema when needed.

    create: make the file if it does not exist (else JournalNotFoundError).
    migrate: apply pending migrations (else the schema must already be current for writes).
    readonly: never write (no creation, no migration, no WAL switch): for reads and exports. An older
        schema is read as it is when possible.
    Raises JournalNotFoundError, NotAJournalError, MirrorKitError.
    """
    p = Path(path).expanduser()
    existed = p.exists()
    conn = db.connect(p, create=create and not readonly, readonly=readonly)
    try:
        migrator = Migrator(conn, Path(migrations_dir) if migrations_dir else None, path=str(p))
        migrator.check()
        if migrate and not readonly and migrator.current_version() < migrator.latest:
            migrator.up()
        elif migrator.current_version() == 0:
            raise MirrorKitError(f"{p} has no mirror_kit schema (run `mirror-kit migrate up`)")
        if not readonly:
            mark_interrupted(conn)  # runs whose process was killed stay 'running' otherwise
    except sqlite3.DatabaseError as exc:
        conn.close()
        _discard_new_file(p, existed)
        raise db.translate(exc, p) from exc
    except BaseException:
        conn.close()
        _discard_new_file(p, existed)
        raise
    return Journal(conn, p, migrator, readonly)


def _discard_new_file(p: Path, existed: bool) -> None:
    """Remove a journal file this call created and could not finish (a full disk during `init`):
    left behind, it is an empty file that every later command refuses as having no schema."""
    if existed:
        return
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            os.unlink(f"{p}{suffix}")
