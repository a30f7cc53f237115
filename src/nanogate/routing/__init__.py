"""Routing: the model catalogue and how a request finds its deployment."""

from nanogate.routing._catalog import Catalog, Model, ModelType, model_not_found
from nanogate.routing._health import Breakers, StickyRoutes
from nanogate.routing._plan import Constraints, Deployment, Plan, chain, constraints_from, plan

__all__ = [
    "Breakers",
    "Catalog",
    "Constraints",
    "Deployment",
    "Model",
    "ModelType",
    "Plan",
    "StickyRoutes",
    "chain",
    "constraints_from",
    "model_not_found",
    "plan",
]
