"""Passphrase encryption of JSON exports and of whole backup ZIPs (one envelope for both): scrypt key
derivation and AES-256-GCM from `cryptography`, in 64 KiB chunks so files stream (no whole-file buffer).
A backup is encrypted as a whole, so not even its member names or sizes show.

Layout: `MKENC1` magic, 16-byte salt, scrypt log2(n)/r/p (3 bytes), 7-byte nonce prefix; then chunks
of `4-byte big-endian length + ciphertext-with-tag`. Each chunk's nonce is the prefix + a 4-byte
counter + a last-chunk flag (the STREAM construction), and the header is authenticated with every
chunk, so reordering, truncation, appending or a wrong passphrase all fail authentication.
"""

from __future__ import annotations

import io
import os
import struct
from typing import IO

from ..errors import InvalidInputError, MirrorKitError

MAGIC = b"MKENC1"
CHUNK = 64 * 1024
_TAG = 16
_SCRYPT = (15, 8, 1)  # n = 2**15: ~0.1 s and 32 MiB per derivation, the usual interactive setting


class WrongPassphraseError(InvalidInputError):
    """Decryption failed: the passphrase is wrong or the file was altered."""


def _require():
    try:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MirrorKitError("encryption needs the `cryptography` package: pip install 'mirror_kit[crypto]'") from exc
    return AESGCM, Scrypt, InvalidTag


def _key(passphrase: str, salt: bytes, n_log2: int, r: int, p: int) -> bytes:
    _, Scrypt, _ = _require()
    if not passphrase:
        raise InvalidInputError("the passphrase must not be empty")
    from ..limits import check_scrypt

    check_scrypt(n_log2, r, p, "encrypted file")
    return Scrypt(salt=salt, length=32, n=2**n_log2, r=r, p=p).derive(passphrase.encode("utf-8"))


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


class EncryptingWriter:
    """A write-only binary stream that encrypts what it is given into `raw`; `close()` seals it."""

    def __init__(self, raw: IO[bytes], passphrase: str):
        AESGCM, _, _ = _require()
        salt, prefix = os.urandom(16), os.urandom(7)
        self._header = MAGIC + salt + bytes(_SCRYPT) + prefix
        self._aead = AESGCM(_key(passphrase, salt, *_SCRYPT))
        self._prefix = prefix
        self._raw = raw
        self._buf = bytearray()
        self._counter = 0
        self._closed = False
        raw.write(self._header)

    def _emit(self, data: bytes, last: bool) -> None:
        nonce = self._prefix + struct.pack(">I?", self._counter, last)
        ct = self._aead.encrypt(nonce, data, self._header)
        self._raw.write(struct.pack(">I", len(ct)) + ct)
        self._counter += 1

    def write(self, data: bytes) -> int:
        self._buf += data
        while len(self._buf) > CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), False)
            del self._buf[:CHUNK]
        return len(data)

    def close(self) -> None:
        if not self._closed:
            self._emit(bytes(self._buf), True)
            self._buf.clear()
            self._closed = True


def not_encrypted_error(name: str) -> InvalidInputError:
    """The refusal when a passphrase was given for a file that is not encrypted.

    Accepting it would let whoever can replace the file substitute content that nothing authenticates.
    """
    return InvalidInputError(
        f"{name} is not encrypted, but a passphrase was given: refusing it (anyone could have written an "
        "unencrypted file); run without the passphrase to read it anyway")


def passphrase_needed_error(name: str) -> InvalidInputError:
    """The request for a passphrase when an encrypted file was given without one."""
    return InvalidInputError(f"{name} is encrypted: give the passphrase (--passphrase or $MIRROR_KIT_PASSPHRASE)")


def decrypt(fh: IO[bytes], passphrase: str | None, *, name: str = "file") -> bytes:
    """The plaintext of an encrypted stream, in memory (raises WrongPassphraseError/InvalidInputError)."""
    out = io.BytesIO()
    decrypt_to(fh, out, passphrase, name=name)
    return out.getvalue()


def decrypt_to(fh: IO[bytes], out: IO[bytes], passphrase: str | None, *, name: str = "file") -> int:
    """Decrypt a stream into `out` chunk by chunk (memory stays at one chunk); returns the bytes written.

    Every chunk is authenticated before it is written, but a truncated or altered file is only known
    at the end: callers write into private staging and use the result only when this returns.
    Raises WrongPassphraseError, InvalidInputError (not encrypted, truncated, altered, KDF limits).
    """
    AESGCM, _, InvalidTag = _require()
    header = fh.read(len(MAGIC) + 16 + 3 + 7)
    if not is_encrypted(header) or len(header) < len(MAGIC) + 26:
        raise InvalidInputError(f"{name}: not a mirror_kit encrypted file (or its header is truncated)")
    if not passphrase:
        raise passphrase_needed_error(name)
    salt, params, prefix = header[6:22], header[22:25], header[25:32]
    from ..limits import check_scrypt

    check_scrypt(*params, name)  # before deriving: the header is not authenticated yet
    aead = AESGCM(_key(passphrase, salt, *params))
    written = 0
    counter = 0
    while True:
        size_raw = fh.read(4)
        if len(size_raw) < 4:
            raise InvalidInputError(f"{name}: encrypted data is truncated (no final chunk)")
        (size,) = struct.unpack(">I", size_raw)
        if size < _TAG or size > CHUNK + _TAG:
            raise InvalidInputError(f"{name}: encrypted data is corrupted (chunk {counter} has size {size})")
        ct = fh.read(size)
        if len(ct) < size:
            raise InvalidInputError(f"{name}: encrypted data is truncated (chunk {counter})")
        plain = None
        for last in (False, True):
            try:
                plain = aead.decrypt(prefix + struct.pack(">I?", counter, last), ct, header)
                break
            except InvalidTag:
                continue
        if plain is None:
            if counter == 0:
                raise WrongPassphraseError(f"{name}: wrong passphrase (or the file was altered)")
            raise InvalidInputError(f"{name}: encrypted data was altered (chunk {counter} fails authentication)")
        out.write(plain)
        written += len(plain)
        counter += 1
        if last:
            if fh.read(1):
                raise InvalidInputError(f"{name}: unexpected data after the final encrypted chunk")
            return written
