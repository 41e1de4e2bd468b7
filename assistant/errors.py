"""User-facing errors: front ends print their message, never a stack trace."""


class AssistantError(Exception):
    """A problem the user can fix; the message says how."""


class InputError(AssistantError):
    """A document or a question that cannot be used."""


class IndexProblem(AssistantError):
    """An index that is missing, foreign or built with other settings."""


class ConfigError(AssistantError):
    """A setting with a value the assistant cannot use."""


class ModelUnavailable(AssistantError, RuntimeError):
    """The local model file cannot be had; the message says what to install or delete."""


class LLMError(AssistantError, RuntimeError):
    """The language model refused or failed a request (e.g. a prompt longer than its context)."""


class QueueFull(AssistantError):
    """Every answer slot is taken and the line is full (assistant/answer_queue.py)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"The assistant is busy with other questions: try again in {retry_after} seconds.")
        self.retry_after = retry_after
