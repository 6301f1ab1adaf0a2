"""Small helpers shared by the command modules."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from assay.redact import redact
from assay.store import Store


def open_store(ctx: click.Context) -> Store:
    return Store(ctx.obj.get("db") if ctx.obj else None)


def print_json(data: Any) -> None:
    click.echo(redact(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def console() -> Console:
    return Console(highlight=False)
