"""The model catalogue: public model ids, their deployment, prices and capabilities."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from nanogate.config import ModelSettings
from nanogate.core import redact
from nanogate.errors import InvalidParameterValue, ModelNotAllowed, ModelNotFound
from nanogate.storage import APIKey

ModelType = Literal["chat", "embedding", "moderation"]

_ENDPOINT_NAMES: dict[ModelType, str] = {
    "chat": "a chat model",
    "embedding": "an embedding model",
    "moderation": "a moderation model",
}


def model_not_found(model_id: str) -> ModelNotFound:
    """``model_not_found`` for the id a request named. The id is the client's text: one
    that holds a credential (a key sent as ``model`` by mistake) is not repeated, so it
    reaches neither the answer nor the request log."""
    return ModelNotFound(f"The model '{redact(model_id)}' does not exist.")


@dataclass(frozen=True, slots=True)
class Placement:
    """A provider a model runs on, its name there, and its own price if it has one."""

    provider: str
    upstream_model: str
    input_usd_per_mtok: Decimal | None = None
    output_usd_per_mtok: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    type: ModelType
    provider: str
    upstream_model: str
    name: str
    description: str
    owned_by: str
    input_usd_per_mtok: Decimal
    output_usd_per_mtok: Decimal
    context_window: int
    max_output_tokens: int
    dimensions: int
    capabilities: frozenset[str]
    fallbacks: tuple[str, ...]
    deployments: tuple[Placement, ...] = ()
    """Every place the model runs, the primary first (at the model's own price)."""

    @classmethod
    def from_settings(cls, s: ModelSettings) -> Model:
        return cls(
            id=s.id,
            type=s.type,
            provider=s.provider,
            upstream_model=s.upstream_model or s.id,
            name=s.name or s.id,
            description=s.description,
            owned_by=s.owned_by or s.provider,
            input_usd_per_mtok=s.input_usd_per_mtok,
            output_usd_per_mtok=s.output_usd_per_mtok,
            context_window=s.context_window,
            max_output_tokens=s.max_output_tokens,
            dimensions=s.dimensions,
            capabilities=frozenset(s.capabilities),
            fallbacks=s.fallbacks,
            deployments=(
                Placement(s.provider, s.upstream_model or s.id),
                *(
                    Placement(
                        d.provider,
                        d.upstream_model or s.upstream_model or s.id,
                        d.input_usd_per_mtok,
                        d.output_usd_per_mtok,
                    )
                    for d in s.deployments
                ),
            ),
        )

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities


class Catalog:
    """Models by public id, in configuration order."""

    def __init__(self, models: Iterable[Model]) -> None:
        self._models = {model.id: model for model in models}
        self.chains: dict[str, tuple[Any, ...]] = {}
        """Each model's deployment chain, as :func:`~nanogate.routing.chain` made it: a
        catalogue never changes once built (a reload builds a new one)."""

    def __iter__(self) -> Iterator[Model]:
        return iter(self._models.values())

    def get(self, model_id: str) -> Model | None:
        return self._models.get(model_id)

    def resolve(self, model_id: str, key: APIKey | None, kind: ModelType) -> Model:
        """The model a request names, checked against the key and the endpoint.

        Raises ``model_not_found`` for an unknown id, ``model_not_allowed`` when
        the key's allowlist excludes it, and ``invalid_parameter_value`` when the
        model exists but serves another endpoint.
        """
        model = self._models.get(model_id)
        if model is None:
            raise model_not_found(model_id)
        if key is not None and not key.allows(model_id):
            raise ModelNotAllowed(f"This API key is not allowed to use the model '{model_id}'.")
        if model.type != kind:
            raise InvalidParameterValue(
                f"The model '{model_id}' is {_ENDPOINT_NAMES[model.type]}; "
                f"this endpoint needs {_ENDPOINT_NAMES[kind]}.",
                param="model",
            )
        return model
