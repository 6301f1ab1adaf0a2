"""Configuration: model entries, the project config, and eval specs, validated into immutable records."""

from assay.config.models import ModelSpec, Price
from assay.config.spec import DatasetRef, EvalSpec, RunSettings, load_project_models, load_spec, spec_from_mapping

__all__ = ["DatasetRef", "EvalSpec", "ModelSpec", "Price", "RunSettings", "load_project_models", "load_spec",
           "spec_from_mapping"]
