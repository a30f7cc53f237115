"""Routing: the model catalogue and how a request finds its deployment."""

from nanogate.routing._catalog import Catalog, Model, ModelType, Placement, model_not_found
from nanogate.routing._health import Breakers, StickyRoutes
from nanogate.routing._plan import (
    Constraints,
    Deployment,
    Plan,
    Sort,
    chain,
    constraints_from,
    plan,
)
from nanogate.routing._speeds import Speed, Speeds
from nanogate.routing._suffixes import (
    Memory,
    ModelChoice,
    WebSearch,
    clamp_days,
    days_header,
    parse_model,
    with_overrides,
)

__all__ = [
    "Breakers",
    "Catalog",
    "Constraints",
    "Deployment",
    "Memory",
    "Model",
    "ModelChoice",
    "ModelType",
    "Placement",
    "Plan",
    "Sort",
    "Speed",
    "Speeds",
    "StickyRoutes",
    "WebSearch",
    "chain",
    "clamp_days",
    "constraints_from",
    "days_header",
    "model_not_found",
    "parse_model",
    "plan",
    "with_overrides",
]
