"""The local HTTP API of a journal (`mirror-kit serve`): FastAPI routes that are thin calls into the
journal's collections and services, bearer tokens scoped to one identity, runs in the background."""

from .app import create_app

__all__ = ["create_app"]
