"""Routing without I/O: the fallback chain, request constraints, breakers, sticky routes."""

from __future__ import annotations

from typing import Any

import pytest

from nanogate.config import ModelSettings
from nanogate.errors import InvalidParameterValue, NoFallbackAvailable
from nanogate.routing import (
    Breakers,
    Catalog,
    Constraints,
    Model,
    Speed,
    Speeds,
    StickyRoutes,
    chain,
    constraints_from,
    plan,
)


def model(id: str, provider: str, **extra: Any) -> Model:
    return Model.from_settings(ModelSettings(id=id, provider=provider, **extra))


CATALOG = Catalog(
    [
        model(
            "m/main",
            "a",
            upstream_model="main-a",
            deployments=[{"provider": "b", "upstream_model": "main-b"}],
            fallbacks=("m/backup", "m/last"),
        ),
        model("m/backup", "c", upstream_model="backup-c", fallbacks=("m/last",)),
        model("m/last", "d", upstream_model="last-d", fallbacks=("m/main",)),
    ]
)


def names(deployments: Any) -> list[str]:
    return [d.name for d in deployments]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_chain_is_every_deployment_then_each_fallback_once() -> None:
    """A model's own deployments come first, then its fallbacks' in catalogue order;
    fallbacks of fallbacks are not followed and nothing is tried twice."""
    deployments = chain(CATALOG.get("m/main"), CATALOG)  # type: ignore[arg-type]
    assert names(deployments) == ["a/main-a", "b/main-b", "c/backup-c", "d/last-d"]
    assert [d.model.id for d in deployments] == ["m/main", "m/main", "m/backup", "m/last"]


def test_without_constraints_the_whole_chain_is_planned() -> None:
    """No constraints: every deployment, in chain order."""
    deployments = chain(CATALOG.get("m/main"), CATALOG)  # type: ignore[arg-type]
    routes = plan(deployments, Constraints())
    assert names(routes.candidates) == names(deployments) and not routes.sticky


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ({"provider": {"only": ["c", "d"]}}, None, ["c/backup-c", "d/last-d"]),
        ({"provider": {"ignore": ["a"]}}, None, ["b/main-b", "c/backup-c", "d/last-d"]),
        (
            {"provider": {"order": ["d", "b"]}},
            None,
            ["d/last-d", "b/main-b", "a/main-a", "c/backup-c"],
        ),
        ({"provider": {"allow_fallbacks": False}}, None, ["a/main-a"]),
        ({"provider": {"order": ["c"], "allow_fallbacks": False}}, None, ["c/backup-c"]),
        ({}, "b", ["b/main-b"]),
        ({"provider": {"only": ["b", "c"]}}, "c", ["c/backup-c"]),
        ({"provider": "d"}, None, ["d/last-d"]),
    ],
)
def test_request_constraints_narrow_and_order_the_chain(
    body: dict[str, Any], header: str | None, expected: list[str]
) -> None:
    """``provider.only``, ``ignore``, ``order``, ``allow_fallbacks`` and ``X-Provider``
    select and order deployments by provider name."""
    deployments = chain(CATALOG.get("m/main"), CATALOG)  # type: ignore[arg-type]
    assert names(plan(deployments, constraints_from(body, header)).candidates) == expected


@pytest.mark.parametrize(
    ("body", "header"),
    [
        ({"provider": {"only": ["nowhere"]}}, None),
        ({}, "nowhere"),
        ({"provider": {"only": ["a"]}}, "b"),
    ],
)
def test_constraints_that_leave_nothing_are_no_fallback_available(
    body: dict[str, Any], header: str | None
) -> None:
    """When the request's own constraints exclude every deployment, the answer is the
    400 ``no_fallback_available``, naming what was asked for."""
    deployments = chain(CATALOG.get("m/main"), CATALOG)  # type: ignore[arg-type]
    with pytest.raises(NoFallbackAvailable) as caught:
        plan(deployments, constraints_from(body, header))
    assert caught.value.status == 400 and caught.value.param == "provider"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"provider": 3}, "provider"),
        ({"provider": {"only": "x" * 0}}, "provider.only"),
        ({"provider": {"only": [1]}}, "provider.only"),
        ({"provider": {"allow_fallbacks": "no"}}, "provider.allow_fallbacks"),
        ({"prompt_caching": {"stickyProvider": "yes"}}, "prompt_caching.stickyProvider"),
        ({"provider": {"sort": "speed"}}, "provider.sort"),
        ({"provider": {"max_price": 2}}, "provider.max_price"),
        ({"provider": {"max_price": {"prompt": "cheap"}}}, "provider.max_price.prompt"),
        ({"provider": {"max_price": {"completion": -1}}}, "provider.max_price.completion"),
        ({"provider": {"max_price": {"prompt": True}}}, "provider.max_price.prompt"),
    ],
)
def test_malformed_constraints_are_invalid_parameter_values(
    body: dict[str, Any], param: str
) -> None:
    """A constraint of the wrong type is a 400 naming the field."""
    with pytest.raises(InvalidParameterValue) as caught:
        constraints_from(body, None)
    assert caught.value.param == param


