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
