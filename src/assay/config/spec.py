"""The eval spec: which dataset, which candidates, which judge, which rubrics, which settings.

`load_spec` reads a spec YAML (and the project config it may refer to for model labels) and returns an
immutable, fully resolved `EvalSpec`. Nothing downstream reads YAML.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.config.models import ModelSpec
from assay.errors import RubricError, SpecError
from assay.rubric import PairwiseOptions, Rubric, load_rubric, rubric_from_mapping
from assay.validation import describe_validation_error
from assay.yamlfile import load_yaml

PROJECT_CONFIG_NAMES = ("assay.yaml", "assay.yml")

log = logging.getLogger(__name__)


class PairwiseSettings(BaseModel):
    """Options for every pairwise rubric of the spec; a rubric's own `pairwise:` options take precedence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    baseline: str | None = Field(None, description="judge each candidate against this one only")
    weighted: bool = Field(False, description="read verdicts as the judge's probabilities (log-probabilities)")


class RunSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    judge_retries: int = Field(2, ge=0, le=10, description="extra tries when a verdict can't be parsed")
    judge_samples: int = Field(1, ge=1, le=20, description="judge each output this many times")
    aggregate: Literal["mean", "median", "majority"] = Field(
        "mean", description="how the verdicts of several samples or judges become one per output")
    limit: int | None = Field(None, gt=0, description="use only the first N samples")
    max_concurrency: int | None = Field(None, ge=1, description="cap on calls in flight across all models")
    check_endpoints: bool = Field(True, description="ask each endpoint once whether it answers before a run")
    pairwise: PairwiseSettings = Field(default_factory=PairwiseSettings)


class DatasetRef(BaseModel):
    """A dataset by stored name (and optional version), or by a file to import first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str | None = None
    path: str | None = None
    kind: str = "eval"
    strict: bool = False  # refuse a file with any invalid row instead of skipping those rows


class EvalSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "eval"
    dataset: DatasetRef
    candidates: tuple[ModelSpec, ...] = Field(min_length=1)
    judges: tuple[ModelSpec, ...] = Field(min_length=1)
    rubrics: tuple[Rubric, ...] = Field(min_length=1)
    settings: RunSettings = Field(default_factory=RunSettings)

    @property
    def judge(self) -> ModelSpec:
        """The first (often the only) judge."""
        return self.judges[0]

    def pairwise_options(self, rubric: Rubric) -> PairwiseOptions:
        """A pairwise rubric's options as the run applies them: the rubric's own, else the spec's settings."""
        own, run = rubric.pair_options, self.settings.pairwise
        return own.model_copy(update={"baseline": own.baseline if own.baseline is not None else run.baseline,
                                      "weighted": own.weighted if own.weighted is not None else run.weighted})

    @model_validator(mode="after")
    def _unique(self) -> EvalSpec:
        labels = [c.label for c in self.candidates]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"candidate labels must be unique; repeated: {', '.join(dup)}")
        judges = [j.label for j in self.judges]
        dup = sorted({x for x in judges if judges.count(x) > 1})
        if dup:
            raise ValueError(f"judge labels must be unique; repeated: {', '.join(dup)}")
        if any(r.pairwise for r in self.rubrics) and len(self.candidates) < 2:
            raise ValueError("a pairwise rubric needs at least two candidates to compare")
        names = [r.name for r in self.rubrics]
        dup = sorted({x for x in names if names.count(x) > 1})
        if dup:
            raise ValueError(f"rubric names must be unique; repeated: {', '.join(dup)}")
        self._check_pairwise(labels)
        return self

    def _check_pairwise(self, labels: list[str]) -> None:
        pairwise = [r for r in self.rubrics if r.pairwise]
        if self.settings.pairwise != PairwiseSettings() and not pairwise:
            raise ValueError("settings.pairwise applies to pairwise rubrics, and this spec has none")
        for r in pairwise:
            own = r.pair_options.baseline is not None
            baseline = self.pairwise_options(r).baseline
            if baseline is not None and baseline not in labels:
                where = f"rubric {r.name!r}: pairwise.baseline" if own else "settings.pairwise.baseline"
                raise ValueError(f"{where} {baseline!r} is not one of the candidates ({', '.join(labels)}); "
                                 "the baseline must be a candidate, compared with each of the others")


