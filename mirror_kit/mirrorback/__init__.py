"""Mirrorbacks: short replies that mirror a reflection back, written by a language model,
checked against an editable constitution and stored with their validation result.

>>> from mirror_kit.mirrorback import validate, OpenAICompatibleLLM
>>> validate("I walked by the river.", "You should walk more.").principles
['reflect_not_prescribe', 'length']
"""

from __future__ import annotations

import importlib
from typing import Any

# Lazy: `import mirror_kit` must stay fast, and urllib/http imports are not free.
_EXPORTS = {
    "validate": "validator", "Verdict": "validator", "Violation": "validator", "Constitution": "validator",
    "DEFAULT_CONSTITUTION": "validator",
    "LLM": "llm", "Completion": "llm", "OpenAICompatibleLLM": "llm", "LocalLLM": "llm", "resolve_llm": "llm",
    "LLMError": "llm", "LLMNotConfiguredError": "llm", "LLMUnavailableError": "llm", "LLMAuthError": "llm",
    "LLMResponseError": "llm",
    "detect_crisis": "crisis", "CRISIS_REPLY": "crisis",
    "MirrorbackEngine": "engine",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
