"""Ask long reports questions; get exact answers with the sentence they come from.

Public API: ``build_index``, ``answer``, ``answer_stream`` and friends, all configured by
one frozen ``Config``.
"""

import os

# Offline by design: nothing may reach a model hub or send analytics at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from .api import (
    add_documents,
    answer,
    answer_stream,
    build_index,
    index_status,
    rebuild_index,
    remove_documents,
)
from .config import Config
from .errors import AssistantError, IndexProblem, InputError
from .results import Answer, Source

__all__ = [
    "Answer",
    "AssistantError",
    "Config",
    "IndexProblem",
    "InputError",
    "Source",
    "add_documents",
    "answer",
    "answer_stream",
    "build_index",
    "index_status",
    "rebuild_index",
    "remove_documents",
]
