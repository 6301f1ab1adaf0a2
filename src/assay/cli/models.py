"""`assay models list|test`: the configured model entries, and a one-call smoke test of one."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import click

from assay.cli.common import print_json
from assay.cli.errors import EXIT_NO
from assay.config.models import ModelSpec
from assay.errors import ProviderError, SpecError
from assay.redact import redact

PLAIN_PROMPT = "Reply with the word ok."
SMOKE_SYSTEM = "You are a strict evaluator. Answer only with the verdict you are asked for."
SMOKE_PROMPT = ("Rate how correct the answer is, on a scale from 1 (wrong) to 5 (fully correct).\n"
                "Question: What is 2 + 2?\nAnswer: 4\n"
                'Give your verdict as a JSON object: {"reasoning": "<one sentence>", "score": <integer 1-5>}.')
SMOKE_MAX_RETRIES = 2  # a smoke test reports a failing model quickly rather than backing off for a minute


def _config_path(config: Path | None) -> Path:
    from assay.config.spec import find_project_config

    path = config if config is not None else find_project_config(Path.cwd())
    if path is None:
        raise SpecError("no project config (assay.yaml) in the current folder; pass --config FILE")
    if not path.is_file():
        raise SpecError(f"project config {path} not found")
    return path


def _load(config: Path | None) -> tuple[Path, dict[str, ModelSpec]]:
    from assay.config.spec import load_project_models

    path = _config_path(config)
    return path, load_project_models(path)


def key_env(spec: ModelSpec) -> str | None:
    """The environment variable the entry's key is read from (None: the provider needs no key)."""
    if spec.api_key_env:
        return spec.api_key_env
    if spec.provider == "openai" and spec.base_url is None:
        return "OPENAI_API_KEY"
    if spec.provider == "anthropic":
        return "ANTHROPIC_API_KEY"
    return None


def describe(spec: ModelSpec) -> dict[str, Any]:
    """An entry as shown to the user: never a key value, only the variable's name and whether it is set."""
    env = key_env(spec)
    return {
        "label": spec.label, "provider": spec.provider, "model": spec.model or None, "base_url": spec.base_url,
        "concurrency": spec.concurrency, "rpm": spec.rpm,
        "price": spec.price.model_dump() if spec.price else None,
        "api_key_env": env, "api_key_set": bool(os.environ.get(env)) if env else None,
    }


@click.group()
def models() -> None:
    """List configured models and smoke-test one."""


@models.command("list")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project config with model entries (default: assay.yaml here).")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def list_(config: Path | None, as_json: bool) -> None:
    """The model entries of the project config (keys are never shown: only whether their variable is set)."""
    path, entries = _load(config)
    rows = [describe(m) for m in entries.values()]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo(f"no model entries in {path}")
        return
    # Two lines per entry rather than a table: a URL and a variable name stay whole in any terminal width.
    click.echo(f"{len(rows)} model entr{'y' if len(rows) == 1 else 'ies'} in {path}")
    width = max(len(r["label"]) for r in rows) + 2
    for r in rows:
        where = f" at {r['base_url']}" if r["base_url"] else ""
        click.echo(f"{click.style(r['label'].ljust(width), bold=True)}{r['provider']}: {r['model'] or '—'}{where}")
        details = [f"concurrency {r['concurrency']}"]
        if r["rpm"] is not None:
            details.append(f"{r['rpm']:g} rpm")
        if r["price"] is not None:
            details.append(f"price {r['price']['input_per_mtok']:g} in / {r['price']['output_per_mtok']:g} out "
                           "per Mtok")
        if r["api_key_env"] is None:
            details.append("no key variable")
        else:
            state = click.style("set", fg="green") if r["api_key_set"] else click.style("not set", fg="red")
            details.append(f"key from {r['api_key_env']} ({state})")
        click.echo(" " * width + ", ".join(details))


