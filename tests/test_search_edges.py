"""The edges of search follow one rule on every surface (Python `journal.search` and
`reflections.search`, the CLI, a real `mirror-kit serve` on loopback, the Explorer state and the
report's box): tags typed `@x`, `#x` or `X` are one tag for writers and filters; a query of no word
is refused with one line (an empty `q` on the list route is no filter); one length limit, one cap on
k, and a reversed since/until range is refused."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import mirror_kit
from mirror_kit.errors import InvalidInputError
from mirror_kit.search_words import MAX_K, MAX_QUERY_CHARS, NO_WORD, browser_js
from tests.plugins.server import serving
from tests.plugins.store import run_cli

WORDLESS = ["   ", "(", '"', "*", "☕", "?!  ..."]


@pytest.fixture
def tagged(tmp_path):
    db = tmp_path / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        # jrnl writes `@UPPER`; the importer keeps the spelling after the symbol
        j.reflections.add("maya", "Upper body day at the gym.", "2024-03-01", tags=["@UPPER"])
        j.reflections.add("maya", "Quiet walk by the river.", "2024-03-05", tags=["walk"])
    return db


def _search_ids(j, **kw):
    return set(j.search("gym", identity="maya", mode="text", **kw)["reflection_id"])


def test_tag_filter_treats_at_hash_and_case_as_one_tag_in_python_api(tagged):
    with mirror_kit.open(tagged) as j:
        assert j.tags.counts()["tag"].tolist() in (["UPPER", "walk"], ["walk", "UPPER"])  # stored without '@'
        for spelling in ("@upper", "upper", "UPPER", "#upper", "@UPPER"):
            assert len(_search_ids(j, tag=spelling)) == 1, spelling
            assert len(j.reflections.search("maya", tag=spelling)) == 1, spelling


def test_cli_add_with_at_tag_joins_the_existing_tag(tagged, tmp_path):
    for spelling in ("@upper", "#upper"):
        p = run_cli("--db", str(tagged), "add", f"Upper again ({spelling}).", "-i", "maya", "--tag", spelling, cwd=tmp_path)
        assert p.returncode == 0, p.stderr
    with mirror_kit.open(tagged, readonly=True) as j:
        counts = j.tags.counts()
        assert counts.set_index("tag")["reflections"].to_dict() == {"UPPER": 3, "walk": 1}
    p = run_cli("--db", str(tagged), "search", "upper", "-i", "maya", "--tag", "@upper", "--mode", "text",
                "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)) == 3


def test_stored_at_tag_from_an_older_journal_is_the_same_tag(tagged):
    # a journal written before '@' was stripped holds `@upper` as its own row: no rewrite needed
    con = sqlite3.connect(tagged)
    with con:
        tid = con.execute("INSERT INTO tags (name) VALUES ('@upper')").lastrowid
        rid = con.execute("SELECT id FROM reflections WHERE content LIKE 'Quiet%'").fetchone()[0]
        con.execute("INSERT INTO reflection_tags (reflection_id, tag_id) VALUES (?, ?)", (rid, tid))
    con.close()
    with mirror_kit.open(tagged) as j:
        for spelling in ("upper", "@upper"):
            assert len(j.reflections.search("maya", tag=spelling)) == 2
        assert j.reflections.get(rid).tags == ["upper", "walk"]  # shown without the '@'
        assert "@upper" not in set(j.frame("tags")["tag"]) | {t for ts in j.frame("reflections")["tags"] for t in ts}
        assert j.tags.counts().set_index("tag")["reflections"].to_dict() == {"UPPER": 2, "walk": 1}
        j.tags.remove(rid, "UPPER")  # removing by any spelling removes the old row's link too
        assert j.reflections.get(rid).tags == ["walk"]


@pytest.mark.parametrize("query", ["", *WORDLESS])
def test_python_search_refuses_query_of_no_word_in_every_mode(tagged, query):
    with mirror_kit.open(tagged, readonly=True) as j:
        for mode in ("text", "meaning", "hybrid"):
            with pytest.raises(InvalidInputError, match="no word to search for"):
                j.search(query, identity="maya", mode=mode)
        if query:  # "" on the list is no filter
            with pytest.raises(InvalidInputError, match="no word to search for"):
                j.reflections.search("maya", text=query)
        else:
            assert len(j.reflections.search("maya", text=query)) == 2


def test_python_limits_on_length_k_and_range_are_one_line(tagged):
    with mirror_kit.open(tagged, readonly=True) as j:
        with pytest.raises(InvalidInputError, match=f"over the limit of {MAX_QUERY_CHARS}"):
            j.search("x" * (MAX_QUERY_CHARS + 1), identity="maya", mode="meaning")
        with pytest.raises(InvalidInputError, match=f"over the limit of {MAX_QUERY_CHARS}"):
            j.reflections.search("maya", text="x" * (MAX_QUERY_CHARS + 1))
        assert len(j.search("gym " + "x" * (MAX_QUERY_CHARS - 4), identity="maya", mode="text")) == 0
        for k in (0, MAX_K + 1, True):
            with pytest.raises(InvalidInputError, match=f"k must be an integer from 1 to {MAX_K}"):
                j.search("gym", identity="maya", k=k)
        with pytest.raises(InvalidInputError, match="since 2024-03-08 is after until 2024-03-01"):
            j.search("gym", identity="maya", since="2024-03-08", until="2024-03-01")
        with pytest.raises(InvalidInputError, match="is after until"):
            j.reflections.search("maya", since="2024-03-08", until="2024-03-01")
        assert len(_search_ids(j, since="2024-03-01", until="2024-03-01")) == 1  # one day is a range


def test_cli_refuses_wordless_long_query_big_k_and_reversed_range_in_one_line(tagged, tmp_path):
    base = ["--db", str(tagged), "search", "-i", "maya"]
    cases = {
        NO_WORD: [[q] for q in ("", "   ", "(", "☕")] + [["--mode", "meaning", '"']],
        f"over the limit of {MAX_QUERY_CHARS}": [["x" * 3000]],
        f"k must be an integer from 1 to {MAX_K}": [["gym", "--k", str(MAX_K + 1)], ["gym", "--k", "0"]],
        "since 2024-03-08 is after until 2024-03-01": [["gym", "--since", "2024-03-08", "--until", "2024-03-01"]],
    }
    for message, arg_lists in cases.items():
        for args in arg_lists:
            p = run_cli(*base, *args, cwd=tmp_path)
            assert p.returncode != 0 and message in p.stderr, (args, p.stderr)
            assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_cli_help_says_a_dash_query_goes_after_double_dash(tagged, tmp_path):
    p = run_cli("search", "--help", cwd=tmp_path)
    assert 'mirror-kit search --identity maya -- "-coffee cafe"' in " ".join(p.stdout.split())
    with mirror_kit.open(tagged) as j:
        j.reflections.add("maya", "Plus and minus of the plan.", "2024-03-07")
        j.reflections.add("maya", "Minus the coffee this time.", "2024-03-08")
    p = run_cli("--db", str(tagged), "search", "-i", "maya", "--mode", "text", "--json", "--", "-coffee minus",
                cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert [r["content"] for r in json.loads(p.stdout)] == ["Plus and minus of the plan."]


def _get(url: str, token: str) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_routes_follow_the_same_rules(tagged, tmp_path):
    with mirror_kit.open(tagged) as j:
        token = j.tokens.create("maya", "read")[0]

    def enc(v: str) -> str:
        return urllib.parse.quote(v, safe="")

    with serving(tagged, tmp_path) as (base, _):
        def get(path: str) -> tuple[int, dict]:
            return _get(base + path, token)

        for q in ["", *WORDLESS]:
            for mode in ("text", "meaning"):
                code, body = get(f"/api/search?q={enc(q)}&mode={mode}")
                assert (code, body["message"]) == (400, NO_WORD), (q, body)
            if q:
                code, body = get(f"/api/reflections?q={enc(q)}")
                assert (code, body["message"]) == (400, NO_WORD), (q, body)
        code, body = get("/api/reflections?q=")
        assert code == 200 and len(body["data"]["items"]) == 2  # an empty q is no filter
        long_q = enc("x" * (MAX_QUERY_CHARS + 1))
        for path in (f"/api/search?q={long_q}", f"/api/reflections?q={long_q}"):
            code, body = get(path)
            assert code == 400 and body["message"].endswith(f"over the limit of {MAX_QUERY_CHARS}"), body
        code, body = get(f"/api/search?q=gym&k={MAX_K + 1}")
        assert code == 400 and body["message"] == f"k must be an integer from 1 to {MAX_K}, got {MAX_K + 1}"
        for path in ("/api/search?q=gym&", "/api/reflections?"):
            code, body = get(path + "since=2024-03-08&until=2024-03-01")
            assert code == 400 and "is after until" in body["message"], body
        for spelling in ("@upper", "#upper", "UPPER"):
            code, body = get(f"/api/search?q=gym&mode=text&tag={enc(spelling)}")
            assert code == 200 and len(body["data"]) == 1, (spelling, body)
            code, body = get(f"/api/reflections?tag={enc(spelling)}")
            assert code == 200 and len(body["data"]["items"]) == 1, (spelling, body)


def test_explorer_state_refuses_a_wordless_query_and_clears_on_empty(tagged):
    from mirror_kit.viz.state import SEARCH_MAX, ExplorerState

    assert SEARCH_MAX == MAX_K
    with mirror_kit.open(tagged, readonly=True) as j:
        state = ExplorerState(j, identity="maya")
        assert len(state.search("gym")) == 1
        with pytest.raises(InvalidInputError, match="no word to search for"):
            state.search("  ☕ ")
        assert len(state.search("")) == 0


def test_report_box_uses_the_same_limit_and_refusal():
    js = browser_js()
    assert f"var MK_QUERY_MAX = {MAX_QUERY_CHARS};" in js and json.dumps(NO_WORD) in js
    template = (Path(__file__).resolve().parents[1] / "mirror_kit/viz/report_template/mirror_kit_report"
                / "index.html.j2").read_text()
    # the refusal lines reach the box through mkParseQuery's `error` (MK_NO_WORD, MK_ONLY_EXCLUDED)
    assert "maxlength=\"' + MK_QUERY_MAX" in template and "query.error" in template
    assert "MK_NO_WORD" in js and "MK_ONLY_EXCLUDED" in js


def test_cli_import_of_at_and_hash_tags_joins_the_existing_tag(tagged, tmp_path):
    csv_file = tmp_path / "more.csv"
    csv_file.write_text("date,text,tags\n2024-04-01,Upper day two.,@upper\n2024-04-02,Upper day three.,#Upper\n",
                        encoding="utf-8")
    p = run_cli("--db", str(tagged), "import", str(csv_file), "-i", "maya", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    with mirror_kit.open(tagged, readonly=True) as j:
        assert j.tags.counts().set_index("tag")["reflections"].to_dict() == {"UPPER": 3, "walk": 1}
        assert len(j.reflections.search("maya", tag="@Upper")) == 3
