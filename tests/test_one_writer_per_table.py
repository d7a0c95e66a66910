"""Each table has one writer: INSERT, UPDATE and DELETE statements on a journal table appear only in the
module that owns it (its collection or service), so validation, ids and tag rules cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "mirror_kit"

OWNERS = {
    "identities": "collections/identities.py",
    "reflections": "collections/reflections.py",
    "tags": "collections/tags.py",
    "reflection_tags": "collections/tags.py",
    "threads": "collections/threads.py",
    "thread_reflections": "collections/threads.py",
    "settings": "collections/settings.py",
    "analysis_runs": "collections/runs.py",
    "embeddings": "embedding/store.py",
    "mirrorbacks": "collections/mirrorbacks.py",
    "patterns": "patterns/service.py",
    "pattern_occurrences": "patterns/service.py",
    "tensions": "tensions/service.py",
    "tension_observations": "tensions/service.py",
    "api_tokens": "collections/tokens.py",
    "commons_objects": "commons/replica.py",
    "schema_migrations": "migrate.py",
}
# Kept in step with `reflections` by triggers of the search migration; bulk inserts index their chunk
# in one statement from search_index.py, the only Python code that writes them.
TRIGGER_MAINTAINED = {"search_docs"}
OWNERS.update({"search_docs": "search_index.py", "reflections_fts": "search_index.py",
               "reflections_fts_config": "search_index.py"})
# Not a journal table: an import's scratch table in the connection's temp database.
OWNERS["mirror_kit_import_seen"] = "importers/seen.py"
OWNERS["mirror_kit_bulk_rows"] = OWNERS["mirror_kit_bulk_links"] = "bulkload.py"
WRITE = re.compile(r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|(?<!DO\s)UPDATE|DELETE\s+FROM)\s+([A-Za-z_{][\w{}]*)")


def _writes() -> list[tuple[str, str, int]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            stripped = line.strip()
            if stripped.startswith("#"):
                continue
            for m in WRITE.finditer(line):
                if m.group(0).startswith("UPDATE") and " SET " not in line[m.start():] + " SET ":
                    continue
                out.append((rel, m.group(1), n))
    return out


def test_writes_to_a_table_only_in_its_owner_module():
    writes = [w for w in _writes() if not (w[0] == "migrate.py" and w[1] not in OWNERS)]
    assert writes, "the scan found no write statements at all: the pattern is broken"
    wrong = [f"{rel}:{n} writes {table}" for rel, table, n in writes
             if OWNERS.get(table) != rel]
    assert wrong == [], "writes outside the owning collection/service:\n" + "\n".join(wrong)


def test_every_journal_table_has_an_owner():
    sql = "\n".join(p.read_text() for p in sorted((ROOT.parent / "migrations").glob("*.up.sql")))
    tables = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql))
    tables = {t for t in tables if not t.endswith("_new") and not t.startswith("_")}
    assert tables - set(OWNERS) - TRIGGER_MAINTAINED == set()
