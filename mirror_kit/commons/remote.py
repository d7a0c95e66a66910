"""A Commons served over HTTP (`mirror-kit serve --commons PATH`), with the same face as a folder store.

`HttpStore` offers `genesis`, `location`, `names()`, `read(name)` and `write(data)` like
`FolderStore`, so push, pull and status work the same against either. Every fetched object is checked
with the folder store's own code (hash, canonical form, signature) before anything uses it: a server
cannot slip in a tampered or unsigned record. Plain http is refused to any host but this machine unless
the journal joined with `insecure`, since the bearer token would travel readable.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import CommonsIntegrityError, InvalidInputError, MirrorKitError
from .records import content_hash, open_object
from .store import FORMAT, FolderStore

TOKEN_ENV = "MIRROR_KIT_COMMONS_TOKEN"
API_PATH = "/api/commons"
TIMEOUT_S = 30.0
_NAME = re.compile(r"^[0-9a-f]{64}$")


def is_url(location: str | Path) -> bool:
    """True for an http(s) URL (a served Commons), False for a folder path or file:// URL."""
    return urlsplit(str(location)).scheme.lower() in ("http", "https")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def open_store(location: str | Path, *, token: str | None = None, insecure: bool = False) -> Any:
    """The store at `location`: an `HttpStore` for an http(s) URL, else a `FolderStore`.

    token: the bearer token for a URL (default: $MIRROR_KIT_COMMONS_TOKEN). Raises InvalidInputError
    for a bad or insecure URL, MirrorKitError when the Commons cannot be reached or is not one.
    """
    if is_url(location):
        return HttpStore(str(location), token=token, insecure=insecure)
    return FolderStore(location)


class HttpStore:
    """A Commons behind `/api/commons` of a mirror_kit server (see the module docstring)."""

    def __init__(self, url: str, *, token: str | None = None, insecure: bool = False) -> None:
        import httpx

        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InvalidInputError(f"{url}: not an http(s) URL")
        if parts.username or parts.password:
            raise InvalidInputError(f"{parts.hostname}: put the token in --token or ${TOKEN_ENV}, not in the URL")
        if parts.scheme.lower() == "http" and not _loopback(parts.hostname) and not insecure:
            raise InvalidInputError(f"{url}: plain http to another machine would send the token readable; "
                                    "use https (serve --cert/--key) or --insecure")
        base = f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"
        self.location = base
        self.api = base if base.endswith(API_PATH) else base + API_PATH
        token = token or os.environ.get(TOKEN_ENV)
        if not token:
            raise InvalidInputError(f"{base}: a served Commons needs a token (--token or ${TOKEN_ENV}; "
                                    "the server's owner makes one with `mirror-kit token create`)")
        self._client = httpx.Client(timeout=TIMEOUT_S, headers={"Authorization": f"Bearer {token}"},
                                    follow_redirects=False)
        meta = self._json("GET", "/manifest")
        if (not isinstance(meta, dict) or meta.get("format") != FORMAT
                or not _NAME.match(str(meta.get("genesis")))):
            raise MirrorKitError(f"{self.location}: does not describe a {FORMAT} Commons")
        self.genesis: str = meta["genesis"]

    @property
    def path(self) -> str:
        return self.location

    def close(self) -> None:
        self._client.close()

    def __del__(self) -> None:
        # The store lives for one push, pull or status: its connections go with it.
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    def _request(self, method: str, route: str, **kw: Any) -> Any:
        import httpx

        url = self.api + route
        try:
            r = self._client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise MirrorKitError(f"{self.location}: cannot reach the Commons: {exc}") from exc
        if r.status_code >= 400:
            try:
                message = r.json().get("message") or r.reason_phrase
            except (ValueError, AttributeError):
                message = r.reason_phrase
            if r.status_code == 409:
                raise CommonsIntegrityError(f"{url}: {message}")
            raise MirrorKitError(f"{url}: HTTP {r.status_code}: {message}")
        return r

    def _json(self, method: str, route: str, **kw: Any) -> Any:
        r = self._request(method, route, **kw)
        try:
            body = r.json()
        except ValueError as exc:
            raise MirrorKitError(f"{self.api}{route}: the answer is not JSON") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            raise MirrorKitError(f"{self.api}{route}: not a mirror_kit answer")
        return body.get("data")

    def names(self) -> set[str]:
        """The hashes of every object the server holds (following its pages)."""
        out: set[str] = set()
        cursor: str | None = None
        while True:
            page = self._json("GET", "/objects", params={"limit": 5000, **({"cursor": cursor} if cursor else {})})
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise MirrorKitError(f"{self.api}/objects: not a list of objects")
            out.update(n for n in items if isinstance(n, str) and _NAME.match(n))
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def read(self, name: str) -> tuple[bytes, dict]:
        """An object's bytes and record, checked here (CommonsIntegrityError names the URL and the reason)."""
        if not _NAME.match(name):
            raise CommonsIntegrityError(f"{name!r}: not an object name")
        data = self._request("GET", f"/objects/{name}").content
        return data, _checked(data, name, self.api)

    def write(self, data: bytes) -> tuple[str, bool]:
        """Send one object (checked here first); returns (hash, True when the server did not have it)."""
        name = content_hash(data)
        open_object(data, name)
        r = self._request("PUT", f"/objects/{name}", content=data,
                          headers={"Content-Type": "application/json"})
        return name, r.status_code == 201


def _checked(data: bytes, name: str, api: str) -> dict:
    """open_object with the URL in the message instead of the bare hash."""
    try:
        return open_object(data, name)
    except CommonsIntegrityError as exc:
        raise CommonsIntegrityError(f"{api}/objects/{str(exc)}") from exc
