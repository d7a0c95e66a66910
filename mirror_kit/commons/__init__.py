"""The Commons: shared tension definitions and mirrorback principles, changed by signed proposals and votes.

Reflections never travel: a Commons holds only definitions, proposals, votes, public keys and evidence
numbers. See `mirror_kit.commons.service.Commons` (reached as `journal.commons`).
"""

from .policy import Policy
from .service import Commons

__all__ = ["Commons", "Policy"]
