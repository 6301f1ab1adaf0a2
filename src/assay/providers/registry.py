"""One registry of providers by name. Third parties add theirs through the `assay.providers` entry point,
whose object is a factory `(ModelSpec) -> Provider`."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from assay.errors import SpecError
from assay.redact import watch

if TYPE_CHECKING:
    from assay.config.models import ModelSpec
    from assay.providers.base import Provider

ProviderFactory = Callable[["ModelSpec"], "Provider"]

_BUILTIN = {
    "openai": "assay.providers.openai:OpenAIProvider",
    "local": "assay.providers.local:LocalProvider",
    "dataset": "assay.providers.dataset:DatasetProvider",
    "anthropic": "assay.providers.anthropic:AnthropicProvider",
}
_registered: dict[str, ProviderFactory] = {}


def register(name: str, factory: ProviderFactory) -> None:
    _registered[name] = factory


def _load(target: str) -> ProviderFactory:
    module, _, attr = target.partition(":")
    mod = __import__(module, fromlist=[attr])
    factory: ProviderFactory = getattr(mod, attr)
    return factory


def available() -> list[str]:
    names = set(_BUILTIN) | set(_registered)
    names |= {ep.name for ep in entry_points(group="assay.providers")}
    return sorted(names)


def get_factory(name: str) -> ProviderFactory:
    if name in _registered:
        return _registered[name]
    if name in _BUILTIN:
        return _load(_BUILTIN[name])
    for ep in entry_points(group="assay.providers"):
        if ep.name == name:
            factory: ProviderFactory = ep.load()
            _registered[name] = factory
            return factory
    raise SpecError(f"unknown provider {name!r}; available: {', '.join(available())}")


def create_provider(spec: ModelSpec) -> Provider:
    watch(spec.api_key_env)  # its value is a secret: kept out of every error text from now on
    return get_factory(spec.provider)(spec)
