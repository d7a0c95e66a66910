"""Secrets stored in settings (API keys, tokens, passphrases, passwords) never reach an export, a
backup (its JSON nor its database snapshot) or a report; ordinary settings still do."""

from __future__ import annotations

import json
import zipfile

import mirror_kit
from mirror_kit.secrets import is_secret_key, redact
from mirror_kit.viz.report import ReportContext
from tests.plugins.export import fill_journal
from tests.plugins.store import run_cli

SECRETS = ("sk-LLMKEY-0123456789", "ghp_SYNCTOKEN_abcdef", "hunter2-passphrase", "pw-Zq9!", "user:s3cr3tpw")


def _settings(j) -> None:
    j.settings.set("mirrorback.llm", {"adapter": "openai", "model": "m", "api_key": SECRETS[0],
                                     "api_key_env": "MY_KEY_VAR", "base_url": f"https://{SECRETS[4]}@llm.local/v1"})
    j.settings.set("sync.token", SECRETS[1])
    j.settings.set("backup_passphrase", SECRETS[2])
    j.settings.set("smtp", {"host": "mail.local", "Password": SECRETS[3]})
    j.settings.set("display.max_tokens", 300)


def _all_bytes(root) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_no_secret_in_json_markdown_backup_or_report(journal_path, tmp_path):
    with mirror_kit.open(journal_path) as j:
        fill_journal(j)
        _settings(j)
    out = tmp_path / "out"
    out.mkdir()
    db = str(journal_path)
    for args in (("export", "json", "--out", str(out / "all.json")),
                 ("export", "markdown", "--out", str(out / "md")),
                 ("backup", "--out", str(out / "b.zip"))):
        p = run_cli("--db", db, *args, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
        assert not any(s in p.stdout + p.stderr for s in SECRETS)
    with zipfile.ZipFile(out / "b.zip") as z:
        z.extractall(out / "unzipped")
    with mirror_kit.open(journal_path, readonly=True) as j:
        ctx = ReportContext(j, "maya")
        report = ctx.header_html() + ctx.patterns_html() + ctx.tensions_html()
    blob = _all_bytes(out) + report.encode()
    assert (out / "unzipped" / "journal.db").exists()
    for secret in SECRETS:
        leaks = [str(p) for p in out.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert secret.encode() not in blob, (secret, leaks)
    # ordinary settings (and the name of the variable that holds the key) are still exported
    exported = json.loads((out / "all.json").read_text(encoding="utf-8"))["settings"]
    assert exported["display.max_tokens"] == 300 and exported["smtp"] == {"host": "mail.local"}
    assert exported["mirrorback.llm"] == {"adapter": "openai", "model": "m", "api_key_env": "MY_KEY_VAR",
                                          "base_url": "https://llm.local/v1"}
    assert "sync.token" not in exported and "backup_passphrase" not in exported
    # the backup still verifies and restores; the live journal keeps its secrets
    assert run_cli("--db", db, "backup", "verify", str(out / "b.zip"), cwd=tmp_path).returncode == 0
    with mirror_kit.open(journal_path, readonly=True) as j:
        assert j.settings.get("sync.token") == SECRETS[1]


def test_secret_key_rule():
    for key in ("api_key", "apiKey", "OPENAI_API_KEY", "sync.token", "access-token", "client_secret",
                "passphrase", "Password", "db_passwd", "credentials"):
        assert is_secret_key(key), key
    for key in ("api_key_env", "max_tokens", "tokenizer", "model", "base_url", "keywords", "secretary_name"):
        assert not is_secret_key(key), key
    assert redact([{"token": 1, "x": [{"apiKey": 2, "y": 3}]}]) == [{"x": [{"y": 3}]}]
