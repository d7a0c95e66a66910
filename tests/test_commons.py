"""The Commons: signed proposals and votes in a shared folder, versions derived from them, sync between
real journals and processes, refusal of tampered or badly signed files, and nothing personal in the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.commons import keys
from mirror_kit.commons.records import canonical, content_hash, seal
from mirror_kit.commons.service import init_commons
from mirror_kit.errors import CommonsIntegrityError, InvalidInputError
from mirror_kit.secrets import is_secret_key
from tests.plugins.store import run_cli

WORK_FAMILY = {"id": "work_family", "name": "Work / Family",
               "a": {"name": "work", "description": "job and career", "anchors": ["I stayed late at the office."]},
               "b": {"name": "family", "description": "time at home", "anchors": ["I had dinner with my kids."]}}
PRINCIPLE = {"id": "no_diagnosis", "description": "Never name a diagnosis or a disorder.",
             "checks": [{"type": "phrases", "message": "names a diagnosis", "patterns": [r"\byou have (?:depression|anxiety)\b"]}]}


def _journal(tmp_path: Path, name: str, commons: Path, planted: str = "") -> mirror_kit.Journal:
    j = mirror_kit.open(tmp_path / f"{name}.db")
    j.identities.add(name, metadata={"email": f"{name}-{planted}@private.example"})
    j.reflections.add(name, f"{planted} walked alone by the river", title=f"title-{planted}", tags=[f"tag-{planted}"])
    j.commons.add("family", commons)
    return j


@pytest.fixture
def family(tmp_path: Path):
    """A Commons where maya, sam and lee vote (quorum 2), each with a journal that joined it."""
    folder = tmp_path / "shared"
    init_commons(folder, {"quorum": 2, "threshold": 0.5, "voters": ["maya", "sam", "lee"]})
    js = {n: _journal(tmp_path, n, folder, planted=f"PLANTED{n.upper()}7731") for n in ("maya", "sam", "lee")}
    yield folder, js
    for j in js.values():
        j.close()


def _sync(js) -> None:
    for j in js.values():
        j.commons.push()
    for j in js.values():
        j.commons.pull()


def _all_bytes(folder: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_full_cycle_puts_no_reflection_text_tag_metadata_or_private_key_in_the_commons(family):
    folder, js = family
    pid = js["maya"].commons.propose("maya", tension=WORK_FAMILY, title="Add work/family", rationale="we juggle")["id"]
    js["maya"].commons.propose("maya", principle=PRINCIPLE, title="No diagnoses")
    _sync(js)
    for name in ("sam", "lee", "maya"):
        js[name].commons.vote(pid[:10], "yes", name, comment="fine")
    _sync(js)
    assert js["sam"].commons.pull(accept=True)["applied"]
    blob = _all_bytes(folder)
    assert b"work_family" in blob  # the scan does see what the folder holds
    for name, j in js.items():
        planted = f"PLANTED{name.upper()}7731".encode()
        assert planted not in blob and planted.lower() not in blob
        assert b"private.example" not in blob and b"walked alone" not in blob
        secret_keys = [k for k in j.settings.all() if k.startswith("commons.signing_secret.")]
        assert len(secret_keys) == 1 and is_secret_key(secret_keys[0])
        private = j.settings.get(secret_keys[0]).encode()
        assert private not in blob
        assert str(j.path).encode() not in blob
        assert secret_keys[0] not in j.settings.all(secrets=False)


def test_accepted_proposal_makes_a_version_every_journal_agrees_on(family):
    _folder, js = family
    pid = js["maya"].commons.propose("maya", tension=WORK_FAMILY, title="Add work/family")["id"]
    _sync(js)
    js["sam"].commons.vote(pid[:8], "no", "sam")
    js["sam"].commons.vote(pid[:8], "yes", "sam")  # one current vote: the later one counts
    js["lee"].commons.vote(pid[:8], "no", "lee")
    js["maya"].commons.vote(pid[:8], "abstain", "maya")
    _sync(js)
    logs = {n: j.commons.log() for n, j in js.items()}
    assert logs["maya"] == logs["sam"] == logs["lee"]
    assert [v["number"] for v in logs["maya"]] == [0, 1]
    p = js["lee"].commons.proposal(pid[:8])
    assert (p["status"], p["yes"], p["no"], p["abstain"]) == ("accepted", 1, 1, 1)
    assert js["lee"].commons.diff(0, 1) == [{"kind": "tension", "id": "work_family", "change": "added",
                                               "fields": ["a", "b", "id", "name"]}]


def test_two_accepted_proposals_from_one_base_leave_the_later_conflicted(family):
    _folder, js = family
    first = js["maya"].commons.propose("maya", tension=WORK_FAMILY, title="Add work/family")["id"]
    other = dict(WORK_FAMILY, name="Job / Home")
    second = js["sam"].commons.propose("sam", tension=other, title="Add job/home")["id"]
    _sync(js)
    for pid in (first, second):
        for name in ("maya", "sam", "lee"):
            js[name].commons.vote(pid[:8], "yes", name)
    _sync(js)
    status = {r.id: r.status for r in js["lee"].commons.proposals().itertuples()}
    assert status == {first: "accepted", second: "conflicted"}
    assert len(js["lee"].commons.log()) == 2
    assert js["lee"].commons.definitions(1)["tensions"]["work_family"]["name"] == "Work / Family"


def test_rejected_and_ineligible_votes_do_not_make_versions(family, tmp_path):
    _folder, js = family
    pid = js["maya"].commons.propose("maya", principle=PRINCIPLE, title="No diagnoses")["id"]
    _sync(js)
    for name in ("maya", "sam", "lee"):
        js[name].commons.vote(pid[:8], "no" if name != "maya" else "yes", name)
    _sync(js)
    assert js["maya"].commons.proposal(pid[:8])["status"] == "rejected"
    assert len(js["maya"].commons.log()) == 1
    stranger = _journal(tmp_path, "eve", family[0])
    with pytest.raises(InvalidInputError, match="may not vote"):
        stranger.commons.vote(pid[:8], "yes", "eve")
    stranger.close()


def test_tampered_object_file_is_refused_on_pull(family):
    folder, js = family
    pid = js["maya"].commons.propose("maya", tension=WORK_FAMILY, title="Add work/family")["id"]
    js["maya"].commons.push()
    f = folder / "objects" / f"{pid}.json"
    f.write_bytes(f.read_bytes().replace(b"Add work/family", b"Add WORK/family"))
    res = js["sam"].commons.pull()
    assert any(pid in r and "does not match its hash" in r for r in res["refused"])
    assert js["sam"].commons.proposals().empty
    proc = run_cli("--db", str(js["lee"].path), "commons", "pull", cwd=folder.parent)
    assert proc.returncode == 1 and "refused" in proc.stderr and "Traceback" not in proc.stderr
    # Renaming the edited file to its new hash does not help: the signature no longer matches.
    data = f.read_bytes()
    (folder / "objects" / f"{content_hash(data)}.json").write_bytes(data)
    res = js["sam"].commons.pull()
    assert any("bad signature" in r or "canonical" in r for r in res["refused"])
    assert js["sam"].commons.proposals().empty


def test_bad_signature_and_unsigned_records_are_refused(family):
    folder, js = family
    js["maya"].commons.propose("maya", principle=PRINCIPLE, title="No diagnoses")
    js["maya"].commons.push()
    maya_key = next(json.loads(p.read_bytes())["record"]["key"] for p in (folder / "objects").glob("*.json")
                    if json.loads(p.read_bytes())["record"]["type"] == "member")
    forger = keys.generate()
    forged = {"type": "vote", "proposal": "0" * 64, "choice": "yes", "comment": "", "voter": maya_key,
              "created_at": "2030-01-01T00:00:00Z"}
    sig = keys.sign(forger, canonical(forged))
    for envelope in ({"record": forged, "signature": sig}, {"record": forged}):
        data = canonical(envelope)
        (folder / "objects" / f"{content_hash(data)}.json").write_bytes(data)
    res = js["sam"].commons.pull()
    assert sum("bad signature" in r for r in res["refused"]) == 1
    assert sum("unsigned" in r for r in res["refused"]) == 1
    with pytest.raises(CommonsIntegrityError):
        seal(forged, forger)  # the library never signs for another key either


def test_damaged_record_in_the_journal_replica_is_reported(family):
    _folder, js = family
    js["maya"].commons.propose("maya", principle=PRINCIPLE, title="No diagnoses")
    js["maya"].execute("UPDATE commons_objects SET body = CAST(replace(CAST(body AS TEXT), 'No diagnoses', "
                       "'No diagnosis!') AS BLOB) WHERE CAST(body AS TEXT) LIKE '%No diagnoses%'")
    with pytest.raises(CommonsIntegrityError, match="does not match its hash"):
        js["maya"].commons.proposals()


def test_bad_input_is_one_line_from_the_cli(family, tmp_path):
    folder, js = family
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\na: {name: only}\n")
    db = str(js["maya"].path)
    for args in (["commons", "propose", "--tension", str(bad), "--title", "t", "--identity", "maya"],
                 ["commons", "vote", "deadbeef00", "yes", "--identity", "maya"],
                 ["commons", "diff", "0", "9"],
                 ["commons", "add", "x", str(tmp_path / "nowhere")],
                 ["commons", "init", str(folder)]):
        proc = run_cli("--db", db, *args, cwd=tmp_path)
        assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, args


_WORKER = r"""
import sys, mirror_kit
from mirror_kit.commons.service import Commons
phase, db, name = sys.argv[1:4]
with mirror_kit.open(db) as j:
    c = j.commons
    if phase == "propose":
        t = {"id": "t_" + name, "name": name, "a": {"name": "x" + name, "anchors": ["I rested."]},
             "b": {"name": "y" + name, "anchors": ["I worked."]}}
        c.propose(name, tension=t, title="add " + name)
        c.push()
    else:
        c.pull()
        for p in c.proposals().itertuples():
            if p.status == "open":
                c.vote(p.id, "yes", name)
        c.push()
