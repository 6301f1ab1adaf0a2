"""The provider interface (one async `complete` call, small immutable request and response records) and what
every network provider shares: the offline guard, which HTTP statuses are worth a retry, `Retry-After`, and the
endpoint check made before a run."""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlparse

from assay.errors import EndpointError, FatalProviderError, RetryableError, SpecError

if TYPE_CHECKING:
    from assay.config.models import ModelSpec
    from assay.dataset.records import Sample

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Worth another try: timeouts, conflicts, rate limits (and every 5xx, overloaded included).
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """What to ask a model. `json_schema` asks for structured output (the judge's verdict)."""

    messages: list[dict[str, Any]]
    json_schema: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    # Overrides the model entry's seed: repeated judgments of one output ask with distinct seeds.
    seed: int | None = None
    # Ask for each answer token's log-probability and this many alternatives (a weighted pairwise verdict).
    top_logprobs: int | None = None
    # Only the `dataset` provider reads this: it answers from the row's pre-generated outputs.
    sample: Sample | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One token of an answer with its log-probability, and (for a token of the answer) the likeliest tokens
    the model could have produced at its place."""

    token: str
    logprob: float
    utf8: bytes | None = None  # the token's UTF-8 bytes when the endpoint gives them (a token may split a char)
    top: tuple[TokenLogprob, ...] = ()

    @property
    def raw(self) -> bytes:
        return self.utf8 if self.utf8 is not None else self.token.encode("utf-8")


def logprobs_to_json(tokens: tuple[TokenLogprob, ...] | None) -> str | None:
    """A compact JSON form, so an answer served from the call cache keeps its log-probabilities."""
    if tokens is None:
        return None

    def one(t: TokenLogprob) -> list[Any]:
        return [t.token, t.logprob, list(t.utf8) if t.utf8 is not None else None, [one(x) for x in t.top]]
    return json.dumps([one(t) for t in tokens], ensure_ascii=False, separators=(",", ":"))


def logprobs_from_json(text: str | None) -> tuple[TokenLogprob, ...] | None:
    if text is None:
        return None

    def one(x: list[Any]) -> TokenLogprob:
        return TokenLogprob(x[0], x[1], bytes(x[2]) if x[2] is not None else None, tuple(one(y) for y in x[3]))
    return tuple(one(x) for x in json.loads(text))


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float = 0.0
    # False for answers that involved no model call (pre-generated outputs): nothing to cache or count.
    billable: bool = True
    # Token log-probabilities, when asked for (`top_logprobs`) and the endpoint gives them.
    logprobs: tuple[TokenLogprob, ...] | None = None


@runtime_checkable
class Provider(Protocol):
    """A model endpoint. A provider that can return token log-probabilities (`CompletionRequest.top_logprobs`)
    says so with a class attribute `supports_logprobs = True`; others are never asked for them."""

    async def complete(self, request: CompletionRequest) -> Completion:
        """Answer one request, or raise RetryableError / FatalProviderError."""
        ...

    async def aclose(self) -> None:
        ...

# Optional, on a provider: `check()`, called once before a run (not a completion: nothing paid), raising
# EndpointError when the endpoint can't be reached; and `calls_a_model = False` for a provider that answers
# without a model (its answers are neither cached nor shared between identical requests).


def refuse_offline(spec: ModelSpec, url: str) -> None:
    """With ASSAY_OFFLINE=1 (the test suite sets it) only loopback hosts may be called: a SpecError otherwise."""
    host = urlparse(url).hostname or ""
    if os.environ.get("ASSAY_OFFLINE") == "1" and host not in _LOOPBACK and not host.startswith("127."):
        raise SpecError(f"model {spec.label!r}: ASSAY_OFFLINE=1 forbids calling {host}")


def status_error(status: int, message: str, retry_after: float | None = None) -> RetryableError | FatalProviderError:
    """The error for an HTTP status other than success: retryable (with the server's hint) or fatal."""
    if status in RETRYABLE_STATUS or status >= 500:
        return RetryableError(message, status=status, retry_after=retry_after)
    return FatalProviderError(message, status=status)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


# Proxies from the environment are not used, as by the providers' own clients.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def probe(spec: ModelSpec, url: str, headers: dict[str, str], *, shown: str) -> None:
    """GET `url` (a cheap listing such as /models, never a completion) to learn whether the endpoint `shown`
    answers. Any HTTP answer counts, a 404 included (a server without that listing still answers), except 401:
    the key was refused, and every call would be. No connection, or no answer in time, is an EndpointError."""
    where = f"model {spec.label!r}: "
    hint = "check its base_url in the project config, or skip this check with --no-endpoint-check"
    try:
        with _OPENER.open(urllib.request.Request(url, headers=headers),
                          timeout=min(CHECK_TIMEOUT_S, spec.timeout_s)):
            return
    except urllib.error.HTTPError as e:
        if e.code == 401:
            raise EndpointError(f"{where}{shown} refused the API key (HTTP 401 on GET {url}); check the variable "
                                f"named by api_key_env") from None
        return
    except urllib.error.URLError as e:
        reason = e.reason
        detail = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
        raise EndpointError(f"{where}can't connect to {shown} ({detail}); {hint}") from None
    except TimeoutError:
        raise EndpointError(f"{where}{shown} did not answer GET {url} within "
                            f"{min(CHECK_TIMEOUT_S, spec.timeout_s):g}s; {hint}") from None
    except OSError as e:  # a connection reset or refused mid-request
        raise EndpointError(f"{where}can't connect to {shown} ({e.strerror or e}); {hint}") from None
