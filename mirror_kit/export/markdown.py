"""Markdown export: per identity a folder with README.md (overview), reflections.md (chronological,
with tags and mirrorbacks), patterns.md and tensions.md, readable in any text editor.

User text can never change the document's structure: every line of it is neutralised (leading
block markers such as `#`, `>`, `-`, `1.`, `===` are backslash-escaped, indentation becomes
no-break spaces so it cannot start a code block, and backticks, `<`, `[`, `|` and backslashes are
escaped everywhere, so no code span or fence, HTML, link or table can start inside an entry).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from ..errors import InvalidInputError, MirrorKitError
from ..safefiles import existing_parent
from ..tensions.aggregate import lean_phrase
from ..timeutil import now_iso, resolve_tz
from .files import create_private, private_temp_dir, write_private_text
from .jsonfmt import BufferedWriter, _sorted_tags, identity_rows

_ESCAPE = re.compile(r"([\\`<>\[\]|*_])")
# a line that starts (after optional indentation) with a block marker; `>` is already escaped by then
_LINE_START = re.compile(r"^(?=[ \t#+\-=~0-9])([ \t]*)([#+\-=~]|[0-9]{1,9}[.)])?", re.MULTILINE)
_NBSP = "\u00a0"


def _line_start(m: re.Match) -> str:
    indent, marker = m.group(1), m.group(2)
    out = indent.replace("\t", "    ").replace(" ", _NBSP)
    if marker:
        # `12.` would start an ordered list (escape its dot); other markers get a leading backslash
        out += marker[:-1] + "\\" + marker[-1] if marker[-1] in ".)" else "\\" + marker
    return out


def md_text(text: str | None) -> str:
    """User text as Markdown paragraphs that cannot open headings, lists, quotes, code, HTML or tables."""
    if not text:
        return ""
    text = _ESCAPE.sub(r"\\\1", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _LINE_START.sub(_line_start, text).strip("\n")


def md_inline(text: str | None) -> str:
    """User text on one line (a heading, a list item, a table cell)."""
    return md_text(" ".join((text or "").split())) if text else ""


@lru_cache(maxsize=512)
def _zone(tz: str | None):
    try:
        return resolve_tz(tz)
    except MirrorKitError:
        return None


def local_time(utc_iso: str, tz: str | None) -> datetime:
    """A stored UTC ISO timestamp in the writer's zone `tz` (unchanged when the zone is unknown)."""
    dt = datetime.fromisoformat(utc_iso)
    zone = _zone(tz)
    return dt.astimezone(zone) if zone else dt


def _slug(name: str, ident_id: str, taken: set[str]) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-.")[:60] or ident_id
    if slug.lower() in taken:
        slug = f"{slug}-{ident_id}"
    taken.add(slug.lower())
    return slug



def _open(path: Path) -> IO[str]:
    return open(create_private(path), "w", encoding="utf-8", newline="\n", buffering=1 << 20)


def _children(cursor) -> Iterator[tuple[str, list]]:
    """(reflection_id, rows) groups from a cursor ordered like the reflections."""
    cur_id, rows = None, []
    for row in cursor:
        if row[0] != cur_id:
            if cur_id is not None:
                yield cur_id, rows
            cur_id, rows = row[0], []
        rows.append(row)
    if cur_id is not None:
        yield cur_id, rows


# bookkeeping of the importers, not something the writer recorded
_HIDDEN_KEYS = {"file", "dayone_version", "md5", "identifier"}


def _detail_value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, dict):
        if "file" in v:  # an attached photo or document: its file is what a reader can find
            return str(v["file"])
        return ", ".join(x for k, val in v.items() if k not in _HIDDEN_KEYS and (x := _detail_value(val)))
    if isinstance(v, list):
        return ", ".join(x for val in v if (x := _detail_value(val)))
    return "" if v is None else str(v)


def metadata_details(metadata_json: str | None) -> str:
    """One Markdown line of what a source recorded beside the text (Daylio mood and activities, Day One
    place, weather, photos and star, front-matter fields): without it a Markdown export would be the
    only place these are lost. Returns "" when there is nothing to show."""
    try:
        meta = json.loads(metadata_json or "{}")
    except ValueError:
        return ""
    if not isinstance(meta, dict):
        return ""
    flat = {**{k: v for k, v in meta.items() if k != "front_matter"},
            **(meta.get("front_matter") if isinstance(meta.get("front_matter"), dict) else {})}
    items = [f"{k.replace('_', ' ')}: {val}" for k, v in sorted(flat.items())
             if k not in _HIDDEN_KEYS and (val := _detail_value(v))]
    return md_inline(" · ".join(items))


