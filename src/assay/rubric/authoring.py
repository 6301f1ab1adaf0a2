"""What the rubric authoring commands have in common: finding the rubric (a file or a shipped template), the
judge (a project config label), the dataset (stored, or a file imported first) and its rows; and lint."""

from __future__ import annotations

import random
from pathlib import Path

from assay.config import ModelSpec, load_project_models
from assay.config.spec import find_project_config
from assay.dataset import Sample
from assay.errors import DatasetError, RubricError, SpecError
from assay.rubric.library import load_template, template_names
from assay.rubric.lint import LintFinding, lint
from assay.rubric.load import load_rubric
from assay.rubric.model import Rubric
from assay.store import Store
from assay.store.store import DatasetInfo

DATASET_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")


def is_template_ref(ref: str) -> bool:
    """Whether `ref` names a shipped template (a file of that name wins)."""
    return not Path(ref).is_file() and ref in template_names()


def resolve_rubric(ref: str) -> Rubric:
    """A rubric YAML file, or else a shipped template of that name."""
    path = Path(ref)
    if path.is_file():
        return load_rubric(path)
    if ref in template_names():
        return load_template(ref)
    if path.suffix.lower() in (".yaml", ".yml") or "/" in ref or "\\" in ref:
        raise RubricError(f"rubric file {ref!r} not found")
    raise RubricError(f"{ref!r} is neither a rubric file nor a template; templates: {', '.join(template_names())}")


def lint_target(ref: str, scale: dict[str, int] | None = None) -> tuple[Rubric | None, list[LintFinding]]:
    """Lint a rubric file or template. A file that is not a valid rubric is one finding of severity error.

    ``scale`` lints a template (`ref` must name one) with that scale, as a spec's ``{template: NAME, scale:
    {...}}`` would use it: the template's level meanings moved to the nearest scores of the new scale (see
    `load_template`)."""
    if scale is not None:
        rub = load_template(ref, scale=scale)
        return rub, lint(rub)
    path = Path(ref)
    if path.is_file():
        try:
            rub = load_rubric(path)
        except RubricError as e:
            return None, [LintFinding("invalid", "error", str(e))]
    else:
        rub = resolve_rubric(ref)
    return rub, lint(rub)


def resolve_judge(label: str, config: Path | None) -> ModelSpec:
    """A model entry of the project config (`config`, or assay.yaml in the current folder)."""
    path = config if config is not None else find_project_config(Path.cwd())
    models = load_project_models(path)
    if label not in models:
        where = f"labels in {path}: {', '.join(sorted(models)) or '(none)'}" if path else \
            "no project config (assay.yaml) in the current folder; give one with --config"
        raise SpecError(f"unknown model label {label!r}; {where}")
    spec = models[label]
    if spec.provider == "dataset":
        raise SpecError(f"model {label!r} uses the dataset provider, which can't judge or write; use a model")
    return spec


def open_dataset(store: Store, ref: str) -> DatasetInfo:
    """A stored dataset (NAME or NAME@VERSION), or a dataset file, imported first (same content, same version)."""
    path = Path(ref)
    if path.is_file() and path.suffix.lower() in DATASET_SUFFIXES:
        from assay.evaluate import import_dataset  # the import pipeline (parsing, hashing) only when a file is given

        info, _, _ = import_dataset(store, path, name=path.stem)
    else:
        name, _, version = ref.partition("@")
        info = store.get_dataset(name, version or None)
    if info.n_rows == 0:
        raise DatasetError(f"dataset {info.name}@{info.version} has no rows")
    return info


def rows_at(store: Store, info: DatasetInfo, positions: set[int]) -> list[Sample]:
    """The samples at these positions, in dataset order, reading the dataset once in chunks."""
    last = max(positions)
    return [s for i, s in enumerate(store.iter_samples(info.id, limit=last + 1)) if i in positions]


def pick_row(store: Store, info: DatasetInfo, row_id: str | None,
             seed: int | None) -> tuple[Sample, str, int | None]:
    """The row with this id, or else a random row (from `seed`, or a fresh seed): the sample, how it was
    picked (for the header), and the seed used."""
    if row_id is None:
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        sample = rows_at(store, info, {random.Random(seed).randrange(info.n_rows)})[0]
        return sample, f"row {sample.id} (random, --seed {seed})", seed
    found = next((s for s in store.iter_samples(info.id) if s.id == row_id), None)
    if found is None:
        raise DatasetError(f"dataset {info.name}@{info.version} has no row with id {row_id!r}; "
                           f"see the ids with `assay dataset show {info.name}`")
    return found, f"row {found.id}", None
