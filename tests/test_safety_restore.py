"""Crafted backups (extra trigger/view/index, foreign database, edited export with recomputed
checksums) fail `backup verify` and `restore`; `restore --force` over an open journal is safe."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

import mirror_kit
from tests.plugins.store import assert_one_line_error, run_cli


@pytest.fixture
def good_backup(tmp_path: Path) -> Path:
    with mirror_kit.open(tmp_path / "j.db") as j:
        j.identities.add("maya")
        for i in range(5):
            j.reflections.add("maya", f"entry {i}", f"2024-01-0{i + 1}")
        j.exports.backup(tmp_path / "good.zip")
    return tmp_path / "good.zip"


def _rebuild(good: Path, out: Path, patch_db=None, patch_export=None) -> Path:
    """A copy of `good` with its members changed and every checksum recomputed (what an attacker can do)."""
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    meta = json.loads(members["metadata.json"])
    if patch_db is not None:
        db = out.with_suffix(".db")
        db.write_bytes(members["journal.db"])
        patch_db(db, meta)
        members["journal.db"] = db.read_bytes()
    if patch_export is not None:
        members["export.json"] = json.dumps(patch_export(json.loads(members["export.json"]))).encode()
    for name in ("journal.db", "export.json"):
        meta["members"][name]["sha256"] = hashlib.sha256(members[name]).hexdigest()
    members["metadata.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(out, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    return out


def _sql(stmt: str):
    def patch(db: Path, meta: dict) -> None:
        c = sqlite3.connect(db)
        c.execute(stmt)
        c.commit()
        c.close()
    return patch


def _foreign(db: Path, meta: dict) -> None:
    db.unlink()
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t(x)")
    c.commit()
    c.close()
    meta["counts"], meta["schema_version"] = {}, 0


def _edited(doc: dict) -> dict:
    doc["identities"][0]["reflections"][0]["content"] = "something I never wrote"
    return doc


CRAFTED = {
    "hidden_trigger": dict(patch_db=_sql("CREATE TRIGGER trap AFTER INSERT ON reflections "
                                         "BEGIN DELETE FROM reflections WHERE id != new.id; END")),
    "extra_view": dict(patch_db=_sql("CREATE VIEW v AS SELECT * FROM reflections")),
    "dropped_index": dict(patch_db=_sql("DROP INDEX idx_reflections_hash")),
    "foreign_database": dict(patch_db=_foreign),
    "edited_export": dict(patch_export=_edited),
    "export_breaks_schema": dict(patch_export=lambda d: {**d, "identities": "many"}),
}


@pytest.mark.parametrize("kind", sorted(CRAFTED))
def test_crafted_backup_fails_verify_and_restore(tmp_path, good_backup, kind):
    bad = _rebuild(good_backup, tmp_path / f"{kind}.zip", **CRAFTED[kind])
    assert_one_line_error(run_cli("backup", "verify", str(bad), cwd=tmp_path), str(bad))
    assert_one_line_error(run_cli("restore", str(bad), "--to", "r.db", cwd=tmp_path), str(bad))
    assert not (tmp_path / "r.db").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_good_backup_still_verifies_and_restores(tmp_path, good_backup):
    assert run_cli("backup", "verify", str(good_backup), cwd=tmp_path).returncode == 0
    p = run_cli("restore", str(good_backup), "--to", "r.db", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with mirror_kit.open(tmp_path / "r.db", readonly=True) as j:
        assert len(j.reflections.rows("maya")) == 5


def test_restore_force_over_a_journal_another_program_holds_open(tmp_path, good_backup):
    live = tmp_path / "live.db"
    with mirror_kit.open(live) as j:
        j.identities.add("maya")
        j.reflections.add("maya", "written after the backup", "2024-06-01")
    holder = mirror_kit.open(live)  # another program keeps the journal open across the restore
    try:
        assert len(holder.reflections.rows("maya")) == 1
        p = run_cli("restore", str(good_backup), "--to", str(live), "--force", cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        # the holder sees the restored content and can keep writing into the same, consistent file
        assert len(holder.reflections.rows("maya")) == 5
        holder.reflections.add("maya", "after the restore", "2024-07-01")
    finally:
        holder.close()
    con = sqlite3.connect(live)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM reflections").fetchone()[0] == 6
    con.close()


def test_restore_force_waits_then_refuses_while_another_program_writes(tmp_path, good_backup):
    live = tmp_path / "live.db"
    with mirror_kit.open(live) as j:
        j.identities.add("maya")
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        p = run_cli("restore", str(good_backup), "--to", str(live), "--force", cwd=tmp_path)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert_one_line_error(p, "locked")
    with mirror_kit.open(live, readonly=True) as j:
        assert j.reflections.rows("maya") == []
