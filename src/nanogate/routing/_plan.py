"""Which deployments a request may try, and in what order: the sans-IO half of fallbacks.

A model runs on one or more deployments (a provider and the model's name there);
when all of them fail, its fallback models' deployments are tried, in catalogue
order. A request narrows that chain with its own constraints: NanoGPT's
``provider`` object (``only``, ``ignore``, ``order``, ``sort``, ``max_price``,
``allow_fallbacks``), the ``X-Provider`` header, model suffixes, and
``prompt_caching.stickyProvider``, which keeps a key on the deployment that last
answered it and forbids falling back from there.

``sort`` orders the deployments by price (a deployment's input plus output price per
million tokens), by recent latency or by recent throughput (the worker's estimates,
:mod:`nanogate.routing._speeds`); a deployment not measured yet goes first, so it gets
measured. An explicit ``order`` wins over ``sort``. ``max_price`` leaves out the
deployments whose price per million prompt or completion tokens is higher.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from nanogate.errors import InvalidParameterValue, NoFallbackAvailable
from nanogate.routing._catalog import Catalog, Model, Placement
from nanogate.routing._speeds import Speed

Sort = Literal["price", "latency", "throughput"]


def deployment_name(provider: str, upstream_model: str) -> str:
    """A deployment's name, ``provider/upstream_model``: what its circuit breaker and
    speed estimates are kept under."""
    return f"{provider}/{upstream_model}"


@dataclass(frozen=True, slots=True)
class Deployment:
    """One place a request can be sent: a model on a provider, by the provider's name."""

    model: Model
    provider: str
    upstream_model: str
    name: str = field(init=False, compare=False)
    """``provider/upstream_model``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", deployment_name(self.provider, self.upstream_model))


@dataclass(frozen=True, slots=True)
class Constraints:
    """What the request allows of the chain."""

    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    order: tuple[str, ...] = ()
    allow_fallbacks: bool = True
    sticky: bool = False
    sort: Sort | None = None
    max_prompt_usd_per_mtok: Decimal | None = None
    max_completion_usd_per_mtok: Decimal | None = None


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


def _sort(value: Any) -> Sort:
    if value not in get_args(Sort):
        raise InvalidParameterValue(
            "Invalid value for 'provider.sort': expected 'price', 'latency' or 'throughput'.",
            param="provider.sort",
        )
    sort: Sort = value
    return sort


def _price(value: Any, param: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidOperation
        price = Decimal(str(value))
        if not price.is_finite() or price < 0:
            raise InvalidOperation
    except InvalidOperation:
        raise InvalidParameterValue(
            f"Invalid value for '{param}': expected a price in USD per million tokens.",
            param=param,
        ) from None
    return price


def _max_price(value: Any) -> tuple[Decimal | None, Decimal | None]:
    if not isinstance(value, dict):
        raise InvalidParameterValue(
            "Invalid type for 'provider.max_price': expected an object such as "
            '{"prompt": 1, "completion": 2} (USD per million tokens).',
            param="provider.max_price",
        )
    return (
        _price(value.get("prompt"), "provider.max_price.prompt"),
        _price(value.get("completion"), "provider.max_price.completion"),
    )


def constraints_from(body: Mapping[str, Any], x_provider: str | None) -> Constraints:
    """The constraints a request body and its ``X-Provider`` header set."""
    only: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    allow_fallbacks = True
    sort: Sort | None = None
    max_prompt: Decimal | None = None
    max_completion: Decimal | None = None
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
        if provider.get("sort") is not None:
            sort = _sort(provider["sort"])
        if provider.get("max_price") is not None:
            max_prompt, max_completion = _max_price(provider["max_price"])
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
        sort=sort,
        max_prompt_usd_per_mtok=max_prompt,
        max_completion_usd_per_mtok=max_completion,
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
        for place in member.deployments or (Placement(member.provider, member.upstream_model),):
            deployment = Deployment(_priced(member, place), place.provider, place.upstream_model)
            if deployment.name not in seen:
                seen.add(deployment.name)
                deployments.append(deployment)
    made = catalog.chains[model.id] = tuple(deployments)
    return made


def _priced(model: Model, place: Placement) -> Model:
    """``model`` at ``place``'s own price, where it has one."""
    if place.input_usd_per_mtok is None and place.output_usd_per_mtok is None:
        return model
    return replace(
        model,
        input_usd_per_mtok=(
            model.input_usd_per_mtok
            if place.input_usd_per_mtok is None
            else place.input_usd_per_mtok
        ),
        output_usd_per_mtok=(
            model.output_usd_per_mtok
            if place.output_usd_per_mtok is None
            else place.output_usd_per_mtok
        ),
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """The deployments to try, in order, and whether a failure may move to the next."""

    candidates: tuple[Deployment, ...]
    sticky: bool = False
    """The request keeps to one deployment for prompt caching although others exist."""


def _within(d: Deployment, constraints: Constraints) -> bool:
    prompt, completion = (
        constraints.max_prompt_usd_per_mtok,
        constraints.max_completion_usd_per_mtok,
    )
    return (prompt is None or d.model.input_usd_per_mtok <= prompt) and (
        completion is None or d.model.output_usd_per_mtok <= completion
    )


def _sorted(
    deployments: list[Deployment], sort: Sort, speeds: Callable[[str], Speed]
) -> list[Deployment]:
    """``deployments`` by ``sort`` within each model: a fallback model's deployments stay
    behind the model's own, whatever they cost or however fast they are."""
    rank: dict[str, int] = {}
    for d in deployments:
        rank.setdefault(d.model.id, len(rank))

    def key(d: Deployment) -> tuple[int, bool, Decimal | float]:
        if sort == "price":
            return rank[d.model.id], True, d.model.input_usd_per_mtok + d.model.output_usd_per_mtok
        speed = speeds(d.name)
        if sort == "latency":
            value = speed.latency_s
            return rank[d.model.id], value is not None, value or 0.0
        value = speed.tokens_per_s
        return rank[d.model.id], value is not None, -(value or 0.0)

    return sorted(deployments, key=key)


def _unmeasured(name: str) -> Speed:
    return Speed()


def plan(
    deployments: Iterable[Deployment],
    constraints: Constraints,
    remembered: str | None = None,
    speeds: Callable[[str], Speed] = _unmeasured,
) -> Plan:
    """The request's deployments in the order to try them.

    ``remembered`` is the deployment that last answered this key for this model
    (``stickyProvider``); ``speeds`` gives a deployment's recent latency and
    throughput. Raises ``no_fallback_available`` when the constraints leave no
    deployment.
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
    if constraints.max_prompt_usd_per_mtok is not None or (
        constraints.max_completion_usd_per_mtok is not None
    ):
        allowed = [d for d in allowed if _within(d, constraints)]
        if not allowed:
            raise NoFallbackAvailable(
                "No deployment of this model is within the request's provider.max_price."
            )
    if constraints.sort is not None:
        allowed = _sorted(allowed, constraints.sort, speeds)
    if constraints.order:
        order = constraints.order
        allowed.sort(key=lambda d: order.index(d.provider) if d.provider in order else len(order))
    if constraints.sticky:
        pinned = next((d for d in allowed if d.name == remembered), allowed[0])
        return Plan((pinned,), sticky=len(allowed) > 1)
    if not constraints.allow_fallbacks:
        return Plan((allowed[0],))
    return Plan(tuple(allowed))