async def _smoke(spec: ModelSpec) -> dict[str, Any]:
    from assay.engine.oneshot import call_once
    from assay.judge import VerdictError, parse_verdict, verdict_schema
    from assay.providers import CompletionRequest
    from assay.rubric import Rubric

    result: dict[str, Any] = {"label": spec.label, "provider": spec.provider, "model": spec.model or None}
    start = time.perf_counter()
    try:
        plain = await call_once(spec, CompletionRequest(messages=[{"role": "user", "content": PLAIN_PROMPT}]))
    except ProviderError as e:
        result["plain"] = {"ok": False, "latency_ms": _ms(start), "error": str(e)}
        result["structured"] = {"ok": False, "skipped": True, "error": "skipped: the plain call failed"}
        return result
    result["plain"] = {"ok": True, "latency_ms": _ms(start), "answer": plain.text[:200],
                       "input_tokens": plain.input_tokens, "output_tokens": plain.output_tokens}

    rubric = Rubric(name="smoke", description="smoke test", scale={"min": 1, "max": 5})
    request = CompletionRequest(messages=[{"role": "system", "content": SMOKE_SYSTEM},
                                          {"role": "user", "content": SMOKE_PROMPT}],
                                json_schema=verdict_schema(rubric))
    start = time.perf_counter()
    try:
        answer = await call_once(spec, request)
    except ProviderError as e:
        result["structured"] = {"ok": False, "latency_ms": _ms(start), "error": str(e)}
        return result
    latency = _ms(start)
    try:
        verdict = parse_verdict(answer.text, rubric)
    except VerdictError as e:
        result["structured"] = {"ok": False, "latency_ms": latency, "error": str(e), "answer": answer.text[:200]}
    else:
        result["structured"] = {"ok": True, "latency_ms": latency, "score": verdict.score, "scale": [1, 5],
                                "answer": answer.text[:200]}
    return result


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _one_line(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@models.command("test")
@click.argument("name")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="Project config with model entries (default: assay.yaml here).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def test(name: str, config: Path | None, as_json: bool) -> None:
    """Smoke-test the model entry NAME: one plain call and one structured-output (verdict) call.

    Failed calls are retried like in a run, at most twice. Exits with status 1 if the plain call fails.
    """
    path, entries = _load(config)
    if name not in entries:
        raise SpecError(f"no model entry {name!r} in {path}; entries: {', '.join(sorted(entries)) or '(none)'}")
    spec = entries[name]
    if spec.provider == "dataset":
        raise SpecError(f"{name!r} uses the dataset provider: it answers with each row's pre-generated output "
                        f"(outputs.{spec.model or spec.label}) and calls no model, so there is nothing to test")
    if spec.max_retries > SMOKE_MAX_RETRIES:
        spec = spec.model_copy(update={"max_retries": SMOKE_MAX_RETRIES})
    result = asyncio.run(_smoke(spec))
    if as_json:
        print_json(result)
    else:
        plain, structured = result["plain"], result["structured"]
        where = f" at {spec.base_url}" if spec.base_url else ""
        click.echo(f"model {spec.label} ({spec.provider}{', ' + spec.model if spec.model else ''}{where})")
        if plain["ok"]:
            click.echo(f"plain call:        {click.style('ok', fg='green')} in {plain['latency_ms']:.0f} ms, "
                       f"answer: {_one_line(plain['answer'])!r}")
        else:
            click.echo(f"plain call:        {click.style('failed', fg='red')} after {plain['latency_ms']:.0f} ms: "
                       f"{redact(plain['error'])}")
        if structured.get("skipped"):
            click.echo("structured output: skipped (the plain call failed)")
        elif structured["ok"]:
            click.echo(f"structured output: {click.style('ok', fg='green')} in {structured['latency_ms']:.0f} ms, "
                       f"verdict score {structured['score']:g} on 1-5")
        else:
            seen = f"; it answered {_one_line(structured['answer'])!r}" if "answer" in structured else ""
            click.echo(f"structured output: {click.style('failed', fg='red')}: {redact(structured['error'])}{seen}")
    if not result["plain"]["ok"]:
        raise click.exceptions.Exit(EXIT_NO)
