"""A real `mirror-kit serve` process: every bad parameter or body answers 400 with one readable line,
and a run accepted with 202 is still found by its id after the server restarts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from tests.plugins.server import serving


def _call(url: str, token: str, method: str = "GET", data: bytes | None = None):
    req = urllib.request.Request(url, method=method, data=data,
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_every_bad_parameter_or_body_answers_400_with_one_line(served, tmp_path):
    token = served.tokens["maya_write"]
    pid = served.ids["maya"]["pattern"]
    bad = {
        "/api/patterns/identity/maya?limit=0": "limit",
        "/api/patterns/identity/maya?min_confidence=7": "min_confidence",
        f"/api/patterns/{pid}?limit=abc": "limit",
        "/api/reflections?limit=100000": "limit",
        "/api/search?q=walk&mode=sideways": "mode",
        "/api/search?q=walk&k=0": "k",
        "/api/search?q=walk&k=many": "k",
        "/api/search?q=%21%21%21": "query",
        "/api/search?q=walk&since=yesterday-ish": "since",
        "/api/tensions/identity/maya?threshold=2": "threshold",
    }
    with serving(served.path, tmp_path) as (base, _):
        for path, needle in bad.items():
            status, body = _call(base + path, token)
            assert status == 400, (path, status, body)
            assert body["status"] == "error" and needle in body["message"] and "\n" not in body["message"], (path, body)
        status, body = _call(f"{base}/api/reflections", token, "POST", b'{\n  "identity": "maya",,\n}')
        assert status == 400
        assert body["message"].startswith("the request body is not valid JSON (line 2, column 22"), body
        status, body = _call(f"{base}/api/reflections", token, "POST",
                             json.dumps({"identity": "maya", "content": "x", "colour": "red"}).encode())
        assert status == 400 and "colour" in body["message"]
        schema = json.loads(urllib.request.urlopen(f"{base}/openapi.json", timeout=10).read())
        codes = {c for item in schema["paths"].values() for op in item.values() for c in op.get("responses", {})}
        assert "400" in codes and "422" not in codes


def test_a_run_accepted_over_http_is_found_by_its_id_after_a_restart(served, tmp_path):
    token = served.tokens["maya_write"]
    with serving(served.path, tmp_path) as (base, _):
        status, body = _call(f"{base}/api/patterns/analyze/maya", token, "POST", b"")
        assert status == 202
        run_id = body["data"]["run_id"]
        for _ in range(600):
            status, run = _call(f"{base}/api/runs/{run_id}", token)
            if run["data"]["status"] in ("ok", "failed"):
                break
            time.sleep(0.1)
        assert run["data"]["status"] == "ok", run
    with serving(served.path, tmp_path) as (base, _):
        status, again = _call(f"{base}/api/runs/{run_id}", token)
        assert status == 200, again
        assert again["data"]["id"] == run_id and again["data"]["status"] == "ok"
        assert [r["id"] for r in again["data"]["stored_runs"]] == [r["id"] for r in run["data"]["stored_runs"]]
        assert _call(f"{base}/api/runs/{run_id}", served.tokens["sam_write"])[0] == 404  # another identity's run
