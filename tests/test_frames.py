"""journal.frame / overview / sql over a real SQLite journal and real DuckDB."""

from __future__ import annotations

import gc
import hashlib
import json
import socket

import pandas as pd
import pytest

import mirror_kit
from mirror_kit import sqlview
from mirror_kit.cli import main as cli_main
from mirror_kit.errors import InvalidInputError, MirrorKitError, UnknownIdentityError
from mirror_kit.frames import FRAME_NAMES, SEED_TENSIONS

UTC_US = "datetime64[us, UTC]"


def _populate(j):
    """Two identities, tags, and analysis rows written the way the analysis features store them."""
    j.identities.add("maya")
    j.identities.add("sam")
    m = j.reflections.add_many("maya", [
        {"content": "walked alone by the sea", "created_at": "2024-01-05T09:00:00Z", "tags": ["walk", "sea"]},
        {"content": "team dinner, loud and fun", "created_at": "2024-02-10T20:30:00Z", "tags": ["friends"]},
        {"content": "quiet evening, read a book", "created_at": "2024-03-15T21:00:00Z", "title": "Book",
         "metadata": {"mood": 3}},
    ])
    s = j.reflections.add_many("sam", [{"content": "sam's only entry", "created_at": "2024-02-01T12:00:00Z"}])
    ident = j.identities.get("maya").id
    now = "2024-04-01T00:00:00Z"
    with j.transaction() as c:
        c.execute(
            "INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, first_seen, last_seen, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("p_solo", ident, "solitude", '["alone", "quiet"]', 0.8, 2, "2024-01-05T09:00:00Z",
             "2024-03-15T21:00:00Z", now, now),
        )
        c.execute(
            "INSERT INTO patterns (id, identity_id, label, keywords, confidence, size, first_seen, last_seen, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("p_social", ident, "social life", '["team"]', 0.6, 1, "2024-02-10T20:30:00Z",
             "2024-02-10T20:30:00Z", now, now),
        )
        c.executemany(
            "INSERT INTO pattern_occurrences (pattern_id, reflection_id, strength) VALUES (?, ?, ?)",
            [("p_solo", m[0], 0.9), ("p_social", m[0], 0.3), ("p_social", m[1], 0.7), ("p_solo", m[2], 0.6)],
        )
        c.execute(
            "INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, is_seed, created_at, updated_at) "
            "VALUES ('solitude_connection', NULL, 'Solitude / Connection', 'solitude', 'connection', 1, ?, ?)",
            (now, now),
        )
        c.execute(
            "INSERT INTO tensions (id, identity_id, name, axis_a, axis_b, definition, created_at, updated_at) "
            "VALUES ('t_maya_own', ?, 'Mine', 'x', 'y', '{\"anchors\": [1]}', ?, ?)",
            (ident, now, now),
        )
        c.executemany(
            "INSERT INTO tension_observations (tension_id, reflection_id, position, intensity, model, created_at) "
            "VALUES (?, ?, ?, ?, 'm', ?)",
            [("solitude_connection", m[0], -0.8, 0.9, now), ("solitude_connection", m[1], 0.6, 0.5, now),
             ("t_maya_own", m[2], 0.1, 0.2, now)],
        )
    j.mirrorbacks.add(m[0], "You seem to enjoy time alone.", "local", valid=True, validation={"ok": True})
    j.threads.add("maya", "evenings", [m[2], m[0]])
    j.settings.set("embedding.model", "x")
    with j.runs.record("patterns", "maya", {"k": 2}) as info:
        info["counts"] = {"patterns": 2}
    return m, s


