"""Definition sets and their history, derived from a Commons' records alone.

A definition set is `{"tensions": {id: tension}, "principles": {id: principle}}`; a version is its
number and the SHA-256 of its canonical JSON. History is a pure function of the records and the time:
every replica holding the same records computes the same versions, so no shared file is ever rewritten.

Deciding a proposal: voting closes `window_hours` after it was made, or earlier once every voter the
policy lists has voted; each voter's latest vote before the close counts (later ones are ignored). It is
accepted with at least `quorum` votes and a yes share (of yes+no) of at least `threshold`, else rejected;
its author may withdraw it before the close. Accepted proposals apply in order of closing time; one whose
base is no longer the newest version (another accepted proposal from the same base came first) or whose
change no longer fits becomes `conflicted` and needs a new proposal on the new base.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .policy import Policy
from .records import canonical, content_hash

KINDS = {"tension": "tensions", "principle": "principles"}
ACTIONS = ("add", "amend", "retire")
CHOICES = ("yes", "no", "abstain")
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # microseconds: two votes of one person in a second keep their order


def stamp(dt: datetime | None = None) -> str:
    """A record's time: UTC ISO-8601 with microseconds."""
    return (dt or datetime.now(UTC)).astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)


def definitions_hash(definitions: dict) -> str:
    """The content hash of a definition set."""
    return content_hash(canonical(definitions))


@dataclass
class Version:
    """One definition set in the history: number (0 = genesis), content hash, definitions, and the
    proposal that made it."""

    number: int
    hash: str
    definitions: dict
    proposal: str | None
    title: str
    at: str

    def summary(self) -> dict:
        return {"number": self.number, "hash": self.hash, "proposal": self.proposal, "title": self.title,
                "at": self.at, "tensions": len(self.definitions["tensions"]),
                "principles": len(self.definitions["principles"])}


@dataclass
class History:
    """What a set of records says: members {key: handle}, proposals (dicts with status) and versions."""

    members: dict[str, str]
    proposals: list[dict]
    versions: list[Version]
    policy: Policy
    votes: list[dict] = field(default_factory=list)

    @property
    def head(self) -> Version:
        return self.versions[-1]

    def version(self, ref: str | int) -> Version | None:
        """A version by number or (a prefix of at least 6 characters of) its hash."""
        text = str(ref).strip()
        if text.isdigit():
            n = int(text)
            return self.versions[n] if n < len(self.versions) else None
        hits = [v for v in self.versions if len(text) >= 6 and v.hash.startswith(text)]
        return hits[0] if len(hits) == 1 else None

    def proposal(self, ref: str) -> dict | None:
        hits = [p for p in self.proposals if len(ref) >= 6 and p["id"].startswith(ref)]
        return hits[0] if len(hits) == 1 else None


def apply_change(definitions: dict, proposal: dict) -> tuple[dict | None, str]:
    """The definition set after a proposal's change, or (None, why it does not fit)."""
    group = KINDS.get(proposal.get("kind"))
    action, target = proposal.get("action"), proposal.get("target")
    if group is None or action not in ACTIONS or not isinstance(target, str):
        return None, "malformed proposal"
    out = copy.deepcopy(definitions)
    have = target in out[group]
    if action == "add":
        if have:
            return None, f"{proposal['kind']} {target} already exists"
        out[group][target] = proposal.get("content")
    elif action == "amend":
        if not have:
            return None, f"no {proposal['kind']} {target} to amend"
        out[group][target] = proposal.get("content")
    else:
        if not have:
            return None, f"no {proposal['kind']} {target} to retire"
        del out[group][target]
    if action != "retire" and not isinstance(out[group][target], dict):
        return None, "proposal has no content"
    return out, ""