@pytest.mark.parametrize(
    "body",
    [
        {"prompt_caching": {"stickyProvider": True}},
        {"promptCaching": {"stickyprovider": True}},
        {"stickyProvider": True},
    ],
)
def test_sticky_provider_pins_one_deployment(body: dict[str, Any]) -> None:
    """``stickyProvider`` (in any of its spellings) plans the remembered deployment alone,
    or the first one when nothing is remembered, and marks the plan sticky."""
    deployments = chain(CATALOG.get("m/main"), CATALOG)  # type: ignore[arg-type]
    constraints = constraints_from(body, None)
    assert names(plan(deployments, constraints).candidates) == ["a/main-a"]
    pinned = plan(deployments, constraints, remembered="c/backup-c")
    assert names(pinned.candidates) == ["c/backup-c"] and pinned.sticky


def test_sticky_with_a_single_deployment_blocks_nothing() -> None:
    """A sticky request whose constraints leave one deployment has nothing to fall back
    to, so its plan is not marked as blocking fallbacks."""
    deployments = chain(CATALOG.get("m/main"), CATALOG)  # type: ignore[arg-type]
    constraints = constraints_from({"stickyProvider": True, "provider": {"only": ["d"]}}, None)
    assert not plan(deployments, constraints).sticky


def test_a_circuit_opens_after_consecutive_failures_and_rests() -> None:
    """``failures`` failures in a row open the circuit; it refuses requests until the
    cooldown is over, with a Retry-After counting down to then."""
    clock = Clock()
    breakers = Breakers(3, 30.0, clock)
    for _ in range(2):
        breakers.failed("a/x")
    assert breakers.enter("a/x") is not None and not breakers.is_open("a/x")
    breakers.failed("a/x")
    assert breakers.enter("a/x") is None and breakers.is_open("a/x")
    clock.now += 10.2
    assert breakers.retry_after(["a/x"]) == 20
    assert breakers.enter("a/x") is None


def test_a_success_resets_the_count() -> None:
    """Failures must be consecutive: an answer in between starts the count again."""
    breakers = Breakers(2, 30.0, Clock())
    breakers.failed("a/x")
    breakers.succeeded("a/x")
    breakers.failed("a/x")
    assert breakers.enter("a/x") is not None


def test_half_open_lets_one_trial_through() -> None:
    """After the cooldown one request is let through; others wait for its outcome. A
    failed trial reopens the circuit for a full cooldown; a successful one closes it."""
    clock = Clock()
    breakers = Breakers(1, 5.0, clock)
    breakers.failed("a/x")
    clock.now += 5
    assert breakers.enter("a/x") is not None
    assert breakers.enter("a/x") is None, "only one trial at a time"
    breakers.failed("a/x")
    clock.now += 4.9
    assert breakers.enter("a/x") is None
    clock.now += 0.1
    assert breakers.enter("a/x") is not None
    breakers.succeeded("a/x")
    assert breakers.enter("a/x") is not None and breakers.enter("a/x") is not None


def test_an_abandoned_trial_frees_the_slot() -> None:
    """A trial whose request was cancelled (client gone) says nothing about the
    deployment: the next request may try again."""
    clock = Clock()
    breakers = Breakers(1, 5.0, clock)
    breakers.failed("a/x")
    clock.now += 5
    assert breakers.enter("a/x") is not None
    breakers.abandoned("a/x", "trial")
    assert breakers.enter("a/x") is not None


def test_a_cancelled_ordinary_request_leaves_the_trial_alone() -> None:
    """A request let through before the circuit opened and cancelled during the trial
    does not free the trial slot that another request holds."""
    clock = Clock()
    breakers = Breakers(1, 5.0, clock)
    assert breakers.enter("a/x") == "closed"
    breakers.failed("a/x")
    clock.now += 5
    assert breakers.enter("a/x") == "trial"
    breakers.abandoned("a/x", "closed")
    assert breakers.enter("a/x") is None


def test_sticky_routes_expire() -> None:
    """A remembered deployment is forgotten after the time to live."""
    clock = Clock()
    routes = StickyRoutes(60, clock)
    routes.remember("key_1", "m/main", "b/main-b")
    assert routes.get("key_1", "m/main") == "b/main-b"
    assert routes.get("key_2", "m/main") is None
    clock.now += 60
    assert routes.get("key_1", "m/main") is None


def test_fallbacks_must_be_other_models_of_the_same_type() -> None:
    """The configuration refuses a model that falls back to itself or to a model of
    another type, and a deployment on an unknown provider."""
    from pydantic import ValidationError

    from nanogate.config import Settings

    base = {"providers": [{"name": "a", "kind": "local"}]}
    for models in (
        [{"id": "x", "provider": "a", "fallbacks": ["x"]}],
        [
            {"id": "x", "provider": "a", "fallbacks": ["e"]},
            {"id": "e", "provider": "a", "type": "embedding"},
        ],
        [{"id": "x", "provider": "a", "deployments": [{"provider": "zz"}]}],
    ):
        with pytest.raises(ValidationError):
            Settings.model_validate({**base, "models": models})


