"""`journal.commons`: join a Commons, propose and vote on shared definitions, sync, pin a version.

Local state lives in the journal: the Commons joined (setting `commons.location`), the pinned version
(`definitions.version`, recorded by every tension analysis run), the definitions it applied, each
identity's Ed25519 signing key (`commons.signing_secret.<identity id>`: a secret setting, never exported
nor sent anywhere) and the replica of the Commons' records (table `commons_objects`, see `replica`).
"""

from __future__ import annotations

import json
import os
import secrets as _secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CommonsIntegrityError, InvalidInputError, MirrorKitError, NotFoundError
from ..tensions.definition import SEED_IDS, Tension, load_tension, seed_tensions
from . import keys
from .policy import Policy
from .records import canonical, content_hash, open_object, seal
from .remote import TOKEN_ENV, open_store
from .replica import Replica
from .store import FolderStore
from .versions import CHOICES, KINDS, History, Version, derive, diff, stamp

if TYPE_CHECKING:
    import pandas as pd

    from ..journal import Journal

LOCATION_KEY = "commons.location"
VERSION_KEY = "definitions.version"
SEED_OVERRIDES_KEY = "definitions.seed_overrides"
PRINCIPLES_KEY = "definitions.principles"
APPLIED_KEY = "commons.applied_tensions"
TOKEN_KEY = "commons.remote_token"  # a secret setting (the word "token"): never exported
_PROPOSAL_COLUMNS = ["id", "status", "kind", "action", "target", "title", "author", "yes", "no", "abstain",
                     "created_at", "closes_at", "version", "note"]


def genesis_definitions() -> dict:
    """The definition set a new Commons starts from: the built-in seed tensions and constitution principles."""
    import yaml

    from ..mirrorback.validator import DEFAULT_CONSTITUTION

    data = yaml.safe_load(DEFAULT_CONSTITUTION.read_text(encoding="utf-8"))
    return {"tensions": {t.id: t.as_dict() for t in seed_tensions()},
            "principles": {p["id"]: p for p in data["principles"]}}


def init_commons(path: str | Path, policy: Policy | dict | str | Path | None = None) -> dict:
    """Make a new Commons folder with its policy; returns {path, genesis, policy}."""
    import yaml

    if isinstance(policy, (str, Path)):
        pol = Policy.load(policy)
    elif isinstance(policy, Policy):
        pol = policy
    else:
        pol = Policy.from_dict(policy)
    genesis = {"type": "genesis", "format": 1, "policy": pol.as_dict(), "definitions": genesis_definitions(),
               "created_at": stamp(), "nonce": _secrets.token_hex(8)}
    store = FolderStore.create(path, seal(genesis),
                               "# The policy of this Commons (a copy: the genesis object is what counts).\n"
                               + yaml.safe_dump(pol.as_dict(), sort_keys=False))
    return {"path": str(store.path), "genesis": store.genesis, "policy": pol.as_dict()}


def check_principle(data: Any, where: str) -> dict:
    """A principle mapping (id, description, checks) validated as the mirrorback validator would load it."""
    from ..mirrorback.validator import Constitution, Principle

    if not isinstance(data, dict) or not str(data.get("id") or "").strip():
        raise InvalidInputError(f"{where}: a principle needs a mapping with id, description and checks")
    checks = data.get("checks") or []
    known = {"phrases", "sentence_start", "length", "overlap", "embedding"}
    if not isinstance(checks, list):
        raise InvalidInputError(f"{where}: field checks must be a list")
    for i, c in enumerate(checks):
        if not isinstance(c, dict) or c.get("type") not in known:
            raise InvalidInputError(f"{where}: checks[{i}]: field 'type' must be one of {sorted(known)}")
    if not str(data.get("description") or "").strip():
        raise InvalidInputError(f"{where}: field description must not be empty")
    Constitution([Principle(str(data["id"]), str(data["description"]), [dict(c) for c in checks])], {}, Path(where))
    return json.loads(canonical(data))