def _reflections_md(conn, iid: str, name: str, path: Path) -> int:
    mbs = _children(conn.execute(
        "SELECT m.reflection_id, m.content, m.model, m.created_at FROM mirrorbacks m JOIN reflections r "
        "ON r.id = m.reflection_id WHERE r.identity_id = ? ORDER BY r.created_at, r.id, m.created_at, m.id", (iid,)))
    next_mbs = next(mbs, None)
    tag_md: dict[str, str] = {}  # tags repeat a lot: neutralise each once
    n = 0
    month = None
    cur = conn.cursor()
    cur.row_factory = None
    cur.execute(
        "SELECT r.id, r.created_at, r.tz, r.title, r.content, (SELECT json_group_array(t.name) FROM reflection_tags rt "
        "JOIN tags t ON t.id = rt.tag_id WHERE rt.reflection_id = r.id), r.metadata FROM reflections r "
        "WHERE r.identity_id = ? ORDER BY r.created_at, r.id", (iid,))
    with _open(path) as fh:
        w = BufferedWriter(fh, binary=False)
        w(f"# Reflections of {md_inline(name)}\n\nIn chronological order (local time of writing), with tags and "
          "mirrorbacks. Exported by mirror_kit.\n")
        for rid, created, tz, title, content, tags, meta in cur:
            n += 1
            local = local_time(created, tz)
            if (local.year, local.month) != month:
                month = (local.year, local.month)
                w(f"\n## {local.strftime('%B %Y')}\n")
            heading = f"{local.strftime('%a %d %b %Y, %H:%M')} ({tz or 'UTC'})"
            if title and title.strip():
                heading += f" · {md_inline(title)}"
            w(f"\n### {heading}\n\n")
            if tags != "[]":
                names = _sorted_tags(json.loads(tags))
                for t in names:
                    if t not in tag_md:
                        tag_md[t] = md_inline("#" + t)
                w("Tags: " + ", ".join(tag_md[t] for t in names) + "\n\n")
            details = metadata_details(meta)
            if details:
                w(f"Details: {details}\n\n")
            w(md_text(content) + "\n")
            if next_mbs is not None and next_mbs[0] == rid:
                for _, mcontent, model, mcreated in next_mbs[1]:
                    w(f"\n> **Mirrorback** ({md_inline(model)}, {mcreated[:10]}):\n>\n")
                    w("\n".join(f"> {line}" if line else ">" for line in md_text(mcontent).split("\n")) + "\n")
                next_mbs = next(mbs, None)
        if n == 0:
            w("\n(no reflections yet)\n")
        w.flush()
    return n


def pattern_trends(conn, iid: str) -> dict[str, str]:
    """The trend of each stored pattern of an identity: {pattern_id: emerging|fading|stable|recurring}.

    Same periods (`auto`), shares and rules as the journal's pattern trends: the frames come from
    `mirror_kit.patterns.evolution.evolution_frame` and `trends_frame`, read straight from SQL.
    """
    import pandas as pd

    from ..patterns.evolution import evolution_frame, trends_frame

    pids = [r[0] for r in conn.execute("SELECT id FROM patterns WHERE identity_id = ? ORDER BY id", (iid,))]
    dates = [r[0] for r in conn.execute("SELECT created_at FROM reflections WHERE identity_id = ?", (iid,))]
    if not pids or not dates:
        return {}
    occ = pd.DataFrame(conn.execute(
        "SELECT o.pattern_id, r.created_at FROM pattern_occurrences o JOIN reflections r ON r.id = o.reflection_id "
        "JOIN patterns p ON p.id = o.pattern_id WHERE p.identity_id = ? AND r.identity_id = ?", (iid, iid)).fetchall(),
        columns=["pattern_id", "created_at"])
    occ["created_at"] = pd.to_datetime(occ["created_at"], utc=True)
    trends = trends_frame(evolution_frame(occ, dates, "auto", {pid: pid for pid in pids}))
    return dict(zip(trends["pattern_id"], trends["trend"], strict=True))


def _trends(journal: Any, iid: str, pattern_rows: list) -> dict[str, str]:
    out = {r["id"]: (json.loads(r["metadata"] or "{}").get("trend") or r["status"]) for r in pattern_rows}
    if pattern_rows:
        try:
            out.update(pattern_trends(journal.conn, iid))
        except ImportError:  # numpy/pandas missing: the stored status is still informative
            pass
    return out


