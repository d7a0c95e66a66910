"""Commons records: canonical JSON bytes, their SHA-256 content hash, signed envelopes and their check.

An object file holds one envelope `{"record": {...}, "signature": "<base64>"}` (the genesis object has no
signature: its hash is what a journal pins when it joins). The file name is the SHA-256 of the file's
bytes, which are the canonical JSON encoding (sorted keys, no spaces, UTF-8), so the same record always
has the same bytes and name on every machine, and any edited byte is detected.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..errors import CommonsIntegrityError
from . import keys

RECORD_TYPES = ("genesis", "member", "proposal", "vote", "withdraw")
_SIGNER_FIELD = {"member": "key", "proposal": "author", "vote": "voter", "withdraw": "author"}


def canonical(value: Any) -> bytes:
    """The canonical JSON bytes of a value (sorted keys, compact, UTF-8; NaN refused)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise CommonsIntegrityError(f"record is not plain JSON: {exc}") from exc


def content_hash(data: bytes) -> str:
    """Hex SHA-256 of bytes (64 characters)."""
    return hashlib.sha256(data).hexdigest()


def signer_of(record: dict) -> str | None:
    """The public key (base64) that must have signed this record; None for the unsigned genesis."""
    field = _SIGNER_FIELD.get(record.get("type", ""))
    return None if field is None else record.get(field)


def seal(record: dict, private_key: Any = None) -> bytes:
    """The object bytes of a record: signed with `private_key` (required for every type but genesis)."""
    if record.get("type") not in RECORD_TYPES:
        raise CommonsIntegrityError(f"unknown record type {record.get('type')!r}")
    envelope: dict = {"record": record}
    if record["type"] != "genesis":
        if private_key is None:
            raise CommonsIntegrityError(f"a {record['type']} record must be signed")
        if keys.public_key_b64(private_key) != signer_of(record):
            raise CommonsIntegrityError("record signed with a key that is not its author's")
        envelope["signature"] = keys.sign(private_key, canonical(record))
    return canonical(envelope)


def open_object(data: bytes, name: str | None = None) -> dict:
    """Check object bytes and return the record; CommonsIntegrityError names `name` and the reason.

    Checks: the bytes hash to `name` (when given), parse as canonical JSON, hold a known record type
    and, but for genesis, carry a valid Ed25519 signature by the record's author key.
    """
    where = name or "object"
    if name is not None and content_hash(data) != name:
        raise CommonsIntegrityError(f"{where}: content does not match its hash (tampered or corrupt)")
    try:
        envelope = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CommonsIntegrityError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("record"), dict):
        raise CommonsIntegrityError(f"{where}: not a Commons object (no record)")
    if canonical(envelope) != data:
        raise CommonsIntegrityError(f"{where}: not in canonical form (edited by hand?)")
    record = envelope["record"]
    kind = record.get("type")
    if kind not in RECORD_TYPES:
        raise CommonsIntegrityError(f"{where}: unknown record type {kind!r}")
    if kind == "genesis":
        if "signature" in envelope:
            raise CommonsIntegrityError(f"{where}: a genesis record carries no signature")
        return record
    signer, signature = signer_of(record), envelope.get("signature")
    if not isinstance(signer, str) or not isinstance(signature, str):
        raise CommonsIntegrityError(f"{where}: unsigned {kind} record refused")
    if not keys.verify(signer, signature, canonical(record)):
        raise CommonsIntegrityError(f"{where}: bad signature on {kind} record refused")
    return record
