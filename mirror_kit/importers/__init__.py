"""Journal import: text/Markdown folders, CSV, jrnl, Day One; mirror_kit exports are handed to
`mirror_kit.export.importer`.

Use `journal.imports.run(path, identity, format="auto", **options)`; it returns the summary dict. One
reader module per format (`textdir`, `csvfile`, `jrnl`, `dayone`) yields entries, `upsert` stores them
through `journal.reflections` (dedupe, updates, all-or-nothing), `common` holds decoding, limits and ZIP
safety.
"""

from .api import FORMATS, Imports, detect_format, run_import

__all__ = ["FORMATS", "Imports", "detect_format", "run_import"]
