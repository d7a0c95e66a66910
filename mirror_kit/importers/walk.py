"""Listing the files of an imported folder: hidden folders skipped, a file reached through several
symbolic links listed once, links leading outside the folder reported and not followed unless
asked (`follow_links`), directory loops cut."""

from __future__ import annotations

import os
from pathlib import Path


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def walk_files(root: Path, follow_links: bool = False) -> tuple[list[Path], list[str]]:
    """Regular files under `root` (sorted, each real file once) and the links not followed.

    Returns (files, outside): `files` are paths under `root` as reached (a file seen both directly
    and through a link keeps its direct path); `outside` names links (relative to root) that lead
    outside `root` (or nowhere) and were not followed.
    """
    root_real = os.path.realpath(root)
    chosen: dict[str, tuple[bool, Path]] = {}  # real path -> (reached via a link, path)
    outside: list[str] = []
    visited_dirs = {root_real}

    def visit(folder: Path, via_link: bool) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for e in entries:
            if e.name.startswith("."):
                continue
            p = Path(e.path)
            link = e.is_symlink()
            real = os.path.realpath(e.path)
            if link:
                rel = p.relative_to(root).as_posix()
                if not os.path.exists(real):
                    outside.append(f"{rel} ({_dead_link_kind(e.path)})")
                    continue
                if not _inside(real, root_real) and not follow_links:
                    outside.append(rel)
                    continue
            if os.path.isdir(real):
                if real in visited_dirs:  # a loop, or a folder already listed through another path
                    continue
                visited_dirs.add(real)
                visit(p, via_link or link)
            elif os.path.isfile(real):
                reached_by_link = via_link or link
                prev = chosen.get(real)
                if prev is None or (prev[0] and not reached_by_link):
                    chosen[real] = (reached_by_link, p)

    visit(root, False)
    return sorted((p for _, p in chosen.values()), key=lambda p: p.relative_to(root).as_posix()), outside


def _dead_link_kind(path: str) -> str:
    """`symbolic link loop` for a link that leads back to itself (directly or through others), else
    `broken link` (its target does not exist)."""
    import errno

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
    return "broken link"