def test_reflections_frame_types_and_tags(journal):
    m, s = _populate(journal)
    df = journal.frame("reflections")
    assert list(df["id"]) == [m[0], s[0], m[1], m[2]]  # chronological across identities
    assert str(df["created_at"].dtype) == UTC_US and str(df["updated_at"].dtype) == UTC_US
    for col in ("id", "identity_id", "identity", "content", "title", "content_hash"):
        assert df[col].dtype == pd.StringDtype(), col
    assert df.loc[0, "created_at"] == pd.Timestamp("2024-01-05T09:00:00Z")
    assert df.loc[0, "tags"] == ["sea", "walk"] and df.loc[1, "tags"] == []
    assert all(isinstance(t, list) for t in df["tags"])
    assert df.loc[3, "metadata"] == {"mood": 3} and df.loc[3, "title"] == "Book"
    assert pd.isna(df.loc[0, "title"])
    assert df.loc[0, "identity"] == "maya"


def test_reflections_frame_filters(journal):
    m, _ = _populate(journal)
    maya = journal.frame("reflections", "maya")
    assert list(maya["id"]) == m
    win = journal.frame("reflections", "maya", since="2024-02-10", until="2024-03-15")
    assert list(win["id"]) == [m[1], m[2]]  # a bare-date until covers the whole day
    assert win.loc[0, "tags"] == ["friends"]
    assert journal.frame("reflections", "maya", since="2025-01-01").empty
    with pytest.raises(UnknownIdentityError, match="ghost"):
        journal.frame("reflections", "ghost")


def test_analysis_frames(journal):
    m, _ = _populate(journal)
    pats = journal.frame("patterns", "maya")
    assert list(pats["id"]) == ["p_solo", "p_social"]
    assert pats.loc[0, "keywords"] == ["alone", "quiet"] and pats["size"].dtype == "Int64"
    assert str(pats["first_seen"].dtype) == UTC_US
    assert list(journal.frame("patterns", "maya", since="2024-03-01")["id"]) == ["p_solo"]

    occ = journal.frame("occurrences", "maya")
    assert len(occ) == 4 and set(occ["pattern"]) == {"solitude", "social life"}
    assert list(journal.frame("pattern_occurrences", "maya", until="2024-01-31")["reflection_id"]) == [m[0]] * 2

    ten = journal.frame("tensions", "maya")
    assert set(ten["id"]) == {"solitude_connection", "t_maya_own"}
    assert ten["is_seed"].dtype == "boolean"
    assert ten.set_index("id").loc["t_maya_own", "definition"] == {"anchors": [1]}
    assert list(journal.frame("tensions", "sam")["id"]) == ["solitude_connection"]  # seeds are shared

    obs = journal.frame("observations", "maya")
    assert len(obs) == 3 and obs["position"].dtype == "float64" and str(obs["scored_at"].dtype) == UTC_US

    runs = journal.frame("runs", "maya")
    assert list(runs["kind"]) == ["patterns"] and runs.loc[0, "counts"] == {"patterns": 2}
    assert runs.loc[0, "parameters"] == {"k": 2}

    mb = journal.frame("mirrorbacks", "maya")
    assert mb.loc[0, "valid"] is True or bool(mb.loc[0, "valid"]) is True
    assert mb.loc[0, "validation"] == {"ok": True}
    th = journal.frame("threads", "maya")
    assert th.loc[0, "reflection_ids"] == [m[2], m[0]]
    idents = journal.frame("identities")
    assert dict(zip(idents["name"], idents["reflections"], strict=True)) == {"maya": 3, "sam": 1}
    assert journal.frame("settings").set_index("key").loc["embedding.model", "value"] == "x"
    tags = journal.frame("tags", "maya")
    assert list(tags["tag"]) == ["sea", "walk", "friends"]


def test_embeddings_frame_has_no_vectors(journal):
    m, _ = _populate(journal)
    journal.conn.execute(
        "INSERT INTO embeddings (reflection_id, model, content_hash, dim, vector, created_at) "
        "VALUES (?, 'mdl', 'stale', 2, x'0000803f00000000', '2024-05-01T00:00:00Z')", (m[0],)
    )
    emb = journal.frame("embeddings", "maya")
    assert "vector" not in emb.columns and emb.loc[0, "dim"] == 2
    assert emb["current"].tolist() == [False]  # content changed since (hash differs)