def find_project_config(start: Path) -> Path | None:
    """The project config beside the spec, or in the current folder."""
    for folder in (start, Path.cwd()):
        for name in PROJECT_CONFIG_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def load_project_models(path: Path | None) -> dict[str, ModelSpec]:
    """Model entries of a project config, by label."""
    if path is None:
        return {}
    data = load_yaml(path, "project config", SpecError) or {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: the project config must be a mapping with a 'models' key")
    unknown = sorted(set(data) - {"models"})
    if unknown:
        raise SpecError(f"{path}: unknown key(s) {', '.join(unknown)}; the project config holds 'models'")
    raw = data.get("models") or {}
    if isinstance(raw, dict):
        raw = [{"label": k, **(v or {})} for k, v in raw.items()]
    if not isinstance(raw, list):
        raise SpecError(f"{path}: 'models' must be a mapping of label → model entry")
    models: dict[str, ModelSpec] = {}
    for i, entry in enumerate(raw):
        where = f"{path}: models[{entry.get('label', i) if isinstance(entry, dict) else i}]"
        models_entry = _model(entry, where, path.parent)
        models[models_entry.label] = models_entry
    return models


def _local_paths(entry: dict[str, Any], base: Path) -> dict[str, Any]:
    """A local model's GGUF path, when relative, is relative to the file that names it (like datasets)."""
    entry = dict(entry)
    options = entry.get("options")
    if isinstance(options, dict) and isinstance(options.get("path"), str):
        path = Path(options["path"]).expanduser()
        entry["options"] = {**options, "path": str(path if path.is_absolute() else (base / path).resolve())}
    model = entry.get("model")
    if isinstance(model, str) and model.endswith(".gguf") and not Path(model).expanduser().is_absolute():
        entry["model"] = str((base / model).resolve())
    return entry


def _model(entry: Any, where: str, base: Path | None = None) -> ModelSpec:
    if not isinstance(entry, dict):
        raise SpecError(f"{where}: a model entry must be a mapping (label, provider, model, ...)")
    if base is not None and entry.get("provider") == "local":
        entry = _local_paths(entry, base)
    try:
        return ModelSpec.model_validate(entry)
    except ValidationError as e:
        raise SpecError(describe_validation_error(e, f"{where}: invalid model entry", ModelSpec)) from None


def _resolve_model(ref: Any, known: dict[str, ModelSpec], where: str, config: Path | None,
                   base: Path | None = None) -> ModelSpec:
    if isinstance(ref, str):
        if ref in known:
            return known[ref]
        hint = f"labels in {config}: {', '.join(sorted(known)) or '(none)'}" if config else \
            "no project config (assay.yaml) was found beside the spec or in the current folder"
        raise SpecError(f"{where}: unknown model label {ref!r}; {hint}")
    if isinstance(ref, dict) and set(ref) == {"label"}:
        return _resolve_model(ref["label"], known, where, config)
    if isinstance(ref, dict) and "use" in ref:
        # A configured model with overrides: {use: label, temperature: 0.7, label: new-label}
        configured = _resolve_model(ref["use"], known, where, config)
        merged = {**configured.model_dump(exclude_none=True), **{k: v for k, v in ref.items() if k != "use"}}
        return _model(merged, where, base)
    return _model(ref, where, base)


def _resolve_rubric(ref: Any, base: Path, where: str) -> Rubric:
    """A rubric file, an inline rubric, or a shipped template: `{template: accuracy, scale: {...}, ...}`."""
    if isinstance(ref, str):
        path = (base / ref)
        if not path.is_file():
            raise SpecError(f"{where}: rubric file {ref!r} not found (looked for {path}); to use a shipped "
                            "template write {template: NAME}")
        return load_rubric(path)
    if isinstance(ref, dict) and "template" in ref and isinstance(ref["template"], str) \
            and "{{" not in ref["template"]:
        from assay.rubric.library import load_template

        overrides = {k: v for k, v in ref.items() if k != "template"}
        try:
            return load_template(ref["template"], **overrides)
        except RubricError as e:
            raise RubricError(f"{where}: {e}") from None
    return rubric_from_mapping(ref, where=where)


def _resolve_dataset(ref: Any, base: Path, where: str) -> DatasetRef:
    if isinstance(ref, dict):
        try:
            dataset = DatasetRef.model_validate(ref)
        except ValidationError as e:
            raise SpecError(describe_validation_error(e, f"{where}: invalid dataset", DatasetRef)) from None
        if dataset.path is None:
            return dataset
        path = base / dataset.path  # relative to the spec, like a plain file name
        if not path.is_file():
            raise SpecError(f"{where}: dataset file {dataset.path!r} not found (looked for {path})")
        return dataset.model_copy(update={"path": str(path.resolve())})
    if not isinstance(ref, str) or not ref:
        raise SpecError(f"{where}: 'dataset' must be a file path or a stored dataset name")
    candidate = base / ref
    if candidate.suffix.lower() in (".jsonl", ".csv", ".json", ".ndjson") or candidate.is_file():
        if not candidate.is_file():
            raise SpecError(f"{where}: dataset file {ref!r} not found (looked for {candidate})")
        return DatasetRef(name=candidate.stem, path=str(candidate.resolve()))
    name, _, version = ref.partition("@")
    return DatasetRef(name=name, version=version or None)


SPEC_KEYS = {"name", "dataset", "candidates", "judge", "judges", "rubrics", "settings"}


def load_spec(path: str | Path, *, config: str | Path | None = None) -> EvalSpec:
    """Read and resolve a spec file. Raises SpecError / RubricError naming the file and field."""
    path = Path(path)
    data = load_yaml(path, "spec", SpecError)
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a spec must be a mapping with dataset, candidates, judge and rubrics")
    config_path = Path(config) if config else find_project_config(path.parent)
    spec = spec_from_mapping(data, base=path.parent, where=str(path), config=config_path)
    log.debug("loaded spec %s (project config %s): candidates %s, judges %s, rubrics %s", path, config_path,
              [c.label for c in spec.candidates], [j.label for j in spec.judges],
              [f"{r.name}@{r.version}" for r in spec.rubrics])
    return spec


def spec_from_mapping(data: dict[str, Any], *, base: Path, where: str, config: Path | None = None) -> EvalSpec:
    unknown = sorted(set(data) - SPEC_KEYS)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; a spec has {', '.join(sorted(SPEC_KEYS))}")
    missing = [k for k in ("dataset", "candidates", "rubrics") if k not in data]
    if "judge" not in data and "judges" not in data:
        missing.append("judge")
    if missing:
        raise SpecError(f"{where}: missing required key(s) {', '.join(missing)}")
    if "judge" in data and "judges" in data:
        raise SpecError(f"{where}: give either 'judge' (one judge) or 'judges' (a jury), not both")
    known = load_project_models(config)
    candidates = data["candidates"]
    if not isinstance(candidates, list) or not candidates:
        raise SpecError(f"{where}: 'candidates' must be a non-empty list of model labels or entries")
    rubrics = data["rubrics"]
    if not isinstance(rubrics, list) or not rubrics:
        raise SpecError(f"{where}: 'rubrics' must be a non-empty list of rubric files or inline rubrics")
    resolved = tuple(_resolve_model(c, known, f"{where}: candidates[{i}]", config, base)
                     for i, c in enumerate(candidates))
    known = {**known, **{m.label: m for m in resolved}}  # the judge may name a model defined inline above
    if not isinstance(data.get("settings") or {}, dict):
        raise SpecError(f"{where}: 'settings' must be a mapping (judge_retries, judge_samples, aggregate, ...)")
    settings = dict(data.get("settings") or {})
    if "judge" in data:
        judge = data["judge"]
        if isinstance(judge, dict) and "samples" in judge:  # `judge: {use: label, samples: k}`
            judge = {k: v for k, v in judge.items() if k != "samples"}
            settings["judge_samples"] = data["judge"]["samples"]
            if set(judge) == {"use"}:
                judge = judge["use"]
        judges: tuple[ModelSpec, ...] = (_resolve_model(judge, known, f"{where}: judge", config, base),)
    else:
        if not isinstance(data["judges"], list) or not data["judges"]:
            raise SpecError(f"{where}: 'judges' must be a non-empty list of model labels or entries")
        judges = tuple(_resolve_model(j, known, f"{where}: judges[{i}]", config, base)
                       for i, j in enumerate(data["judges"]))
    try:
        return EvalSpec(
            name=str(data.get("name") or Path(where).stem),
            dataset=_resolve_dataset(data["dataset"], base, f"{where}: dataset"),
            candidates=resolved,
            judges=judges,
            rubrics=tuple(_resolve_rubric(r, base, f"{where}: rubrics[{i}]") for i, r in enumerate(rubrics)),
            settings=RunSettings.model_validate(settings),
        )
    except ValidationError as e:
        raise SpecError(describe_validation_error(e, f"invalid spec {where}", EvalSpec)) from None