PRICED = Catalog(
    [
        model(
            "p/chat",
            "a",
            input_usd_per_mtok="4",
            output_usd_per_mtok="8",
            deployments=[
                {"provider": "b", "input_usd_per_mtok": "1", "output_usd_per_mtok": "2"},
                {"provider": "c", "output_usd_per_mtok": "20"},
            ],
        ),
    ]
)


def priced() -> Any:
    return chain(PRICED.get("p/chat"), PRICED)  # type: ignore[arg-type]


def test_a_deployment_may_carry_its_own_price() -> None:
    """A deployment's own input or output price replaces the model's for it alone; the
    other price stays the model's."""
    prices = {
        d.provider: (d.model.input_usd_per_mtok, d.model.output_usd_per_mtok) for d in priced()
    }
    assert {k: (str(i), str(o)) for k, (i, o) in prices.items()} == {
        "a": ("4", "8"),
        "b": ("1", "2"),
        "c": ("4", "20"),
    }
    assert {d.model.id for d in priced()} == {"p/chat"}


def test_sort_by_price_puts_the_cheapest_first() -> None:
    """``sort: "price"`` orders by input plus output price per million tokens."""
    routes = plan(priced(), constraints_from({"provider": {"sort": "price"}}, None))
    assert [d.provider for d in routes.candidates] == ["b", "a", "c"]


def test_max_price_leaves_out_the_dearer_deployments() -> None:
    """``max_price`` (USD per million tokens) drops deployments priced above it, for the
    prompt or the completion; nothing within it is ``no_fallback_available``."""
    body = {"provider": {"max_price": {"prompt": "4", "completion": 10}}}
    assert [d.provider for d in plan(priced(), constraints_from(body, None)).candidates] == [
        "a",
        "b",
    ]
    body = {"provider": {"max_price": {"completion": 1.5}}}
    with pytest.raises(NoFallbackAvailable) as caught:
        plan(priced(), constraints_from(body, None))
    assert "max_price" in caught.value.message


def test_sort_by_latency_or_throughput_uses_the_estimates_unmeasured_first() -> None:
    """Latency ascending, throughput descending, from the worker's estimates; a
    deployment not measured yet comes first, so it gets measured."""
    speeds = Speeds()
    speeds.answered("a/p/chat", 0.5)
    speeds.answered("c/p/chat", 0.1)
    speeds.generated("a/p/chat", 100, 1.0)
    speeds.generated("c/p/chat", 100, 4.0)
    latency = plan(priced(), Constraints(sort="latency"), speeds=speeds.get)
    assert [d.provider for d in latency.candidates] == ["b", "c", "a"]
    speeds.answered("b/p/chat", 0.3)
    speeds.generated("b/p/chat", 300, 1.0)
    latency = plan(priced(), Constraints(sort="latency"), speeds=speeds.get)
    assert [d.provider for d in latency.candidates] == ["c", "b", "a"]
    throughput = plan(priced(), Constraints(sort="throughput"), speeds=speeds.get)
    assert [d.provider for d in throughput.candidates] == ["b", "a", "c"]


def test_an_explicit_order_wins_over_sort() -> None:
    """``order`` names the providers to try first; ``sort`` orders the rest."""
    body = {"provider": {"sort": "price", "order": ["c"]}}
    routes = plan(priced(), constraints_from(body, None))
    assert [d.provider for d in routes.candidates] == ["c", "b", "a"]


def test_estimates_are_moving_averages() -> None:
    """The first observation is the estimate; each later one moves it a fifth of the
    way; nonsense observations (no tokens, no time) change nothing."""
    speeds = Speeds()
    assert speeds.get("x") == Speed()
    speeds.answered("x", 1.0)
    speeds.answered("x", 2.0)
    speeds.generated("x", 0, 1.0)
    speeds.generated("x", 50, 0.0)
    assert speeds.get("x") == Speed(latency_s=1.2, tokens_per_s=None)
    speeds.generated("x", 50, 1.0)
    speeds.generated("x", 100, 1.0)
    assert speeds.get("x").tokens_per_s == pytest.approx(60.0)


def test_a_failed_attempt_counts_as_slow_and_productive_of_nothing() -> None:
    """A deployment that fails, however fast, is measured as at least ten seconds slow
    and moves its throughput toward zero, so routing by speed stops trying it first."""
    speeds = Speeds()
    speeds.failed("x", 0.001)
    assert speeds.get("x") == Speed(latency_s=10.0, tokens_per_s=0.0)
    speeds.failed("a/p/chat", 0.01)
    speeds.answered("b/p/chat", 0.5)
    speeds.answered("c/p/chat", 0.7)
    routes = plan(priced(), Constraints(sort="latency"), speeds=speeds.get)
    assert [d.provider for d in routes.candidates] == ["b", "c", "a"]