def test_empty_journal_frames_are_typed(journal):
    for name in FRAME_NAMES:
        df = journal.frame(name)
        assert df.empty, name
    assert str(journal.frame("runs")["started_at"].dtype) == UTC_US
    assert journal.frame("reflections")["id"].dtype == pd.StringDtype()


def test_unknown_frame_lists_valid_names(journal):
    with pytest.raises(InvalidInputError) as err:
        journal.frame("reflexions")
    for name in ("reflections", "patterns", "occurrences", "tensions", "observations", "runs", "overview"):
        assert name in str(err.value)


def test_overview_before_and_after_analysis(journal):
    journal.identities.add("solo")
    journal.reflections.add("solo", "nothing analysed yet", "2024-01-01", tags=["x"])
    empty = journal.frame("overview", "solo")
    assert len(empty) == 1 and empty.loc[0, "tags"] == ["x"]
    assert pd.isna(empty.loc[0, "pattern"]) and pd.isna(empty.loc[0, "pattern_strength"])
    for tid in SEED_TENSIONS:
        assert tid in empty.columns and pd.isna(empty.loc[0, tid])

    m, _ = _populate(journal)
    ov = journal.frame("overview", "maya")
    assert list(ov["id"]) == m
    assert list(ov["pattern"]) == ["solitude", "social life", "solitude"]  # strongest occurrence wins
    assert ov["pattern_strength"].tolist() == [0.9, 0.7, 0.6]
    assert ov["solitude_connection"].tolist()[:2] == [-0.8, 0.6] and pd.isna(ov.loc[2, "solitude_connection"])
    assert ov.loc[2, "t_maya_own"] == 0.1
    assert pd.isna(ov.loc[0, "being_doing"])


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sql_joins_and_never_writes(journal, journal_path):
    m, _ = _populate(journal)
    journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(journal_path)
    rel = journal.sql(
        "SELECT i.name, count(*) AS n, list(t.name ORDER BY t.name) AS tags FROM reflections r "
        "JOIN identities i ON i.id = r.identity_id LEFT JOIN reflection_tags rt ON rt.reflection_id = r.id "
        "LEFT JOIN tags t ON t.id = rt.tag_id WHERE i.name = 'maya' GROUP BY i.name"
    )
    row = rel.fetchone()
    assert row[0] == "maya" and row[1] == 4  # 3 reflections, one with two tags
    assert journal.frames.sql_backend == "pandas"  # read through the journal's own connection
    scanned = journal.frames.sql(
        "SELECT count(*) FROM reflections r JOIN identities i ON i.id = r.identity_id WHERE i.name = 'maya'",
        scanner=True)
    assert scanned.fetchone()[0] == 3 and journal.frames._sqlview(True).backend == "sqlite_scanner"
    df = journal.sql("SELECT * FROM reflections WHERE identity_id = ? ORDER BY created_at",
                     [journal.identities.get("maya").id]).df()
    assert list(df["id"]) == m
    for stmt in ("DELETE FROM reflections", "UPDATE reflections SET content = 'x'",
                 "INSERT INTO tags (name) VALUES ('evil')", "CREATE TABLE journal.evil (a INT)",
                 "DROP TABLE settings"):
        for scanner in (False, True):
            with pytest.raises(MirrorKitError, match="read-only"):
                journal.frames.sql(stmt, scanner=scanner)
    assert _digest(journal_path) == before
    assert len(journal.reflections.rows()) == 4


def test_sql_sees_new_commits_and_reuses_one_connection(journal):
    _populate(journal)
    assert journal.sql("SELECT count(*) FROM reflections").fetchone()[0] == 4
    view = journal.frames._sqlview()
    journal.reflections.add("sam", "another", "2024-06-01")
    assert journal.sql("SELECT count(*) FROM reflections").fetchone()[0] == 5
    assert journal.frames._sqlview() is view


