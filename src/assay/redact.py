"""Secrets out of error texts: API keys never reach the store, the terminal or a log.

A provider's error may echo the request, headers included. Every error text is passed through `redact` where
it is made (`ProviderError`), again before it is stored, and again before the CLI prints it. It replaces the
value of each key variable assay knows of (the providers' defaults and every `api_key_env` of a model entry
that was used) and anything shaped like a bearer token or an `sk-...` key.
"""

from __future__ import annotations

import os
import re
from typing import Any

REDACTED = "[redacted]"
# The variables providers read a key from when an entry names none.
DEFAULT_KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
_MIN_SECRET_LEN = 6  # a variable holding "x" or "" must not blank out every x in a message

_key_variables: set[str] = set(DEFAULT_KEY_VARIABLES)
_TOKEN_SHAPES = re.compile(
    r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{8,}"      # OpenAI and Anthropic style keys: sk-..., sk-ant-..., sk-proj-...
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=\-]{6,}"    # an Authorization header's value
)


def watch(variable: str | None) -> None:
    """Treat the value of this environment variable as a secret from now on (a model entry's api_key_env)."""
    if variable:
        _key_variables.add(variable)


def _secrets() -> list[str]:
    values = {os.environ.get(name) or "" for name in _key_variables}
    # Longest first, so a key that contains another is replaced whole.
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every known key value and every token-shaped string replaced by [redacted]."""
    if not text:
        return text
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPES.sub(lambda m: "Bearer " + REDACTED if m.group(0)[:1] in "bB" else REDACTED, text)


def redact_fields(row: dict[str, Any], fields: tuple[str, ...] = ("error",)) -> dict[str, Any]:
    """A copy of a record with its text `fields` redacted (the ones that carry provider messages)."""
    if not any(isinstance(row.get(f), str) for f in fields):
        return row
    return {**row, **{f: redact(row[f]) for f in fields if isinstance(row.get(f), str)}}
