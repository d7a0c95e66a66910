"""Export, backup, restore and import of the `mirror_os_export_v1` format.

`journal.exports.json(...)`, `journal.exports.markdown(...)`, `journal.exports.backup(...)` and the
functions `verify_backup`, `restore`, `import_export_file` here; modules load lazily so `import mirror_kit`
stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["verify_backup", "restore", "import_export_file", "FORMAT"]

FORMAT = "mirror_os_export_v1"


def __getattr__(name: str) -> Any:
    if name in ("verify_backup", "restore"):
        from . import service

        return getattr(service, name)
    if name == "import_export_file":
        from .importer import import_export_file

        return import_export_file
    raise AttributeError(name)
