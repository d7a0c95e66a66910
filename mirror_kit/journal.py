"""`Journal`: one SQLite journal file and everything you can do with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from . import db, runrecovery
from .embedding.api import EmbeddingMixin
from .errors import MirrorKitError
from .export.api import ExportMixin
from .frames import FramesMixin
from .importers.api import ImportsMixin
from .migrate import Migrator
from .mirrorback.api import MirrorbackMixin
from .patterns.api import PatternsMixin
from .store import Store
from .tensions.api import TensionsMixin
from .viz.api import VizMixin


class Journal(
    Store,
    ImportsMixin,
    FramesMixin,
    EmbeddingMixin,
    ExportMixin,
    MirrorbackMixin,
    PatternsMixin,
    TensionsMixin,
    VizMixin,
):
    """A journal file: records (see `Store`) plus import, frames, embeddings, export and analysis.

    Use `mirror_kit.open(path)` rather than constructing this directly.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, migrator: Migrator, readonly: bool = False):
        self.conn = conn
        self.path = path
        self.migrator = migrator
        self.readonly = readonly

    def __repr__(self) -> str:
        return f"<Journal {str(self.path)!r} schema v{self.migrator.current_version()}>"

    def analyze(self, identity: str, *, random_state: int = 0) -> dict:
        """The whole analysis for an identity: embeddings, then patterns, then tensions.

        Returns each step's summary (what `mirror-kit analyze --identity NAME` prints).
        """
        return {
            "embeddings": self.embed(identity),
            "patterns": self.analyze_patterns(identity, random_state=random_state),
            "tensions": self.analyze_tensions(identity),
        }

    def close(self) -> None:
        self.close_sql()
        self.conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    readonly: never write (no migration, no WAL switch): for inspection and exports.
    """
    p = Path(path).expanduser()
    conn = db.connect(p, create=create and not readonly, readonly=readonly)
    try:
        migrator = Migrator(conn, Path(migrations_dir) if migrations_dir else None, path=str(p))
        migrator.check()
        if migrate and not readonly and migrator.current_version() < migrator.latest:
            migrator.up()
        elif migrator.current_version() == 0:
            raise MirrorKitError(f"{p} has no mirror_kit schema (run `mirror-kit migrate up`)")
        if not readonly:
            runrecovery.mark_interrupted(conn)  # runs whose process was killed stay 'running' otherwise
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise db.translate(exc, p) from exc
    except BaseException:
        conn.close()
        raise
    return Journal(conn, p, migrator, readonly)