def derive(genesis: dict, records: dict[str, dict], now: datetime) -> History:
    """The history a Commons' records imply at time `now` (see the module docstring)."""
    policy = Policy.from_dict(genesis.get("policy"), "genesis policy")
    by_time = sorted(records.items(), key=lambda kv: (str(kv[1].get("created_at")), kv[0]))
    members: dict[str, str] = {}
    taken: set[str] = set()
    for _h, r in by_time:
        if r.get("type") == "member" and r.get("key") not in members and r.get("handle") not in taken:
            members[r["key"]] = r["handle"]
            taken.add(r["handle"])

    votes: dict[str, list[tuple[datetime, str, dict]]] = {}
    withdrawals: dict[str, list[tuple[datetime, dict]]] = {}
    for h, r in by_time:
        t = _time(r)
        if t is None:
            continue
        if r.get("type") == "vote" and r.get("choice") in CHOICES and r.get("voter") in members:
            if policy.may_vote(members[r["voter"]]):
                votes.setdefault(str(r.get("proposal")), []).append((t, h, r))
        elif r.get("type") == "withdraw":
            withdrawals.setdefault(str(r.get("proposal")), []).append((t, r))

    window = timedelta(hours=policy.window_hours)
    proposals = []
    for pid, r in by_time:
        created = _time(r)
        if r.get("type") != "proposal" or created is None or r.get("author") not in members:
            continue
        close = created + window
        pv = votes.get(pid, [])
        if policy.voters != "members":
            first: dict[str, datetime] = {}
            for t, _h, v in pv:
                first.setdefault(members[v["voter"]], t)
            if all(name in first for name in policy.voters):
                close = min(close, max(first.values()))
        current: dict[str, dict] = {}
        for t, _h, v in pv:
            if t <= close:
                current[v["voter"]] = v  # records are in time order: the latest vote wins
        tally = {c: sum(1 for v in current.values() if v["choice"] == c) for c in CHOICES}
        p = {"id": pid, "kind": r.get("kind"), "action": r.get("action"), "target": r.get("target"),
             "title": r.get("title", ""), "rationale": r.get("rationale", ""), "author": members[r["author"]],
             "base": r.get("base"), "created_at": r.get("created_at"), "closes_at": stamp(close),
             "evidence": r.get("evidence"), **tally,
             "votes": {members[k]: {"choice": v["choice"], "comment": v.get("comment", "")}
                       for k, v in sorted(current.items(), key=lambda kv: members[kv[0]])}}
        gone = [t for t, w in withdrawals.get(pid, []) if w.get("author") == r["author"] and t <= close]
        if gone:
            p["status"] = "withdrawn"
        elif now < close:
            p["status"] = "open"
        else:
            yes, no = tally["yes"], tally["no"]
            passed = (sum(tally.values()) >= policy.quorum and yes > 0
                      and yes / (yes + no) >= policy.threshold)
            p["status"] = "accepted" if passed else "rejected"
        p["_close"] = close
        proposals.append(p)

    versions = [Version(0, definitions_hash(genesis["definitions"]), genesis["definitions"], None, "genesis",
                        str(genesis.get("created_at", "")))]
    for p in sorted((p for p in proposals if p["status"] == "accepted"), key=lambda p: (p["_close"], p["id"])):
        head = versions[-1]
        if p["base"] != head.hash:
            p["status"], p["note"] = "conflicted", f"its base is not the newest version {head.number}"
            continue
        new, why = apply_change(head.definitions, records[p["id"]])
        if new is None:
            p["status"], p["note"] = "conflicted", why
            continue
        versions.append(Version(head.number + 1, definitions_hash(new), new, p["id"], p["title"],
                                stamp(p["_close"])))
        p["version"] = head.number + 1
    for p in proposals:
        del p["_close"]
        if p["status"] == "open" and p["base"] != versions[-1].hash:
            p["note"] = "stale: made on an older version; it will be conflicted if accepted"
    all_votes = [{"proposal": v["proposal"], "voter": members[v["voter"]], "choice": v["choice"],
                  "created_at": v["created_at"]} for vs in votes.values() for _t, _h, v in vs]
    return History(members, proposals, versions, policy, sorted(all_votes, key=lambda v: (v["created_at"],
                                                                                        v["voter"])))


def _time(record: dict) -> datetime | None:
    try:
        return parse_stamp(str(record.get("created_at")))
    except (ValueError, TypeError):
        return None


def diff(a: dict, b: dict) -> list[dict]:
    """What changes from definition set `a` to `b`: one row per definition added, retired or changed,
    with the changed fields (pole anchors as added/removed sentences)."""
    out = []
    for kind, group in KINDS.items():
        da, db = a.get(group, {}), b.get(group, {})
        for key in sorted(set(da) | set(db)):
            if key not in da:
                out.append({"kind": kind, "id": key, "change": "added", "fields": sorted(db[key])})
            elif key not in db:
                out.append({"kind": kind, "id": key, "change": "retired", "fields": []})
            elif canonical(da[key]) != canonical(db[key]):
                out.append({"kind": kind, "id": key, "change": "changed", "fields": _changed(da[key], db[key])})
    return out


def _changed(x: Any, y: Any, prefix: str = "") -> list[str]:
    if isinstance(x, dict) and isinstance(y, dict):
        rows: list[str] = []
        for k in sorted(set(x) | set(y)):
            if canonical(x.get(k)) != canonical(y.get(k)):
                rows += _changed(x.get(k), y.get(k), f"{prefix}{k}.")
        return rows
    name = prefix.rstrip(".")
    if isinstance(x, list) and isinstance(y, list) and all(isinstance(s, str) for s in x + y):
        added = [s for s in y if s not in x]
        removed = [s for s in x if s not in y]
        return [f"{name}: +{len(added)} -{len(removed)}"] + [f"  + {s}" for s in added] + \
            [f"  - {s}" for s in removed]
    return [f"{name}: {x!r} -> {y!r}"]
