"""Every size, depth and cost limit on input mirror_kit did not write itself, in one place.

Each limit is far above what a real journal needs and far below what exhausts memory or time on a
laptop; past one, the input is refused with one line naming the file (or record) and the limit.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InvalidInputError

# -- structure of parsed documents -----------------------------------------------------------------
MAX_JSON_DEPTH = 64          # exports nest 5 deep; jrnl/Day One about 6
MAX_YAML_DEPTH = 32          # front matter: a mapping of scalars and short lists
MAX_YAML_ALIASES = 100       # `*ref` uses; alias bombs need thousands of expansions
MAX_YAML_NODES = 100_000     # scalars + collections after alias expansion

# -- records -----------------------------------------------------------------------------------------
MAX_TAG_CHARS = 200
MAX_TAGS_PER_REFLECTION = 1000
MAX_TITLE_CHARS = 2000
MAX_CSV_COLUMNS = 2000       # a header row; real exports have a few dozen

# -- archives (see export/safezip.py for how they are applied) --------------------------------------
ZIP_MAX_MEMBERS = 10_000     # Day One keeps photos next to the JSON
ZIP_MAX_RATIO = 200.0        # deflate tops out near 1032:1; real journals compress 3-20x
ZIP_RATIO_EXEMPT_BELOW = 1 << 20

# -- key derivation in encrypted exports (scrypt) ----------------------------------------------------
# Memory is 128 * r * n bytes, work grows with n * r * p. mirror_kit writes n=2^15, r=8, p=1 (32 MiB,
# ~0.1 s); a file may ask for up to 8 times that memory and 16 times that work, never more.
SCRYPT_MAX_MEMORY = 256 * 1024**2
SCRYPT_MAX_WORK = (2**15) * 8 * 1 * 16


def check_depth(doc: Any, name: str, limit: int = MAX_JSON_DEPTH, what: str = "JSON") -> None:
    """Refuse a parsed document nested deeper than `limit` (later code walks it recursively).

    Iterative, one step per container, stops at the first container past the limit.
    """
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        cur, depth = stack.pop()
        if isinstance(cur, dict):
            children = cur.values()
        elif isinstance(cur, list):
            children = cur
        else:
            continue
        if depth > limit:
            raise InvalidInputError(f"{name}: {what} nested more than {limit} levels deep; refusing it")
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def loads_json(text: str | bytes, name: str) -> Any:
    """json.loads with the depth limit; every failure is InvalidInputError naming `name`."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{name}: line {exc.lineno}: invalid JSON ({exc.msg})") from exc
    except RecursionError as exc:  # the C parser stops at Python's recursion limit
        raise InvalidInputError(f"{name}: JSON nested more than {MAX_JSON_DEPTH} levels deep; refusing it") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: invalid JSON ({type(exc).__name__})") from exc
    check_depth(doc, name)
    if _SURROGATE_ESCAPE.search(text if isinstance(text, str) else text.decode("utf-8", "replace")):
        _refuse_lone_surrogates(doc, name)
    return doc


