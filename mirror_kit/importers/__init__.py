"""Journal import (issue 3): text/Markdown folders, CSV, jrnl, Day One; mirror_kit exports are handed
to `mirror_kit.export.importer`.

Use `journal.import_(path, identity, format="auto", **options)` (or `import_text`, `import_csv`,
`import_jrnl`, `import_dayone`); each returns the summary dict. One module per format (`textdir`,
`csvfile`, `jrnl`, `dayone`), `upsert` stores entries (dedupe, updates, all-or-nothing), `common`
holds decoding, limits and ZIP safety.
"""

from .api import FORMATS, detect_format, run_import

__all__ = ["FORMATS", "detect_format", "run_import"]
