"""Analysis at scale on the sample journal: incremental analyze (assign new reflections, drift refits,
--refit), chunked passes equal to unchunked ones, and `stats` numbers unchanged by its faster query."""

from __future__ import annotations

import json

import numpy as np

from mirror_kit import cli
from mirror_kit.patterns.model import PatternModel

# Unrelated to every theme of the sample journal: new reflections like these mean the themes moved.
_OFF_TOPIC = [
    "Filed the quarterly VAT return; line 14b needed the depreciation schedule of the rental flat.",
    "The compiler rejected the template specialisation again, a linker error about duplicate symbols.",
    "Read about the tariff schedule for imported steel and the anti-dumping duty calculation.",
    "Replaced the carburettor float needle on the old moped, then adjusted the idle screw.",
    "Spreadsheet of mortgage amortisation: the balloon payment in year seven looks wrong.",
    "Our insurer wants the claim form with the serial numbers of the stolen power tools.",
    "Tested the sump pump float switch and re-sealed the basement drain with hydraulic cement.",
    "Calculated the load on the roof trusses for the solar panels, snow load zone two.",
    "The municipal zoning board postponed the hearing on the variance for the garage setback.",
    "Patched the router firmware and moved the IoT devices to their own VLAN.",
    "Sorted the receipts for the deductible expenses and scanned the invoices into folders.",
    "Compared the fixed and variable electricity tariffs per kilowatt hour for next year.",
]


def _patterns_state(j, identity="maya"):
    ident = j.identities.get(identity)
    return {r["id"]: dict(r) for r in j.execute(
        "SELECT id, label, keywords, confidence, centroid, status, metadata, size FROM patterns "
        "WHERE identity_id = ?", (ident.id,))}


def _observations(j):
    return {(r[0], r[1]): tuple(r[2:]) for r in j.execute(
        "SELECT tension_id, reflection_id, position, intensity, model, created_at FROM tension_observations")}


