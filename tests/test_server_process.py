"""A real `mirror-kit serve` process (uvicorn) on a free loopback port, with a token from the real CLI."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

from tests.plugins.server import serving
from tests.plugins.store import run_cli


def _call(url: str, token: str | None = None, method: str = "GET", body: dict | None = None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_serve_answers_on_loopback_with_a_token_made_by_the_cli(served, tmp_path):
    db = str(served.path)
    p = run_cli("--db", db, "token", "create", "--identity", "maya", "--scope", "write", "--expires", "1d",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    assert token.startswith("mk_") and len(p.stdout.splitlines()) == 1  # the token alone on stdout
    with serving(db, tmp_path) as (base, proc):
        assert _call(f"{base}/api/identities")[0] == 401
        status, body = _call(f"{base}/api/identities", token)
        assert status == 200 and [i["name"] for i in body["data"]] == ["maya"]
        status, body = _call(f"{base}/api/reflections", token, "POST", {"identity": "maya", "content": "From curl."})
        assert status == 201 and body["data"]["content"] == "From curl."
        # hybrid search and "more like this", scoped to the token's identity
        status, found = _call(f"{base}/api/search?q=curl&k=3", token)
        assert status == 200 and found["data"][0]["reflection_id"] == body["data"]["id"]
        assert "words: curl" in found["data"][0]["why"] and found["data"][0]["fts_rank"] == 1
        maya_ids = {r["id"] for r in _call(f"{base}/api/reflections?limit=500", token)[1]["data"]["items"]}
        status, like = _call(f"{base}/api/reflections/{served.ids['maya']['reflection']}/similar?k=5", token)
        assert status == 200 and len(like["data"]) == 5
        assert {h["reflection_id"] for h in like["data"]} <= maya_ids - {served.ids["maya"]["reflection"]}
        assert all(h["similarity"] is not None and h["fts_rank"] is None for h in like["data"])
        sam = served.tokens["sam_write"]
        assert _call(f"{base}/api/search?q=curl&identity=maya", sam)[0] == 404
        assert body["data"]["id"] not in {h["reflection_id"] for h in _call(f"{base}/api/search?q=curl", sam)[1]["data"]}
        assert _call(f"{base}/api/reflections/{served.ids['maya']['reflection']}/similar", sam)[0] == 404
        assert _call(f"{base}/api/search?q=curl&mode=sideways", token)[0] == 400
        # 8 readers and the writer at once: no 500 and no "database is locked"
        results: list[int] = []

        def read() -> None:
            for _ in range(5):
                results.append(_call(f"{base}/api/patterns/identity/maya?limit=5", token)[0])

        threads = [threading.Thread(target=read) for _ in range(8)]
        for t in threads:
            t.start()
        writes = [_call(f"{base}/api/reflections", token, "POST", {"identity": "maya", "content": f"w{i}"})[0]
                  for i in range(5)]
        for t in threads:
            t.join()
        assert set(results) == {200} and len(results) == 40 and writes == [201] * 5
        rid = body["data"]["id"]
        revoke = run_cli("--db", db, "token", "list", "--json", cwd=tmp_path)
        tid = [t["id"] for t in json.loads(revoke.stdout) if t["identity"] == "maya" and t["expires_at"]][0]
        assert run_cli("--db", db, "token", "revoke", tid, cwd=tmp_path).returncode == 0
        assert _call(f"{base}/api/reflections/{rid}", token)[0] == 401


def test_serve_refuses_a_non_loopback_host_without_allow_remote(served, tmp_path):
    p = run_cli("--db", str(served.path), "serve", "--host", "0.0.0.0", cwd=tmp_path)
    assert p.returncode != 0 and "--allow-remote" in p.stderr and "Traceback" not in p.stderr


def test_token_create_needs_exactly_one_of_identity_or_all_and_a_valid_duration(served, tmp_path):
    db = str(served.path)
    for args in (["--scope", "read"], ["--identity", "maya", "--all"], ["--identity", "maya", "--expires", "soon"],
                 ["--identity", "nobody"]):
        p = run_cli("--db", db, "token", "create", *args, cwd=tmp_path)
        assert p.returncode != 0 and p.stdout == "" and len(p.stderr.strip().splitlines()) == 1, (args, p.stderr)
