"""The journal's collections: one class per kind of record, each the only code that writes its tables.

| collection | tables |
| --- | --- |
| `Identities` | identities |
| `Reflections` | reflections |
| `Tags` | tags, reflection_tags |
| `Threads` | threads, thread_reflections |
| `Settings` | settings |
| `Runs` | analysis_runs |
| `Embeddings` | embeddings (rows coded by `mirror_kit.embedding.store`) |
| `Mirrorbacks` | mirrorbacks |
| `Tokens` | api_tokens |

Patterns and tensions tables belong to their services (`mirror_kit.patterns.service`,
`mirror_kit.tensions.service`).
"""

from .embeddings import Embeddings
from .identities import Identities
from .mirrorbacks import Mirrorbacks
from .reflections import Reflections
from .runs import Runs
from .settings import Settings
from .tags import Tags
from .threads import Threads
from .tokens import Tokens

__all__ = ["Embeddings", "Identities", "Mirrorbacks", "Reflections", "Runs", "Settings", "Tags", "Threads", "Tokens"]
