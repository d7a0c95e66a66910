"""Deep checks of a backup's contents: the database's schema is exactly what mirror_kit's migrations
make (no extra trigger, view, index or table; not some other program's database), and the export
inside is a valid `mirror_os_export_v1` document that agrees with the database row for row.

Checksums in metadata.json only prove the members were not damaged in transit: whoever can edit the
archive can recompute them, so a restore must not trust anything the migrations would not create.
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MigrationError
from ..limits import loads_json
from . import safezip


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str, str, str]]:
    """(type, name, table, sql) of every schema object SQLite does not create by itself."""
    return {
        (r[0], r[1], r[2], " ".join((r[3] or "").split()))
        for r in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")
        if not r[1].startswith("sqlite_")
    }


def expected_schema(version: int) -> set[tuple[str, str, str, str]]:
    """The schema of a new journal migrated to `version`, built in memory."""
    from ..migrate import Migrator

    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        Migrator(conn).up(version)
        return _schema(conn)
    finally:
        conn.close()


def check_database(conn: sqlite3.Connection, schema_version: int, where: str) -> None:
    """Raise InvalidInputError unless `conn`'s schema equals a freshly migrated one and its migration
    history matches the shipped migration files."""
    from ..migrate import Migrator

    m = Migrator(conn, path=where)
    if schema_version < 1 or schema_version > m.latest:
        raise InvalidInputError(f"{where}: not a mirror_kit journal of a known schema version "
                                f"(version {schema_version}, this mirror_kit knows 1 to {m.latest})")
    try:
        m.check()
    except MigrationError as exc:
        raise InvalidInputError(str(exc)) from exc
    have, want = _schema(conn), expected_schema(schema_version)
    extra, missing = sorted(have - want), sorted(want - have)
    if extra or missing:
        what = (f"unexpected {extra[0][0]} {extra[0][1]!r}" if extra
                else f"{missing[0][0]} {missing[0][1]!r} is missing or altered")
        raise InvalidInputError(
            f"{where}: the database's schema differs from what mirror_kit creates ({what}"
            f"{f' and {len(extra) + len(missing) - 1} more difference(s)' if len(extra) + len(missing) > 1 else ''})"
            "; it was crafted or altered by another program and is not restored")


def check_export(zf: zipfile.ZipFile, name: str, p: Path, conn: sqlite3.Connection) -> None:
    """The export member is a valid document (schema and semantics) whose reflections equal the database's."""
    from .importer import _check_semantics
    from .validation import validate

    where = f"{p}: {name}"
    doc = loads_json(safezip.read_member(zf, name, p), where)
    validate(doc, source=where)
    _check_semantics(doc, Path(where))
    stored: dict[str, Any] = {
        r[0]: (r[1], r[2], r[3]) for r in conn.execute(
            "SELECT r.id, i.name, r.created_at, r.content FROM reflections r JOIN identities i ON i.id = r.identity_id")
    }
    seen = 0
    for ident in doc["identities"]:
        for r in ident["reflections"]:
            seen += 1
            if stored.get(r["id"]) != (ident["name"], r["created_at"], r["content"]):
                raise InvalidInputError(f"{where}: reflection {r['id']!r} differs from the database's copy; "
                                        "the backup was altered")
    if seen != len(stored):
        raise InvalidInputError(f"{where}: {seen} reflections, the database holds {len(stored)}; the backup was altered")
