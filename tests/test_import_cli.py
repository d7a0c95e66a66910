"""`mirror-kit import`: summary output, errors as one line, dry-run, format detection and the
dispatch of mirror_kit exports to the export importer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.cli import main
from mirror_kit.errors import InvalidInputError
from mirror_kit.importers.api import detect_format


def _csv(tmp_path: Path) -> Path:
    p = tmp_path / "diary.csv"
    p.write_text("id,date,text\n1,2024-01-01,first entry\n2,2024-01-02,second entry\n", encoding="utf-8")
    return p


def test_cli_summary_json_and_idempotency(tmp_path, journal_path, capsys):
    src = _csv(tmp_path)
    assert main(["--db", str(journal_path), "import", str(src), "--identity", "maya", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("format", "identity", "added", "updated", "skipped", "rejected")} == {
        "format": "csv", "identity": "maya", "added": 2, "updated": 0, "skipped": 0, "rejected": []}
    assert main(["--db", str(journal_path), "import", str(src), "--identity", "maya"]) == 0
    assert "0 added, 0 updated, 2 skipped as duplicates, 0 rejected" in capsys.readouterr().out


def test_cli_dry_run_and_errors(tmp_path, journal_path, capsys):
    src = _csv(tmp_path)
    with mirror_kit.open(journal_path):
        pass
    assert main(["--db", str(journal_path), "import", str(src), "--identity", "maya", "--dry-run"]) == 0
    assert "would import" in capsys.readouterr().out
    with mirror_kit.open(journal_path) as j:
        assert j.identities.rows() == []

    bad = tmp_path / "bad.csv"
    bad.write_text("date,text\n2024-01-01,ok\nnever,bad date\n", encoding="utf-8")
    assert main(["--db", str(journal_path), "import", str(bad), "--identity", "maya"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: bad.csv: line 3: cannot read date 'never'")
    assert main(["--db", str(journal_path), "import", str(bad), "--identity", "maya", "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "1 added" in out and "rejected bad.csv: line 3: cannot read date 'never'" in out

    assert main(["--db", str(journal_path), "import", str(src)]) == 1
    assert "--identity" in capsys.readouterr().err
    assert main(["--db", str(journal_path), "import", str(src), "--identity", "maya", "--mode", "replace"]) == 1
    assert "error: --mode only applies to mirror_kit JSON exports" in capsys.readouterr().err


def test_detect_format(tmp_path, dayone_zip):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("hi", encoding="utf-8")
    assert detect_format(tmp_path / "notes") == "text"
    assert detect_format(dayone_zip) == "dayone"
    assert detect_format(_csv(tmp_path)) == "csv"
    mirror = tmp_path / "backup.json"
    mirror.write_text('{"format": "mirror_os_export_v1", "exported_at": "2024-01-01T00:00:00Z"}', encoding="utf-8")
    assert detect_format(mirror) == "mirror"
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="pass --format"):
        detect_format(other)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02\x03" * 100)
    with pytest.raises(InvalidInputError, match="binary"):
        detect_format(blob)


def test_mirror_export_is_dispatched_to_the_export_importer(tmp_path, journal, capsys):
    journal.imports.run(_csv(tmp_path), "maya")
    out = tmp_path / "export.json"
    journal.exports.json(out)
    target = tmp_path / "restored.db"
    assert main(["--db", str(target), "import", str(out), "--mode", "merge", "--json"]) == 0
    capsys.readouterr()
    with mirror_kit.open(target) as j:
        assert sorted(r.content for r in j.reflections.rows("maya")) == ["first entry", "second entry"]
    # The Python API dispatches the same way and passes dry_run through.
    other = mirror_kit.open(tmp_path / "dry.db")
    other.imports.run(out, dry_run=True)
    assert other.identities.rows() == []
    other.close()
    with pytest.raises(InvalidInputError, match="--text-column does not apply"):
        journal.imports.run(out, format="mirror", text_column="x")


def test_console_script_help_has_example():
    exe = Path(sys.executable).parent / "mirror-kit"
    proc = subprocess.run([str(exe), "import", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "mirror-kit import data/happydb/claff_happydb_labeled_10k.csv --identity happydb" in proc.stdout
    for opt in ("--text-column", "--date-column", "--id-column", "--title-column", "--tags-column", "--encoding",
                "--default-date", "--skip-bad", "--dry-run", "--mode", "--passphrase"):
        assert opt in proc.stdout


def test_a_refused_first_import_leaves_no_journal_file(tmp_path, capsys):
    """A new journal that the failed import would have been the first content of is not left behind."""
    from mirror_kit.cli import main as cli_main

    bad = tmp_path / "bad.csv"
    bad.write_text("date,text\n2025-01-01,fine\nnot a date,broken row\n", encoding="utf-8")
    db = tmp_path / "new.db"
    rc = cli_main(["--db", str(db), "import", str(bad), "--identity", "maya"])
    err = capsys.readouterr().err
    assert rc != 0 and "error:" in err and "Traceback" not in err, err
    assert not any(p.name.startswith("new.db") for p in tmp_path.iterdir())
    # an existing journal is kept, whatever a refused import held
    good = tmp_path / "good.csv"
    good.write_text("date,text\n2025-01-02,kept entry\n", encoding="utf-8")
    assert cli_main(["--db", str(db), "import", str(good), "--identity", "maya"]) == 0
    assert cli_main(["--db", str(db), "import", str(bad), "--identity", "maya"]) != 0
    assert db.exists()