def test_sql_closed_with_the_journal(journal_path):
    import duckdb

    j = mirror_kit.open(journal_path)
    j.sql("SELECT 1").fetchall()
    con = j.frames._sqlview().con
    j.close()
    with pytest.raises(MirrorKitError, match="closed"):
        j.sql("SELECT 1")
    with pytest.raises(duckdb.Error):
        con.execute("SELECT 1")

    j1 = mirror_kit.open(journal_path)
    con1 = j1.frames._sqlview().con
    j1.frames.close_sql()  # what Journal.close can call
    with pytest.raises(duckdb.Error):
        con1.execute("SELECT 1")
    assert j1.sql("SELECT 1").fetchone() == (1,)  # reopens on demand
    j1.close()

    j2 = mirror_kit.open(journal_path)
    con2 = j2.frames._sqlview().con
    del j2
    gc.collect()
    with pytest.raises(duckdb.Error):
        con2.execute("SELECT 1")


def test_sql_without_network(journal, monkeypatch):
    def refuse(*a, **k):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    _populate(journal)
    assert journal.sql("SELECT count(*) FROM identities").fetchone()[0] == 2
    settings = dict(journal.sql(
        "SELECT name, value FROM duckdb_settings() WHERE name IN "
        "('autoinstall_known_extensions', 'autoload_known_extensions')"
    ).fetchall())
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    assert journal.frames.sql("SELECT count(*) FROM identities", scanner=True).fetchone()[0] == 2
    # duckdb_extensions() lists the extension folder, which the locked-down connection may not read
    assert journal.frames._sqlview(True).backend == "sqlite_scanner"


@pytest.mark.parametrize("how", ["env", "broken_extension"])
def test_sql_fallback_when_extension_cannot_load(journal, journal_path, monkeypatch, tmp_path, how):
    if how == "env":
        monkeypatch.setenv(sqlview.FALLBACK_ENV, "1")
    else:
        bogus = tmp_path / "sqlite_scanner.duckdb_extension"
        bogus.write_bytes(b"not an extension")
        monkeypatch.setattr(sqlview, "sqlite_extension_path", lambda: bogus)
    m, _ = _populate(journal)
    journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(journal_path)
    with pytest.warns(RuntimeWarning, match="sqlite scanner unavailable"):
        assert journal.frames._sqlview(True).backend == "pandas"
    q = "SELECT r.id FROM reflections r JOIN identities i ON i.id = r.identity_id WHERE i.name = 'maya' ORDER BY r.created_at"
    assert [r[0] for r in journal.frames.sql(q, scanner=True).fetchall()] == m
    with pytest.raises(MirrorKitError):  # registered frames are views: no writes either
        journal.frames.sql("DELETE FROM reflections", scanner=True)
    assert _digest(journal_path) == before and len(journal.reflections.rows()) == 4
    new = journal.reflections.add("maya", "written after the first query", "2025-01-01")
    assert [r[0] for r in journal.frames.sql(q, scanner=True).fetchall()] == [*m, new.id]  # refreshed


def test_cli_sql(journal_path, capsys):
    with mirror_kit.open(journal_path) as j:
        _populate(j)
    db = str(journal_path)
    assert cli_main(["--db", db, "sql", "SELECT name FROM identities ORDER BY name", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "maya"}, {"name": "sam"}]
    assert cli_main(["--db", db, "sql", "SELECT name, 1 AS one FROM identities ORDER BY name"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "one"] and out[1].split() == ["maya", "1"]
    assert cli_main(["--db", db, "sql", "SELECT * FROM reflections", "--limit", "2", "--csv"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 3 and "first 2 rows" in captured.err
    assert cli_main(["--db", db, "sql", "DELETE FROM reflections"]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert cli_main(["--db", db, "sql", "SELECT * FROM nosuchtable"]) == 1
    assert "nosuchtable" in capsys.readouterr().err


def test_bad_stored_time_is_a_clear_error(journal):
    _populate(journal)
    journal.conn.execute("UPDATE reflections SET created_at = 'last tuesday' WHERE content LIKE 'sam%'")
    with pytest.raises(InvalidInputError, match="created_at"):
        journal.frame("reflections")
    ok = journal.frame("reflections", "maya")  # other identities' rows still load
    assert len(ok) == 3
