"""Exceptions mirror_kit raises: one base class so the CLI can print them as one clear line."""

from __future__ import annotations

import re


class MirrorKitError(Exception):
    """Base class of every error mirror_kit reports to a user."""


class NotAJournalError(MirrorKitError):
    """The file exists but is not a SQLite database (or not a mirror_kit journal)."""


class JournalNotFoundError(MirrorKitError):
    """A read command was pointed at a file that does not exist."""


class JournalLockedError(MirrorKitError):
    """Another process holds a lock on the journal longer than the busy timeout."""


class SchemaTooNewError(MirrorKitError):
    """The journal was written by a newer mirror_kit than this one."""


class MigrationError(MirrorKitError):
    """A migration could not be applied or rolled back; the file was left as it was."""


class MigrationChecksumError(MigrationError):
    """An applied migration file was edited or deleted after it ran."""


class UnknownIdentityError(MirrorKitError, KeyError):
    """No identity with that name or id."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown identity"


class NotFoundError(MirrorKitError, KeyError):
    """No row with that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class InvalidInputError(MirrorKitError, ValueError):
    """Input that cannot be stored: names the file, row or field that is wrong."""


class CommonsIntegrityError(MirrorKitError):
    """A Commons object whose bytes, hash or signature do not check out (tampered or corrupt): refused."""


# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: any of them in a
# message line would split it or hide part of it on a terminal.
_LINE_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_controls(text: str) -> bool:
    """Whether `text` holds a character that would break or hide part of a one-line message."""
    return _LINE_BREAKERS.search(text) is not None


def one_line(message: str) -> str:
    """`message` with every control character escaped (`\\n`, `\\x1b`): one line on any terminal."""
    if not has_controls(message):
        return message
    return _LINE_BREAKERS.sub(lambda m: repr(m.group())[1:-1], message)
