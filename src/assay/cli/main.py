"""The `assay` command. Domain errors become one clean message and an exit code here, at the boundary: no
tracebacks (the codes are listed in `cli/errors.py`, the README and `assay --help`)."""

from __future__ import annotations

from typing import Any

import click

from assay.cli.errors import EXIT_CODES_HELP, EXIT_INTERRUPTED, from_domain
from assay.cli.logs import log_to_stderr
from assay.errors import AssayError


class AssayGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AssayError as e:
            raise from_domain(e) from None
        except KeyboardInterrupt:
            click.secho("\ninterrupted", fg="yellow", err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=AssayGroup, epilog=EXIT_CODES_HELP,
             context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "ASSAY"})
@click.option("--db", envvar="ASSAY_DB", default=None, metavar="PATH",
              help="SQLite file (or database URL). Default ./.assay/assay.db; env ASSAY_DB.")
@click.option("-v", "--verbose", count=True,
              help="Log to stderr what a run does (start, end, retries and why, cache hits); -vv adds debug detail.")
@click.version_option(package_name="assay")
@click.pass_context
def cli(ctx: click.Context, db: str | None, verbose: int) -> None:
    """assay: measure LLM quality with rubrics scored by LLM judges."""
    ctx.obj = {"db": db}
    if verbose:
        ctx.call_on_close(log_to_stderr(verbose))


def _register() -> None:
    from assay.cli import agree, compare, dataset, init, models, results, rubric, run
    cli.add_command(dataset.dataset)
    cli.add_command(rubric.rubric)
    cli.add_command(models.models)
    cli.add_command(agree.agree)
    cli.add_command(agree.calibrate)
    cli.add_command(run.run)
    cli.add_command(run.runs)
    cli.add_command(results.results)
    cli.add_command(compare.compare)
    cli.add_command(init.init)


_register()


def main() -> None:
    cli(prog_name="assay")