def _patterns_md(conn, iid: str, name: str, rows: list, trends: dict, path: Path) -> None:
    lines = [f"# Patterns of {md_inline(name)}", "",
             "Recurring themes found in the reflections, largest first, with the closest examples.", ""]
    if not rows:
        lines.append("(no patterns yet: run `mirror-kit analyze` first)")
    for p in rows:
        kws = ", ".join(md_inline(str(k)) for k in json.loads(p["keywords"] or "[]"))
        conf = "n/a" if p["confidence"] is None else f"{p['confidence']:.2f}"
        lines += [f"## {md_inline(p['label']) or p['id']}", "",
                  f"- Keywords: {kws or 'none'}", f"- Reflections: {p['size']}", f"- Confidence: {conf}",
                  f"- Trend: {md_inline(trends.get(p['id'], p['status']))}",
                  f"- Seen: {(p['first_seen'] or '?')[:10]} to {(p['last_seen'] or '?')[:10]}", "",
                  "Examples:", ""]
        for created, tz, content, strength in conn.execute(
            "SELECT r.created_at, r.tz, r.content, o.strength FROM pattern_occurrences o JOIN reflections r "
            "ON r.id = o.reflection_id WHERE o.pattern_id = ? ORDER BY o.strength DESC, r.id LIMIT 3", (p["id"],)):
            snippet = " ".join(content.split())
            snippet = snippet[:200] + ("…" if len(snippet) > 200 else "")
            lines.append(f"- {local_time(created, tz):%Y-%m-%d} ({strength:.2f}): {md_inline(snippet)}")
        lines.append("")
    write_private_text(path, "\n".join(lines).rstrip() + "\n")


def _observations(conn, iid: str) -> Any:
    """The identity's tension observations as the long frame `mirror_kit.tensions.aggregate` takes."""
    import pandas as pd

    from ..tensions.aggregate import OBSERVATION_COLUMNS

    obs = pd.DataFrame(conn.execute(
        "SELECT o.tension_id, o.reflection_id, r.created_at, o.position, o.intensity FROM tension_observations o "
        "JOIN reflections r ON r.id = o.reflection_id WHERE r.identity_id = ? ORDER BY r.created_at, o.reflection_id",
        (iid,)).fetchall(), columns=OBSERVATION_COLUMNS)
    obs["created_at"] = pd.to_datetime(obs["created_at"], utc=True)
    return obs


def _tension_rows(conn, iid: str) -> tuple[list[dict], Any]:
    """(tensions most active first as `aggregate.ranked_summary` ranks them, with their definition;
    the observations frame)."""
    from ..tensions.aggregate import ranked_summary

    obs = _observations(conn, iid)
    if obs.empty:
        return [], obs
    defs = [dict(r) for r in conn.execute("SELECT id, name, axis_a, axis_b, definition FROM tensions")]
    ranked = ranked_summary(obs, defs)
    definition = {d["id"]: d["definition"] for d in defs}
    return [{**r, "definition": definition.get(r["tension_id"])} for r in ranked.to_dict("records")], obs


def _lean(t) -> str:
    return lean_phrase(t["position"], md_inline(t["axis_a"]), md_inline(t["axis_b"]), t["occurrences"])


def _tensions_md(conn, iid: str, name: str, rows: list, obs: Any, path: Path) -> None:
    from ..tensions.aggregate import evolution
    from ..timeseries import resolve_period

    lines = [f"# Tensions of {md_inline(name)}", "",
             "Two-pole axes the reflections were scored on: position -1 is the first pole, +1 the second "
             "(intensity-weighted mean); intensity 0 to 1. Most active (most engaged reflections, then most "
             "intense) first.", ""]
    if not rows:
        lines.append("(no tensions observed yet: run `mirror-kit analyze` first)")
    period = resolve_period("auto", obs["created_at"]) if len(obs) else "month"
    evo = evolution(obs, period=period) if len(obs) else None
    for t in rows:
        desc = json.loads(t["definition"] or "{}").get("description")
        lines += [f"## {md_inline(t['name'])}: {md_inline(t['axis_a'])} / {md_inline(t['axis_b'])}", ""]
        if desc:
            lines += [md_text(str(desc)), ""]
        lines += [f"- Observations: {t['n']}", f"- Position (intensity-weighted): {t['position']:+.2f} ({_lean(t)})",
                  f"- Mean intensity: {t['intensity']:.2f}", "",
                  f"| {period.capitalize()} starting | Reflections | Position | Intensity |", "|---|---:|---:|---:|"]
        mine = evo[(evo["tension_id"] == t["tension_id"]) & (evo["count"] > 0)]
        for r in mine.itertuples():
            lines.append(f"| {r.period:%Y-%m-%d} | {r.count} | {r.position:+.2f} | {r.intensity:.2f} |")
        lines.append("")
    write_private_text(path, "\n".join(lines).rstrip() + "\n")