class Commons:
    """The journal's side of one shared Commons (see the module docstring)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.replica = Replica(journal)

    # -- joining -------------------------------------------------------------------------------
    def init(self, path: str | Path, policy: Policy | dict | str | Path | None = None) -> dict:
        """Make a new Commons folder (see `init_commons`); the journal does not join it until `add`."""
        return init_commons(path, policy)

    def add(self, name: str, location: str | Path, *, token: str | None = None, insecure: bool = False) -> dict:
        """Join the Commons at `location` (a folder, file:// URL or the http(s) URL of `mirror-kit serve
        --commons`) under a local `name`; pulls its records without applying them. A journal belongs to
        one Commons (re-adding the same one renames it).

        token: bearer token for a URL (default $MIRROR_KIT_COMMONS_TOKEN), kept as a secret setting.
        insecure: allow plain http to another machine."""
        name = str(name).strip()
        if not name:
            raise InvalidInputError("commons add: NAME must not be empty")
        token = token or os.environ.get(TOKEN_ENV) or None
        store = open_store(location, token=token, insecure=insecure)
        current = self.journal.settings.get(LOCATION_KEY)
        if current and current["genesis"] != store.genesis:
            raise InvalidInputError(f"this journal already belongs to the Commons {current['name']!r} at "
                                    f"{current['location']}; one Commons per journal")
        data, record = store.read(store.genesis)
        if record.get("type") != "genesis":
            raise CommonsIntegrityError(f"{store.path}: COMMONS.json names a {record.get('type')} record, "
                                        "not a genesis")
        with self.journal.transaction():
            self.replica.add(data, pushed=True)
            self.journal.settings.set(LOCATION_KEY, {"name": name, "location": store.location,
                                                     "genesis": store.genesis,
                                                     **({"insecure": True} if insecure else {})})
            if token and not isinstance(store, FolderStore):
                self.journal.settings.set(TOKEN_KEY, token)
        out = self.pull()
        return {"name": name, "location": store.location, "genesis": store.genesis, **out}

    def _location(self) -> dict:
        loc = self.journal.settings.get(LOCATION_KEY)
        if not loc:
            raise MirrorKitError("this journal has not joined a Commons (run `mirror-kit commons add NAME PATH`)")
        return loc

    def _store(self) -> Any:
        loc = self._location()
        store = open_store(loc["location"], token=self.journal.settings.get(TOKEN_KEY),
                           insecure=bool(loc.get("insecure")))
        if store.genesis != loc["genesis"]:
            raise CommonsIntegrityError(f"{store.path}: its genesis {store.genesis[:12]} is not the one this "
                                        f"journal joined ({loc['genesis'][:12]})")
        return store

    # -- history -------------------------------------------------------------------------------
    def history(self, now: datetime | None = None) -> History:
        """Members, proposals with their status, and versions, from the journal's replica."""
        loc = self._location()
        records = self.replica.records()
        genesis = records.pop(loc["genesis"], None)
        if genesis is None:
            raise MirrorKitError("the Commons' genesis record is missing from this journal (run `commons add` again)")
        return derive(genesis, records, now or datetime.now(UTC))

    def pinned(self) -> dict | None:
        """The version this journal uses: {commons, number, hash}, or None before the first accept/pin."""
        return self.journal.settings.get(VERSION_KEY)

    # -- identity keys -------------------------------------------------------------------------
    def _signer(self, identity: Any) -> tuple[Any, str]:
        """The identity's private key (made and stored on first use) and its public key; the member record
        that binds the identity's name to the key is added to the replica."""
        ident = self.journal.identities.get(identity)
        key_name = f"commons.signing_secret.{ident.id}"
        stored = self.journal.settings.get(key_name)
        with self.journal.transaction():
            if stored is None:
                priv = keys.generate()
                self.journal.settings.set(key_name, keys.private_to_b64(priv))
            else:
                priv = keys.private_from_b64(stored)
            pub = keys.public_key_b64(priv)
            history = self.history()
            if pub not in history.members:
                if ident.name in history.members.values():
                    raise InvalidInputError(f"the name {ident.name!r} already belongs to another key in this "
                                            "Commons; use another identity name")
                self.replica.add(seal({"type": "member", "handle": ident.name, "key": pub,
                                       "created_at": stamp()}, priv))
        return priv, pub

    def _add_signed(self, record: dict, priv: Any) -> str:
        data = seal(record, priv)
        with self.journal.transaction():
            self.replica.add(data)
        return content_hash(data)

    # -- proposals and votes -------------------------------------------------------------------
    def propose(self, identity: Any, *, title: str, rationale: str = "", tension: Any = None,
                principle: Any = None, retire_tension: str | None = None, retire_principle: str | None = None,
                labels: Any = None) -> dict:
        """Propose adding, amending (same id as an existing one) or retiring one definition.

        tension/principle: a file path (YAML/JSON) or a mapping. labels: reflection_id -> pole labels
        (as `tensions.calibrate` takes them) for the ROC AUC evidence. Returns {id, action, kind, target,
        base, evidence}. Raises InvalidInputError for bad input.
        """
        given = [x is not None for x in (tension, principle, retire_tension, retire_principle)]
        if sum(given) != 1:
            raise InvalidInputError("propose exactly one of: a tension file, a principle file, a tension to "
                                    "retire, a principle to retire")
        if not str(title or "").strip():
            raise InvalidInputError("a proposal needs a title")
        head = self.history().head
        if tension is not None:
            t = Tension.from_dict(dict(tension)) if isinstance(tension, dict) else load_tension(tension)
            kind, target, content = "tension", t.id, t.as_dict()
        elif principle is not None:
            if isinstance(principle, dict):
                raw, where = principle, "principle"
            else:
                raw, where = _read_yaml(principle), str(principle)
            content = check_principle(raw, where)
            kind, target = "principle", str(content["id"])
        else:
            kind = "tension" if retire_tension is not None else "principle"
            target, content = str(retire_tension or retire_principle), None
        current = head.definitions[KINDS[kind]].get(target)
        if content is None:
            if current is None:
                raise InvalidInputError(f"no {kind} {target!r} in version {head.number} to retire")
            if kind == "tension" and target in SEED_IDS:
                raise InvalidInputError(f"tension {target!r} is built in: amend it instead of retiring it")
            action = "retire"
        else:
            action = "amend" if current is not None else "add"
            if current is not None and canonical(current) == canonical(content):
                raise InvalidInputError(f"{kind} {target!r} is already exactly this in version {head.number}")
        priv, pub = self._signer(identity)
        evidence = None
        if kind == "tension":
            ident = self.journal.identities.get(identity)
            if self.journal.embeddings.stored(ident.id)[0]:  # stored only: proposing never embeds
                from .evidence import tension_evidence

                evidence = tension_evidence(self.journal, ident.id, current, content, labels)
            else:
                evidence = {"note": "no embedded reflections in the proposer's journal: evidence omitted"}
        record = {"type": "proposal", "kind": kind, "action": action, "target": target,
                  "title": str(title).strip(), "rationale": str(rationale or "").strip(), "author": pub,
                  "base": head.hash, "content": content, "evidence": evidence, "created_at": stamp()}
        pid = self._add_signed(record, priv)
        return {"id": pid, "kind": kind, "action": action, "target": target, "base": head.hash,
                "base_version": head.number, "evidence": evidence}

    def _proposal(self, ref: str, history: History) -> dict:
        p = history.proposal(str(ref).strip())
        if p is None:
            raise NotFoundError(f"no proposal {ref!r} (give at least 6 characters of its id; see `commons proposals`)")
        return p

    def vote(self, proposal: str, choice: str, identity: Any, comment: str = "") -> dict:
        """Vote yes, no or abstain on an open proposal; a later vote replaces the identity's earlier one."""
        choice = str(choice).strip().lower()
        if choice not in CHOICES:
            raise InvalidInputError(f"vote must be one of {', '.join(CHOICES)}, not {choice!r}")
        history = self.history()
        p = self._proposal(proposal, history)
        name = self.journal.identities.get(identity).name
        if not history.policy.may_vote(name):
            raise InvalidInputError(f"{name!r} may not vote in this Commons (voters: "
                                    f"{', '.join(history.policy.voters)})")
        if p["status"] != "open":
            raise InvalidInputError(f"proposal {p['id'][:12]} is {p['status']}; voting is closed")
        priv, pub = self._signer(identity)
        vid = self._add_signed({"type": "vote", "proposal": p["id"], "choice": choice,
                                "comment": str(comment or ""), "voter": pub, "created_at": stamp()}, priv)
        return {"id": vid, "proposal": p["id"], "choice": choice, "voter": name}

    def withdraw(self, proposal: str, identity: Any) -> dict:
        """Withdraw one's own open proposal."""
        p = self._proposal(proposal, self.history())
        priv, pub = self._signer(identity)
        if p["author"] != self.journal.identities.get(identity).name:
            raise InvalidInputError(f"only the author ({p['author']}) may withdraw proposal {p['id'][:12]}")
        self._add_signed({"type": "withdraw", "proposal": p["id"], "author": pub, "created_at": stamp()}, priv)
        return {"id": p["id"], "status": "withdrawn"}

    def proposals(self, status: str | None = None) -> pd.DataFrame:
        """Every proposal: id, status, kind, action, target, title, author, yes, no, abstain, created_at,
        closes_at, version (made when accepted), note."""
        import pandas as pd

        rows = [{k: p.get(k) for k in _PROPOSAL_COLUMNS} for p in self.history().proposals
                if status is None or p["status"] == status]
        return pd.DataFrame(rows, columns=_PROPOSAL_COLUMNS)

    def proposal(self, ref: str) -> dict:
        """One proposal with its votes, evidence and content summary."""
        return self._proposal(ref, self.history())

    # -- sync ----------------------------------------------------------------------------------
    def push(self) -> dict:
        """Copy the journal's records the Commons folder lacks into it; returns {pushed, already}."""
        store = self._store()
        there = store.names()
        sent, already, done = 0, 0, []
        for name in sorted(self.replica.names()):
            if name in there:
                already += 1
            else:
                store.write(self.replica.body(name))
                sent += 1
            done.append(name)
        waiting = set(self.replica.unpushed())
        self.replica.mark_pushed([n for n in done if n in waiting])
        return {"pushed": sent, "already": already}

    def pull(self, *, accept: bool = False) -> dict:
        """Fetch the Commons' new records (each checked; damaged or badly signed ones are refused and
        listed) and show what the newest version would change; with `accept`, pin it.

        Returns {received, refused: [file: reason], pinned, head, changes, applied}.
        """
        store = self._store()
        have = self.replica.names()
        received, refused = 0, []
        with self.journal.transaction():
            for name in sorted(store.names() - have):
                try:
                    data, _ = store.read(name)
                except CommonsIntegrityError as exc:
                    refused.append(str(exc))
                    continue
                received += self.replica.add(data, pushed=True)
        history = self.history()
        head = history.head
        pinned = self.pinned()
        base = history.version(pinned["number"]) if pinned else None
        changes = diff(base.definitions if base else _journal_definitions(), head.definitions)
        applied = False
        if accept and (pinned is None or pinned["hash"] != head.hash):
            self._apply(head)
            applied = True
        return {"received": received, "refused": refused, "pinned": pinned,
                "head": {"number": head.number, "hash": head.hash}, "changes": changes, "applied": applied}

    def status(self) -> dict:
        """Which Commons, the pinned and newest versions, records not yet pushed or pulled, open proposals."""
        loc = self._location()
        history = self.history()
        try:
            store = self._store()
            there = store.names()
            mine = self.replica.names()
            remote = {"to_push": len(mine - there), "to_pull": len(there - mine), "reachable": True}
        except MirrorKitError as exc:
            remote = {"reachable": False, "error": str(exc)}
        return {"name": loc["name"], "location": loc["location"], "genesis": loc["genesis"],
                "policy": history.policy.as_dict(), "members": sorted(history.members.values()),
                "pinned": self.pinned(), "head": {"number": history.head.number, "hash": history.head.hash},
                "open_proposals": sum(p["status"] == "open" for p in history.proposals), **remote}

    def log(self) -> list[dict]:
        """The versions, oldest first: number, hash, proposal, title, at, tensions, principles."""
        return [v.summary() for v in self.history().versions]

    def diff(self, a: str | int, b: str | int) -> list[dict]:
        """What changes between two versions (numbers or hash prefixes): kind, id, change, fields."""
        history = self.history()
        va, vb = (self._version(x, history) for x in (a, b))
        return diff(va.definitions, vb.definitions)

    def _version(self, ref: str | int, history: History) -> Version:
        v = history.version(ref)
        if v is None:
            raise NotFoundError(f"no version {ref!r} (newest is {history.head.number}; see `commons log`)")
        return v

    def pin(self, ref: str | int) -> dict:
        """Use version `ref` (number or hash prefix), newer or older: its tensions replace the ones the
        Commons applied before, its principles become the pinned constitution."""
        v = self._version(ref, self.history())
        self._apply(v)
        return {"number": v.number, "hash": v.hash}

    def definitions(self, ref: str | int | None = None) -> dict:
        """The definition set of a version (default: the pinned one, else the newest)."""
        history = self.history()
        if ref is None:
            pinned = self.pinned()
            ref = pinned["number"] if pinned else history.head.number
        return self._version(ref, history).definitions

    def constitution(self) -> Any:
        """The mirrorback Constitution with the pinned version's principles (the shipped one when none)."""
        import yaml

        from ..mirrorback.validator import DEFAULT_CONSTITUTION, Constitution, Principle

        pinned = self.journal.settings.get(PRINCIPLES_KEY)
        if pinned is None:
            return Constitution.load()
        lists = yaml.safe_load(DEFAULT_CONSTITUTION.read_text(encoding="utf-8")).get("lists") or {}
        return Constitution([Principle(p["id"], p.get("description", ""), [dict(c) for c in p.get("checks") or []])
                             for p in pinned.values()], lists, None)

    def _apply(self, v: Version) -> None:
        """Make the journal use version `v`: tensions defined/replaced/removed, seeds overridden, principles
        and the version number stored, all in one transaction."""
        j = self.journal
        loc = self._location()
        applied = set(j.settings.get(APPLIED_KEY) or [])
        seeds = {t.id: t.as_dict() for t in seed_tensions()}
        tensions = v.definitions["tensions"]
        own = {r["id"]: r for r in j.tensions.definitions().to_dict(orient="records")}
        for tid in tensions:
            if tid not in seeds and tid in own and tid not in applied:
                raise InvalidInputError(f"tension {tid!r} in version {v.number} has the id of one of this journal's "
                                        "own tensions; rename or remove yours first")
        overrides = {tid: d for tid, d in tensions.items() if tid in seeds and canonical(d) != canonical(seeds[tid])}
        with j.transaction():
            j.settings.set(SEED_OVERRIDES_KEY, overrides)
            for tid, d in sorted(tensions.items()):
                if tid in seeds:
                    continue
                row = own.get(tid)
                if row is None or canonical(j.tensions.definition(tid).as_dict()) != canonical(d):
                    j.tensions.define(d, replace=row is not None)
            for tid in sorted(applied - set(tensions)):
                if tid in own:
                    j.tensions.remove(tid)
            j.settings.set(APPLIED_KEY, sorted(t for t in tensions if t not in seeds))
            j.settings.set(PRINCIPLES_KEY, v.definitions["principles"])
            j.settings.set(VERSION_KEY, {"commons": loc["name"], "number": v.number, "hash": v.hash})
            # Seed rows are refreshed by the tensions service's own write path, which reads the overrides.
            j.tensions._ensure_seed_tensions()


def _journal_definitions() -> dict:
    """What a journal that has pinned nothing uses: the built-in definitions."""
    return genesis_definitions()


def _read_yaml(path: Any) -> Any:
    import yaml

    p = Path(path)
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{p}: no such file") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{p}: cannot read: {exc}") from exc


__all__ = ["Commons", "init_commons", "genesis_definitions", "open_object"]
