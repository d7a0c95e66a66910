"""The summary an import returns (and the CLI prints): what was added, updated, skipped and rejected."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..errors import one_line
from .common import shown_name


@dataclass
class ImportSummary:
    format: str
    path: str
    identity: str
    source: str | None = None
    dry_run: bool = False
    total: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    skipped_empty: int = 0
    skipped_files: int = 0
    conflicts: int = 0
    rejected: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def format_summary(summary: dict) -> str:
    """Human-readable lines for the CLI."""
    verb = "would import" if summary.get("dry_run") else "imported"
    lines = [
        f"{verb} {summary.get('path')} ({summary.get('format')}) into {summary.get('identity')!r}: "
        f"{summary.get('added', 0)} added, {summary.get('updated', 0)} updated, "
        f"{summary.get('skipped', 0)} skipped as duplicates, {len(summary.get('rejected') or [])} rejected, "
        f"{summary.get('skipped_empty', 0)} without text skipped, {summary.get('conflicts', 0)} conflicts"
    ]
    if summary.get("mode") == "replace":
        lines[0] += _replaced(summary)
    if summary.get("skipped_files"):
        lines[0] += f", {summary['skipped_files']} non-journal files skipped"
    for r in summary.get("rejected") or []:
        place = ": ".join(
            str(x) for x in (r.get("file") and shown_name(r["file"]), f"line {r['line']}" if "line" in r else None,
                             f"entry {r['entry']}" if "entry" in r else None) if x
        )
        # a reason may quote a file name or text as read: still one line each
        lines.append(one_line(f"  rejected {place}: {r.get('reason')}"))
    for w in summary.get("warnings") or []:
        lines.append(one_line(f"  warning: {w}"))
    return "\n".join(lines)


def _replaced(summary: dict) -> str:
    """What a replace-import removed: without it, "10 added" hides that 20 reflections went away."""
    counts = summary.get("counts") or {}
    gone = {k: v.get("deleted", 0) for k, v in counts.items() if v.get("deleted")}
    if not gone:
        return ", 0 deleted (replace: the identity had nothing stored)"
    parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in gone.items())
    r = counts.get("reflections") or {}
    before, after = r.get("deleted", 0), r.get("added", 0) + r.get("unchanged", 0) + r.get("updated", 0)
    verb = "would delete" if summary.get("dry_run") else "deleted"
    return (f", {sum(gone.values())} {verb} by replace ({parts}); reflections {before} -> {after} "
            f"({after - before:+d})")
