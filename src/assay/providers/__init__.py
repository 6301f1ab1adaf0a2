"""Providers: how assay asks a model for a completion. One registry; SDKs are imported lazily."""

from assay.providers.base import Completion, CompletionRequest, Provider
from assay.providers.registry import available, create_provider, register

__all__ = ["Completion", "CompletionRequest", "Provider", "available", "create_provider", "register"]
