"""A deterministic embedder for the quick tests of rules, registered for tests only.

Its vectors are hashed character unigrams and bigrams, L2-normalised: texts that share characters
are near, so retrieval and reading behave like the real model's lexical side, without loading it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from assistant.config import Config
from assistant.embed import Embedder, register_backend

FAKE_BACKEND = "fake-hashing"
DIMENSION = 256


class HashingEmbedder(Embedder):
    dimension = DIMENSION
    model_id = "fake/hashing-char-bigrams"
    prompts: ClassVar[dict[str, str]] = {}

    def encode(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for row, text in enumerate(texts):
            pieces = [*text, *(a + b for a, b in itertools.pairwise(text))]
            for piece in pieces:
                if not piece.isspace():
                    vectors[row, int(hashlib.blake2b(piece.encode(), digest_size=4).hexdigest(), 16) % DIMENSION] += 1
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


def fake_config(base: Config) -> Config:
    """``base`` with the fake embedder and no language model."""
    return base.replace(embedding_backend=FAKE_BACKEND, query_embedding_backend="", llm="none")


register_backend(FAKE_BACKEND, lambda config: HashingEmbedder())
