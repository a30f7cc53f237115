"""Which deployments a request may try, and in what order: the sans-IO half of fallbacks.

A model runs on one or more deployments (a provider and the model's name there);
when all of them fail, its fallback models' deployments are tried, in catalogue
order. A request narrows that chain with its own constraints: NanoGPT's
``provider`` object (``only``, ``ignore``, ``order``, ``allow_fallbacks``), the
``X-Provider`` header, and ``prompt_caching.stickyProvider``, which keeps a key on
the deployment that last answered it and forbids falling back from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nanogate.errors import InvalidParameterValue, NoFallbackAvailable
from nanogate.routing._catalog import Catalog, Model


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a request can be sent: a model on a provider, by the provider's name."""

    model: Model
    provider: str
    upstream_model: str
    name: str = field(init=False, compare=False)
    """``provider/upstream_model``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.provider}/{self.upstream_model}")


@dataclass(frozen=True, slots=True)
class Constraints:
    """What the request allows of the chain."""

    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()
    allow_fallbacks: bool = True
    sticky: bool = False


def _names(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidParameterValue(
            f"Invalid type for 'provider.{field}': expected a list of provider names.",
            param=f"provider.{field}",
        )
    return tuple(value)


def _flag(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterValue(f"Invalid type for '{param}': expected a boolean.", param=param)
    return value


def constraints_from(body: Mapping[str, Any], x_provider: str | None) -> Constraints:
    """The constraints a request body and its ``X-Provider`` header set."""
    only: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    allow_fallbacks = True
    provider = body.get("provider")
    if provider is not None:
        if isinstance(provider, str):
            provider = {"only": [provider]}
        if not isinstance(provider, dict):
            raise InvalidParameterValue(
                "Invalid type for 'provider': expected an object such as "
                '{"only": ["name"], "allow_fallbacks": false}.',
                param="provider",
            )
        if provider.get("only") is not None:
            only = _names(provider["only"], "only")
        if provider.get("ignore") is not None:
            ignore = _names(provider["ignore"], "ignore")
        if provider.get("order") is not None:
            order = _names(provider["order"], "order")
        if provider.get("allow_fallbacks") is not None:
            allow_fallbacks = _flag(provider["allow_fallbacks"], "provider.allow_fallbacks")
    if x_provider and x_provider.strip():
        name = x_provider.strip()
        only = (name,) if only is None else tuple(p for p in only if p == name)
    caching = body.get("prompt_caching", body.get("promptCaching"))
    sticky: Any = False
    if isinstance(caching, dict):
        sticky = caching.get("stickyProvider", caching.get("stickyprovider", False))
    sticky = body.get("stickyProvider", body.get("stickyprovider", sticky))
    return Constraints(
        only=frozenset(only) if only is not None else None,
        ignore=frozenset(ignore),
        order=order,
        allow_fallbacks=allow_fallbacks,
        sticky=_flag(sticky, "prompt_caching.stickyProvider"),
    )


def chain(model: Model, catalog: Catalog) -> tuple[Deployment, ...]:
    """Every deployment of ``model``, then of each of its fallbacks (one level deep);
    made once per model and catalogue."""
    made: tuple[Deployment, ...] | None = catalog.chains.get(model.id)
    if made is not None and (not made or made[0].model is model):
        return made
    deployments: list[Deployment] = []
    seen: set[str] = set()
    for member in (model, *(catalog.get(f) for f in model.fallbacks)):
        if member is None:
            continue
        for provider, upstream in member.deployments or ((member.provider, member.upstream_model),):
            deployment = Deployment(member, provider, upstream)
            if deployment.name not in seen:
                seen.add(deployment.name)
                deployments.append(deployment)
    made = catalog.chains[model.id] = tuple(deployments)
    return made


@dataclass(frozen=True, slots=True)
class Plan:
    """The deployments to try, in order, and whether a failure may move to the next."""

    candidates: tuple[Deployment, ...]
    sticky: bool = False
    """The request keeps to one deployment for prompt caching although others exist."""


def plan(
    deployments: Iterable[Deployment],
    constraints: Constraints,
    remembered: str | None = None,
) -> Plan:
    """The request's deployments in the order to try them.

    ``remembered`` is the deployment that last answered this key for this model
    (``stickyProvider``). Raises ``no_fallback_available`` when the constraints leave
    no deployment.
    """
    allowed = [
        d
        for d in deployments
        if (constraints.only is None or d.provider in constraints.only)
        and d.provider not in constraints.ignore
    ]
    if not allowed:
        named = sorted(constraints.only or ()) or sorted(constraints.ignore)
        raise NoFallbackAvailable(
            "No deployment of this model is allowed by the request's provider constraints"
            + (f" ({', '.join(named)})." if named else ".")
        )
    if constraints.order:
        order = constraints.order
        allowed.sort(key=lambda d: order.index(d.provider) if d.provider in order else len(order))
    if constraints.sticky:
        pinned = next((d for d in allowed if d.name == remembered), allowed[0])
        return Plan((pinned,), sticky=len(allowed) > 1)
    if not constraints.allow_fallbacks:
        return Plan((allowed[0],))
    return Plan(tuple(allowed))
