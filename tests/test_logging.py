"""Logging: `logging.getLogger("assay")` is quiet unless asked; `assay -v` shows what an operator needs later
(run start and end, calls answered from the cache, retries and why) on stderr, `-vv` adds debug detail."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import assay  # noqa: F401 - importing must configure no logging
import assay.cli.main  # noqa: F401
from conftest import Project


def test_importing_assay_configures_no_logging() -> None:
    code = ("import logging, assay, assay.cli.main; log = logging.getLogger('assay'); "
            "print(len(log.handlers), log.level, logging.getLogger().handlers)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["0", "0", "[]"]


def test_quiet_by_default(project: Project) -> None:
    result = project.cli("run", str(project.spec(candidates=["strong"])), "--json")
    assert "INFO" not in result.stderr and "assay." not in result.stderr
    assert logging.getLogger("assay").handlers == []


def test_verbose_logs_the_run_and_its_cache_hits(project: Project) -> None:
    spec = project.spec(candidates=["strong"])
    first = project.cli("-v", "run", str(spec), "--json")
    run_id = json.loads(first.stdout)["run"]["id"]
    assert f"run {run_id} started" in first.stderr
    assert f"run {run_id} done" in first.stderr and "24 calls, 0 answered from the cache" in first.stderr
    assert "DEBUG" not in first.stderr
    again = project.cli("-v", "run", str(spec), "--json")
    assert "0 calls, 24 answered from the cache" in again.stderr
    assert logging.getLogger("assay").handlers == []  # the command's handler is gone with the command


def test_verbose_logs_retries_with_their_reason(project: Project) -> None:
    project.server.set_faults([{"fault": "503", "times": 2}])
    result = project.cli("-v", "run", str(project.spec(candidates=["strong"])), "--json")
    retries = [line for line in result.stderr.splitlines() if "retrying" in line]
    assert len(retries) == 2 and all("503" in line for line in retries), result.stderr
    assert "2 retries" in result.stderr


def test_very_verbose_adds_debug_detail(project: Project) -> None:
    spec = project.spec(candidates=["strong"])
    result = project.cli("-vv", "run", str(spec), "--json")
    assert "DEBUG" in result.stderr and f"loaded spec {spec}" in result.stderr
    json.loads(result.stdout)  # logs never mix into the JSON on stdout