# `\ud800`-`\udfff` escapes: json.loads accepts lone ones, which no UTF-8 file or SQLite text can hold
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _refuse_lone_surrogates(doc: Any, name: str) -> None:
    stack = [doc]
    while stack:
        cur = stack.pop()
        if isinstance(cur, str):
            try:
                cur.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInputError(f"{name}: text {cur[:30]!r} holds a lone surrogate escape "
                                        "(\\ud800-\\udfff), which is not valid Unicode; refusing it") from None
        elif isinstance(cur, dict):
            stack.extend(cur.keys())
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def safe_yaml_load(text: str, name: str, invalid: str = "invalid YAML", *, timestamps: bool = True) -> Any:
    """yaml.safe_load with limits on aliases, depth and node count (alias bombs, deep nesting).

    timestamps=False keeps dates as the strings written (so a per-file date rule can read them, and
    `2024-02-30` is reported by name instead of failing inside the YAML library).
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        aliases = 0
        nodes = 0
        depth = 0

        def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
            if self.check_event(yaml.AliasEvent):
                _Loader.aliases += 1
                if _Loader.aliases > MAX_YAML_ALIASES:
                    raise InvalidInputError(f"{name}: YAML uses more than {MAX_YAML_ALIASES} aliases; refusing it")
            _Loader.nodes += 1
            if _Loader.nodes > MAX_YAML_NODES:
                raise InvalidInputError(f"{name}: YAML has more than {MAX_YAML_NODES} nodes; refusing it")
            _Loader.depth += 1
            try:
                if _Loader.depth > MAX_YAML_DEPTH:
                    raise InvalidInputError(f"{name}: YAML nested more than {MAX_YAML_DEPTH} levels deep; refusing it")
                return super().compose_node(parent, index)
            finally:
                _Loader.depth -= 1

    if not timestamps:
        _Loader.yaml_implicit_resolvers = {
            k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
            for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
    loader = None
    try:
        loader = _Loader(text)  # the reader refuses non-printable characters right here
        data = loader.get_single_data()
    except InvalidInputError:
        raise
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{name}: {invalid}: {str(exc).splitlines()[0]}") from exc
    except RecursionError as exc:
        raise InvalidInputError(f"{name}: YAML nested too deeply; refusing it") from exc
    except (ValueError, OverflowError) as exc:  # a well-formed but impossible value, e.g. a +25:00 offset
        raise InvalidInputError(f"{name}: {invalid}: {str(exc).splitlines()[0][:120]}") from exc
    finally:
        if loader is not None:
            loader.dispose()
    _count_expanded(data, name)
    return data


def _count_expanded(data: Any, name: str) -> None:
    """Refuse a document whose aliases expand (shared subtrees counted each time) past the node limit."""
    seen = 0
    stack = [data]
    while stack:
        cur = stack.pop()
        seen += 1
        if seen > MAX_YAML_NODES:
            raise InvalidInputError(f"{name}: YAML expands to more than {MAX_YAML_NODES} values (an alias bomb?)")
        if isinstance(cur, dict):
            stack.extend(cur.keys())
            stack.extend(cur.values())
        elif isinstance(cur, (list, tuple, set)):
            stack.extend(cur)


def check_scrypt(n_log2: int, r: int, p: int, name: str) -> None:
    """Refuse key-derivation parameters a hostile file could use to exhaust memory or time."""
    if not (10 <= n_log2 <= 24 and 1 <= r <= 32 and 1 <= p <= 16):
        raise InvalidInputError(f"{name}: unsupported key-derivation parameters (n=2^{n_log2}, r={r}, p={p})")
    if 128 * r * (1 << n_log2) > SCRYPT_MAX_MEMORY or (1 << n_log2) * r * p > SCRYPT_MAX_WORK:
        raise InvalidInputError(
            f"{name}: the file asks for a key derivation of n=2^{n_log2}, r={r}, p={p}, over mirror_kit's "
            f"limit ({SCRYPT_MAX_MEMORY // 1024**2} MiB, {SCRYPT_MAX_WORK // (2**15 * 8)}x the default work); refusing it")


# C0 control characters other than tab, newline, carriage return and form feed (a page break in
# plain text files): no journal text holds them; NUL in particular makes a Markdown export that the
# notes importer refuses as binary. Text importers refuse them as well (binary data).
_STORED_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def check_controls(text: str, field: str, where: str) -> None:
    """InvalidInputError naming `field` when `text` holds a control character no journal text holds."""
    m = _STORED_CONTROLS.search(text)
    if m:
        ch = m.group()
        what = "a NUL byte" if ch == "\x00" else f"control character U+{ord(ch):04X}"
        raise InvalidInputError(f"{where}: field {field!r} holds {what} at character {m.start()} "
                                "(binary data?); tab, newline, carriage return and form feed are the only control characters kept")


def check_title(title: Any, where: str) -> str | None:
    """A title as stored: None or a string of at most MAX_TITLE_CHARS characters."""
    if title is None:
        return None
    if not isinstance(title, str):
        raise InvalidInputError(f"{where}: field 'title' must be text, got {type(title).__name__}")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInputError(f"{where}: field 'title' is {len(title):,} characters, over the limit of "
                                f"{MAX_TITLE_CHARS:,}")
    check_controls(title, "title", where)
    return title


def check_tags(tags: list[str], where: str) -> list[str]:
    """Tags as stored: at most MAX_TAGS_PER_REFLECTION, each at most MAX_TAG_CHARS characters."""
    if len(tags) > MAX_TAGS_PER_REFLECTION:
        raise InvalidInputError(f"{where}: {len(tags):,} tags, over the limit of {MAX_TAGS_PER_REFLECTION:,}")
    for t in tags:
        if len(t) > MAX_TAG_CHARS:
            raise InvalidInputError(f"{where}: tag {t[:30]!r}... is {len(t):,} characters, over the limit of "
                                    f"{MAX_TAG_CHARS}")
    return tags


def json_lines_hint(exc: BaseException) -> str:
    """"; it looks like JSON Lines ..." when a JSON error is a second document at the start of a line
    (one object per line, which no importer reads), else ""."""
    import json

    if isinstance(exc, json.JSONDecodeError) and exc.msg == "Extra data" and exc.colno == 1:
        return ("; it looks like JSON Lines (one object per line), which is not an export: import a CSV "
                "with a date and a text column, a jrnl/Day One export, or a mirror_kit JSON export")
    return ""
