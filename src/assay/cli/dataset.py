"""`assay dataset import|list|show|export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import click
from rich.table import Table

from assay.cli.common import console, open_store, print_json
from assay.dataset import export_rows
from assay.dataset.export import ExportFormat
from assay.evaluate import import_dataset


@click.group()
def dataset() -> None:
    """Import, list, show and export datasets."""


@dataset.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--name", help="Dataset name (default: the file name without extension).")
@click.option("--kind", type=click.Choice(["eval", "train"]), default="eval", show_default=True)
@click.option("--strict", is_flag=True, help="Fail the import if any row is invalid.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_(ctx: click.Context, file: Path, name: str | None, kind: str, strict: bool, as_json: bool) -> None:
    """Import a JSONL (chat, source-backed or simple rows) or CSV file."""
    store = open_store(ctx)
    info, created, result = import_dataset(store, file, name=name or file.stem, kind=kind, strict=strict)
    errors = [{"line": e.line, "reason": e.reason} for e in result.errors]
    if as_json:
        print_json({"name": info.name, "version": info.version, "format": info.format, "rows": info.n_rows,
                    "created": created, "invalid_rows": errors})
        return
    out = console()
    for e in result.errors:
        out.print(f"[yellow]skipped[/] {e}")
    state = "imported" if created else "already stored (same content)"
    rows = f"{info.n_rows} row{'s' if info.n_rows != 1 else ''}"
    out.print(f"{info.name}@{info.version}: {rows} ({info.format} format, {info.kind}) {state}"
              + (f"; {len(errors)} invalid row(s) skipped" if errors else ""))


@dataset.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List stored datasets and their versions."""
    infos = open_store(ctx).list_datasets()
    if as_json:
        print_json([vars(i) for i in infos])
        return
    table = Table("name", "version", "kind", "format", "rows", "imported")
    for i in infos:
        table.add_row(i.name, i.version, i.kind, i.format, str(i.n_rows), i.created_at[:19])
    console().print(table if infos else "no datasets yet: assay dataset import FILE --name NAME")


@dataset.command("show")
@click.argument("name")
@click.option("--rows", "n", default=5, show_default=True, help="How many rows to show.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, name: str, n: int, as_json: bool) -> None:
    """Show a dataset (NAME or NAME@VERSION) and its first rows."""
    store = open_store(ctx)
    ds_name, _, version = name.partition("@")
    info = store.get_dataset(ds_name, version or None)
    samples = list(store.iter_samples(info.id, limit=n))
    if as_json:
        print_json({**vars(info), "rows": [json.loads(s.canonical_json()) for s in samples]})
        return
    out = console()
    out.print(f"[bold]{info.name}@{info.version}[/]  {info.n_rows} rows, {info.format} format, kind {info.kind}, "
              f"from {info.source or '?'}")
    for s in samples:
        last = s.context[-1].text() if s.context else ""
        out.print(f"- [bold]{s.id}[/]: {last[:100]!r}" + (f" → {s.reference[:80]!r}" if s.reference else "")
                  + (f" (outputs: {', '.join(s.outputs)})" if s.outputs else ""))


@dataset.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["chat", "source", "simple"]), default="chat", show_default=True)
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File (default stdout).")
@click.pass_context
def export(ctx: click.Context, name: str, fmt: str, output) -> None:  # type: ignore[no-untyped-def]
    """Export a dataset as JSONL."""
    store = open_store(ctx)
    ds_name, _, version = name.partition("@")
    info = store.get_dataset(ds_name, version or None)
    for row in export_rows(store.iter_samples(info.id), format=cast(ExportFormat, fmt)):  # click.Choice checked it
        output.write(json.dumps(row, ensure_ascii=False) + "\n")
