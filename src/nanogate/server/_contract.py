"""What a route tells its clients beyond its handler: the steps it takes, each with the
parameters it reads and the errors it can answer with.

The OpenAPI document is derived from these declarations and the request and answer
schemas; the conformance tests hold the route to them (an error code or a status the
route's steps do not declare fails the run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from nanogate.errors import GatewayError


@dataclass(frozen=True, slots=True)
class Parameter:
    """A query or header parameter that a step reads."""

    name: str
    location: Literal["query", "header"]
    schema: Mapping[str, Any]
    description: str
    required: bool = False

    def as_openapi(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.location,
            "required": self.required,
            "description": self.description,
            "schema": dict(self.schema),
        }


@dataclass(frozen=True, slots=True)
class Step:
    """One step of handling a request: what it reads, and what it can answer with."""

    errors: tuple[type[GatewayError], ...] = ()
    parameters: tuple[Parameter, ...] = ()


def step(*errors: type[GatewayError], parameters: Iterable[Parameter] = ()) -> Step:
    return Step(errors, tuple(parameters))


@dataclass(frozen=True, slots=True)
class Answer:
    """A route's successful answer: its JSON body (``model``) or another media type."""

    model: type[BaseModel] | None = None
    """The JSON body; ``None`` for a body that is not JSON (``media``)."""
    media: str = "application/json"
    stream: type[BaseModel] | None = None
    """The data of each server-sent event, when the request asks for a stream."""
    stream_end: str | None = None
    """The data of a stream's last event, when it is not JSON (``[DONE]``)."""
    others: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    """Answers with another status that are not errors (``/readyz``'s 503)."""
