"""The run lease: one process at a time executes a run, so two `--resume` of one run never double its calls.

The lease is a row (holder, expiry) taken before any work and renewed while the run goes on; a killed process
stops renewing, so its lease expires and the run can be resumed. Its length is `ASSAY_RUN_LEASE_S` seconds
(default 30). A holder on this machine whose process no longer exists (killed) is not waited for.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
from datetime import datetime, timezone

from assay.errors import StoreError
from assay.store.store import Store

DEFAULT_LEASE_S = 30.0


def lease_seconds() -> float:
    raw = os.environ.get("ASSAY_RUN_LEASE_S")
    if raw is None:
        return DEFAULT_LEASE_S
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise StoreError(f"ASSAY_RUN_LEASE_S must be a number of seconds above 0; got {raw!r}")
    return value


class RunLease:
    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.seconds = lease_seconds()
        self.holder = f"pid {os.getpid()} on {socket.gethostname()} ({secrets.token_hex(4)})"
        self.lost = False

    def acquire(self) -> None:
        """Take the lease, or raise StoreError naming who holds it and until when."""
        taken = self.store.acquire_lease(self.run_id, self.holder, self.seconds)
        if taken is None:
            return
        holder, expires_at = taken
        if _gone(holder) and self.store.acquire_lease(self.run_id, self.holder, self.seconds, replacing=holder) is None:
            return
        until = datetime.fromtimestamp(expires_at, timezone.utc).strftime("%H:%M:%S UTC")
        raise StoreError(
            f"run {self.run_id} is being executed by another process ({holder}); wait for it to finish "
            f"(`assay runs` shows its status). If that process is gone, its lease expires at {until}, and "
            f"`assay run --resume {self.run_id}` can finish the run then")

    async def keep(self) -> None:
        """Renew the lease until cancelled; raise StoreError if it was lost (this process stalled past its
        expiry and another one took the run over)."""
        while True:
            await asyncio.sleep(self.seconds / 3)
            if not await asyncio.to_thread(self.store.renew_lease, self.run_id, self.holder, self.seconds):
                self.lost = True
                raise StoreError(f"run {self.run_id}: this process lost its lease (it stalled longer than "
                                 f"{self.seconds:g}s) and another process took the run over; this one stopped")

    def release(self) -> None:
        if not self.lost:
            self.store.release_lease(self.run_id, self.holder)


def _gone(holder: str) -> bool:
    """Is `holder` a process of this machine that no longer exists?"""
    match = re.fullmatch(r"pid (\d+) on (.+) \([0-9a-f]+\)", holder)
    if match is None or match.group(2) != socket.gethostname():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by another user, say)
        return False
    return False
