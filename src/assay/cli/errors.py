"""How a command fails: its exit code, and the click exception types that carry one to the shell.

    0    ok
    1    the eval says no: nothing was scored or generated (every call or verdict failed), a run ended with
         items missing, or a gate failed (`compare --fail-if-worse`, errors found by `rubric lint`, a failed
         `models test`)
    2    bad input or usage: an invalid spec, config, rubric or dataset; an unknown run, dataset or model; an
         endpoint that can't be reached before a run; a wrong option; a file that would be overwritten
    130  interrupted (Ctrl-C or SIGTERM)

Domain code raises `assay.errors`; `AssayGroup` (in `main.py`) turns each into one of these at the boundary, so
a user's mistake never shows a traceback. A command that has printed its answer and only needs to say "no"
calls `ctx.exit(EXIT_NO)`.
"""

from __future__ import annotations

from typing import IO, Any

import click

from assay.errors import AssayError, ProviderError
from assay.redact import redact

EXIT_OK = 0
EXIT_NO = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = ("Exit codes: 0 ok; 1 the eval says no (nothing scored, or a gate such as compare "
                   "--fail-if-worse failed); 2 bad input or usage; 130 interrupted.")


class CommandError(click.ClickException):
    """A failure shown as one red `error: ...` line on stderr."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.secho(f"error: {redact(self.format_message())}", fg="red", err=True)


class EvalSaysNo(CommandError):
    """The work was done and the answer is no: nothing was scored or generated, or a gate failed."""

    exit_code = EXIT_NO


class BadInput(CommandError):
    """The input can't be used: a spec, config, rubric, dataset, name or file that is wrong."""

    exit_code = EXIT_BAD_INPUT


def from_domain(error: AssayError) -> CommandError:
    """The CLI form of a domain error. A model call that failed for good (after its retries) means nothing
    could be scored or generated; every other domain error is about the input."""
    if isinstance(error, ProviderError):
        return EvalSaysNo(str(error))
    return BadInput(str(error))