def _readme(conn, ident, n_reflections: int, patterns: list, trends: dict, tensions: list, path: Path) -> None:
    iid, name = ident["id"], ident["name"]
    first, last = conn.execute(
        "SELECT min(created_at), max(created_at) FROM reflections WHERE identity_id = ?", (iid,)).fetchone()
    one = lambda sql: conn.execute(sql, (iid,)).fetchone()[0]  # noqa: E731
    n_mb = one("SELECT count(*) FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id WHERE r.identity_id = ?")
    n_threads = one("SELECT count(*) FROM threads WHERE identity_id = ?")
    top_tags = conn.execute(
        "SELECT t.name, count(*) FROM reflection_tags rt JOIN tags t ON t.id = rt.tag_id JOIN reflections r "
        "ON r.id = rt.reflection_id WHERE r.identity_id = ? GROUP BY t.name ORDER BY count(*) DESC, t.name LIMIT 10",
        (iid,)).fetchall()
    lines = [f"# Journal of {md_inline(name)}", "", f"Exported by mirror_kit on {now_iso()[:10]}.", "",
             "| | |", "|---|---|", f"| Reflections | {n_reflections} |",
             f"| First | {(first or 'n/a')[:10]} |", f"| Last | {(last or 'n/a')[:10]} |",
             f"| Mirrorbacks | {n_mb} |", f"| Threads | {n_threads} |", f"| Patterns | {len(patterns)} |",
             f"| Tensions observed | {len(tensions)} |", "", "## Top patterns", ""]
    if not patterns:
        lines.append("(none yet)")
    for p in patterns[:5]:
        lines.append(f"1. **{md_inline(p['label']) or p['id']}**: {p['size']} reflections, trend "
                     f"{md_inline(trends.get(p['id'], p['status']))}")
    lines += ["", "## Strongest tensions", ""]
    if not tensions:
        lines.append("(none yet)")
    for t in tensions[:5]:
        lines.append(f"1. **{md_inline(t['name'])}** ({md_inline(t['axis_a'])} / {md_inline(t['axis_b'])}): "
                     f"{_lean(t)}, position {t['position']:+.2f}, intensity {t['intensity']:.2f}, "
                     f"{t['n']} observations")
    lines += ["", "## Top tags", ""]
    lines.append(", ".join(f"{md_inline('#' + tag)} ({n})" for tag, n in top_tags) or "(none)")
    lines += ["", "## Files", "", "- [reflections.md](reflections.md): every reflection, oldest first",
              "- [patterns.md](patterns.md): recurring themes", "- [tensions.md](tensions.md): two-pole axes", ""]
    write_private_text(path, "\n".join(lines))


def write_markdown(journal: Any, out_dir: Path, *, identity_id: str | None = None) -> dict:
    """Write the Markdown export into `out_dir` (identity folders are replaced as a whole).

    Per identity: README.md, reflections.md, patterns.md, tensions.md (mode 0600). Statistics come
    from their one definition (`tensions.aggregate`, `patterns.evolution`). Returns {path,
    identities: {name: {folder, reflections, patterns, tensions}}}. Raises InvalidInputError when
    out_dir is a file.
    """
    conn = journal.conn
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInputError(f"{out_dir} exists and is not a directory")
    existing_parent(out_dir)
    result: dict[str, Any] = {"path": str(out_dir), "identities": {}}
    with private_temp_dir(out_dir) as tmp:
        taken: set[str] = set()
        built = []
        for ident in identity_rows(conn, identity_id):
            iid, name = ident["id"], ident["name"]
            slug = _slug(name, iid, taken)
            d = tmp / slug
            os.mkdir(d, 0o700)
            n = _reflections_md(conn, iid, name, d / "reflections.md")
            patterns = conn.execute("SELECT * FROM patterns WHERE identity_id = ? ORDER BY size DESC, id",
                                    (iid,)).fetchall()
            trends = _trends(journal, iid, patterns)
            tensions, observations = _tension_rows(conn, iid)
            _patterns_md(conn, iid, name, patterns, trends, d / "patterns.md")
            _tensions_md(conn, iid, name, tensions, observations, d / "tensions.md")
            _readme(conn, ident, n, patterns, trends, tensions, d / "README.md")
            built.append(slug)
            result["identities"][name] = {"folder": str(out_dir / slug), "reflections": n,
                                          "patterns": len(patterns), "tensions": len(tensions)}
        if not out_dir.exists():
            os.mkdir(out_dir, 0o700)
        for slug in built:
            target = out_dir / slug
            if target.exists():
                os.replace(target, tmp / f".old-{slug}")  # swept away with tmp
            os.replace(tmp / slug, target)
    return result
