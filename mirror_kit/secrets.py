"""The one rule for secrets in settings: which keys name a secret, and how values are redacted.

A setting key (or a key anywhere inside a setting's JSON value) names a secret when one of its
words is token, secret, passphrase, password, passwd, apikey or credential(s), or it has the
words "api key" (split on `_`, `-`, `.`, spaces and camelCase: `api_key`, `apiKey`, `sync.token`,
`client-secret`). A key ending in `_env` names the environment variable that holds a secret, not
the secret, and is kept. Exports, backups and reports omit secret keys entirely (an import then
keeps the journal's own value), and user:password in URLs is dropped.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SECRET_WORDS = frozenset({"token", "secret", "passphrase", "password", "passwd", "apikey", "credential",
                          "credentials"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _SPLIT.split(_CAMEL.sub("_", name)) if w]


def is_secret_key(name: str) -> bool:
    """True when a setting key names a secret (see the module docstring for the rule)."""
    words = _words(str(name))
    if not words or words[-1] == "env":
        return False
    if SECRET_WORDS.intersection(words):
        return True
    return any(a == "api" and b == "key" for a, b in zip(words, words[1:], strict=False))


def redact_url(url: str) -> str:
    """The URL without a user:password part (`https://u:p@host/x` -> `https://host/x`)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with every secret key removed (at any depth) and URL credentials dropped."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if not is_secret_key(k)}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and "@" in value and "://" in value:
        return redact_url(value)
    return value


def redact_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings {key: value} without secret keys, and secret keys removed inside the kept values."""
    return redact(settings)
