"""A Commons served over HTTP by a real `mirror-kit serve --commons FOLDER` process: journals join by URL,
push, vote and pull through it, tokens gate reading and writing, and every object a client fetches is
checked again, so a tampered one is refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import mirror_kit
from mirror_kit.commons import keys
from mirror_kit.commons.records import canonical, content_hash, seal
from mirror_kit.commons.remote import HttpStore
from mirror_kit.commons.service import init_commons
from mirror_kit.errors import InvalidInputError, MirrorKitError
from mirror_kit.secrets import is_secret_key
from mirror_kit.server import create_app
from tests.plugins.server import free_port, serving
from tests.plugins.store import assert_one_line_error, run_cli

WORK_FAMILY = {"id": "work_family", "name": "Work / Family",
               "a": {"name": "work", "description": "job and career", "anchors": ["I stayed late at the office."]},
               "b": {"name": "family", "description": "time at home", "anchors": ["I had dinner with my kids."]}}



class Served:
    def __init__(self, folder: Path, url: str, write: str, read: str, proc: subprocess.Popen) -> None:
        self.folder, self.url, self.write, self.read, self.proc = folder, url, write, read, proc


@pytest.fixture
def served(tmp_path: Path):
    """A Commons folder (maya and sam vote, quorum 2) served by a real process with two tokens."""
    folder = tmp_path / "shared"
    init_commons(folder, {"quorum": 2, "threshold": 0.5, "voters": ["maya", "sam"]})
    host_db = tmp_path / "host.db"
    with mirror_kit.open(host_db) as host:
        write, _ = host.tokens.create(None, "write")
        read, _ = host.tokens.create(None, "read")
    with serving(host_db, tmp_path, "--commons", str(folder)) as (base, proc):
        yield Served(folder, base, write, read, proc)


def _journal(tmp_path: Path, name: str) -> mirror_kit.Journal:
    j = mirror_kit.open(tmp_path / f"{name}.db")
    planted = f"PLANTED{name.upper()}7731"
    j.identities.add(name, metadata={"email": f"{name}-{planted}@private.example"})
    j.reflections.add(name, f"{planted} walked alone by the river", title=f"title-{planted}", tags=[f"tag-{planted}"])
    return j


def _all_bytes(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_two_journals_push_vote_and_pull_over_http_and_end_with_the_same_versions(served, tmp_path):
    maya = _journal(tmp_path, "maya")
    maya.commons.add("family", served.url, token=served.write)
    sam = _journal(tmp_path, "sam")
    sam.close()
    # sam joins through the real CLI with the token from the environment
    p = run_cli("--db", str(tmp_path / "sam.db"), "commons", "add", "family", served.url + "/", "--json",
                cwd=tmp_path, env={"MIRROR_KIT_COMMONS_TOKEN": served.write})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["location"] == served.url
    sam = mirror_kit.open(tmp_path / "sam.db")
    try:
        pid = maya.commons.propose("maya", tension=WORK_FAMILY, title="Add work/family")["id"]
        assert maya.commons.status()["to_push"] >= 2  # maya's member record and her proposal
        assert maya.commons.push()["pushed"] >= 2
        assert sam.commons.pull()["received"] >= 2
        sam.commons.vote(pid[:10], "yes", "sam")
        maya.commons.vote(pid[:10], "yes", "maya")
        for j in (maya, sam):
            j.commons.push()
        for j in (maya, sam):
            res = j.commons.pull(accept=True)
            assert res["refused"] == [] and res["applied"]
        assert maya.commons.log() == sam.commons.log()
        assert [v["number"] for v in sam.commons.log()] == [0, 1]
        assert sam.commons.pinned()["number"] == 1 and "work_family" in sam.tensions.definitions()["id"].tolist()
        assert maya.commons.status()["to_push"] == 0 and maya.commons.status()["to_pull"] == 0
        # the server's folder holds the same objects as each replica, and nothing personal
        names = {f.name[:-5] for f in (served.folder / "objects").glob("*.json")}
        assert names == maya.commons.replica.names() == sam.commons.replica.names()
        blob = _all_bytes(served.folder)
        assert b"work_family" in blob
        for j in (maya, sam):
            planted = f"PLANTED{j.identities.rows()[0].name.upper()}7731".encode()
            assert planted not in blob and b"private.example" not in blob and b"walked alone" not in blob
            secret = [k for k in j.settings.all() if k.startswith("commons.signing_secret.")][0]
            assert j.settings.get(secret).encode() not in blob
            # the token is kept as a secret setting: never in exports
            assert is_secret_key("commons.remote_token") and j.settings.get("commons.remote_token") == served.write
            assert "commons.remote_token" not in j.settings.all(secrets=False)
        assert served.write.encode() not in blob
    finally:
        maya.close()
        sam.close()


def test_a_tampered_object_from_the_server_is_refused_by_the_client(served, tmp_path):
    maya = _journal(tmp_path, "maya")
    lee = _journal(tmp_path, "lee")
    try:
        maya.commons.add("family", served.url, token=served.write)
        pid = maya.commons.propose("maya", tension=WORK_FAMILY, title="Add work/family")["id"]
        maya.commons.push()
        f = served.folder / "objects" / f"{pid}.json"
        f.write_bytes(f.read_bytes().replace(b"Add work/family", b"Add work/FAMILY"))
        res = lee.commons.add("family", served.url, token=served.read)
        assert any(pid in r and "does not match its hash" in r and served.url in r for r in res["refused"])
        assert pid not in lee.commons.replica.names()
        assert lee.commons.proposals().empty
        # the CLI says so on stderr and exits 1, with no traceback
        p = run_cli("--db", str(tmp_path / "lee.db"), "commons", "pull", cwd=tmp_path)
        assert p.returncode == 1 and "refused" in p.stderr and "Traceback" not in p.stderr
    finally:
        maya.close()
        lee.close()


def test_pushing_needs_a_write_token_and_a_record_that_checks_out(served, tmp_path):
    priv = keys.generate()
    pub = keys.public_key_b64(priv)
    data = seal({"type": "member", "handle": "kim", "key": pub, "created_at": "2026-01-01T00:00:00Z"}, priv)
    name = content_hash(data)
    url = f"{served.url}/api/commons/objects/{name}"

    def put(body: bytes, token: str | None, target: str = url) -> httpx.Response:
        return httpx.put(target, content=body, headers={"Authorization": f"Bearer {token}"} if token else {})

    assert put(data, None).status_code == 401
    r = put(data, served.read)
    assert r.status_code == 403 and r.json()["status"] == "error"
    assert not (served.folder / "objects" / f"{name}.json").exists()
    assert put(data, served.write).status_code == 201
    assert put(data, served.write).status_code == 200  # idempotent
    got = httpx.get(url, headers={"Authorization": f"Bearer {served.read}"})
    assert got.status_code == 200 and got.content == data
    # wrong name, hand-edited (not canonical) bytes and a forged signature: 409, nothing written
    envelope = json.loads(data)
    pretty = json.dumps(envelope, indent=2).encode()
    forged = canonical({**envelope, "record": {**envelope["record"], "handle": "kim2"}})
    before = sorted((served.folder / "objects").iterdir())
    assert put(data, served.write, f"{served.url}/api/commons/objects/{'0' * 64}").status_code == 409
    assert put(pretty, served.write, f"{served.url}/api/commons/objects/{content_hash(pretty)}").status_code == 409
    r = put(forged, served.write, f"{served.url}/api/commons/objects/{content_hash(forged)}")
    assert r.status_code == 409 and "signature" in r.json()["message"]
    assert sorted((served.folder / "objects").iterdir()) == before
    # a journal that joined with a read token can pull but not push
    j = _journal(tmp_path, "maya")
    try:
        j.commons.add("family", served.url, token=served.read)
        j.commons.propose("maya", tension=WORK_FAMILY, title="Add work/family")
        with pytest.raises(MirrorKitError, match="403"):
            j.commons.push()
        assert j.commons.status()["reachable"] is True
    finally:
        j.close()


def test_joining_by_url_refuses_plain_http_to_another_host_no_token_and_a_bad_token(served, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.delenv("MIRROR_KIT_COMMONS_TOKEN", raising=False)
    with pytest.raises(InvalidInputError, match="--insecure"):
        HttpStore("http://192.0.2.7:8765", token="mk_x")
    with pytest.raises(InvalidInputError, match="token"):
        HttpStore(served.url, token=None)
    db = str(tmp_path / "kim.db")
    env = {"MIRROR_KIT_COMMONS_TOKEN": ""}
    assert_one_line_error(run_cli("--db", db, "commons", "add", "fam", "http://192.0.2.7:8765", "--token", "x",
                                  cwd=tmp_path, env=env), "--insecure")
    assert_one_line_error(run_cli("--db", db, "commons", "add", "fam", served.url, "--token", "mk_wrong",
                                  cwd=tmp_path, env=env), "401")


def test_a_server_without_commons_answers_404_and_serve_refuses_a_folder_that_is_not_one(tmp_path):
    db = tmp_path / "host.db"
    with mirror_kit.open(db) as host:
        token, _ = host.tokens.create(None, "read")
    with TestClient(create_app(db)) as c:
        r = c.get("/api/commons/manifest", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 404 and "--commons" in r.json()["message"]
    assert_one_line_error(run_cli("--db", str(db), "serve", "--port", str(free_port()), "--commons",
                                  str(tmp_path), cwd=tmp_path), "not a Commons folder")
