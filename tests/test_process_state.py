"""Embedding, loading a model and importing CSV leave the process as they found it: torch threads,
the environment and the csv module's field size limit."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap

import pytest

from mirror_kit.process_state import csv_field_limit, limited_csv_reader, scoped_env, torch_threads


def test_model_load_embedding_and_csv_import_restore_process_state(tmp_path):
    # A fresh interpreter, so the model is really loaded (not taken from this process's cache).
    script = textwrap.dedent("""
        import csv, json, os, sys
        import torch
        import mirror_kit
        from mirror_kit.embedding import get_embedder

        os.environ.pop("HF_HUB_OFFLINE", None); os.environ.pop("TRANSFORMERS_OFFLINE", None)
        torch.set_num_threads(1)
        csv.field_size_limit(4321)
        before = (dict(os.environ), torch.get_num_threads(), csv.field_size_limit())
        emb = get_embedder(num_threads=2)
        emb.encode(["a quiet walk", "a loud party"])
        assert torch.get_num_threads() == 1
        path = sys.argv[1]
        with mirror_kit.open(path + "/j.db") as j:
            j.identities.add("maya")
            res = j.imports.run(path + "/in.csv", "maya", "csv")
        after = (dict(os.environ), torch.get_num_threads(), csv.field_size_limit())
        changed = sorted(k for k in set(before[0]) | set(after[0]) if before[0].get(k) != after[0].get(k))
        print(json.dumps({"changed_env": changed, "threads": after[1], "limit": after[2],
                          "added": res["added"] if "added" in res else res}))
    """)
    big = "x" * 10_000  # longer than the 4321 limit the caller set: read whole by the importer anyway
    (tmp_path / "in.csv").write_text(f"date,text\n2024-01-02,first day\n2024-01-03,{big}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["changed_env"] == []
    assert res["threads"] == 1
    assert res["limit"] == 4321


def test_scoped_env_keeps_what_the_user_set_and_removes_what_it_added(monkeypatch):
    monkeypatch.setenv("MK_USER_SET", "mine")
    monkeypatch.delenv("MK_ADDED", raising=False)
    with scoped_env(MK_USER_SET="theirs", MK_ADDED="1"):
        assert os.environ["MK_USER_SET"] == "mine" and os.environ["MK_ADDED"] == "1"
    assert os.environ["MK_USER_SET"] == "mine" and "MK_ADDED" not in os.environ


def test_torch_threads_and_csv_limit_restore_after_an_error():
    torch = pytest.importorskip("torch")
    before_threads, before_limit = torch.get_num_threads(), csv.field_size_limit()
    with pytest.raises(RuntimeError), torch_threads(before_threads + 1):
        assert torch.get_num_threads() == before_threads + 1
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError), csv_field_limit(before_limit + 7):
        raise RuntimeError("boom")
    assert (torch.get_num_threads(), csv.field_size_limit()) == (before_threads, before_limit)


def test_limited_csv_reader_raises_the_limit_only_while_parsing_a_row():
    limit = csv.field_size_limit()
    reader = limited_csv_reader(["a,b\n", "x," + "y" * (limit + 10) + "\n"], field_limit=limit + 100)
    assert next(reader) == ["a", "b"] and csv.field_size_limit() == limit
    assert len(next(reader)[1]) == limit + 10 and reader.line_num == 2
    assert csv.field_size_limit() == limit
