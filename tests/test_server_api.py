"""The HTTP API in-process (FastAPI's TestClient) over a real SQLite journal: routes, envelopes,
tokens, identity scoping, limits and background runs."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient

from mirror_kit.server import create_app
from tests.plugins.server import bearer


@pytest.fixture(scope="module")
def ro_client(served_ro):
    with TestClient(create_app(served_ro.path)) as c:
        yield c


def _get(c, url, token):
    return c.get(url, headers=bearer(token))


# -- routes answer with the success envelope ------------------------------------------------------
def test_read_routes_return_the_success_envelope_with_the_journals_data(ro_client, served_ro):
    t, ids = served_ro.tokens["maya_read"], served_ro.ids
    pats = _get(ro_client, "/api/patterns/identity/maya?limit=3&sort=confidence", t).json()
    assert pats["status"] == "success" and len(pats["data"]["items"]) == 3
    confs = [p["confidence"] for p in pats["data"]["items"]]
    assert confs == sorted(confs, reverse=True)
    nxt = _get(ro_client, f"/api/patterns/identity/maya?limit=3&sort=confidence&cursor={pats['data']['next_cursor']}",
               t).json()["data"]["items"]
    assert {p["id"] for p in nxt}.isdisjoint({p["id"] for p in pats["data"]["items"]})
    detail = _get(ro_client, f"/api/patterns/{ids['maya']['pattern']}?limit=2", t).json()["data"]
    assert detail["id"] == ids["maya"]["pattern"] and len(detail["occurrences"]["items"]) == 2
    assert detail["occurrences"]["total"] == detail["size"]
    evo = _get(ro_client, f"/api/patterns/{ids['maya']['pattern']}/evolution?period=month", t).json()["data"]
    assert evo["evolution"] and evo["trend"]["trend"] in ("emerging", "fading", "stable", "recurring")
    tens = _get(ro_client, "/api/tensions/identity/maya", t).json()["data"]
    assert tens[0]["tension_id"] == ids["tension"] and -1 <= tens[0]["position"] <= 1
    one = _get(ro_client, f"/api/tensions/tension/{ids['tension']}?identity=maya", t).json()["data"]
    assert one["id"] == ids["tension"] and one["evolution"]
    mapping = _get(ro_client, "/api/tensions/mapping/maya", t).json()["data"]
    assert {m["tension_id"] for m in mapping} == {x["tension_id"] for x in tens}
    seeds = _get(ro_client, "/api/tensions/seed-tensions", t).json()["data"]
    assert len(seeds) == 5


def test_reflections_filter_by_time_tag_and_text_and_page_with_a_cursor(ro_client, served_ro):
    t = served_ro.tokens["maya_read"]
    first = _get(ro_client, "/api/reflections?limit=5", t).json()["data"]
    assert len(first["items"]) == 5 and first["next_cursor"]
    assert {r["identity_id"] for r in first["items"]} == {served_ro.ids["maya"]["identity_id"]}
    second = _get(ro_client, f"/api/reflections?limit=5&cursor={first['next_cursor']}", t).json()["data"]
    assert second["items"][0]["created_at"] >= first["items"][-1]["created_at"]
    assert {r["id"] for r in second["items"]}.isdisjoint({r["id"] for r in first["items"]})
    word = first["items"][0]["content"].split()[1]
    found = _get(ro_client, f"/api/reflections?q={word}&limit=500", t).json()["data"]["items"]
    # the words of `q` by the rule of journal.search (tests/search_oracle.py reads SQLite's own terms)
    from tests.search_oracle import matching_ids

    assert found and {r["id"] for r in found} == matching_ids(served_ro.path, word, served_ro.ids["maya"]["identity_id"])
    ranged = _get(ro_client, "/api/reflections?since=2024-03-01&until=2024-03-31&limit=500", t).json()["data"]
    assert all("2024-03-01" <= r["created_at"][:10] <= "2024-03-31" for r in ranged["items"])
    bad = _get(ro_client, "/api/reflections?cursor=nonsense", t)
    assert bad.status_code == 400 and bad.json()["status"] == "error" and "cursor" in bad.json()["message"]


def test_identities_lists_only_what_the_token_may_see(ro_client, served_ro):
    assert [i["name"] for i in _get(ro_client, "/api/identities", served_ro.tokens["maya_read"]).json()["data"]] \
        == ["maya"]
    assert [i["name"] for i in _get(ro_client, "/api/identities", served_ro.tokens["owner_write"]).json()["data"]] \
        == ["maya", "sam"]


def test_export_streams_the_json_export_of_one_identity_only(ro_client, served_ro):
    r = _get(ro_client, "/api/export/maya", served_ro.tokens["maya_read"])
    doc = json.loads(r.content)
    assert r.status_code == 200 and doc["format"] == "mirror_os_export_v1"
    assert [i["name"] for i in doc["identities"]] == ["maya"] and len(doc["identities"][0]["reflections"]) > 50


def test_docs_work_offline_and_reference_no_external_host(ro_client):
    html = ro_client.get("/docs").text
    assert "swagger-ui-bundle.js" in html and "http://" not in html and "https://" not in html
    assert "//" not in html.replace("<!--", "").split("<body>")[0].replace("://", "")  # no protocol-relative URLs
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert ro_client.get(f"/static/swagger/{asset}").status_code == 200
    schema = ro_client.get("/openapi.json").json()
    for path in ("/api/patterns/identity/{identity}", "/api/patterns/{pattern_id}", "/api/patterns/{pattern_id}/evolution",
                 "/api/patterns/analyze/{identity}", "/api/tensions/identity/{identity}",
                 "/api/tensions/tension/{tension_name}", "/api/tensions/analyze/{identity}",
                 "/api/tensions/mapping/{identity}", "/api/tensions/seed-tensions", "/api/runs/{run_id}",
                 "/api/runs/{run_id}/events", "/api/export/{identity}", "/api/reflections",
                 "/api/reflections/{reflection_id}", "/api/identities"):
        assert path in schema["paths"], path


# -- authentication -------------------------------------------------------------------------------
@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer mk_0000000000000000_" + "x" * 43,
                                    "Bearer not-a-token"])
def test_no_or_a_wrong_token_gets_401_in_the_error_envelope(ro_client, header):
    r = ro_client.get("/api/identities", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and r.json()["status"] == "error" and r.headers["www-authenticate"] == "Bearer"


def test_a_tampered_token_is_refused(ro_client, served_ro):
    t = served_ro.tokens["maya_read"]
    assert _get(ro_client, "/api/identities", t[:-1] + ("A" if t[-1] != "A" else "B")).status_code == 401


def test_revoked_and_expired_tokens_get_401(served):
    import mirror_kit

    with mirror_kit.open(served.path) as j:
        tid = served.tokens["maya_read"].split("_")[1]
        j.tokens.revoke(tid)
        expired, rec = j.tokens.create("maya", "read", expires="1s")
        j.execute("UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00Z' WHERE id = ?", (rec.id,))
        stored = [r[0] for r in j.execute("SELECT token_hash FROM api_tokens")]
    assert served.tokens["maya_write"] not in stored and all(len(h) == 64 for h in stored)  # hashes only
    with TestClient(create_app(served.path)) as c:
        assert _get(c, "/api/identities", served.tokens["maya_read"]).status_code == 401
        assert _get(c, "/api/identities", expired).status_code == 401
        assert _get(c, "/api/identities", served.tokens["maya_write"]).status_code == 200


def test_read_scope_cannot_write_and_nothing_is_stored(served):
    with TestClient(create_app(served.path)) as c:
        t = served.tokens["maya_read"]
        rid = served.ids["maya"]["reflection"]
        before = _get(c, f"/api/reflections/{rid}", t).json()["data"]
        calls = [c.post("/api/reflections", json={"identity": "maya", "content": "x"}, headers=bearer(t)),
                 c.patch(f"/api/reflections/{rid}", json={"title": "x"}, headers=bearer(t)),
                 c.delete(f"/api/reflections/{rid}", headers=bearer(t)),
                 c.post("/api/patterns/analyze/maya", headers=bearer(t)),
                 c.post("/api/tensions/analyze/maya", headers=bearer(t)),
                 c.post(f"/api/reflections/{rid}/mirrorback", headers=bearer(t))]
        assert [r.status_code for r in calls] == [403] * 6
        assert _get(c, f"/api/reflections/{rid}", t).json()["data"] == before


# -- identity scoping: a token of maya and the ids of sam ----------------------------------------
def _cross_calls(ids):
    s = ids["sam"]
    return [
        ("GET", "/api/patterns/identity/sam", None),
        ("GET", f"/api/patterns/{s['pattern']}", None),
        ("GET", f"/api/patterns/{s['pattern']}/evolution", None),
        ("POST", "/api/patterns/analyze/sam", None),
        ("GET", "/api/tensions/identity/sam", None),
        ("GET", f"/api/tensions/tension/{ids['tension']}?identity=sam", None),
        ("POST", "/api/tensions/analyze/sam", None),
        ("GET", "/api/tensions/mapping/sam", None),
        ("GET", "/api/reflections?identity=sam", None),
        ("GET", f"/api/reflections/{s['reflection']}", None),
        ("POST", "/api/reflections", {"identity": "sam", "content": "written by maya's token"}),
        ("PATCH", f"/api/reflections/{s['reflection']}", {"content": "changed by maya's token"}),
        ("DELETE", f"/api/reflections/{s['reflection']}", None),
        ("POST", f"/api/reflections/{s['reflection']}/mirrorback", None),
        ("GET", f"/api/runs/{s['run']}", None),
        ("GET", f"/api/runs/{s['run']}/events", None),
        ("GET", "/api/export/sam", None),
        ("GET", f"/api/export/{s['identity_id']}", None),
    ]


def test_every_route_with_a_token_of_maya_and_ids_of_sam_gives_404_and_changes_nothing(served):
    import mirror_kit

    def state():
        with mirror_kit.open(served.path, readonly=True) as j:
            return (j.reflections.get(served.ids["sam"]["reflection"]).as_dict(), len(j.reflections),
                    j.execute("SELECT count(*) FROM analysis_runs").fetchone()[0])

    before = state()
    with TestClient(create_app(served.path)) as c:
        for method, url, body in _cross_calls(served.ids):
            r = c.request(method, url, json=body, headers=bearer(served.tokens["maya_write"]))
            assert r.status_code == 404, (method, url, r.text)
            assert r.json()["status"] == "error" and "sam" not in r.json()["message"].replace("'sam'", ""), url
        # The same call with sam's own token works: the 404 was the scope, not a bad id.
        assert _get(c, f"/api/reflections/{served.ids['sam']['reflection']}", served.tokens["sam_write"]).status_code == 200
        # A foreign id and an id that does not exist read the same, so ids do not leak.
        foreign = _get(c, f"/api/patterns/{served.ids['sam']['pattern']}", served.tokens["maya_write"]).json()
        missing = _get(c, "/api/patterns/p_0000000000000000", served.tokens["maya_write"]).json()
        assert foreign["message"].replace(served.ids["sam"]["pattern"], "X") == \
            missing["message"].replace("p_0000000000000000", "X")
        assert "sam" not in _get(c, "/api/patterns/identity/nobody", served.tokens["maya_write"]).json()["message"]
    assert state() == before


# -- writes ---------------------------------------------------------------------------------------
def test_create_update_delete_a_reflection_through_the_api(served):
    with TestClient(create_app(served.path)) as c:
        h = bearer(served.tokens["maya_write"])
        r = c.post("/api/reflections", json={"identity": "maya", "content": "Posted from my phone.",
                                             "tags": ["phone"], "created_at": "2025-02-03T08:00:00",
                                             "tz": "Europe/Paris"}, headers=h)
        assert r.status_code == 201, r.text
        d = r.json()["data"]
        assert d["created_at"] == "2025-02-03T07:00:00Z" and d["tags"] == ["phone"]
        u = c.patch(f"/api/reflections/{d['id']}", json={"title": "Phone"}, headers=h).json()["data"]
        assert u["id"] == d["id"] and u["title"] == "Phone" and u["content"] == "Posted from my phone."
        bad = c.post("/api/reflections", json={"identity": "maya", "content": "x", "created_at": "yesterday-ish"},
                     headers=h)
        assert bad.status_code == 400 and "created_at" in bad.json()["message"]
        extra = c.post("/api/reflections", json={"identity": "maya", "content": "x", "colour": "red"}, headers=h)
        assert extra.status_code == 400 and extra.json()["errors"][0]["loc"][-1] == "colour"
        assert c.delete(f"/api/reflections/{d['id']}", headers=h).status_code == 200
        assert c.get(f"/api/reflections/{d['id']}", headers=h).status_code == 404


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(served):
    with TestClient(create_app(served.path, max_body_bytes=2000)) as c:
        h = bearer(served.tokens["maya_write"])
        before = c.get("/api/reflections?limit=500&q=zzzz", headers=h).json()["data"]["items"]
        r = c.post("/api/reflections", json={"identity": "maya", "content": "zzzz " * 1000}, headers=h)
        assert r.status_code == 413 and r.json()["status"] == "error"
        # the same with no Content-Length (chunked): counted as it arrives
        r = c.post("/api/reflections", content=iter([b'{"identity": "maya", "content": "', b"zzzz " * 1000, b'"}']),
                   headers={**h, "Content-Type": "application/json"})
        assert r.status_code == 413
        assert c.get("/api/reflections?limit=500&q=zzzz", headers=h).json()["data"]["items"] == before


def test_rate_limit_answers_429_with_retry_after_per_token(served):
    with TestClient(create_app(served.path, rate_limit=5)) as c:
        codes = [_get(c, "/api/identities", served.tokens["maya_read"]).status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        r = _get(c, "/api/identities", served.tokens["maya_read"])
        assert int(r.headers["retry-after"]) >= 1 and r.json()["status"] == "error"
        assert _get(c, "/api/identities", served.tokens["sam_write"]).status_code == 200  # another token


def test_cors_is_closed_by_default_and_open_to_configured_origins(served):
    pre = {"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(served.path)) as c:
        r = c.options("/api/identities", headers=pre)
        assert "access-control-allow-origin" not in r.headers
    with TestClient(create_app(served.path, cors_origins=["http://localhost:3000"])) as c:
        ok = c.options("/api/identities", headers={**pre, "Origin": "http://localhost:3000"})
        assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "access-control-allow-origin" not in c.options("/api/identities", headers=pre).headers


# -- runs -----------------------------------------------------------------------------------------
def test_analyze_returns_202_at_once_and_the_run_reports_status_counts_and_events(served):
    with TestClient(create_app(served.path)) as c:
        h = bearer(served.tokens["maya_write"])
        r = c.post("/api/patterns/analyze/maya", headers=h)
        assert r.status_code == 202
        run_id = r.json()["data"]["run_id"]
        job = c.app.state.mirror.jobs.wait(run_id, timeout=120)
        assert job.status == "ok", job.errors
        d = c.get(f"/api/runs/{run_id}", headers=h).json()["data"]
        assert d["status"] == "ok" and d["progress"] == {"step": 2, "steps": 2, "phase": None}
        assert d["counts"]["patterns"]["patterns"] >= 2 and d["duration_ms"] > 0
        assert {s["kind"] for s in d["stored_runs"]} == {"embed", "patterns"}
        stream = c.get(f"/api/runs/{run_id}/events", headers=h)
        events = [json.loads(line[6:]) for line in stream.text.splitlines() if line.startswith("data: ")]
        assert [e["event"] for e in events] == ["queued", "progress", "progress", "finished"]
        assert [e["phase"] for e in events[1:3]] == ["embeddings", "patterns"]
        stored = c.get(f"/api/runs/{d['stored_runs'][-1]['id']}", headers=h).json()["data"]
        assert stored["kind"] == "patterns" and stored["status"] == "ok"
        assert c.get(f"/api/runs/{run_id}", headers=bearer(served.tokens["sam_write"])).status_code == 404


def test_a_failing_run_reports_failed_with_one_line_error(served):
    with TestClient(create_app(served.path, llm="no-such-adapter")) as c:
        h = bearer(served.tokens["maya_write"])
        r = c.post(f"/api/reflections/{served.ids['maya']['reflection']}/mirrorback", headers=h)
        assert r.status_code == 202
        job = c.app.state.mirror.jobs.wait(r.json()["data"]["run_id"], timeout=60)
        d = c.get(f"/api/runs/{job.id}", headers=h).json()["data"]
        assert d["status"] == "failed" and len(d["errors"]) == 1 and "\n" not in d["errors"][0]


def test_a_journal_locked_by_another_writer_gives_503_not_500(served, monkeypatch):
    from mirror_kit.server import auth

    monkeypatch.setattr(auth, "WRITE_BUSY_TIMEOUT_MS", 100)
    with TestClient(create_app(served.path)) as c:
        other = sqlite3.connect(served.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            r = c.post("/api/reflections", json={"identity": "maya", "content": "while locked"},
                       headers=bearer(served.tokens["maya_write"]))
            assert r.status_code == 503 and r.headers["retry-after"] == "1" and r.json()["status"] == "error"
            assert _get(c, "/api/identities", served.tokens["maya_read"]).status_code == 200  # readers go on
        finally:
            other.execute("ROLLBACK")
            other.close()


def test_a_pattern_renamed_over_http_keeps_its_name_and_others_cannot_touch_it(served):
    pid = served.ids["maya"]["pattern"]
    with TestClient(create_app(served.path)) as c:
        r = c.patch(f"/api/patterns/{pid}", json={"label": "Marathon training"},
                    headers=bearer(served.tokens["maya_write"]))
        assert r.status_code == 200 and r.json()["data"]["label"] == "Marathon training"
        assert _get(c, f"/api/patterns/{pid}", served.tokens["maya_read"]).json()["data"]["label"] == "Marathon training"
        assert c.patch(f"/api/patterns/{pid}", json={"label": "x"},
                       headers=bearer(served.tokens["maya_read"])).status_code == 403
        assert c.patch(f"/api/patterns/{pid}", json={"label": "x"},
                       headers=bearer(served.tokens["sam_write"])).status_code == 404
        assert c.patch(f"/api/patterns/{pid}", json={"label": "a" * 81},
                       headers=bearer(served.tokens["maya_write"])).status_code == 400
        # a body naming no field changes nothing (the user's name stays)
        same = c.patch(f"/api/patterns/{pid}", json={}, headers=bearer(served.tokens["maya_write"]))
        assert same.status_code == 200 and same.json()["data"]["label"] == "Marathon training"
        back = c.patch(f"/api/patterns/{pid}", json={"label": ""}, headers=bearer(served.tokens["maya_write"]))
        assert back.status_code == 200 and back.json()["data"]["label"] != "Marathon training"
