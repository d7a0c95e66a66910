"""A Commons' policy: who may vote, how many votes make a quorum, the share of yes that accepts, the window.

File format (YAML or JSON)::

    quorum: 2            # votes (yes, no or abstain) needed for a decision
    threshold: 0.5       # share of yes among yes+no needed to accept (yes must also be > 0)
    window_hours: 72     # voting closes this long after a proposal is made ...
    voters: [maya, sam]  # ... or earlier, once every listed voter has voted; `members` = anyone who joined
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError


@dataclass(frozen=True)
class Policy:
    """How proposals are decided (see the module docstring)."""

    quorum: int = 2
    threshold: float = 0.5
    window_hours: float = 72.0
    voters: tuple[str, ...] | str = field(default="members")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["voters"] = self.voters if isinstance(self.voters, str) else list(self.voters)
        return d

    def may_vote(self, handle: str) -> bool:
        return self.voters == "members" or handle in self.voters

    @classmethod
    def from_dict(cls, data: Any, where: str = "policy") -> Policy:
        """Validate a mapping; InvalidInputError names `where` and the field."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidInputError(f"{where}: expected a mapping with quorum, threshold, window_hours, voters")
        unknown = sorted(set(data) - {"quorum", "threshold", "window_hours", "voters"})
        if unknown:
            raise InvalidInputError(f"{where}: unknown field(s) {', '.join(unknown)}")
        base = cls()
        quorum = data.get("quorum", base.quorum)
        if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
            raise InvalidInputError(f"{where}: field quorum must be a whole number >= 1, got {quorum!r}")
        threshold = data.get("threshold", base.threshold)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise InvalidInputError(f"{where}: field threshold must be a number from 0 to 1, got {threshold!r}")
        window = data.get("window_hours", base.window_hours)
        if isinstance(window, bool) or not isinstance(window, (int, float)) or not window > 0:
            raise InvalidInputError(f"{where}: field window_hours must be a number > 0, got {window!r}")
        voters = data.get("voters", base.voters)
        if voters != "members":
            if (not isinstance(voters, list) or not voters
                    or not all(isinstance(v, str) and v.strip() for v in voters)):
                raise InvalidInputError(f"{where}: field voters must be `members` or a list of names")
            voters = tuple(sorted({v.strip() for v in voters}))
            if quorum > len(voters):
                raise InvalidInputError(f"{where}: quorum {quorum} is larger than the {len(voters)} voters")
        return cls(quorum, float(threshold), float(window), voters)

    @classmethod
    def load(cls, path: str | Path) -> Policy:
        """Read a policy file (YAML or JSON)."""
        import yaml

        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise InvalidInputError(f"{p}: no such file") from exc
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InvalidInputError(f"{p}: cannot read policy: {exc}") from exc
        return cls.from_dict(data, str(p))