def _similar_new(j, n):
    """n new reflections of maya, each a slightly reworded existing one (on-theme)."""
    rows = j.reflections.rows("maya")
    olds = rows[::len(rows) // n][:n]
    return [j.reflections.add("maya", o.content + " Same as before, really.", f"2025-12-{i + 1:02d}T08:00:00Z").id
            for i, o in enumerate(olds)]


def test_incremental_assigns_new_reflections_and_scores_only_them(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya")
    pid = next(iter(_patterns_state(j)))
    j.patterns.rename(pid, "My own name")
    before, obs_before = _patterns_state(j), _observations(j)
    runs_before = len(j.runs.rows("patterns", "maya"))
    new = _similar_new(j, 5)  # ~1% of maya's reflections

    out = j.analyze("maya")
    pat, ten = out["patterns"], out["tensions"]
    assert pat["mode"] == "incremental", pat
    assert pat["incremental"]["assigned"] + pat["incremental"]["unassigned"] == 5
    assert pat["incremental"]["assigned"] >= 4
    after = _patterns_state(j)
    # the fitted patterns are untouched: same ids, labels (the user's name too), centroids, scores
    assert set(after) == set(before)
    for p in before:
        for col in ("label", "keywords", "confidence", "centroid", "status", "metadata"):
            assert after[p][col] == before[p][col], (p, col)
    assert after[pid]["label"] == "My own name"
    assert sum(a["size"] for a in after.values()) == sum(b["size"] for b in before.values()) + \
        pat["incremental"]["assigned"]
    placed = {r[0] for r in j.execute(
        f"SELECT reflection_id FROM pattern_occurrences WHERE reflection_id IN ({','.join('?' * 5)})", new)}
    assert len(placed) == pat["incremental"]["assigned"]
    # tension observations: the old rows are left as they were, rows are appended for the new ids only
    obs_after = _observations(j)
    assert ten["mode"] == "incremental" and ten["scored"] == 5
    assert {k: v for k, v in obs_after.items() if k in obs_before} == obs_before
    added = set(obs_after) - set(obs_before)
    assert {rid for _, rid in added} == set(new) and len(added) == 5 * ten["tensions"]
    assert len(j.runs.rows("patterns", "maya")) == runs_before + 1
    # nothing new: nothing assigned, nothing scored (also within the same second)
    again = j.analyze("maya")
    assert again["patterns"]["mode"] == "incremental" and again["patterns"]["incremental"]["assigned"] == 0
    assert again["tensions"]["scored"] == 0


def test_drift_refits_and_says_why(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    for i, text in enumerate(_OFF_TOPIC):
        j.reflections.add("maya", text, f"2025-12-{i + 1:02d}T09:00:00Z")
    out = j.patterns.analyze("maya")
    assert out["mode"] == "refit" and out["reason"].startswith("drift:"), out
    last = j.runs.rows("patterns", "maya")[-1]
    assert last["metadata"]["mode"] == "refit" and last["metadata"]["reason"].startswith("drift:")


def test_many_new_reflections_refit_and_refit_flag_forces_it(patterns_analyzed_path, capsys):
    import mirror_kit

    db = str(patterns_analyzed_path)
    code = cli.main(["--db", db, "analyze", "--identity", "maya"])
    out = capsys.readouterr().out
    assert code == 0 and out.strip().splitlines()[-1].startswith("incremental: 0 assigned"), out
    code = cli.main(["--db", db, "analyze", "--identity", "maya", "--refit"])
    out = capsys.readouterr().out
    assert code == 0 and out.strip().splitlines()[-1] == "refit: asked for (--refit)", out
    with mirror_kit.open(db) as j:
        assert j.runs.rows("tensions", "maya")[-1]["metadata"]["mode"] == "full"
        before = set(_patterns_state(j))
        _similar_new(j, 8)
        for i, o in enumerate(j.reflections.rows("maya")[1::13][:20]):
            j.reflections.add("maya", o.content + " Again.", f"2025-11-{i + 1:02d}T08:00:00Z")
        out = j.patterns.analyze("maya")
        assert out["mode"] == "refit" and "more than 5%" in out["reason"], out
        # the same themes keep their ids through a refit
        assert len(before & set(_patterns_state(j))) >= 0.8 * len(before)


def test_chunked_and_sampled_fits_match_unchunked_and_ignore_row_order(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    ids, E = j.embeddings.matrix("maya")
    a = PatternModel(random_state=0).fit(E, ids=ids)
    b = PatternModel(random_state=0, chunk_size=7).fit(E, ids=ids)
    assert (a.labels_ == b.labels_).all()
    assert np.allclose(a.strengths_, b.strengths_, atol=1e-6)
    assert np.allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-6)
    assert a.patterns_["representatives"].tolist() == b.patterns_["representatives"].tolist()
    # a fit on a bounded sample still assigns every row, and does not depend on the row order
    s = PatternModel(random_state=0, fit_sample=200, chunk_size=50).fit(E, ids=ids)
    perm = np.random.default_rng(1).permutation(len(ids))
    t = PatternModel(random_state=0, fit_sample=200, chunk_size=64).fit(E[perm], ids=[ids[i] for i in perm])
    assert len(s.sample_index_) == 200 and s.info_["fit_sample"] == 200
    assert (t.labels_ == s.labels_[perm]).all()
    assert (s.predict(E) == s.labels_).all()
    # the services: patterns and tension scores in tiny chunks equal the default ones
    stored = _patterns_state(j)
    j.patterns.analyze("maya", refit=True, chunk_size=7)
    again = _patterns_state(j)
    assert {p: r["size"] for p, r in again.items()} == {p: r["size"] for p, r in stored.items()}
    j.tensions.analyze("maya", refit=True)
    full = {k: v[:2] for k, v in _observations(j).items()}
    j.tensions.analyze("maya", refit=True, chunk_size=7)
    small = {k: v[:2] for k, v in _observations(j).items()}
    keys = sorted(full)
    assert sorted(small) == keys and len(keys) == 5 * len(ids)
    # float32 products of 7 rows and of 4096 rows round differently in the last bits, nothing more
    assert np.allclose([small[k] for k in keys], [full[k] for k in keys], atol=1e-5)


_OLD_STATS = """
    SELECT i.name, i.id,
           (SELECT count(*) FROM reflections r WHERE r.identity_id = i.id) AS reflections,
           (SELECT min(created_at) FROM reflections r WHERE r.identity_id = i.id) AS first,
           (SELECT max(created_at) FROM reflections r WHERE r.identity_id = i.id) AS last,
           (SELECT count(DISTINCT rt.tag_id) FROM reflection_tags rt JOIN reflections r
                ON r.id = rt.reflection_id WHERE r.identity_id = i.id) AS tags,
           (SELECT count(*) FROM patterns p WHERE p.identity_id = i.id) AS patterns,
           (SELECT count(DISTINCT o.tension_id) FROM tension_observations o JOIN reflections r
                ON r.id = o.reflection_id WHERE r.identity_id = i.id) AS tensions,
           (SELECT count(*) FROM mirrorbacks m JOIN reflections r ON r.id = m.reflection_id
                WHERE r.identity_id = i.id) AS mirrorbacks
    FROM identities i ORDER BY i.name
"""


def test_stats_numbers_equal_the_distinct_count_definition(patterns_analyzed_journal):
    j = patterns_analyzed_journal
    j.tensions.analyze("maya", tensions=["solitude_connection", "surrender_agency"])
    j.identities.add("empty")
    j.tags.ids(["unused"])  # a tag no reflection carries counts for nobody
    old = [dict(r) for r in j.execute(_OLD_STATS)]
    new = j.stats()
    assert new == old
    by = {r["name"]: r for r in new}
    assert by["maya"]["tensions"] == 2 and by["sam"]["tensions"] == 0 and by["maya"]["tags"] > 0
    assert by["empty"]["reflections"] == 0 and by["empty"]["tags"] == 0
    json.dumps(new)


def test_edit_in_the_marks_own_second_is_seen(patterns_analyzed_journal):
    """Stored times have whole seconds: an edit re-embedded right after a mark is found by its new row."""
    j = patterns_analyzed_journal
    ident = j.identities.get("maya")
    mark = j.embeddings.mark()
    mark["at"] = "9999-12-31T23:59:59Z"  # only the row order may tell: as if in the mark's second
    target = j.reflections.rows("maya")[3]
    j.reflections.update(target.id, content=target.content + " Edited a moment later.")
    j.embeddings.ensure(ident)
    assert j.embeddings.changed_since(ident.id, mark) == [target.id]
