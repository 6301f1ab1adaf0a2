"""Test and benchmark helpers: local model servers with latency and fault injection.

``FakeServer.start()`` runs an OpenAI-compatible server (``python -m assay.testing.fake_server``) in a
subprocess and returns a handle with the base URL (``.url``, ending in ``/v1``) and control methods
(``set_faults``, ``configure``, ``stats``, ``reset``, ``stop``). ``FakeAnthropicServer`` does the same for the
Anthropic Messages API.
"""

from assay.testing.fake_anthropic import FakeAnthropicServer
from assay.testing.harness import FakeServer, FakeServerError

__all__ = ["FakeAnthropicServer", "FakeServer", "FakeServerError"]