"""


def test_three_processes_propose_vote_and_push_at_once_and_every_replica_ends_the_same(family, tmp_path):
    folder, js = family
    paths = {n: j.path for n, j in js.items()}
    for j in js.values():
        j.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for phase in ("propose", "vote"):
        procs = [subprocess.Popen([sys.executable, "-c", _WORKER, phase, str(p), n], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n, p in paths.items()]
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    # Every process has voted on every proposal only if it had pulled them all: repeat the vote round
    # for the ones that raced ahead of another's push.
    for n, p in paths.items():
        subprocess.run([sys.executable, "-c", _WORKER, "vote", str(p), n], env=env, check=True, timeout=120)
    outs = {}
    for n, p in paths.items():
        proc = run_cli("--db", str(p), "commons", "pull", "--accept", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        with mirror_kit.open(p) as j:
            props = j.commons.proposals()
            outs[n] = (j.commons.log(), sorted((r.id, r.status, r.yes, r.no) for r in props.itertuples()),
                       j.commons.history().votes, j.commons.pinned())
    assert outs["maya"] == outs["sam"] == outs["lee"]
    log, props, votes, pinned = outs["maya"]
    assert len(props) == 3 and all(r[2] == 3 for r in props)
    assert sorted(r[1] for r in props) == ["accepted", "conflicted", "conflicted"]
    assert len(log) == 2 and pinned["number"] == 1 and len(votes) == 9
    names = sorted(x.name for x in (folder / "objects").iterdir())
    assert all(n.endswith(".json") and len(n) == 69 for n in names)  # no temporary file left behind
    assert len(names) == 1 + 3 + 3 + 9  # genesis, members, proposals, votes
