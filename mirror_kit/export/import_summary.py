"""The CLI's lines for the import of a mirror_kit export: counts per kind of record, reflections first.

The generic import line ("N added, M skipped as duplicates") counts reflections; a mirror_kit export
also carries identities, tags, patterns, tensions and their observations, and one total of all of
them read as a number of reflections ("11 added" for 10 reflections and their identity).
"""

from __future__ import annotations

from typing import Any

_CHANGES = ("added", "updated", "conflicts")


def _counts(c: dict[str, int]) -> str:
    # what a replace deleted is told once, by the replace note
    return (f"{c.get('added', 0)} added, {c.get('updated', 0)} updated, {c.get('unchanged', 0)} already held, "
            f"{c.get('conflicts', 0)} conflicts")


def format_export_import(summary: dict[str, Any]) -> str:
    """Lines for `mirror-kit import FILE.json` of a mirror_kit export.

    summary: what `export.importer.import_export` returns (`counts` per kind of record).
    Returns the text to print: reflections on the first line, each other kind that changed below,
    then the replace note and the conflict warnings.
    """
    from ..importers.summary import _replaced

    counts = summary.get("counts") or {}
    verb = "would import" if summary.get("dry_run") else "imported"
    mode = summary.get("mode") or "merge"
    lines = [f"{verb} {summary.get('path')} ({summary.get('format')}, {mode}) into {summary.get('identity')!r}: "
             f"reflections: {_counts(counts.get('reflections') or {})}"]
    if mode == "replace":
        lines[0] += _replaced(summary)
    for kind, c in counts.items():
        if kind != "reflections" and any(c.get(w) for w in _CHANGES):
            lines.append(f"  {kind.replace('_', ' ')}: {_counts(c)}")
    lines += [f"  warning: {w}" for w in summary.get("warnings") or []]
    return "\n".join(lines)
