"""Stored embeddings: incremental runs, edits, model changes, read-only journals, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mirror_kit
from mirror_kit.cli import main as cli_main
from mirror_kit.embedding import DEFAULT_MODEL

pytestmark = pytest.mark.slow


def _fill(journal, n=12, name="maya"):
    journal.identities.add(name, exist_ok=True)
    # inserted out of chronological order on purpose
    recs = [
        {"content": f"{name} entry {i}: " + ["calm walk by the sea", "stressful deadline at work",
                                            "dinner with old friends"][i % 3],
         "created_at": f"2024-02-{(i * 7) % 28 + 1:02d}T08:{i:02d}:00Z", "tags": ["t"]}
        for i in range(n)
    ]
    return journal.reflections.add_many(name, recs)


def test_embed_is_incremental(journal, embedder):
    ids = _fill(journal)
    first = journal.embeddings.embed("maya")
    assert first["model"] == DEFAULT_MODEL
    assert (first["total"], first["embedded"], first["cached"]) == (12, 12, 0)
    again = journal.embeddings.embed("maya")
    assert (again["embedded"], again["cached"]) == (0, 12)

    journal.reflections.update(ids[2], content="a completely rewritten entry about mountains")
    new = journal.reflections.add("maya", "a brand new reflection", "2024-03-01")
    third = journal.embeddings.embed("maya")
    assert (third["total"], third["embedded"], third["cached"]) == (13, 2, 11)

    # stored vector = float32 bytes of the embedder's output for the current content
    row = journal.conn.execute(
        "SELECT dim, vector, content_hash FROM embeddings WHERE reflection_id = ? AND model = ?",
        (ids[2], DEFAULT_MODEL),
    ).fetchone()
    assert row["dim"] == 384 and len(row["vector"]) == 384 * 4
    assert row["content_hash"] == journal.reflections.get(ids[2]).content_hash
    vec = np.frombuffer(row["vector"], dtype="<f4")
    ref = embedder.encode(["a completely rewritten entry about mountains"])[0]
    assert float(vec @ ref) >= 0.9999

    runs = journal.runs.rows("embed", "maya")
    assert [r["counts"]["embedded"] for r in runs] == [12, 0, 2]
    assert all(r["status"] == "ok" and r["parameters"]["model"] == DEFAULT_MODEL for r in runs)
    assert new.id in journal.embeddings.matrix("maya")[0]


def test_embed_scopes_by_identity(journal, embedder):
    _fill(journal, 4, "maya")
    _fill(journal, 3, "sam")
    assert journal.embeddings.embed("sam")["embedded"] == 3
    assert journal.embeddings.embed()["embedded"] == 4  # all identities: only maya's remain
    n = journal.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    assert n == 7


def test_embeddings_chronological_and_computes_missing(journal, embedder):
    _fill(journal)
    ids, M = journal.embeddings.matrix("maya")
    expected = [r.id for r in journal.reflections.rows("maya")]
    assert ids == expected
    created = [journal.reflections.get(i).created_at for i in ids]
    assert created == sorted(created)
    assert M.dtype == np.float32 and M.shape == (12, 384)
    contents = [journal.reflections.get(i).content for i in ids]
    assert ((M * embedder.encode(contents)).sum(axis=1) >= 0.9999).all()
    assert journal.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 12
    assert len(journal.runs.rows("embed")) == 1
    ids2, M2 = journal.embeddings.matrix("maya")  # all cached: no new run
    assert ids2 == ids and np.array_equal(M, M2) and len(journal.runs.rows("embed")) == 1


def test_changing_model_recomputes(journal, embedder, tmp_path):
    from pathlib import Path

    _fill(journal, 5)
    journal.embeddings.embed("maya")
    # the same weights under another directory count as another model
    other = tmp_path / "my-model"
    other.mkdir()
    for f in Path(embedder.location).iterdir():
        (other / f.name).symlink_to(f)
    res = journal.embeddings.embed("maya", model=str(other))
    assert res["model"] == str(other.resolve()) and res["embedded"] == 5
    assert journal.embeddings.embed("maya", model=str(other))["embedded"] == 0
    models = {r[0] for r in journal.conn.execute("SELECT DISTINCT model FROM embeddings")}
    assert models == {DEFAULT_MODEL, str(other.resolve())}
    # the journal setting picks the model when none is given
    journal.settings.set("embedding.model", str(other))
    assert journal.embeddings.embed("maya")["model"] == str(other.resolve())


def test_deleting_a_reflection_drops_its_vectors(journal, embedder):
    ids = _fill(journal, 3)
    journal.embeddings.embed("maya")
    journal.reflections.delete(ids[0])
    assert journal.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 2
    assert ids[0] not in journal.embeddings.matrix("maya")[0]


def test_readonly_journal_computes_in_memory(journal_path, embedder):
    with mirror_kit.open(journal_path) as j:
        _fill(j, 4)
        j.embeddings.embed("maya")
        j.reflections.add("maya", "added after the embedding run", "2025-01-01")
    before = journal_path.read_bytes()
    with mirror_kit.open(journal_path, readonly=True) as ro:
        ids, M = ro.embeddings.matrix("maya")
        assert len(ids) == 5 and np.allclose(np.linalg.norm(M, axis=1), 1, atol=1e-5)
        ref = embedder.encode(["added after the embedding run"])[0]
        assert float(M[-1] @ ref) >= 0.9999
        with pytest.raises(mirror_kit.MirrorKitError, match="read-only"):
            ro.embeddings.embed("maya")
    assert journal_path.read_bytes() == before


def test_unknown_identity(journal):
    with pytest.raises(mirror_kit.MirrorKitError, match="unknown identity"):
        journal.embeddings.embed("nobody")


def test_cli_embed(journal_path, embedder, capsys):
    with mirror_kit.open(journal_path) as j:
        _fill(j, 3)
    assert cli_main(["--db", str(journal_path), "embed", "--identity", "maya", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["embedded"] == 3 and out["model"] == DEFAULT_MODEL
    assert cli_main(["--db", str(journal_path), "embed", "-i", "maya"]) == 0
    assert "0 embedded, 3 up to date" in capsys.readouterr().out
    assert cli_main(["--db", str(journal_path), "embed", "-i", "ghost"]) == 1
    assert "error: unknown identity 'ghost'" in capsys.readouterr().err


def test_progress_bar_on_request_only(journal, embedder, capsys):
    _fill(journal, 3)
    journal.embeddings.embed("maya", progress=False)
    assert "embedding" not in capsys.readouterr().err
    journal.reflections.add("maya", "one more", "2024-05-01")
    journal.embeddings.embed("maya", progress=True)
    err = capsys.readouterr().err
    assert "embedding" in err and "1/1" in err


def test_stored_embeddings_are_read_without_loading_the_model(sample_embedded_db):
    import subprocess
    import sys

    code = (
        "import sys, mirror_kit\n"
        f"j = mirror_kit.open({str(sample_embedded_db)!r}, readonly=True)\n"
        "ids, X = j.embeddings.matrix('maya')\n"
        "print(len(ids), X.shape[1], 'torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    n, dim, torch_loaded, transformers_loaded = out.stdout.split()
    assert int(n) == 539 and int(dim) == 384
    assert torch_loaded == "False" and transformers_loaded == "False"


def test_embed_with_nothing_new_loads_no_model(sample_journal_path):
    import subprocess
    import sys

    heavy = ("onnxruntime", "torch", "transformers", "tokenizers")
    code = (
        "import sys, json, mirror_kit\n"
        f"j = mirror_kit.open({str(sample_journal_path)!r})\n"
        "s = j.embeddings.embed('maya')\n"
        f"print(json.dumps([s['embedded'], s['cached'], s['model'], [m for m in {heavy!r} if m in sys.modules]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    embedded, cached, model, loaded = json.loads(out.stdout)
    assert (embedded, cached, model) == (0, 539, DEFAULT_MODEL)
    assert loaded == []
    # The CLI path reports the same through the same call, and imports none of them either.
    driver = (f"import sys, atexit; atexit.register(lambda: print([m for m in {heavy!r} if m in sys.modules]))\n"
              "from mirror_kit.cli import run; run()")
    cli = subprocess.run([sys.executable, "-c", driver, "--db", str(sample_journal_path), "embed", "-i", "maya"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "0 embedded, 539 up to date" in cli.stdout and cli.stdout.rstrip().endswith("[]")
