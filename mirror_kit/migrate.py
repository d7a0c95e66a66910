"""Versioned schema migrations: `migrations/NNNN_name.up.sql` / `.down.sql`.

Each migration runs inside one transaction together with its history row, with foreign keys off
(set outside the transaction, as SQLite requires for table rebuilds) and `foreign_key_check` before
commit, so a failure leaves the file exactly as it was. Checksums of applied files are recorded and
compared on every open: an edited or deleted migration is refused by name.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from .db import integrity_messages, split_sql, translate
from .errors import MigrationChecksumError, MigrationError, NotAJournalError, SchemaTooNewError
from .timeutil import now_iso

# Statements that cannot leave a row pointing at a missing parent (new empty tables, indexes, views,
# triggers, a column add: SQLite refuses an added REFERENCES column with a non-NULL default). A
# migration made only of these skips the full foreign_key_check, which reads every row of a
# large journal; anything else (rebuilds, data changes, drops) is checked before commit.
_SAFE_DDL_RE = re.compile(
    r"^\s*(ALTER\s+TABLE\s+\S+\s+ADD\s+(COLUMN\s+)?|CREATE\s+(UNIQUE\s+)?INDEX|CREATE\s+(TEMP\w*\s+)?"
    r"(TABLE|VIEW|TRIGGER)|DROP\s+(INDEX|VIEW|TRIGGER))",
    re.IGNORECASE,
)
_NAME_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$")
_TX_CONTROL_RE = re.compile(r"^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|VACUUM)\b", re.IGNORECASE)


def _strip_leading_comments(stmt: str) -> str:
    s = stmt.lstrip()
    while s.startswith("--") or s.startswith("/*"):
        s = s.split("\n", 1)[1].lstrip() if s.startswith("--") and "\n" in s else (
            s.split("*/", 1)[1].lstrip() if s.startswith("/*") and "*/" in s else "")
    return s

HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    version         INTEGER NOT NULL,
    name            TEXT NOT NULL,
    checksum        TEXT NOT NULL,
    applied_at      TEXT NOT NULL,
    execution_ms    REAL NOT NULL,
    rolled_back_at  TEXT,
    rollback_ms     REAL
)"""


def default_migrations_dir() -> Path:
    """`migrations/` beside the package in a checkout; `mirror_kit/_migrations` in an installed wheel."""
    here = Path(__file__).resolve().parent
    for cand in (here.parent / "migrations", here / "_migrations"):
        if cand.is_dir() and any(cand.glob("*.up.sql")):
            return cand
    raise MigrationError(f"no migrations folder found beside {here}")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up_path: Path
    down_path: Path | None

    @property
    def filename(self) -> str:
        return self.up_path.name

    def up_sql(self) -> str:
        return self.up_path.read_text(encoding="utf-8")

    def down_sql(self) -> str:
        if self.down_path is None:
            raise MigrationError(f"migration {self.filename} has no .down.sql file; it cannot be rolled back")
        return self.down_path.read_text(encoding="utf-8")

    @property
    def down_filename(self) -> str:
        return self.down_path.name if self.down_path else self.up_path.name.replace(".up.sql", ".down.sql")

    def checksum(self) -> str:
        """`sha256:<up>:<down>` so a mismatch names the file that changed ('-' for no down file)."""
        up = hashlib.sha256(self.up_path.read_bytes()).hexdigest()
        down = hashlib.sha256(self.down_path.read_bytes()).hexdigest() if self.down_path else "-"
        return f"sha256:{up}:{down}"

    def changed_file(self, recorded: str) -> str | None:
        """The file that differs from what was recorded when this migration ran, or None."""
        current = self.checksum()
        if recorded == current:
            return None
        parts = recorded.split(":")
        if len(parts) == 3 and parts[0] == "sha256":
            _, up, down = current.split(":")
            if parts[1] != up:
                return self.filename
            if parts[2] != "-" and down == "-":
                return f"{self.down_filename} (deleted)"
            return self.down_filename
        # A checksum from before per-file hashes: one digest over both files.
        h = hashlib.sha256(self.up_path.read_bytes())
        if self.down_path is not None:
            h.update(b"\0")
            h.update(self.down_path.read_bytes())
        return None if h.hexdigest() == recorded else f"{self.filename} or {self.down_filename}"


