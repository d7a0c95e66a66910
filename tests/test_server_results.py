"""The whole-journal analysis routes (tension list, tension map, pattern list) reuse their answers
until the journal file changes: the answers are exactly those computed afresh, and a commit by any
other connection, or a replaced file, is seen by the next request."""

from __future__ import annotations

import os
import shutil

import pytest
from fastapi.testclient import TestClient

import mirror_kit
from mirror_kit.server import create_app
from mirror_kit.server.results import ResultCache
from tests.plugins.server import bearer

ROUTES = (
    "/api/tensions/identity/maya",
    "/api/tensions/identity/maya?period=month&threshold=0.3",
    "/api/tensions/mapping/maya",
    "/api/patterns/identity/maya",
    "/api/patterns/identity/maya?sort=confidence&limit=3",
    "/api/patterns/identity/maya?status=dormant&min_confidence=0.2",
)


@pytest.fixture
def clients(served):
    """A client of the caching server and one whose cache keeps nothing (every answer computed afresh)."""
    fresh_app = create_app(served.path)
    fresh_app.state.mirror.results = ResultCache(served.path, max_entries=0)
    with TestClient(create_app(served.path)) as cached, TestClient(fresh_app) as fresh:
        yield cached, fresh


def _answers(client, token) -> dict[str, bytes]:
    out = {}
    for url in ROUTES:
        r = client.get(url, headers=bearer(token))
        assert r.status_code == 200, r.text
        out[url] = r.content
    return out


def test_reused_answers_are_byte_identical_to_fresh_ones(clients, served):
    cached, fresh = clients
    token = served.tokens["maya_read"]
    first = _answers(cached, token)
    again = _answers(cached, token)  # served from the cache
    assert again == first
    assert _answers(fresh, token) == first
    assert cached.app.state.mirror.results._entries  # the answers really were kept


def test_a_commit_by_another_connection_is_seen_by_the_next_request(clients, served):
    cached, fresh = clients
    token = served.tokens["maya_read"]
    before = _answers(cached, token)
    with mirror_kit.open(served.path) as j:
        gone = j.execute("SELECT r.id FROM reflections r JOIN identities i ON i.id = r.identity_id "
                         "WHERE i.name = 'maya' ORDER BY r.created_at LIMIT 40").fetchall()
        for (rid,) in gone:
            j.reflections.delete(rid)  # its observations and occurrences go with it
    after = _answers(cached, token)
    assert after == _answers(fresh, token)
    assert after["/api/tensions/mapping/maya"] != before["/api/tensions/mapping/maya"]


def test_a_replaced_journal_file_is_seen_by_the_next_request(clients, served, tmp_path):
    cached, fresh = clients
    token = served.tokens["maya_read"]
    before = _answers(cached, token)
    other = tmp_path / "other.db"
    shutil.copyfile(served.path, other)
    with mirror_kit.open(other) as j:
        j.execute("DELETE FROM tension_observations WHERE (tension_id, reflection_id) IN (SELECT tension_id, "
                  "reflection_id FROM tension_observations WHERE intensity >= 0.5 LIMIT 50)")
    os.replace(other, served.path)  # as a restore does
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"other.db{suffix}").unlink(missing_ok=True)
    after = _answers(cached, token)
    assert after == _answers(fresh, token)
    assert after["/api/tensions/mapping/maya"] != before["/api/tensions/mapping/maya"]
