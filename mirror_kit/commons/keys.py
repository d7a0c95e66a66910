"""Ed25519 identity keys (from `cryptography`): the private key stays in the journal, the public one travels.

Keys travel as base64 of their 32 raw bytes; a fingerprint is the first 16 hex characters of the
SHA-256 of the public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from ..errors import CommonsIntegrityError


def generate() -> Any:
    """A new Ed25519 private key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def private_to_b64(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization as s

    raw = key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def private_from_b64(text: str) -> Any:
    """The private key stored as base64 raw bytes (CommonsIntegrityError when it is not one)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise CommonsIntegrityError(f"stored signing key is not an Ed25519 key: {exc}") from exc


def public_key_b64(private_key: Any) -> str:
    """The public key of a private key, as base64 of its raw 32 bytes."""
    from cryptography.hazmat.primitives import serialization as s

    raw = private_key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def fingerprint(public_b64: str) -> str:
    """16 hex characters naming a public key."""
    return hashlib.sha256(public_b64.encode("ascii")).hexdigest()[:16]


def sign(private_key: Any, data: bytes) -> str:
    """Base64 Ed25519 signature of bytes."""
    return base64.b64encode(private_key.sign(data)).decode("ascii")


def verify(public_b64: str, signature_b64: str, data: bytes) -> bool:
    """True when the signature is the public key's over exactly these bytes."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))
        pub.verify(base64.b64decode(signature_b64, validate=True), data)
    except (InvalidSignature, ValueError, binascii.Error, TypeError):
        return False
    return True


__all__ = ["generate", "private_to_b64", "private_from_b64", "public_key_b64", "fingerprint", "sign", "verify",
           "CommonsIntegrityError"]
