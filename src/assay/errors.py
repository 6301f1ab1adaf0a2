"""One exception tree for assay. Domain code raises these; only the CLI turns them into messages.

    AssayError
    ├── SpecError          a spec, config or rubric file is invalid (names the file and field)
    ├── DatasetError       a dataset file can't be imported, or a dataset is unknown
    ├── RubricError        a rubric is invalid or can't be used with a dataset
    ├── StoreError         the database is missing something asked for (unknown run, ...)
    ├── EndpointError      a model's endpoint can't be reached at all: the run doesn't start, or stops
    └── ProviderError      a model call failed
        ├── RetryableError     429, 5xx, timeouts, dropped connections: worth another try
        │   └── UnreachableError   no connection at all (refused, unknown host)
        └── FatalProviderError 400, 401, 404 and the like: fail fast with the provider's message
"""

from __future__ import annotations

from assay.redact import redact


class AssayError(Exception):
    """Base of every error assay raises on purpose."""


class SpecError(AssayError):
    pass


class DatasetError(AssayError):
    pass


class RubricError(AssayError):
    pass


class StoreError(AssayError):
    pass


class EndpointError(AssayError):
    pass


class ProviderError(AssayError):
    """A model call failed. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(redact(message))  # a provider's message may echo the request, key included
        self.status = status


class RetryableError(ProviderError):
    """A failure worth retrying; `retry_after` is the server's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class FatalProviderError(ProviderError):
    pass


class UnreachableError(RetryableError):
    """The endpoint could not be connected to (refused, unknown host, TLS failure): retried like any retryable
    error, but a model whose first calls all end so stops the run (EndpointError)."""