def discover(directory: Path) -> list[Migration]:
    """All migrations in a folder, ordered by version; refuses gaps in naming or duplicate versions."""
    ups: dict[int, tuple[str, Path]] = {}
    downs: dict[int, Path] = {}
    for p in sorted(directory.glob("*.sql")):
        m = _NAME_RE.match(p.name)
        if not m:
            raise MigrationError(f"{p}: migration files must be named NNNN_name.up.sql / NNNN_name.down.sql")
        version, name, kind = int(m.group(1)), m.group(2), m.group(3)
        if kind == "up":
            if version in ups:
                raise MigrationError(f"{p}: two migrations with version {version:04d}")
            ups[version] = (name, p)
        else:
            downs[version] = p
    return [Migration(v, n, p, downs.get(v)) for v, (n, p) in sorted(ups.items())]


@dataclass
class Status:
    current: int
    latest: int
    pending: list[Migration]

    def as_dict(self) -> dict:
        return {
            "current": self.current,
            "latest": self.latest,
            "pending": [f"{m.version:04d}_{m.name}" for m in self.pending],
        }


@dataclass
class Step:
    """One migration applied or rolled back (or, in a dry run, that would be)."""

    version: int
    name: str
    direction: str
    sql: str
    ms: float
    dry_run: bool = False


