"""mirror_kit: understand your own journal, locally.

>>> import mirror_kit
>>> journal = mirror_kit.open("mirror.db")
"""

from __future__ import annotations

from .errors import MirrorKitError
from .journal import Journal, open_journal

__version__ = "0.1.0"

open = open_journal  # noqa: A001 - `mirror_kit.open(path)` is the documented entry point

__all__ = ["Journal", "MirrorKitError", "open", "open_journal", "__version__"]
