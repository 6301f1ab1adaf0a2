"""Test and benchmark helpers: an OpenAI-compatible fake model server with latency and faults.

``FakeServer.start()`` runs ``python -m assay.testing.fake_server`` in a subprocess and returns a
handle with the base URL (``.url``, ending in ``/v1``) and control methods (``set_faults``,
``configure``, ``stats``, ``reset``, ``stop``).
"""

from assay.testing.harness import FakeServer, FakeServerError

__all__ = ["FakeServer", "FakeServerError"]