class Migrator:
    """Applies and rolls back migrations on one connection."""

    def __init__(self, conn: sqlite3.Connection, directory: Path | None = None, path: str | None = None):
        self.conn = conn
        self.directory = Path(directory) if directory else default_migrations_dir()
        self.migrations = discover(self.directory)
        self.path = path
        self.backup_path: Path | None = None  # written by a forced destructive `down`

    # -- reading -----------------------------------------------------------------------------
    def _has_history(self, conn: sqlite3.Connection | None = None) -> bool:
        c = conn or self.conn
        row = c.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
        ).fetchone()
        return row is not None

    def applied(self, conn: sqlite3.Connection | None = None) -> list[sqlite3.Row]:
        c = conn or self.conn
        if not self._has_history(c):
            return []
        return c.execute(
            "SELECT version, name, checksum FROM schema_migrations WHERE rolled_back_at IS NULL "
            "ORDER BY version"
        ).fetchall()

    def current_version(self, conn: sqlite3.Connection | None = None) -> int:
        rows = self.applied(conn)
        return rows[-1]["version"] if rows else 0

    @property
    def latest(self) -> int:
        return self.migrations[-1].version if self.migrations else 0

    def status(self) -> Status:
        self.check()
        cur = self.current_version()
        return Status(cur, self.latest, [m for m in self.migrations if m.version > cur])

    def history(self) -> list[dict]:
        """Every migration ever applied here, oldest first, with timing and rollback."""
        if not self._has_history():
            return []
        rows = self.conn.execute(
            "SELECT version, name, checksum, applied_at, execution_ms, rolled_back_at, rollback_ms "
            "FROM schema_migrations ORDER BY id"
        ).fetchall()
        return [
            {
                "version": r["version"],
                "name": r["name"],
                "applied_at": r["applied_at"],
                "execution_ms": round(r["execution_ms"], 3),
                "rolled_back": r["rolled_back_at"] is not None,
                "rolled_back_at": r["rolled_back_at"],
                "rollback_ms": None if r["rollback_ms"] is None else round(r["rollback_ms"], 3),
                "checksum": r["checksum"],
            }
            for r in rows
        ]

    def check(self, conn: sqlite3.Connection | None = None) -> None:
        """Refuse a schema newer than this code, applied migrations whose files changed or vanished, and
        a SQLite file that belongs to some other program."""
        by_version = {m.version: m for m in self.migrations}
        where = f"{self.path}: " if self.path else ""
        c = conn or self.conn
        if not self._has_history(c):
            foreign = [r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )]
            if foreign:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise NotAJournalError(
                    f"{where}a SQLite database but not a mirror_kit journal (it has tables {shown} and no "
                    "migration history); it was not changed"
                )
        for row in self.applied(conn):
            mig = by_version.get(row["version"])
            if row["version"] > self.latest:
                top = self.applied(conn)[-1]
                raise SchemaTooNewError(
                    f"{where}the journal's schema is at version {top['version']} but this mirror_kit only "
                    f"knows up to {self.latest}: upgrade mirror_kit (or, if you removed it, restore "
                    f"{row['version']:04d}_{row['name']}.up.sql in {self.directory}); the file was not changed"
                )
            if mig is None:
                raise MigrationChecksumError(
                    f"{where}applied migration {row['version']:04d}_{row['name']}.up.sql is missing from "
                    f"{self.directory}; restore the file (the journal was not changed)"
                )
            changed = mig.changed_file(row["checksum"])
            if changed:
                raise MigrationChecksumError(
                    f"{where}migration file {changed} in {self.directory} was changed after migration "
                    f"{mig.version:04d} was applied (checksum mismatch); restore the original or add a new "
                    "migration instead (the journal was not changed)"
                )

    # -- writing -----------------------------------------------------------------------------
    def up(self, target: int | None = None, *, dry_run: bool = False) -> list[Step]:
        """Apply pending migrations up to `target` (default: latest)."""
        self.check()
        target = self.latest if target is None else target
        if target > self.latest:
            raise MigrationError(f"no migration {target:04d}: the latest is {self.latest:04d}")
        cur = self.current_version()
        if target < cur:
            raise MigrationError(
                f"the journal is already at version {cur:04d}, above {target:04d}; use `migrate down` to go back"
            )
        todo = [m for m in self.migrations if cur < m.version <= target]
        return self._run(todo, "up", dry_run)

    def down(self, steps: int = 1, *, dry_run: bool = False, force: bool = False) -> list[Step]:
        """Roll back the last `steps` applied migrations.

        A rollback that would drop tables or columns (the initial migration drops everything) is
        refused with MigrationError unless `force`; with `force` a full copy of the journal is first
        written beside it (SQLite backup API, owner-only) and its path left in `self.backup_path`.
        """
        self.check()
        if steps < 0:
            raise MigrationError("steps must be >= 0")
        applied = [r["version"] for r in self.applied()]
        by_version = {m.version: m for m in self.migrations}
        todo = [by_version[v] for v in reversed(dict.fromkeys(applied))][:steps]
        self.backup_path = None
        if todo and not dry_run:
            lost = self.would_drop(todo)
            if lost and not force:
                where = f"{self.path}: " if self.path else ""
                shown = ", ".join(lost[:6]) + (", ..." if len(lost) > 6 else "")
                raise MigrationError(
                    f"{where}rolling back {', '.join(f'{m.version:04d}' for m in todo)} would drop {shown} "
                    "with their data; nothing was changed (add --force to do it anyway after a backup copy "
                    "is written next to the journal)"
                )
            if lost:
                try:  # fail on a locked journal before writing a backup nobody will need
                    self.conn.execute("BEGIN IMMEDIATE")
                    self.conn.execute("ROLLBACK")
                except sqlite3.OperationalError as exc:
                    raise translate(exc, self.path) from exc
                self.backup_path = self._backup_before_down(todo[-1].version)
        return self._run(todo, "down", dry_run)

    def would_drop(self, todo: list[Migration]) -> list[str]:
        """Tables and `table.column`s that rolling back `todo` removes (found on a schema-only copy)."""
        scratch = sqlite3.connect(":memory:", isolation_level=None)
        scratch.row_factory = sqlite3.Row
        try:
            # Tables first, then what hangs off them; sqlite_* tables are created by SQLite itself, and
            # the shadow tables of a virtual table (FTS5's `<name>_data`, ...) by its CREATE VIRTUAL TABLE.
            rows = self.conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            shadows = _shadow_tables(rows)
            for _, sql in sorted(
                ((r["type"], r["sql"]) for r in rows if r["name"] not in shadows),
                key=lambda t: (t[0] != "table", t[0] == "trigger"),
            ):
                scratch.execute(sql)
            scratch.executemany(  # the history decides which migration is current
                "INSERT INTO schema_migrations (id, version, name, checksum, applied_at, execution_ms, "
                "rolled_back_at, rollback_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [tuple(r) for r in self.conn.execute(
                    "SELECT id, version, name, checksum, applied_at, execution_ms, rolled_back_at, rollback_ms "
                    "FROM schema_migrations")],
            )
            before = _columns(scratch)
            for mig in todo:
                self._apply(scratch, mig, "down")
            after = _columns(scratch)
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        finally:
            scratch.close()
        lost = []
        derived = DERIVED_TABLES | _shadow_tables(list(self.conn.execute("SELECT type, name, sql FROM sqlite_master"))) | {
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")}
        for table, cols in before.items():
            if table == "schema_migrations" or table in derived:  # indexes rebuilt from the data, not data
                continue
            if table not in after:
                lost.append(table)
            else:
                lost += [f"{table}.{c}" for c in cols if c not in after[table]]
        return lost

    def _backup_before_down(self, version: int) -> Path:
        """A consistent copy of the journal beside it, named after the rollback target and time."""
        from .safefiles import private_backup_copy

        if not self.path or self.path == ":memory:":
            raise MigrationError("a forced rollback needs a journal file to back up first")
        stamp = time.strftime("%Y%m%dT%H%M%S")
        src = Path(self.path)
        for n in range(1, 1000):  # two forced rollbacks in one second get distinct names
            dst = src.with_name(f"{src.name}.before-down-{version - 1:04d}-{stamp}{'' if n == 1 else f'-{n}'}.db")
            try:
                private_backup_copy(self.conn, dst)
                return dst
            except FileExistsError:
                continue
        raise MigrationError(f"{self.path}: could not name a backup file beside the journal")

    def _run(self, todo: list[Migration], direction: str, dry_run: bool) -> list[Step]:
        if not todo:
            return []
        if dry_run:
            return self._dry_run(todo, direction)
        steps = []
        for mig in todo:
            step = self._apply(self.conn, mig, direction)
            if step is not None:
                steps.append(step)
        return steps

    def _dry_run(self, todo: list[Migration], direction: str) -> list[Step]:
        """Apply to an in-memory copy: proves the SQL succeeds without touching the file."""
        scratch = sqlite3.connect(":memory:", isolation_level=None)
        try:
            self.conn.backup(scratch)
            scratch.row_factory = sqlite3.Row
            scratch.execute("PRAGMA foreign_keys = ON")  # as on the real file, so _apply restores the same
            steps = [st for st in (self._apply(scratch, m, direction) for m in todo) if st is not None]
        finally:
            scratch.close()
        for s in steps:
            s.dry_run = True
        return steps

    def _apply(self, conn: sqlite3.Connection, mig: Migration, direction: str) -> Step | None:
        """Run one migration in one IMMEDIATE transaction; None when another process already applied it."""
        sql = mig.up_sql() if direction == "up" else mig.down_sql()
        label = f"{mig.filename if direction == 'up' else (mig.down_path.name if mig.down_path else mig.name)}"
        fk_was_on = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = OFF")  # no-op inside a transaction: must be outside
        t0 = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            conn.execute(f"PRAGMA foreign_keys = {'ON' if fk_was_on else 'OFF'}")
            raise translate(exc, self.path) from exc
        try:
            # Re-read the version inside the write lock: another process may have migrated the file
            # between our planning and this lock (applying a migration twice breaks rows).
            cur = self.current_version(conn)
            if direction == "up" and cur >= mig.version:
                conn.execute("ROLLBACK")
                conn.execute(f"PRAGMA foreign_keys = {'ON' if fk_was_on else 'OFF'}")
                return None
            if direction == "down" and cur != mig.version:
                raise MigrationError(
                    f"{self.path or 'the journal'}: the schema changed while waiting for the lock (now at "
                    f"{cur:04d}, expected {mig.version:04d}); nothing was rolled back, check `migrate status`"
                )
            conn.execute(HISTORY_DDL)
            for i, stmt in enumerate(split_sql(sql), 1):
                if _TX_CONTROL_RE.match(_strip_leading_comments(stmt)):
                    raise MigrationError(
                        f"migration {label}: statement {i} controls transactions itself "
                        f"({stmt.strip().splitlines()[-1][:40]!r}); the migrator runs each migration in one "
                        "transaction, remove it. Nothing was changed"
                    )
                try:
                    conn.execute(stmt)
                except sqlite3.Error as exc:
                    first = stmt.strip().splitlines()[-1][:80] if stmt.strip() else ""
                    raise MigrationError(
                        f"migration {label} failed at statement {i} ({exc}); near: {first!r}. "
                        "Nothing was changed"
                    ) from exc
            problems = (
                conn.execute("PRAGMA foreign_key_check").fetchall()
                if not all(_SAFE_DDL_RE.match(_strip_leading_comments(st)) for st in split_sql(sql))
                else []
            )
            if problems:
                t = problems[0]
                raise MigrationError(
                    f"migration {label} would break {len(problems)} foreign key(s) "
                    f"(first: table {t[0]} rowid {t[1]} -> {t[2]}); nothing was changed"
                )
            ms = (time.perf_counter() - t0) * 1000
            if direction == "up":
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at, execution_ms) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (mig.version, mig.name, mig.checksum(), now_iso(), ms),
                )
            else:
                conn.execute(
                    "UPDATE schema_migrations SET rolled_back_at = ?, rollback_ms = ? "
                    "WHERE version = ? AND rolled_back_at IS NULL",
                    (now_iso(), ms, mig.version),
                )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute(f"PRAGMA foreign_keys = {'ON' if fk_was_on else 'OFF'}")
            if isinstance(exc, sqlite3.Error):
                raise translate(exc, self.path) from exc
            raise
        conn.execute(f"PRAGMA foreign_keys = {'ON' if fk_was_on else 'OFF'}")
        return Step(mig.version, mig.name, direction, sql, ms)

    # -- integrity ---------------------------------------------------------------------------
    def verify(self) -> dict:
        """Integrity report: integrity_check, foreign_key_check, orphaned rows, migration checksums."""
        t0 = time.perf_counter()
        report: dict = {"ok": True, "problems": []}
        integrity = integrity_messages(self.conn)
        if integrity != ["ok"]:
            lines = [ln for r in integrity for ln in str(r).splitlines() if not ln.startswith("***")]
            report["problems"] += [f"integrity_check: {m}" for m in lines[:5]]
            if len(lines) > 5:  # thousands of damaged pages would bury everything else
                report["problems"].append(f"integrity_check: ... and {len(lines) - 5} more (at most 100 listed)")
        for row in self.conn.execute("PRAGMA foreign_key_check").fetchall():
            report["problems"].append(
                f"foreign_key_check: {row[0]} rowid {row[1]} references missing {row[2]}"
            )
        report["orphans"] = self._orphans()
        for table, n in report["orphans"].items():
            if n:
                report["problems"].append(f"orphans: {n} row(s) in {table}")
        try:
            self.check()
        except MigrationError as exc:
            report["problems"].append(f"migrations: {exc}")
        report["problems"] += self._history_problems()
        report["schema_version"] = self.current_version()
        report["latest"] = self.latest
        report["ok"] = not report["problems"]
        report["ms"] = round((time.perf_counter() - t0) * 1000, 3)
        return report

    def _history_problems(self) -> list[str]:
        """A version applied again while its earlier application was still in force (two writers raced)."""
        if not self._has_history():
            return []
        out = []
        live: dict[int, sqlite3.Row] = {}
        for r in self.conn.execute(
            "SELECT id, version, name, applied_at, rolled_back_at FROM schema_migrations ORDER BY id"
        ):
            prev = live.get(r["version"])
            if prev is not None and (prev["rolled_back_at"] is None or prev["rolled_back_at"] > r["applied_at"]):
                out.append(
                    f"migrations: {r['version']:04d}_{r['name']} was applied twice without a rollback in between "
                    f"(at {prev['applied_at']} and {r['applied_at']}); rows may have lost columns, restore a backup"
                )
            live[r["version"]] = r
        return out

    def _orphans(self) -> dict[str, int]:
        """Rows whose parent is gone, counted per link (written while foreign keys were off, e.g. by
        another tool): foreign_key_check reports them too, this says which relation they break."""
        checks = {
            "threads(identity)": "SELECT count(*) FROM threads t LEFT JOIN identities i "
            "ON i.id = t.identity_id WHERE i.id IS NULL",
            "patterns(identity)": "SELECT count(*) FROM patterns p LEFT JOIN identities i "
            "ON i.id = p.identity_id WHERE i.id IS NULL",
            "reflections(identity)": "SELECT count(*) FROM reflections r LEFT JOIN identities i "
            "ON i.id = r.identity_id WHERE i.id IS NULL",
            "reflection_tags": "SELECT count(*) FROM reflection_tags rt LEFT JOIN reflections r "
            "ON r.id = rt.reflection_id LEFT JOIN tags t ON t.id = rt.tag_id WHERE r.id IS NULL OR t.id IS NULL",
            "pattern_occurrences": "SELECT count(*) FROM pattern_occurrences o LEFT JOIN reflections r "
            "ON r.id = o.reflection_id LEFT JOIN patterns p ON p.id = o.pattern_id "
            "WHERE r.id IS NULL OR p.id IS NULL",
            "tension_observations": "SELECT count(*) FROM tension_observations o LEFT JOIN reflections r "
            "ON r.id = o.reflection_id LEFT JOIN tensions t ON t.id = o.tension_id "
            "WHERE r.id IS NULL OR t.id IS NULL",
            "embeddings": "SELECT count(*) FROM embeddings e LEFT JOIN reflections r "
            "ON r.id = e.reflection_id WHERE r.id IS NULL",
            "mirrorbacks": "SELECT count(*) FROM mirrorbacks m LEFT JOIN reflections r "
            "ON r.id = m.reflection_id WHERE r.id IS NULL",
            "thread_reflections": "SELECT count(*) FROM thread_reflections tr LEFT JOIN threads t "
            "ON t.id = tr.thread_id LEFT JOIN reflections r ON r.id = tr.reflection_id "
            "WHERE t.id IS NULL OR r.id IS NULL",
        }
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        out = {}
        for name, sql in checks.items():
            base = name.split("(")[0]
            if base in tables:
                out[name] = self.conn.execute(sql).fetchone()[0]
        return out


# Tables whose rows are rebuilt from the reflections (a search index's bookkeeping): dropping them on a
# rollback loses nothing the user wrote.
DERIVED_TABLES = frozenset({"search_docs"})


def _shadow_tables(rows: list) -> set[str]:
    """Names of the tables SQLite keeps for virtual tables (FTS5: `<name>_data`, `_idx`, `_content`,
    `_docsize`, `_config`), from sqlite_master rows (type, name, sql)."""
    virtual = [r[1] for r in rows if (r[2] or "").upper().startswith("CREATE VIRTUAL TABLE")]
    return {r[1] for r in rows if r[0] == "table" and any(r[1].startswith(f"{v}_") for v in virtual)}


def _columns(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """{table: [column, ...]} of every ordinary table."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {n: [c[1] for c in conn.execute(f'PRAGMA table_info("{n}")')] for n in names}
