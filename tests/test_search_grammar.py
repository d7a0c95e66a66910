"""The search grammar (`caf*` prefixes, `"new job"` phrases, `-coffee` / `NOT coffee` exclusions,
`race OR marathon`) means one thing on every surface: `journal.search` and its `total`,
`reflections.search(text=)`, `Search.count`, the Explorer state, the CLI, a real `mirror-kit serve`
(`/api/search` and `/api/reflections?q=`) and the report's browser code in a real Chromium. The
expected sets come from tests/search_oracle.py, which reads SQLite's index terms and positions and is
given each query's meaning by hand, not by mirror_kit's parser."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.parse
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mirror_kit
from mirror_kit.errors import InvalidInputError
from mirror_kit.search import search_service
from mirror_kit.search_words import (
    MAX_K,
    MAX_QUERY_CHARS,
    NO_WORD,
    ONLY_EXCLUDED,
    browser_js,
    check_query,
    fts_match,
    parse,
)
from tests.plugins.server import serving
from tests.plugins.store import run_cli
from tests.search_oracle import grammar_ids

# key: (content, title)
TEXTS = {
    "cafe": ("Morning at the café with Dana.", None),
    "cafe_coffee": ("Coffee at the cafe before work.", None),
    "caffeine": ("Too much caffeine again.", None),
    "running": ("Running late, the runner in me sighed.", None),
    "new_job": ("Started a new job today.", None),
    "job_new": ("The job is not new anymore.", None),
    "race_marathon": ("Race day: the marathon was hard.", None),
    "marathon": ("A quiet marathon of reading.", None),
    "race_training": ("Race training in the rain.", None),
    "nothing": ("Nothing related.", None),
    "title_phrase": ("First week notes.", "New job"),
    "email": ("My e-mail inbox is full; the job search goes on.", None),
    "runs_cafes": ("Dana runs to the cafés.", None),
    "split_phrase": ("job", "New"),  # a phrase never runs from the title into the text
}

# query -> its meaning, written by hand for the oracle: (every one of these groups, none of these)
QUERIES = {
    "caf*": ([["caf*"]], []),
    "run*": ([["run*"]], []),
    "Cafés*": ([["cafes*"]], []),
    "cafe -coffee": ([["cafe"]], ["coffee"]),
    "cafe NOT coffee": ([["cafe"]], ["coffee"]),
    '"new job"': ([["new job"]], []),
    "“new job”": ([["new job"]], []),
    '"new jo"*': ([["new jo*"]], []),
    "race OR marathon": ([["race", "marathon"]], []),
    "race OR marathon -training": ([["race", "marathon"]], ["training"]),
    "day race OR marathon": ([["day"], ["race", "marathon"]], []),
    "e-mail job": ([["e mail"], ["job"]], []),
    '-"new job" job': ([["job"]], ["new job"]),
    "run* NOT caf*": ([["run*"]], ["caf*"]),
    "the job -the": ([["job"]], ["the"]),
    'job(search "inbox" OR x': ([["job search"], ["inbox", "x"]], []),  # a parenthesis is no syntax
}
# meaningless: refused in one line everywhere
REFUSED = {"-coffee": ONLY_EXCLUDED, "NOT coffee": ONLY_EXCLUDED, '-"new job" -caf*': ONLY_EXCLUDED,
           "*": NO_WORD, '""': NO_WORD, "NOT": NO_WORD, "OR": NO_WORD, "- -": NO_WORD, "NOT ☕": NO_WORD}


@pytest.fixture(scope="module")
def grammar_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("grammar") / "j.db"
    with mirror_kit.open(db) as j:
        j.identities.add("maya")
        ids = {key: j.reflections.add("maya", text, f"2024-03-{i + 1:02d}", title=title).id
               for i, (key, (text, title)) in enumerate(TEXTS.items())}
    return db, ids


def _want(db, query):
    wanted, excluded = QUERIES[query]
    return grammar_ids(db, wanted, excluded)


def test_oracle_agrees_with_hand_made_expectations(grammar_db):
    db, ids = grammar_db
    expect = {
        "caf*": {"cafe", "cafe_coffee", "caffeine", "runs_cafes"},
        "run*": {"running", "runs_cafes"},
        "cafe -coffee": {"cafe", "runs_cafes"},
        '"new job"': {"new_job", "title_phrase"},
        "race OR marathon": {"race_marathon", "marathon", "race_training"},
        "race OR marathon -training": {"race_marathon", "marathon"},
        '-"new job" job': {"job_new", "email", "split_phrase"},
        "run* NOT caf*": {"running"},
    }
    for query, keys in expect.items():
        assert _want(db, query) == {ids[k] for k in keys}, query


@pytest.mark.parametrize("query", list(QUERIES))
def test_python_api_list_and_count_follow_the_grammar(grammar_db, query):
    db, _ = grammar_db
    want = _want(db, query)
    assert want, query  # every query finds something: the test can tell a rule from no rule
    with mirror_kit.open(db, readonly=True) as j:
        df = j.search(query, identity="maya", mode="text", k=MAX_K)
        assert set(df["reflection_id"]) == want and df.attrs["total"] == len(want)
        cut = j.search(query, identity="maya", mode="text", k=1)
        assert cut.attrs["total"] == len(want)  # counted by the same rule when k cuts the list
        assert search_service(j).count(query, identity="maya") == len(want)
        assert {r.id for r in j.reflections.search("maya", text=query, limit=500)} == want
        hybrid = j.search(query, identity="maya", k=MAX_K)
        assert set(hybrid.loc[hybrid["fts_rank"].notna(), "reflection_id"]) == want


def test_before_the_grammar_these_queries_meant_something_else(grammar_db):
    # the plain every-word rule would read NOT, OR and the dash as words: these sets differ from it
    db, _ = grammar_db
    with mirror_kit.open(db, readonly=True) as j:
        assert len(j.search("cafe NOT coffee", identity="maya", mode="text")) == 2
        assert len(j.search("race OR marathon", identity="maya", mode="text")) == 3
        assert len(j.search("caf*", identity="maya", mode="text")) == 4


@pytest.mark.parametrize("query", list(REFUSED))
def test_meaningless_queries_are_refused_in_one_line_in_every_mode(grammar_db, query):
    db, _ = grammar_db
    with mirror_kit.open(db, readonly=True) as j:
        for mode in ("text", "meaning", "hybrid"):
            with pytest.raises(InvalidInputError) as exc:
                j.search(query, identity="maya", mode=mode)
            assert str(exc.value) == REFUSED[query]
        with pytest.raises(InvalidInputError, match="^" + REFUSED[query][:30]):
            j.reflections.search("maya", text=query)
        with pytest.raises(InvalidInputError):
            search_service(j).count(query)


def test_exclusions_filter_meaning_and_hybrid_and_meaning_embeds_only_the_wanted_words(grammar_db):
    db, ids = grammar_db
    assert parse('cafe -coffee "new job"* OR run').meaning_text() == "cafe new job run"
    assert parse("the races and the trainings").meaning_text() == "the races and the trainings"
    with mirror_kit.open(db, readonly=True) as j:
        every = len(TEXTS)
        plain = j.search("cafe", identity="maya", mode="meaning", k=every)
        assert ids["cafe_coffee"] in set(plain["reflection_id"]) and len(plain) == every
        for mode in ("meaning", "hybrid"):
            got = set(j.search("cafe -coffee", identity="maya", mode=mode, k=every)["reflection_id"])
            assert ids["cafe_coffee"] not in got and len(got) == every - 1, mode
            got = set(j.search("cafe NOT caf*", identity="maya", mode=mode, k=every)["reflection_id"])
            assert got.isdisjoint(_want(db, "caf*")) and len(got) == every - 4, mode


def test_the_length_limit_holds_for_queries_with_operators(grammar_db):
    db, _ = grammar_db
    at_limit = ('"new job" ' + "-x " * MAX_QUERY_CHARS)[:MAX_QUERY_CHARS]
    assert check_query(at_limit) == at_limit
    with pytest.raises(InvalidInputError, match=f"over the limit of {MAX_QUERY_CHARS}"):
        check_query(at_limit + "*")


_ALPHABET = st.sampled_from(list('ab é"“”*-()^:+.,\'{}[]') + [" OR ", " NOT ", " AND ", "NEAR", " -", "*\"", "\n"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_ALPHABET, max_size=14).map("".join))
def test_no_typed_text_is_fts5_syntax(text):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(title, content, tokenize='porter unicode61 remove_diacritics 2')")
    con.execute("INSERT INTO f VALUES ('a b', 'b a é')")
    match = fts_match(text)
    try:
        check_query(text)
    except InvalidInputError:
        assert match is None
        return
    con.execute("SELECT count(*) FROM f WHERE f MATCH ?", (match,)).fetchone()  # never a syntax error


def test_cli_reads_the_grammar_and_refuses_meaningless_queries_in_one_line(grammar_db, tmp_path):
    db, _ = grammar_db
    base = ["--db", str(db), "search", "-i", "maya", "--mode", "text"]
    query = "race OR marathon -training"
    p = run_cli(*base, "--json", query, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert {r["reflection_id"] for r in json.loads(p.stdout)} == _want(db, query)
    p = run_cli(*base, "--k", "1", "caf*", cwd=tmp_path)
    assert p.returncode == 0 and f"showing 1 of {len(_want(db, 'caf*'))} matches" in p.stderr, p.stderr
    for args in (['""'], ["--mode", "meaning", "--", "-caf*"]):
        p = run_cli(*base, *args, cwd=tmp_path)
        assert p.returncode != 0 and "Traceback" not in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and ("leave out" in p.stderr or NO_WORD in p.stderr), p.stderr


def test_http_routes_read_the_grammar_and_agree_on_totals(grammar_db, tmp_path):
    db, _ = grammar_db
    with mirror_kit.open(db) as j:
        token = j.tokens.create("maya", "read")[0]

    def get(base: str, path: str) -> tuple[int, dict]:
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    with serving(db, tmp_path) as (base, _):
        for query in QUERIES:
            want = _want(db, query)
            q = urllib.parse.quote(query, safe="")
            code, body = get(base, f"/api/search?q={q}&mode=text&k=1")
            assert code == 200 and body["total"] == len(want), (query, body)
            code, body = get(base, f"/api/search?q={q}&mode=text&k={MAX_K}")
            assert {h["reflection_id"] for h in body["data"]} == want, query
            code, body = get(base, f"/api/reflections?q={q}&limit=500")
            assert code == 200 and {r["id"] for r in body["data"]["items"]} == want, query
        for query, message in REFUSED.items():
            q = urllib.parse.quote(query, safe="")
            for path in (f"/api/search?q={q}&mode=hybrid", f"/api/reflections?q={q}"):
                code, body = get(base, path)
                assert (code, body["message"]) == (400, message), (path, body)


def test_explorer_search_box_reads_the_grammar_and_its_total(grammar_db):
    from mirror_kit.viz.state import ExplorerState

    db, _ = grammar_db
    with mirror_kit.open(db, readonly=True) as j:
        s = ExplorerState(j, "maya")
        for query in QUERIES:
            want = _want(db, query)
            s.search(query)
            assert set(s.selected) == want, query
            s.search(query, k=1)
            assert len(s.selected) == 1 and s.selection_total == len(want), query
        with pytest.raises(InvalidInputError, match="leave out"):
            s.search("-coffee")


def test_explorer_box_shows_the_syntax_and_reads_it(grammar_db):
    from mirror_kit.viz.explorer import Explorer

    db, _ = grammar_db
    with mirror_kit.open(db, readonly=True) as j:
        ex = Explorer(j)
        ex.identity.value = "maya"
        assert all(s in ex.search.placeholder for s in ("caf*", '"new job"', "-coffee"))
        ex.search.value = "cafe -coffee"
        assert set(ex.state.selected) == _want(db, "cafe -coffee")
        assert "search “cafe -coffee” · 2 reflections" in ex.text.value


def test_report_browser_code_reads_the_grammar_as_python(grammar_db, browser):
    db, ids = grammar_db
    docs = {ids[k]: [title or "", text] for k, (text, title) in TEXTS.items()}
    page = browser.new_page()
    try:
        page.set_content(f"<script>{browser_js()}</script>")
        got = page.evaluate("""([docs, queries]) => queries.map(q => {
            const p = mkParseQuery(q);
            return p.error || Object.keys(docs).filter(id => p.matches(mkSearchDoc(docs[id])));
        })""", [docs, list(QUERIES) + list(REFUSED)])
    finally:
        page.close()
    for query, hits in zip(list(QUERIES) + list(REFUSED), got, strict=True):
        if query in REFUSED:
            assert hits == REFUSED[query], query
        else:
            assert set(hits) == _want(db, query), query


@settings(max_examples=1, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_ALPHABET, max_size=12).map("".join), min_size=400, max_size=400))
def test_browser_and_python_parse_every_query_alike(browser, queries):
    def shape(q):
        return [[[list(t.words), t.prefix] for t in g] for g in q.groups], [[list(t.words), t.prefix] for t in q.excluded]

    page = browser.new_page()
    try:
        page.set_content(f"<script>{browser_js()}</script>")
        got = page.evaluate("""qs => qs.map(q => { const p = mkParseQuery(q);
            return [p.groups.map(g => g.map(t => [t.words, t.prefix])), p.excluded.map(t => [t.words, t.prefix])]; })""",
                            queries)
    finally:
        page.close()
    for q, js in zip(queries, got, strict=True):
        assert js == [list(x) for x in shape(parse(q))], q


@pytest.fixture(scope="module")
def sample_report(viz_sample_db, tmp_path_factory):
    from tests.plugins.viz import serve_directory

    out = tmp_path_factory.mktemp("grammar-report") / "report.html"
    with mirror_kit.open(viz_sample_db, readonly=True) as j:
        j.viz.report("maya", out)
    server, base = serve_directory(out.parent)
    yield out, f"{base}/{out.name}"
    server.shutdown()


def test_report_search_box_reads_the_grammar_as_journal_search(sample_report, viz_sample_db, browser):
    from mirror_kit.viz.report import SNIPPET_SAFE

    path, url = sample_report
    page_html = path.read_text(encoding="utf-8")
    start = page_html.index('"fig-map",')
    traces, _ = json.JSONDecoder().raw_decode(page_html[start + len('"fig-map",'):].lstrip())
    points = [str(cd[0]) for t in traces for cd in (t.get("customdata") or [])]
    with mirror_kit.open(viz_sample_db, readonly=True) as j:
        content = dict(j.execute("SELECT id, content FROM reflections").fetchall())
        # a phrase across the cut between the hover snippet and the text the point carries beside it
        across = None
        for rid in points:
            flat = " ".join(content[rid].split())
            cut = flat.rfind(" ", 0, SNIPPET_SAFE) + 1
            if len(flat) > 160 and cut > 0:
                a, b = flat[:cut].split()[-1], flat[cut:].split()[0]
                if a.isalpha() and b.isalpha():
                    across = f'"{a} {b}"'
                    break
        assert across is not None
        queries = ["caf* -coffee", "race OR marathon -training", '"long run"', "run* NOT caf*", across]
        want = {}
        for q in queries:
            hits = set(j.search(q, identity="maya", mode="text", k=MAX_K)["reflection_id"])
            want[q] = sum(1 for rid in points if rid in hits)
            assert 0 < want[q] < len(points), q
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        page.goto(url)
        page.wait_for_selector("#mk-search-box", timeout=60_000)
        for q in [*queries, "-coffee"]:
            page.fill("#mk-search-box", "")
            page.wait_for_function("document.getElementById('mk-search-count').textContent === ''", timeout=10_000)
            page.fill("#mk-search-box", q)
            page.wait_for_function("document.getElementById('mk-search-count').textContent.length > 0",
                                   timeout=10_000)
            expect = ONLY_EXCLUDED if q == "-coffee" else f"{want[q]} of {len(points)} reflections on the map match"
            assert page.text_content("#mk-search-count") == expect, q
    finally:
        page.close()


def test_min_similarity_leaves_out_weak_meaning_matches_and_is_off_by_default(grammar_db, tmp_path):
    db, _ = grammar_db
    every = len(TEXTS)
    with mirror_kit.open(db, readonly=True) as j:
        plain = j.search("zxqv blorf", identity="maya", mode="meaning", k=every)
        assert len(plain) == every  # nonsense still gets k neighbours without the bound
        cut = float(plain["similarity"].median())
        strong = set(plain.loc[plain["similarity"] >= cut, "reflection_id"])
        got = j.search("zxqv blorf", identity="maya", mode="meaning", k=every, min_similarity=cut)
        assert set(got["reflection_id"]) == strong and 0 < len(got) < every
        assert list(got["vector_rank"]) == list(range(1, len(got) + 1))
        assert len(j.search("zxqv blorf", identity="maya", mode="meaning", min_similarity=1.0)) == 0
        # hybrid keeps its word matches whatever their similarity
        hybrid = j.search("caf*", identity="maya", k=every, min_similarity=1.0)
        assert set(hybrid["reflection_id"]) == _want(db, "caf*") and hybrid["similarity"].isna().all()
        for bad, mode in ((1.5, "meaning"), (float("nan"), "hybrid"), ("0.3", "meaning"), (0.3, "text")):
            with pytest.raises(InvalidInputError, match="min_similarity"):
                j.search("cafe", identity="maya", mode=mode, min_similarity=bad)
    p = run_cli("--db", str(db), "search", "zxqv blorf", "-i", "maya", "--mode", "meaning", "--k", str(every),
                "--min-similarity", str(cut), "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert {r["reflection_id"] for r in json.loads(p.stdout)} == strong
    p = run_cli("--db", str(db), "search", "cafe", "-i", "maya", "--mode", "text", "--min-similarity", "0.2",
                cwd=tmp_path)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1 and "min_similarity" in p.stderr
    with mirror_kit.open(db) as j:
        token = j.tokens.create("maya", "read")[0]
    with serving(db, tmp_path) as (base, _):
        for query, code in ((f"min_similarity={cut}", 200), ("min_similarity=2", 400)):
            req = urllib.request.Request(f"{base}/api/search?q=zxqv+blorf&mode=meaning&k={every}&{query}",
                                         headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, body = r.status, json.loads(r.read())
            except urllib.error.HTTPError as exc:
                status, body = exc.code, json.loads(exc.read())
            assert status == code, body
            if code == 200:
                assert {h["reflection_id"] for h in body["data"]} == strong
            else:
                assert body["message"].startswith("min_similarity must be a number from -1 to 1")


@pytest.mark.parametrize("hover", [140, 80], ids=["snippet-140", "large-map-snippet-80"])
def test_a_map_point_carries_every_word_of_its_text_in_order_once(hover):
    import html

    from mirror_kit.search_words import TOKEN, fold
    from mirror_kit.viz.plots import _snippet
    from mirror_kit.viz.report import search_extra

    texts = ["Short one, no cut.", "A" * 150, ("Morning run " * 5) + "then a long talk about the NEW JOB at the café "
             "with Dana, who said the new job would wait " + "and so on " * 20, "x " * 49 + "tail word here " * 9]
    for text in texts:
        snippet = _snippet(text, hover)
        extra = search_extra("The Title", text, snippet)
        head, before, rest = extra.split("\n")
        shown = TOKEN.findall(fold(html.unescape(snippet.replace("<br>", " "))))
        joined = shown[:int(before)] + TOKEN.findall(rest) if rest else shown
        assert head == "the title"
        assert joined == TOKEN.findall(fold(text)), (hover, text[:30])
