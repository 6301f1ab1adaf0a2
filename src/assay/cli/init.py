"""`assay init`: write a starter project config, spec, rubrics and dataset into a folder, ready to edit."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from assay.errors import SpecError

STARTER_FILES = ("assay.yaml", "eval.yaml", "data.jsonl", "rubrics/helpfulness.yaml", "rubrics/matches-reference.yaml")


@click.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(folder: Path, force: bool) -> None:
    """Write a starter assay.yaml, eval.yaml, rubrics/ and data.jsonl into FOLDER (default: here)."""
    root = resources.files("assay") / "starter"
    targets = [(name, folder / name) for name in STARTER_FILES]
    existing = [str(p) for _, p in targets if p.exists()]
    if existing and not force:
        raise SpecError(f"not overwriting {', '.join(existing)} (use --force)")
    for name, path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((root / name).read_text(encoding="utf-8"), encoding="utf-8")
        click.echo(f"wrote {path}")
    click.echo(f"next: cd {folder} && assay run eval.yaml")
