"""The Embedder against sentence-transformers, long texts, precision, and no network."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from mirror_kit.embedding import DEFAULT_MODEL, Embedder, ModelNotAvailableError
from mirror_kit.embedding import model as model_mod
from mirror_kit.errors import InvalidInputError

pytestmark = pytest.mark.slow

TEXTS = [
    "I walked by the river this morning and felt calm for the first time in weeks.",
    "Work was overwhelming. Three deadlines, no sleep, and my manager wants more.",
    "Had dinner with Sam; we laughed about the old apartment.",
    "",
    "   leading and trailing spaces   ",
    "ok",
    "Why do I keep choosing the safe option?",
    "Je me sens seul ce soir, mais c'est une solitude douce.",
    "Heute war ein guter Tag. Ich habe lange gelesen.",
    "今日はとても疲れたけど、少し幸せだった。",
    "Feeling 😊 after the run!!! 10k in 52:13 #running",
    "URL test: https://example.com/a?b=c&d=e and an email me@example.org",
    "Numbers 3.14159, 2,718, -42, 1e10 and dates 2024-03-05.",
    "line one\nline two\n\n\tline three with a tab",
    "ALL CAPS SHOUTING ABOUT THE TRAIN BEING LATE AGAIN",
    "The meeting was fine. The meeting was fine. The meeting was fine.",
    "My daughter took her first steps today and I cried.",
    "I quit. I finally quit. Terrified and relieved in equal parts.",
    "Meditation: 20 minutes. Mind wandered constantly but I came back each time.",
    "Grief comes in waves; today it was a small one.",
    "Cooked risotto, burned the bottom, ate it anyway.",
    "Should I move to Lisbon? Change feels necessary but stability matters too.",
    "a " * 120,
    "Therapy session: we talked about control and letting go, about how I plan everything.",
    " ".join(["This is a moderately long reflection about learning to rest."] * 18),
    "Rain. Tea. Book. Nothing else needed.",
    "Argued with mom about the holidays; I want to do things differently this year.",
    "Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic",
    "🙂🙃😉",
    "Read about stoicism; reason versus feeling, I keep swinging between them.",
    "Volunteered at the shelter; being useful felt better than being productive.",
    "Nothing happened today.",
]


@pytest.fixture(scope="module")
def st_vectors(embedder):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(embedder.location, device="cpu")
    return st.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True), st


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_matches_sentence_transformers(embedder, st_vectors, precision):
    ref, _ = st_vectors
    emb = Embedder(precision=precision, batch_size=7)  # several batches of mixed lengths
    assert emb.resolved_precision == precision
    assert emb.backend == ("onnx" if precision == "fp32" else "torch")
    ours = emb.encode(TEXTS)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cos = (ours * ref).sum(axis=1)
    assert cos.min() >= 0.9999, (precision, float(cos.min()), TEXTS[int(cos.argmin())])
    # every text fits the window, so nothing was split
    assert all(len(emb.windows(t)) == 1 for t in TEXTS)


def test_order_and_batching_do_not_change_vectors(embedder):
    a = Embedder(precision="fp32", batch_size=1).encode(TEXTS[:10])
    b = Embedder(precision="fp32", batch_size=64).encode(TEXTS[:10][::-1])[::-1]
    assert ((a * b).sum(axis=1) > 0.99999).all()


def test_auto_precision_is_fp32_on_every_cpu(embedder):
    # the same vectors on every machine; bf16 is an explicit choice
    assert Embedder(precision="auto").resolved_precision == "fp32"
    assert Embedder(precision="bf16").backend == "torch"


def _long_text() -> str:
    first = "I spent the whole afternoon cooking pasta, chopping garlic and tasting the sauce. " * 16
    second = "Later we climbed the mountain ridge in cold wind, snow on the summit and rocks underfoot. " * 16
    return first + second


def test_long_text_is_split_into_windows_covering_it(embedder):
    text = _long_text()
    ids = embedder.tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > 2 * embedder.window
    wins = embedder.windows(text)
    assert len(wins) >= 3
    assert all(len(w) <= embedder.window for w in wins)
    cls, sep = embedder.tokenizer.cls_token_id, embedder.tokenizer.sep_token_id
    assert all(w[0] == cls and w[-1] == sep for w in wins)
    # consecutive windows overlap by `overlap` wordpieces and together cover every token once
    rebuilt = list(wins[0][1:-1])
    for w in wins[1:]:
        body = w[1:-1]
        assert rebuilt[-embedder.overlap:] == body[: embedder.overlap]
        rebuilt += body[embedder.overlap:]
    assert rebuilt == ids


def test_a_very_long_text_is_embedded_from_a_bounded_number_of_evenly_spread_windows(embedder):
    from mirror_kit.embedding.model import MAX_WINDOWS

    # distinct numbered sentences, so every window's wordpieces are unique and can be located
    text = " ".join(f"Day {i}: I walked {i * 7} steps along the river with my sister." for i in range(3000))
    ids = embedder.tokenizer(text, add_special_tokens=False)["input_ids"]
    starts = list(range(0, len(ids) - embedder.overlap, embedder.stride))
    assert len(starts) > 4 * MAX_WINDOWS
    wins = embedder.windows(text)
    assert len(wins) == MAX_WINDOWS and all(len(w) <= embedder.window for w in wins)
    assert wins[0][1:-1] == ids[:embedder.span] and wins[-1][1:-1] == ids[starts[-1]:]
    # evenly spread: every chosen window is one of the full list, at near-equal steps
    bodies = {tuple(ids[s:s + embedder.span]): i for i, s in enumerate(starts)}
    picked = [bodies[tuple(w[1:-1])] for w in wins]
    gaps = np.diff(picked)
    assert gaps.min() >= 1 and gaps.max() - gaps.min() <= 1
    assert embedder.windows(text) == wins  # deterministic
    assert embedder.encode([text]).shape == (1, embedder.dim)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_long_text_pooled_not_truncated(embedder, st_vectors, precision):
    import torch

    _, st = st_vectors
    text = _long_text()
    emb = Embedder(precision=precision)
    ours = emb.encode([text, "short one"])[0]
    truncated = st.encode([text], normalize_embeddings=True)[0]
    assert float(ours @ truncated) < 0.97  # the mountain half counts

    # manual pooling: each window through the model alone, mean-pooled, normalised, then a
    # token-count-weighted mean of the windows, normalised
    chunks, weights = [], []
    with torch.inference_mode():
        for w in emb.windows(text):
            out = emb.model(input_ids=torch.tensor([w]), attention_mask=torch.ones(1, len(w), dtype=torch.long))
            v = out.last_hidden_state[0].float().mean(0).numpy()
            chunks.append(v / np.linalg.norm(v))
            weights.append(len(w))
    manual = (np.asarray(chunks) * np.asarray(weights)[:, None]).sum(0)
    manual /= np.linalg.norm(manual)
    assert float(ours @ manual) >= 0.9999


def _block_sockets(monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return calls


def test_loads_and_encodes_with_sockets_blocked(monkeypatch, embedder, st_vectors):
    shared = embedder.model  # the torch model loaded before the blockade
    calls = _block_sockets(monkeypatch)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    # force a real load from disk (not the per-process cache)
    monkeypatch.setattr(model_mod, "_LOADED", {})
    monkeypatch.setattr(model_mod, "_FAST", {})
    monkeypatch.setattr(model_mod, "_ONNX", {})
    emb = Embedder(precision="fp32", backend="torch")
    assert emb.model is not shared
    vecs = emb.encode(TEXTS[:5])
    assert ((vecs * st_vectors[0][:5]).sum(axis=1) >= 0.9999).all()
    onnx = Embedder(precision="fp32", backend="onnx")  # the cached graph, reloaded from disk
    assert ((onnx.encode(TEXTS[:5]) * st_vectors[0][:5]).sum(axis=1) >= 0.9999).all()
    assert calls == []


def test_unknown_model_fails_clearly_without_network(monkeypatch):
    _block_sockets(monkeypatch)
    with pytest.raises(ModelNotAvailableError, match="local files"):
        Embedder("no-such-org/no-such-model-xyz")


def test_model_dir_and_aliases_name_the_default(embedder):
    assert embedder.model_name == DEFAULT_MODEL
    assert Embedder(embedder.location).model_name == DEFAULT_MODEL
    assert Embedder("all-MiniLM-L6-v2").model_name == DEFAULT_MODEL
    assert embedder.window == 256 and embedder.dim == 384


def test_bad_arguments(embedder, tmp_path):
    with pytest.raises(InvalidInputError, match="precision"):
        Embedder(precision="int4")
    with pytest.raises(InvalidInputError, match="batch_size"):
        Embedder(batch_size=0)
    with pytest.raises(InvalidInputError, match="list of texts"):
        embedder.encode("one string")
    with pytest.raises(InvalidInputError, match="text #1"):
        embedder.encode(["ok", None])
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    with pytest.raises(InvalidInputError, match="is a file"):
        Embedder(f)
    assert embedder.encode([]).shape == (0, 384)
